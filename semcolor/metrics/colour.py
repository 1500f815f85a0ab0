"""Colour metrics: colourfulness M3, CNI, the CCI flag, colourless tests, and the colour cast.

Inputs are numpy uint8 RGB arrays (H, W, 3). All of these are hand-written: neither
scikit-image nor torchmetrics implements Hasler & Süsstrunk's M3, Huang et al.'s naturalness
index or an HSL conversion (scikit-image has HSV only).

References
----------
[HS03]   D. Hasler, S. Süsstrunk, "Measuring colourfulness in natural images", Proc. SPIE
         5007 (Human Vision and Electronic Imaging VIII), 2003.
[Huang06] K.-Q. Huang, Q. Wang, Z.-Y. Wu, "Natural color image enhancement and evaluation
         algorithm based on human visual system", CVIU 103(1), 2006.
[SCGAN]  Y. Zhao, L.-M. Po, K.-W. Cheung, W.-Y. Yu, Y. A. U. Rehman, "SCGAN: Saliency
         map-guided colorization with generative adversarial network", IEEE TCSVT 2021.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.color import rgb2lab

from semcolor import constants as C
from semcolor.metrics._checks import check_pair, check_rgb_uint8

# --- CNI parameters [Huang06, as used by SCGAN] -------------------------------------------
#: A pixel takes part only if S > CNI_MIN_S and CNI_MIN_L < L < CNI_MAX_L (HSL, S and L in
#: [0, 1]).
CNI_MIN_S: float = 0.1
CNI_MIN_L: float = 0.2
CNI_MAX_L: float = 0.8
#: Hue classes: name -> (hue_lo, hue_hi) in degrees, both ends inclusive, and the
#: (mu, sigma) of the Gaussian naturalness of the class's mean saturation.
CNI_CLASSES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "skin": ((25.0, 70.0), (0.76, 0.52)),
    "grass": ((95.0, 135.0), (0.81, 0.53)),
    "sky": ((185.0, 260.0), (0.43, 0.22)),
}
#: CNI of an image without any pixel in the three classes (as the SCGAN evaluation script).
CNI_EMPTY: float = 0.0
#: CCI flag: colourfulness M3 in [16, 20] is "appropriate" [Huang06; SCGAN].
CCI_RANGE: tuple[float, float] = (16.0, 20.0)


def colorfulness(rgb: np.ndarray) -> float:
    """Colourfulness M3 of Hasler & Süsstrunk (2003), on 0..255 RGB in float64.

    rg = R - G, yb = (R + G)/2 - B over all pixels;
    M3 = sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²), σ the population standard deviation
    (ddof = 0). 0 for any gray image (R = G = B); ~15 "slightly", ~33 "moderately", ~59
    "quite", >100 "extremely" colourful [HS03].

    Args:
        rgb: uint8 (H,W,3) RGB.
    """
    x = check_rgb_uint8(rgb).astype(np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = math.sqrt(float(rg.var()) + float(yb.var()))
    mu = math.sqrt(float(rg.mean()) ** 2 + float(yb.mean()) ** 2)
    return sigma + 0.3 * mu


def delta_colorfulness(pred: np.ndarray, gt: np.ndarray) -> float:
    """ΔCF = |M3(pred) - M3(gt)| (:func:`colorfulness`), for uint8 (H,W,3) images of equal
    shape (validated as a pair, like every full-reference metric here)."""
    pred, gt = check_pair(pred, gt)
    return abs(colorfulness(pred) - colorfulness(gt))


def colour_cast(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """Signed colour cast of a colorization: (mean a(pred) - mean a(gt), mean b(pred) -
    mean b(gt)), in Lab units (``skimage.color.rgb2lab``, as :func:`l2ab`).

    A uniform shift of the prediction's ab plane by (da, db) gives exactly (da, db); a
    sepia/yellow look shows as a positive b cast, a blue one as negative. Averaged over images
    (signed, so opposite casts cancel), it is the set's systematic tint; ``l2ab`` measures
    the unsigned error instead.

    Args:
        pred, gt: uint8 (H,W,3) RGB of equal shape.
    """
    pred, gt = check_pair(pred, gt)
    return _cast_from_ab(rgb2lab(pred)[..., 1:], rgb2lab(gt)[..., 1:])


def _cast_from_ab(ab_pred: np.ndarray, ab_gt: np.ndarray) -> tuple[float, float]:
    d = ab_pred.reshape(-1, 2).mean(axis=0) - ab_gt.reshape(-1, 2).mean(axis=0)
    return float(d[0]), float(d[1])


def rgb_to_hls(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HLS of an sRGB uint8 (H,W,3) image, vectorised ``colorsys.rgb_to_hls``.

    With r, g, b = RGB / 255, max, min and d = max - min per pixel:
    L = (max + min) / 2; S = d / (1 - |2L - 1|), 0 where d = 0; H in degrees [0, 360):
    60·((g - b)/d mod 6) if max = r, 60·((b - r)/d + 2) if max = g, else 60·((r - g)/d + 4);
    H = 0 where d = 0 (the branch order r, g, b for ties follows colorsys).

    Returns:
        (H, L, S), each (H,W) float64.
    """
    x = check_rgb_uint8(rgb).astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx = x.max(axis=-1)
    mn = x.min(axis=-1)
    d = mx - mn
    light = 0.5 * (mx + mn)
    chromatic = d > 0
    safe_d = np.where(chromatic, d, 1.0)
    denom = 1.0 - np.abs(2.0 * light - 1.0)
    sat = np.where(chromatic, d / np.where(chromatic, denom, 1.0), 0.0)
    h = np.where(
        mx == r,
        np.mod((g - b) / safe_d, 6.0),
        np.where(mx == g, (b - r) / safe_d + 2.0, (r - g) / safe_d + 4.0),
    )
    hue = np.where(chromatic, np.mod(60.0 * h, 360.0), 0.0)
    return hue, light, sat


def _scgan_hue(rgb: np.ndarray) -> np.ndarray:
    """Hue in degrees with SCGAN's order of operations (``evaluation/indexes_CCI.py``
    ``rgb2hsl``: 60·(b - r)/d + 120, not colorsys's 60·((b - r)/d + 2)). The two agree
    mathematically but round differently at class edges: e.g. (0, 99, 108) is 185° here and
    184.99999999999997° by colorsys, which would drop it from the sky class. This classifies
    all 2^24 colours as SCGAN's code does (docs/metrics.md)."""
    x = check_rgb_uint8(rgb).astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx = x.max(axis=-1)
    d = mx - x.min(axis=-1)
    safe_d = np.where(d > 0, d, 1.0)
    h = np.where(
        mx == r,
        np.mod(60.0 * ((g - b) / safe_d) + 360.0, 360.0),
        np.where(mx == g, np.mod(60.0 * ((b - r) / safe_d) + 120.0, 360.0),
                 np.mod(60.0 * ((r - g) / safe_d) + 240.0, 360.0)),
    )  # fmt: skip
    return np.where(d > 0, h, 0.0)


def cni(rgb: np.ndarray, empty_value: float = CNI_EMPTY) -> float:
    """Colour naturalness index of Huang et al. (2006), as evaluated by SCGAN, in [0, 1].

    In HSL (:func:`rgb_to_hls`; the hue as SCGAN's code rounds it) keep the pixels with
    S > 0.1 and 0.2 < L < 0.8; of those,
    class k collects the pixels with hue in skin [25, 70]°, grass [95, 135]° or sky
    [185, 260]° (inclusive). With n_k pixels of mean saturation S̄_k in class k,
    N_k = exp(-½((S̄_k - μ_k)/σ_k)²), (μ, σ) = (0.76, 0.52) skin, (0.81, 0.53) grass,
    (0.43, 0.22) sky, and CNI = Σ n_k N_k / Σ n_k (pixel-count weighted).

    Args:
        rgb: uint8 (H,W,3) RGB.
        empty_value: returned when no pixel falls in any class (gray, very dark/bright or
            purely red/magenta images). Default 0.0, as the SCGAN evaluation script; pass
            ``float("nan")`` to have such images skipped by :class:`MetricAccumulator`.
    """
    _, light, sat = rgb_to_hls(rgb)
    hue = _scgan_hue(rgb)
    keep = (sat > CNI_MIN_S) & (light > CNI_MIN_L) & (light < CNI_MAX_L)
    total = 0
    weighted = 0.0
    for (lo, hi), (mu, sd) in CNI_CLASSES.values():
        in_class = keep & (hue >= lo) & (hue <= hi)
        n = int(in_class.sum())
        if n == 0:
            continue
        s_mean = float(sat[in_class].mean())
        weighted += n * math.exp(-0.5 * ((s_mean - mu) / sd) ** 2)
        total += n
    return float(empty_value) if total == 0 else weighted / total


def cci_flag(rgb: np.ndarray) -> bool:
    """True if the image's colourfulness M3 lies in [16, 20] (inclusive), the range the
    SCGAN evaluation calls appropriate; the CCI ratio of a set is the fraction flagged."""
    lo, hi = CCI_RANGE
    return lo <= colorfulness(rgb) <= hi


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean CIELAB chroma sqrt(a² + b²) of a uint8 (H,W,3) image (``skimage.color.rgb2lab``)."""
    lab = rgb2lab(check_rgb_uint8(rgb))
    return float(np.sqrt(np.square(lab[..., 1:]).sum(axis=-1)).mean())


def is_colourless(rgb: np.ndarray, threshold: float = C.COLOURLESS_CHROMA) -> bool:
    """True if the mean chroma (:func:`mean_chroma`) is below ``threshold`` Lab units.

    Used to drop grayscale (or nearly so) ground-truth images from evaluation, as the
    papers' evaluation lists do (a sepia or toned scan has a chroma well above the
    threshold and is kept). Default threshold ``constants.COLOURLESS_CHROMA`` (2.0).
    """
    return mean_chroma(rgb) < threshold
