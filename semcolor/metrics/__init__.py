"""Evaluation metrics of colorization papers, per image on 8-bit RGB (numpy, no Lightning).

Contracts: images are numpy uint8 arrays (H, W, 3), sRGB, channels last; full-reference
metrics take ``(pred, gt)`` of equal shape. Float images in [0, 1] go through
:func:`as_uint8` first. Bad input raises ValueError. Definitions: ``docs/metrics.md``.
The set-level Fréchet distances take feature arrays (n, D) (:mod:`semcolor.metrics.frechet`).

Room 3 of the house (README, "Layout"): it imports only :mod:`semcolor.constants`; the
evaluation room (:mod:`semcolor.evaluation`) and training validation score with it.
"""

from semcolor.metrics._checks import as_uint8, check_pair, check_rgb_uint8
from semcolor.metrics.colour import (
    CCI_RANGE,
    CNI_CLASSES,
    CNI_EMPTY,
    cci_flag,
    cni,
    colorfulness,
    colour_cast,
    delta_colorfulness,
    is_colourless,
    mean_chroma,
    rgb_to_hls,
)
from semcolor.metrics.evaluate import (
    PER_IMAGE_KEYS,
    SUMMARY_KEYS,
    MetricAccumulator,
    evaluate_pair,
    grayscale_baseline,
    summarize,
)
from semcolor.metrics.fidelity import (
    AUC_MAX_THRESHOLD,
    PSNR_CAP_DB,
    SSIM_SIGMA,
    SSIM_WIN_SIZE,
    ab_auc,
    ab_error_map,
    auc_from_errors,
    l2ab,
    l2ab_norm,
    psnr,
    ssim,
)
from semcolor.metrics.frechet import frechet_distance, frechet_distance_features, gaussian_stats

__all__ = [
    "AUC_MAX_THRESHOLD",
    "CCI_RANGE",
    "CNI_CLASSES",
    "CNI_EMPTY",
    "PER_IMAGE_KEYS",
    "PSNR_CAP_DB",
    "SSIM_SIGMA",
    "SSIM_WIN_SIZE",
    "SUMMARY_KEYS",
    "MetricAccumulator",
    "ab_auc",
    "ab_error_map",
    "as_uint8",
    "auc_from_errors",
    "cci_flag",
    "check_pair",
    "check_rgb_uint8",
    "cni",
    "colorfulness",
    "colour_cast",
    "delta_colorfulness",
    "evaluate_pair",
    "frechet_distance",
    "frechet_distance_features",
    "gaussian_stats",
    "grayscale_baseline",
    "is_colourless",
    "l2ab",
    "l2ab_norm",
    "mean_chroma",
    "psnr",
    "rgb_to_hls",
    "ssim",
    "summarize",
]
