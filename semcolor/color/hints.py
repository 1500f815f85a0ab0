"""Colour hints on top of the model: Levin, Lischinski & Weiss, "Colorization using
optimization" (SIGGRAPH 2004), with the model's ab as a soft prior, and each hint's region of
similar luminance pulled to the hint.

The unknown is the correction D = ab - ab_model (per channel). Hinted pixels are hard
constraints, D = ab_hint - ab_model; every other pixel r satisfies

    (1 + lambda + mu_r) D_r - sum_s w_rs D_s = mu_r T_r,   w_rs ∝ exp(-(L_r - L_s)^2 / (2 sigma^2)),

over its 3x3 neighbours s, the weights normalised to sum 1 (Levin et al.'s affinity, with a
fixed sigma in L units rather than the window variance, so that an edge of a given contrast
always stops colour the same way). lambda pulls D back to 0, i.e. towards the model's colour.

Regions: in Levin et al.'s system alone a single point hint fades like the logarithm of the
distance (the 2-D Green's function), so it coloured a dot, not its region (measured by
``benchmarks/bench_hints.py --quality``). Each hint therefore has a region: the connected
pixels whose smoothed L lies within ``region_tolerance`` of the hint's (a flood fill, which
cannot cross a strong edge). There mu_r = ``region_pull`` and T_r is the correction of the
region's nearest hint, so the region takes the hint's chroma; outside every region mu_r = 0,
and the colour fades to the model's over about 1/sqrt(lambda) pixels, hardly crossing a
strong luminance edge. Several hints in one region meet halfway. No hints: D = 0 exactly.

The system is solved at a working resolution (longest side ``work_side``) with a sparse LU
factorisation (``scipy.sparse.linalg.splu``; multiplied by each pixel's weight sum the system
is symmetric positive definite), and D is upsampled bilinearly to the image's size.
Hand-written: no maintained library implements this solver.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage
from scipy.sparse.linalg import splu
from skimage.color import rgb2lab

from semcolor import constants as C


@dataclass(frozen=True)
class Hints:
    """Hints at full resolution: a boolean (H,W) mask and the hint ab (2,H,W) (Lab units,
    meaningful where the mask is set)."""

    mask: np.ndarray
    ab: np.ndarray

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def _colour_to_ab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0,1] -> (..., 2) Lab ab (the hint's chroma; its lightness is unused)."""
    return rgb2lab(np.asarray(rgb, np.float64).reshape(-1, 1, 3))[:, 0, 1:].reshape(
        *np.shape(rgb)[:-1], 2
    )


def _parse_colour(colour: object, where: str) -> np.ndarray:
    """'#rrggbb', (r, g, b) in 0..255 ints or [0,1] floats -> (3,) float in [0,1]."""
    if isinstance(colour, str):
        s = colour.strip().lstrip("#")
        if len(s) != 6 or any(c not in "0123456789abcdefABCDEF" for c in s):
            raise ValueError(f"{where}: colour {colour!r} is not '#rrggbb'")
        return np.array([int(s[i : i + 2], 16) for i in (0, 2, 4)], np.float64) / 255.0
    try:
        c = np.asarray(colour, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: colour {colour!r} is not '#rrggbb' or (r, g, b)") from None
    if c.shape != (3,) or not np.isfinite(c).all():
        raise ValueError(f"{where}: colour must be (r, g, b) or '#rrggbb', got {colour!r}")
    if all(isinstance(v, int | np.integer) for v in np.asarray(colour).ravel()) or c.max() > 1:
        if c.min() < 0 or c.max() > 255:
            raise ValueError(f"{where}: colour values must lie in 0..255, got {colour!r}")
        return c / 255.0
    if c.min() < 0:
        raise ValueError(f"{where}: colour values must lie in [0, 1], got {colour!r}")
    return c


def parse_hints(hints: object, size_hw: tuple[int, int]) -> Hints | None:
    """Hints from what :func:`semcolor.colorize` accepts, for an image of size (H, W).

    Args:
        hints: None; a sequence of ``(x, y, colour)`` points (pixel column, row of the
            image; colour ``'#rrggbb'``, 0..255 ints or [0,1] floats); or a hint image of the
            image's size: an (H,W,4) array / RGBA PIL image whose pixels with alpha > 0 are
            hints, or an (H,W,3) one whose non-black pixels are hints (uint8, or float in
            [0,1]).

    Returns:
        :class:`Hints`, or None when there are none.

    Raises:
        ValueError: a point outside the image, a wrong shape, NaN, an unknown colour.
    """
    if hints is None:
        return None
    h, w = size_hw

    if isinstance(hints, Image.Image):
        hints = np.asarray(hints.convert("RGBA") if "A" in hints.getbands() or
                           hints.mode == "P" else hints.convert("RGB"))  # fmt: skip
    if isinstance(hints, np.ndarray):
        return _hints_from_image(hints, (h, w))
    if isinstance(hints, str | bytes) or not isinstance(hints, Sequence):
        raise ValueError(
            "hints must be a list of (x, y, colour) points or a hint image (an (H,W,3|4) "
            f"array or PIL image), got {type(hints).__name__}"
        )
    mask = np.zeros((h, w), bool)
    ab = np.zeros((2, h, w), np.float64)
    for i, point in enumerate(hints):
        where = f"hints[{i}]"
        if not isinstance(point, Sequence) or isinstance(point, str) or len(point) != 3:
            raise ValueError(f"{where}: expected (x, y, colour), got {point!r}")
        x, y, colour = point
        try:
            xf, yf = float(x), float(y)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: x and y must be numbers, got {x!r}, {y!r}") from None
        if not (math.isfinite(xf) and math.isfinite(yf)):
            raise ValueError(f"{where}: x and y must be finite, got {x!r}, {y!r}")
        xi, yi = int(round(xf)), int(round(yf))
        if not (0 <= xi < w and 0 <= yi < h):
            raise ValueError(
                f"{where}: point ({x}, {y}) lies outside the {w}x{h} image (x in [0, {w - 1}], "
                f"y in [0, {h - 1}])"
            )
        mask[yi, xi] = True
        ab[:, yi, xi] = _colour_to_ab(_parse_colour(colour, where))
    return Hints(mask, ab) if mask.any() else None


def _hints_from_image(img: np.ndarray, size_hw: tuple[int, int]) -> Hints | None:
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(
            f"a hint image must be (H,W,3) or (H,W,4) (RGBA: alpha > 0 marks hints), got shape "
            f"{img.shape}"
        )
    if img.shape[:2] != tuple(size_hw):
        raise ValueError(
            f"the hint image is {img.shape[1]}x{img.shape[0]} but the photo is "
            f"{size_hw[1]}x{size_hw[0]}; give a hint image of the photo's size"
        )
    x = img.astype(np.float64)
    if img.dtype == np.uint8:
        x = x / 255.0
    elif not np.issubdtype(img.dtype, np.floating):
        raise ValueError(f"a hint image must be uint8 or float in [0,1], got {img.dtype}")
    if not np.isfinite(x).all():
        raise ValueError("the hint image holds NaN or infinite values")
    if x.min() < 0 or x.max() > 1:
        raise ValueError("a float hint image must lie in [0, 1]")
    rgb = x[..., :3]
    mask = x[..., 3] > 0 if img.shape[2] == 4 else rgb.max(axis=-1) > 0
    if not mask.any():
        return None
    ab = np.zeros((2, *mask.shape), np.float64)
    ab[:, mask] = _colour_to_ab(rgb[mask]).T
    return Hints(mask, ab)


def _working_size(h: int, w: int, side: int) -> tuple[int, int]:
    s = min(1.0, side / max(h, w))
    return max(1, round(h * s)), max(1, round(w * s))


def _affinities(L: np.ndarray, sigma: float):
    """Symmetric sparse (N,N) matrix of w_rs = exp(-(L_r - L_s)^2 / (2 sigma^2)) over the 3x3
    neighbours of each pixel of L (h,w), and its row sums (N,)."""
    h, w = L.shape
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each pair once, then symmetrised
        ys, xs = slice(0, h - dy), slice(max(0, -dx), w - max(0, dx))
        yn, xn = slice(dy, h), slice(max(0, dx), w - max(0, -dx))
        rows.append(idx[ys, xs].ravel())
        cols.append(idx[yn, xn].ravel())
        vals.append(np.exp(-np.square(L[ys, xs] - L[yn, xn]) / (2 * sigma**2)).ravel())
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    Wm = sp.csr_matrix((np.r_[v, v], (np.r_[r, c], np.r_[c, r])), shape=(h * w, h * w))
    return Wm, np.asarray(Wm.sum(axis=1)).ravel()


def _hint_regions(L: np.ndarray, fixed: np.ndarray, d_fixed: np.ndarray,
                  tolerance: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The hints' regions of similar luminance and the correction each region pixel is pulled
    to: (region bool (h,w), target (2,h,w)).

    A hint's region is the connected area (8-neighbours) of the Gaussian-smoothed L (sigma 1
    pixel) within ``tolerance`` of the smoothed L at the hint. Hints are grouped by their L in
    steps of ``tolerance / 2`` and each group floods around its mean L (so the cost does not
    grow with the number of hinted pixels: a hint image may mark thousands). A region pixel's
    target is the correction of the nearest hint of its region (Euclidean), averaged where
    regions of several groups overlap."""
    smooth = ndimage.gaussian_filter(L, 1.0)
    seeds = np.flatnonzero(fixed)
    levels = smooth.ravel()[seeds]
    groups = np.round(levels / (tolerance / 2.0))
    total = np.zeros(d_fixed.shape)
    count = np.zeros(L.shape)
    eight = np.ones((3, 3), bool)
    flat_d = d_fixed.reshape(d_fixed.shape[0], -1)
    for g in np.unique(groups):
        member = seeds[groups == g]
        band = np.abs(smooth - smooth.ravel()[member].mean()) <= tolerance
        labels, _ = ndimage.label(band, structure=eight)
        seed_labels = labels.ravel()[member]
        for comp in np.unique(seed_labels[seed_labels > 0]):
            inside = labels == comp
            not_seed = np.ones(L.shape, bool)
            not_seed.ravel()[member[seed_labels == comp]] = False
            _, (iy, ix) = ndimage.distance_transform_edt(not_seed, return_indices=True)
            nearest = (iy * L.shape[1] + ix)[inside]
            total[:, inside] += flat_d[:, nearest]
            count[inside] += 1
    region = count > 0
    return region, total / np.maximum(count, 1)


def _solve(L: np.ndarray, fixed: np.ndarray, d_fixed: np.ndarray, lam: float, sigma: float,
           pull: np.ndarray | None = None, target: np.ndarray | None = None) -> np.ndarray:
    """D (2,h,w): d_fixed on ``fixed`` pixels, and on the others the solution of
    (1 + lam + pull_r) deg_r D_r - sum_s w_rs D_s = pull_r deg_r target_r (the module's
    equation times deg_r, which makes it symmetric positive definite; ``pull`` (h,w), 0 where
    absent, anchors the hints' regions to ``target`` (2,h,w)), by one sparse LU factorisation
    (minimum-degree ordering of A + A^T, the fastest here; conjugate gradients need thousands
    of iterations at this lambda) used for both channels."""
    Wm, deg = _affinities(L, sigma)
    f = ~fixed.ravel()
    rows = Wm[f]
    pull_f = np.zeros(int(f.sum())) if pull is None else pull.ravel()[f]
    M = (sp.diags((1.0 + lam + pull_f) * deg[f]) - rows[:, f]).tocsc()
    Wfh = rows[:, ~f]
    lu = splu(M, permc_spec="MMD_AT_PLUS_A")
    out = np.empty_like(d_fixed)
    for ch in range(d_fixed.shape[0]):
        dh = d_fixed[ch].ravel()[~f]
        rhs = Wfh @ dh
        if pull is not None and target is not None:
            rhs = rhs + pull_f * deg[f] * target[ch].ravel()[f]
        full = np.empty(fixed.size)
        full[f], full[~f] = lu.solve(rhs), dh
        out[ch] = full.reshape(fixed.shape)
    return out


def apply_hints(
    L: torch.Tensor,
    ab: torch.Tensor,
    hints: Hints | None,
    *,
    strength: float = C.HINT_PRIOR_LAMBDA,
    sigma: float = C.HINT_SIGMA_L,
    work_side: int = C.HINT_WORK_SIDE,
    region_tolerance: float | None = C.HINT_REGION_TOLERANCE_L,
    region_pull: float = C.HINT_REGION_PULL,
) -> torch.Tensor:
    """The model's ab corrected to honour ``hints``.

    Args:
        L: (1,H,W) or (1,1,H,W) float, Lab L in [0, 100], full resolution.
        ab: (1,2,H,W) or (2,H,W) float, the model's ab (Lab units) at the same resolution.
        hints: from :func:`parse_hints`, or None.
        strength: lambda, the pull towards the model's colour outside the hints' regions
            (smaller: hints spread farther beyond them).
        sigma: the affinity's scale in L units (a luminance step much larger than it stops a
            hint).
        work_side: the longest side of the working resolution the system is solved at.
        region_tolerance: a hint's region holds the connected pixels whose smoothed L lies
            within this many L units of the hint's; None: no regions (Levin et al.'s system
            alone, where a point hint colours little more than a dot).
        region_pull: mu, how strongly a region's pixels are pulled to its hint's colour.

    Returns:
        ab with the input's shape and dtype: ``ab`` itself when there are no hints.
    """
    if hints is None or hints.count == 0:
        return ab
    shape = ab.shape
    ab4 = ab.reshape(1, 2, *ab.shape[-2:]).float().cpu()
    L4 = L.reshape(1, 1, *L.shape[-2:]).float().cpu()
    H, W = ab4.shape[-2:]
    if hints.mask.shape != (H, W):
        raise ValueError(f"hints are for a {hints.mask.shape[1]}x{hints.mask.shape[0]} image, "
                         f"the colours are {W}x{H}")  # fmt: skip
    h, w = _working_size(H, W, work_side)
    area = dict(size=(h, w), mode="area") if (h, w) != (H, W) else None

    def down(t: torch.Tensor) -> torch.Tensor:
        return F.interpolate(t, **area) if area else t

    Lw = down(L4)[0, 0].double().numpy()
    prior = down(ab4)[0].double().numpy()
    m = torch.from_numpy(hints.mask.astype(np.float64))[None, None]
    target = torch.from_numpy(hints.ab)[None] * m
    cover = down(m)[0, 0].numpy()
    fixed = cover > 0
    hint_ab = np.where(fixed, down(target)[0].numpy() / np.maximum(cover, 1e-12), 0.0)
    # A working pixel that holds any hint takes the mean of its hints' ab.
    d_fixed = (hint_ab - prior) * np.where(fixed, 1.0, 0.0)
    pull = target_d = None
    if region_tolerance:  # the hints' regions are pulled to their hint's correction
        region, target_d = _hint_regions(Lw, fixed, d_fixed, float(region_tolerance))
        pull = np.where(region & ~fixed, float(region_pull), 0.0)
    d = _solve(Lw, fixed, d_fixed, float(strength), float(sigma), pull, target_d)
    D = torch.from_numpy(d).float()[None]
    if (h, w) != (H, W):
        D = F.interpolate(D, size=(H, W), mode="bilinear", align_corners=False)
    return (ab4 + D).to(ab.dtype).reshape(shape).to(ab.device)
