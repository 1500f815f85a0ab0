"""sRGB <-> CIE Lab (D65, 2-degree observer), batched, differentiable, on the input's device.

The formulas and constants are exactly scikit-image's (``skimage.color.rgb2lab`` /
``lab2rgb``), so that numbers computed here and by scikit-image-based evaluation code agree
(to ~1e-10 in float64). Written with torch rather than calling scikit-image because training
converts on the GPU inside the step and needs gradients.
"""

from __future__ import annotations

import functools

import torch

from semcolor import constants as C
from semcolor.color._checks import check_image_tensor


@functools.lru_cache(maxsize=16)
def _matrices(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    # Compute the inverse in float64 once (as skimage does with numpy), then cast.
    xyz_from_rgb = torch.tensor(C.XYZ_FROM_RGB, dtype=torch.float64)
    rgb_from_xyz = torch.linalg.inv(xyz_from_rgb)
    return xyz_from_rgb.to(device, dtype), rgb_from_xyz.to(device, dtype)


def _white(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor(C.D65_WHITE, dtype=dtype, device=device).view(1, 3, 1, 1)


def _apply_matrix(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", m, x)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Convert sRGB to CIE Lab (D65, 2°), as ``skimage.color.rgb2lab``.

    Args:
        rgb: (B,3,H,W) float32 or float64 sRGB in [0, 1], any device.

    Returns:
        (B,3,H,W) Lab of the same dtype and device: L in [0, 100], a and b roughly in
        [-87, 99] and [-108, 95] for sRGB inputs.

    Raises:
        ValueError: wrong shape, non-float dtype, NaN, or values outside [0, 1].
    """
    check_image_tensor(rgb, "rgb", 3)
    lo, hi = torch.aminmax(rgb)
    if lo < 0 or hi > 1:
        raise ValueError(
            f"rgb must lie in [0, 1], got values in [{lo.item():.4g}, {hi.item():.4g}]; "
            "divide 8-bit images by 255 (or clamp(0, 1) after resampling)"
        )
    lin = _srgb_decode(rgb)
    xyz_from_rgb, _ = _matrices(rgb.dtype, rgb.device)
    xyz = _apply_matrix(xyz_from_rgb, lin) / _white(rgb.dtype, rgb.device)
    f = torch.where(
        xyz > C.LAB_EPSILON,
        xyz.clamp_min(C.LAB_EPSILON) ** (1.0 / 3.0),
        C.LAB_KAPPA_SLOPE * xyz + C.LAB_OFFSET,
    )
    fx, fy, fz = f[:, 0:1], f[:, 1:2], f[:, 2:3]
    return torch.cat([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Convert CIE Lab (D65, 2°) to sRGB, as ``skimage.color.lab2rgb``.

    Args:
        lab: (B,3,H,W) float32 or float64; L nominally in [0, 100], a/b in Lab units.

    Returns:
        (B,3,H,W) sRGB of the same dtype and device, clipped to [0, 1] (colours outside the
        sRGB gamut are clipped per channel, as scikit-image does).

    Raises:
        ValueError: wrong shape, non-float dtype or NaN.
    """
    check_image_tensor(lab, "lab", 3)
    L, a, b = lab[:, 0:1], lab[:, 1:2], lab[:, 2:3]
    fy = (L + 16.0) / 116.0
    fx = a / 500.0 + fy
    # skimage sets negative z to 0 (with a warning); we do the same silently.
    fz = (fy - b / 200.0).clamp_min(0.0)
    f = torch.cat([fx, fy, fz], dim=1)
    knee = 6.0 / 29.0  # = 0.2068966, the cube of which is LAB_EPSILON
    xyz = torch.where(
        f > 0.2068966,
        f.clamp_min(knee) ** 3,
        (f - C.LAB_OFFSET) / C.LAB_KAPPA_SLOPE,
    ) * _white(lab.dtype, lab.device)
    _, rgb_from_xyz = _matrices(lab.dtype, lab.device)
    return _srgb_encode(_apply_matrix(rgb_from_xyz, xyz)).clamp(0.0, 1.0)


def _srgb_decode(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB-encoded values -> linear light (IEC 61966-2-1, as skimage)."""
    # pow on clamped input keeps gradients finite in the unused branch.
    return torch.where(
        rgb > C.SRGB_KNEE_ENCODED,
        ((rgb.clamp_min(C.SRGB_KNEE_ENCODED) + C.SRGB_OFFSET) / (1 + C.SRGB_OFFSET))
        ** C.SRGB_GAMMA,
        rgb / C.SRGB_LINEAR_SLOPE,
    )


def _srgb_encode(lin: torch.Tensor) -> torch.Tensor:
    """Linear light -> sRGB-encoded values (IEC 61966-2-1, as skimage), unclipped."""
    return torch.where(
        lin > C.SRGB_KNEE_LINEAR,
        (1 + C.SRGB_OFFSET) * lin.clamp_min(C.SRGB_KNEE_LINEAR) ** (1.0 / C.SRGB_GAMMA)
        - C.SRGB_OFFSET,
        lin * C.SRGB_LINEAR_SLOPE,
    )


def rgb_to_gray_lab(rgb: torch.Tensor) -> torch.Tensor:
    """The L channel of ``rgb_to_lab``: (B,3,H,W) sRGB in [0,1] -> (B,1,H,W) L in [0,100]."""
    return rgb_to_lab(rgb)[:, :1]


def l_to_gray(L: torch.Tensor) -> torch.Tensor:
    """sRGB level of the neutral colour (L, 0, 0): (B,1,H,W) L in [0,100] -> gray in [0,1].

    Y = f^-1((L + 16) / 116) relative to white, then sRGB-encoded. This is what an RGB
    network sees on a gray photo (R = G = B), so an ImageNet encoder with a summed-RGB first
    conv gets its usual input statistics. Agrees with every channel of ``lab_to_rgb`` of
    (L, 0, 0) to ~1e-4 (the sRGB matrix maps D65 white to (1, 1, 1) only to 4 digits).
    Differentiable; dtype and device of ``L``.
    """
    fy = (L + 16.0) / 116.0
    knee = C.LAB_F_KNEE
    y = torch.where(fy > knee, fy.clamp_min(knee) ** 3, (fy - C.LAB_OFFSET) / C.LAB_KAPPA_SLOPE)
    return _srgb_encode(y.clamp(0.0, 1.0)).clamp(0.0, 1.0)


def luminance_gray(rgb: torch.Tensor) -> torch.Tensor:
    """The gray of a colour image as :func:`l_to_gray` makes it: the sRGB level of the neutral
    colour with the same luminance, i.e. ``l_to_gray(rgb_to_gray_lab(rgb))``.

    Computed directly: Y = the Y row of ``XYZ_FROM_RGB`` on the linear channels (relative to
    white, whose Y is 1), then sRGB-encoded. The row sums to 1, so a gray pixel R = G = B = g
    maps to g. Unlike BT.601 luma of the encoded channels (:func:`luma_bt601`), a colour
    image's gray here is exactly the gray image semcolor makes of its Lab L (pure red: 0.499,
    where BT.601 gives 0.299).

    (B,3,H,W) sRGB in [0,1] -> (B,1,H,W) in [0,1]; differentiable; dtype/device of ``rgb``.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must be (B,3,H,W), got {tuple(rgb.shape)}")
    xyz_from_rgb, _ = _matrices(rgb.dtype, rgb.device)
    y = _apply_matrix(xyz_from_rgb[1:2], _srgb_decode(rgb))
    return _srgb_encode(y.clamp(0.0, 1.0)).clamp(0.0, 1.0)


def normalize_l(L: torch.Tensor) -> torch.Tensor:
    """Network input from L: (B,1,H,W) in [0,100] -> (L - 50) / 100 in [-0.5, 0.5]."""
    return (L - C.L_CENTER) / C.L_SCALE


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """Regression target from ab: (B,2,H,W) Lab units -> ab / 110 (about [-1, 1])."""
    return ab / C.AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize_ab`: ab / 110 -> (B,2,H,W) Lab units."""
    return ab_norm * C.AB_SCALE


def luma_bt601(rgb: torch.Tensor) -> torch.Tensor:
    """H_t of SpyncoGAN: the weighted sum of the sRGB channels with the ITU-R BT.601 luma
    weights (0.299, 0.587, 0.114), which sum to 1, so a gray pixel R = G = B = g maps to g.

    (B,3,H,W) sRGB in [0,1] -> (B,1,H,W) in [0,1]; differentiable; dtype/device of ``rgb``.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must be (B,3,H,W), got {tuple(rgb.shape)}")
    w = torch.tensor(C.BT601_LUMA, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * w).sum(1, keepdim=True)
