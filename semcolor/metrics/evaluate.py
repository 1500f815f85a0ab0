"""Per-image evaluation of a colorization and averaging over an image set.

The key names of :func:`evaluate_pair` and :meth:`MetricAccumulator.compute` ("psnr",
"ssim", "l2ab", "auc", "colorfulness", "delta_cf", "delta_mean_cf", "cast_a", "cast_b",
"cni", "cci_ratio", ...) are a public contract: the benchmark writes them to its
summary.json.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
from skimage.color import lab2rgb, rgb2lab
from skimage.util import img_as_ubyte

from semcolor import constants as C
from semcolor.metrics._checks import check_pair, check_rgb_uint8
from semcolor.metrics.colour import CCI_RANGE, _cast_from_ab, cni, colorfulness
from semcolor.metrics.fidelity import (
    PSNR_CAP_DB,
    _ab_error_from_ab,
    auc_from_errors,
    psnr,
    ssim,
)

#: Keys of the per-image dict returned by :func:`evaluate_pair`, in order.
PER_IMAGE_KEYS: tuple[str, ...] = (
    "psnr",
    "ssim",
    "l2ab",
    "l2ab_norm",
    "auc",
    "colorfulness",
    "gt_colorfulness",
    "delta_cf",
    "cast_a",
    "cast_b",
    "cni",
    "cci",
)
#: Keys of the summary returned by :meth:`MetricAccumulator.compute`, in order: the
#: per-image means (``gt_colorfulness`` only enters ``delta_mean_cf``), with the per-image
#: CCI flag averaged into ``cci_ratio``.
SUMMARY_KEYS: tuple[str, ...] = (
    "psnr", "ssim", "l2ab", "l2ab_norm", "auc", "colorfulness", "delta_cf", "delta_mean_cf",
    "cast_a", "cast_b", "cni", "cci_ratio", "num_images",
)  # fmt: skip


def evaluate_pair(
    pred: np.ndarray,
    gt: np.ndarray,
    psnr_cap_db: float | None = PSNR_CAP_DB,
    keys: tuple[str, ...] | None = None,
) -> dict[str, float]:
    """All metrics of one colorization against its ground truth.

    Args:
        pred: the colorization, uint8 (H,W,3) RGB.
        gt: the ground truth, uint8 (H,W,3) RGB of the same shape (both sides >= 11 for
            SSIM). Use :func:`as_uint8` for float images in [0, 1].
        psnr_cap_db: see :func:`psnr` (default 100 dB).
        keys: compute only these keys of :data:`PER_IMAGE_KEYS` (training validation skips
            the costly ones it does not log); None = all.

    Returns:
        dict of Python floats with the keys :data:`PER_IMAGE_KEYS`:
        ``psnr`` (dB, capped), ``ssim``, ``l2ab`` (Lab units), ``l2ab_norm`` (= l2ab / 110),
        ``auc`` (thresholds 0..150, in [0, 1]), ``colorfulness`` (M3 of ``pred``),
        ``gt_colorfulness`` (M3 of ``gt``), ``delta_cf`` (|M3(pred) - M3(gt)|),
        ``cast_a`` / ``cast_b`` (signed mean a / b of ``pred`` minus ``gt``'s, Lab units:
        :func:`~semcolor.metrics.colour_cast`), ``cni`` (of ``pred``; 0.0 if no pixel is in
        a CNI class) and ``cci`` (1.0 if 16 <= M3(pred) <= 20 else 0.0).

    Raises:
        ValueError: bad shapes or dtypes, mismatched shapes, images under 11x11.
    """
    pred, gt = check_pair(pred, gt)
    want = set(PER_IMAGE_KEYS if keys is None else keys)
    unknown = want - set(PER_IMAGE_KEYS)
    if unknown:
        raise ValueError(f"unknown metric key(s) {sorted(unknown)}; valid: {list(PER_IMAGE_KEYS)}")
    out: dict[str, float] = {}
    if want & {"l2ab", "l2ab_norm", "auc", "cast_a", "cast_b"}:
        ab_pred, ab_gt = rgb2lab(pred)[..., 1:], rgb2lab(gt)[..., 1:]
        if want & {"l2ab", "l2ab_norm", "auc"}:
            err = _ab_error_from_ab(ab_pred, ab_gt)
            l2 = float(err.mean())
            out.update(l2ab=l2, l2ab_norm=l2 / C.AB_SCALE, auc=auc_from_errors(err))
        out["cast_a"], out["cast_b"] = _cast_from_ab(ab_pred, ab_gt)
    if "psnr" in want:
        out["psnr"] = psnr(pred, gt, cap_db=psnr_cap_db)
    if "ssim" in want:
        out["ssim"] = ssim(pred, gt)
    if want & {"colorfulness", "gt_colorfulness", "delta_cf", "cci"}:
        cf_pred, cf_gt = colorfulness(pred), colorfulness(gt)
        lo, hi = CCI_RANGE
        out.update(colorfulness=cf_pred, gt_colorfulness=cf_gt, delta_cf=abs(cf_pred - cf_gt),
                   cci=1.0 if lo <= cf_pred <= hi else 0.0)  # fmt: skip
    if "cni" in want:
        out["cni"] = cni(pred)
    return {k: out[k] for k in PER_IMAGE_KEYS if k in want}


class MetricAccumulator:
    """Averages per-image metric dicts (from :func:`evaluate_pair`) over an image set.

    Every per-image value is a mean over images; NaN values are skipped (each key is
    averaged over the images where it is not NaN; a key that is NaN for every image, or an
    empty accumulator, averages to NaN). ``cci_ratio`` is the mean of the per-image ``cci``
    flags, i.e. the fraction of images with 16 <= M3 <= 20. ``num_images`` counts the dicts
    added.

    ΔCF both ways the papers report it: ``delta_cf`` = mean over images of |M3(pred) -
    M3(gt)| (per image), and ``delta_mean_cf`` = |mean M3(pred) - mean M3(gt)| (of the set
    means; a model that is too colourful on some images and too dull on others can score
    near 0 here and not in ``delta_cf``). ``cast_a`` / ``cast_b`` are signed means, so a
    systematic tint survives the averaging.

    Example::

        acc = MetricAccumulator()
        for pred, gt in pairs:
            acc.update(evaluate_pair(pred, gt))
        summary = acc.compute()   # {"psnr": ..., "cci_ratio": ..., "num_images": ...}
    """

    def __init__(self) -> None:
        self._values: dict[str, list[float]] = {k: [] for k in PER_IMAGE_KEYS}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def update(self, metrics: Mapping[str, float]) -> None:
        """Add one image's dict; it must contain every key of :data:`PER_IMAGE_KEYS`."""
        missing = [k for k in PER_IMAGE_KEYS if k not in metrics]
        if missing:
            raise ValueError(
                f"metrics dict lacks keys {missing}; expected the keys of evaluate_pair: "
                f"{list(PER_IMAGE_KEYS)}"
            )
        for k in PER_IMAGE_KEYS:
            self._values[k].append(float(metrics[k]))
        self._count += 1

    def compute(self) -> dict[str, float]:
        """The averages, with the keys :data:`SUMMARY_KEYS` (Python floats; num_images int)."""
        means = {k: _nanmean(v) for k, v in self._values.items()}
        out: dict[str, float] = {k: means[k] for k in PER_IMAGE_KEYS if k != "cci"}
        out["cci_ratio"] = means["cci"]
        out["delta_mean_cf"] = abs(means["colorfulness"] - means["gt_colorfulness"])
        out["num_images"] = self._count
        return {k: out[k] for k in SUMMARY_KEYS}


def summarize(per_image: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """:class:`MetricAccumulator` over an iterable of per-image dicts, in one call."""
    acc = MetricAccumulator()
    for m in per_image:
        acc.update(m)
    return acc.compute()


def _nanmean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else float("nan")


def grayscale_baseline(gt: np.ndarray) -> np.ndarray:
    """The "gray" baseline prediction: gt's L with a = b = 0, back to uint8 RGB.

    ``img_as_ubyte(lab2rgb(Lab with ab zeroed))`` through ``skimage.color`` (rounded to
    nearest), i.e. what a colorizer that predicts no colour scores.
    """
    lab = rgb2lab(check_rgb_uint8(gt, "gt"))
    lab[..., 1:] = 0.0
    return img_as_ubyte(np.clip(lab2rgb(lab), 0.0, 1.0))
