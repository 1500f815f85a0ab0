"""Full-reference metrics: PSNR, SSIM (scikit-image), L2ab and the ab-error AuC.

Every function takes one image pair of numpy uint8 RGB arrays, (H, W, 3), of equal shape;
``pred`` is the colorization, ``gt`` the ground truth. Use :func:`as_uint8` for float images.
"""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2lab
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from semcolor import constants as C
from semcolor.metrics._checks import check_pair

#: PSNR of identical images is +inf; it is reported as this many dB so that per-image
#: averages stay finite (8-bit images of 256x256 differing in a single value by 1 already
#: reach ~101 dB, so the cap only ever touches (near-)identical pairs).
PSNR_CAP_DB: float = 100.0
#: Dynamic range of 8-bit RGB, used for PSNR and SSIM.
DATA_RANGE: float = 255.0
#: SSIM: Gaussian window of sigma 1.5 (11 taps), population covariances, as Wang et al. 2004.
SSIM_SIGMA: float = 1.5
SSIM_WIN_SIZE: int = 11
#: AuC: thresholds 0, 1, ..., 150 Lab units [Zhang16].
AUC_MAX_THRESHOLD: int = 150


def psnr(pred: np.ndarray, gt: np.ndarray, cap_db: float | None = PSNR_CAP_DB) -> float:
    """Peak signal-to-noise ratio over all three RGB channels, in dB.

    ``skimage.metrics.peak_signal_noise_ratio(gt, pred, data_range=255)``, i.e.
    10·log10(255² / MSE) with the MSE taken over all H·W·3 values.

    Args:
        pred, gt: uint8 (H,W,3) RGB of equal shape.
        cap_db: the result is ``min(psnr, cap_db)``; identical images give ``cap_db``
            (default 100 dB). ``None`` disables the cap (identical images then give inf).

    Raises:
        ValueError: bad shapes or dtypes.
    """
    pred, gt = check_pair(pred, gt)
    if mean_squared_error(gt, pred) == 0.0:
        return float("inf") if cap_db is None else float(cap_db)
    value = float(peak_signal_noise_ratio(gt, pred, data_range=DATA_RANGE))
    return value if cap_db is None else min(value, float(cap_db))


def ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean structural similarity on RGB, averaged over the three channels.

    ``skimage.metrics.structural_similarity(gt, pred, channel_axis=-1, data_range=255,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``: Wang et al.'s
    settings (11x11 Gaussian window, sigma 1.5, K1=0.01, K2=0.03). The mean is taken over
    the valid (un-padded) area, as scikit-image does.

    Args:
        pred, gt: uint8 (H,W,3) RGB of equal shape, both sides at least 11 pixels.

    Raises:
        ValueError: bad shapes or dtypes, or an image smaller than the 11x11 window.
    """
    pred, gt = check_pair(pred, gt)
    if min(gt.shape[:2]) < SSIM_WIN_SIZE:
        raise ValueError(
            f"ssim needs images of at least {SSIM_WIN_SIZE}x{SSIM_WIN_SIZE} pixels "
            f"(the Gaussian window), got {gt.shape[:2]}"
        )
    return float(
        structural_similarity(
            gt,
            pred,
            channel_axis=-1,
            data_range=DATA_RANGE,
            gaussian_weights=True,
            sigma=SSIM_SIGMA,
            use_sample_covariance=False,
        )
    )


def _ab(rgb: np.ndarray) -> np.ndarray:
    return rgb2lab(rgb)[..., 1:]


def _ab_error_from_ab(ab_pred: np.ndarray, ab_gt: np.ndarray) -> np.ndarray:
    return np.sqrt(np.square(ab_pred - ab_gt).sum(axis=-1))


def ab_error_map(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean ab error, (H,W) float64 in Lab units.

    ``sqrt((a_p - a_g)² + (b_p - b_g)²)`` with a, b from ``skimage.color.rgb2lab`` (sRGB,
    D65, 2°) of each uint8 (H,W,3) image. L is ignored.
    """
    pred, gt = check_pair(pred, gt)
    return _ab_error_from_ab(_ab(pred), _ab(gt))


def l2ab(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-pixel Euclidean ab error in Lab units (>= 0; 0 iff the ab planes agree).

    Divide by ``constants.AB_SCALE`` (110) for the normalised value some tables report
    (:func:`evaluate_pair` returns both, as ``l2ab`` and ``l2ab_norm``).
    """
    return float(ab_error_map(pred, gt).mean())


def auc_from_errors(errors: np.ndarray, max_threshold: int = AUC_MAX_THRESHOLD) -> float:
    """Normalised area under the cumulative error curve of Zhang et al. (ECCV 2016).

    acc(t) = fraction of pixels with error <= t, for the integer thresholds
    t = 0, 1, ..., ``max_threshold``; AuC = trapezoidal integral of acc over
    [0, max_threshold] divided by ``max_threshold``, so it lies in [0, 1] and is 1 iff every
    error is 0. A constant error e (0 < e <= 150) gives (150.5 - ceil(e)) / 150, e.g.
    140.5/150 for e = 10 (the trapezoid between t = e-1 and e counts half).

    Hand-written (neither scikit-image nor torchmetrics has this curve). The trapezoid is
    summed directly (``np.trapezoid`` is numpy >= 2 only).

    Args:
        errors: array of non-negative per-pixel errors (any shape, e.g. from
            :func:`ab_error_map`), not empty, no NaN.
        max_threshold: largest threshold (integer >= 1).
    """
    err = np.asarray(errors, dtype=np.float64).ravel()
    if err.size == 0:
        raise ValueError("errors must not be empty")
    if np.isnan(err).any() or (err < 0).any():
        raise ValueError("errors must be non-negative and not NaN")
    if int(max_threshold) != max_threshold or max_threshold < 1:
        raise ValueError(f"max_threshold must be an integer >= 1, got {max_threshold}")
    thresholds = np.arange(int(max_threshold) + 1, dtype=np.float64)
    acc = np.searchsorted(np.sort(err), thresholds, side="right") / err.size
    area = acc.sum() - 0.5 * (acc[0] + acc[-1])  # trapezoid rule, unit spacing
    return float(area / max_threshold)


def ab_auc(pred: np.ndarray, gt: np.ndarray) -> float:
    """AuC of the per-pixel ab error (:func:`ab_error_map`), thresholds 0..150, in [0, 1].

    See :func:`auc_from_errors` for the exact definition. Perfect prediction -> 1.0.
    """
    return auc_from_errors(ab_error_map(pred, gt))


def l2ab_norm(pred: np.ndarray, gt: np.ndarray) -> float:
    """:func:`l2ab` divided by ``constants.AB_SCALE`` (110)."""
    return l2ab(pred, gt) / C.AB_SCALE
