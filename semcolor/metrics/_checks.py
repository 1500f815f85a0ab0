"""Input validation for the metrics (clear ValueErrors, never a deep shape crash)."""

from __future__ import annotations

import numpy as np
from skimage.util import img_as_ubyte


def check_rgb_uint8(x: object, name: str = "rgb") -> np.ndarray:
    """Return ``x`` if it is a numpy uint8 array of shape (H, W, 3) with H, W >= 1.

    Raises:
        ValueError: not a numpy array, wrong shape or wrong dtype; the message says what was
            expected.
    """
    if not isinstance(x, np.ndarray):
        raise ValueError(
            f"{name} must be a numpy uint8 array of shape (H,W,3), got {type(x).__name__}"
            + (" (convert with .permute(1,2,0).cpu().numpy())" if hasattr(x, "permute") else "")
        )
    if x.ndim != 3 or x.shape[-1] != 3 or x.shape[0] < 1 or x.shape[1] < 1:
        channels_first = x.ndim == 3 and x.shape[0] == 3
        hint = " (channels-last expected, got channels-first?)" if channels_first else ""
        raise ValueError(f"{name} must have shape (H,W,3), got {x.shape}{hint}")
    if x.dtype != np.uint8:
        raise ValueError(
            f"{name} must have dtype uint8 (8-bit RGB), got {x.dtype}; "
            "convert float images in [0,1] with semcolor.metrics.as_uint8"
        )
    return x


def check_pair(pred: object, gt: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (prediction, ground truth) pair of uint8 (H,W,3) arrays of equal shape."""
    pred = check_rgb_uint8(pred, "pred")
    gt = check_rgb_uint8(gt, "gt")
    if pred.shape != gt.shape:
        raise ValueError(
            f"pred and gt must have the same shape, got pred {pred.shape} and gt {gt.shape}; "
            "resize the prediction to the ground truth's size first"
        )
    return pred, gt


def as_uint8(img: object, name: str = "img") -> np.ndarray:
    """Convenience: an (H,W,3) RGB image as uint8, the form every metric here expects.

    Args:
        img: numpy (H,W,3) array, either uint8 (returned unchanged) or floating point with
            values in [0, 1] (scaled by 255 and rounded to nearest with
            ``skimage.util.img_as_ubyte``).

    Raises:
        ValueError: wrong shape, a dtype other than uint8/float, NaN, or float values outside
            [0, 1] (clip them first if that is intended).
    """
    if isinstance(img, np.ndarray) and img.dtype.kind == "f":
        if img.ndim != 3 or img.shape[-1] != 3:
            raise ValueError(f"{name} must have shape (H,W,3), got {img.shape}")
        if np.isnan(img).any():
            raise ValueError(f"{name} contains NaN values")
        lo, hi = float(img.min()), float(img.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"float {name} must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]; "
                "use np.clip(img, 0, 1) if clipping is intended"
            )
        return img_as_ubyte(img)
    return check_rgb_uint8(img, name)
