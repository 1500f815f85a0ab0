"""Input validation shared by the colour functions (clear errors, never a deep shape crash)."""

from __future__ import annotations

import torch


def check_image_tensor(x: object, name: str, channels: int) -> torch.Tensor:
    """Return ``x`` if it is a floating (B, channels, H, W) tensor, else raise ValueError."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(
            f"{name} must be a torch.Tensor of shape (B,{channels},H,W), got {type(x).__name__}"
        )
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(
            f"{name} must have shape (B,{channels},H,W), got {tuple(x.shape)}"
            + (" (add a batch dimension with x[None])" if x.ndim == 3 else "")
        )
    if not x.is_floating_point():
        raise ValueError(
            f"{name} must be a floating tensor (float32 or float64), got {x.dtype}; "
            "convert uint8 images with x.float() / 255"
        )
    if torch.isnan(x).any():
        raise ValueError(f"{name} contains NaN values")
    return x


def check_logits(x: object, num_bins: int, name: str = "logits") -> torch.Tensor:
    """Return ``x`` if it is a floating (B, num_bins, H, W) tensor without NaN."""
    return check_image_tensor(x, name, num_bins)
