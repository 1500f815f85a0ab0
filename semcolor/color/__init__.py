"""Colour science shared by training, evaluation and inference.

Tensor contracts: images are (B,C,H,W) float32/float64 on any device; sRGB in [0,1];
L in [0,100]; ab in Lab units (about ±110); bin distributions are (B,313,H,W) over
:data:`AB_BINS`. The full-resolution fast paths of :mod:`semcolor.color.fullres` (whole photos,
CPU, chunked) take one image: L (H,W) float32, ab (2,H,W) float32, sRGB (H,W,3) uint8 or
(3,H,W) float32.

Room 2 of the house (README, "Layout"): it imports only :mod:`semcolor.constants`, and every
room above converts through it.
"""

from semcolor.color.bins import (
    AB_BINS,
    ab_bins_tensor,
    hard_encode,
    soft_encode,
    soft_encode_sparse,
)
from semcolor.color.decode import annealed_mean, entropy, mean, mode
from semcolor.color.fullres import (
    CHUNK_PIXELS,
    l_from_planes,
    l_from_rgb,
    l_to_gray_u8,
    lab_to_rgb_chunked,
    lab_to_rgb_u8,
)
from semcolor.color.lab import (
    denormalize_ab,
    l_to_gray,
    lab_to_rgb,
    luma_bt601,
    luminance_gray,
    normalize_ab,
    normalize_l,
    rgb_to_gray_lab,
    rgb_to_lab,
)
from semcolor.color.rebalance import (
    PriorEstimator,
    RebalancePrior,
    mean_preserving_tilt,
    rebalance_weights,
    smooth_distribution,
)

__all__ = [
    "AB_BINS",
    "CHUNK_PIXELS",
    "PriorEstimator",
    "RebalancePrior",
    "ab_bins_tensor",
    "annealed_mean",
    "entropy",
    "denormalize_ab",
    "hard_encode",
    "l_from_planes",
    "l_from_rgb",
    "l_to_gray",
    "luma_bt601",
    "mean_preserving_tilt",
    "luminance_gray",
    "l_to_gray_u8",
    "lab_to_rgb",
    "lab_to_rgb_chunked",
    "lab_to_rgb_u8",
    "mean",
    "mode",
    "normalize_ab",
    "normalize_l",
    "rebalance_weights",
    "rgb_to_gray_lab",
    "rgb_to_lab",
    "smooth_distribution",
    "soft_encode",
    "soft_encode_sparse",
]
