"""Paired geometric transforms for an image and its (optional) label map.

Train: optional random scale, resize the shorter side to ``resize`` (default ``crop_size``),
optional random rotation, random crop ``crop_size`` x ``crop_size``, random horizontal flip.
Eval: resize the shorter side to ``resize`` (default ``crop_size``) and center-crop.

The image (``uint8`` (3,H,W), or (4,H,W) whose optional 4th channel, e.g. a saliency map,
follows the image's geometry exactly: same bilinear resampling, crop, flip and rotation, 0
where rotation uncovers corners) is resized bilinearly with antialiasing; the label map
(``int64`` (H,W)) goes through the same geometry with nearest-neighbour sampling
(``NEAREST_EXACT``: the pixel-centre-aligned nearest neighbour, so labels stay aligned with
the bilinearly resampled image; torch's legacy ``NEAREST`` is shifted by up to a pixel).
Images smaller than the crop are upscaled. Randomness comes from ``generator`` (a
``torch.Generator``) or, when it is ``None``, from torch's global RNG — which a DataLoader
seeds per worker from its own generator, so runs are reproducible given the loader's seed.
Rotation fills uncovered corners with black in the image and ``IGNORE_INDEX`` in the labels.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from torchvision.transforms import InterpolationMode

from semcolor import constants as C


def _uniform(lo: float, hi: float, generator: torch.Generator | None) -> float:
    if hi <= lo:
        return float(lo)
    return lo + (hi - lo) * float(torch.rand((), generator=generator))


def _randint(hi_inclusive: int, generator: torch.Generator | None) -> int:
    if hi_inclusive <= 0:
        return 0
    return int(torch.randint(0, hi_inclusive + 1, (1,), generator=generator))


def shorter_side_size(height: int, width: int, short: int, min_size: int) -> tuple[int, int]:
    """(h, w) after scaling so the shorter side is ``short``; both sides >= ``min_size``."""
    scale = short / min(height, width)
    h = max(min_size, int(round(height * scale)))
    w = max(min_size, int(round(width * scale)))
    return h, w


def resize_pair(
    image: torch.Tensor, seg: torch.Tensor | None, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Resize image (bilinear, antialiased) and seg (nearest) to ``size`` = (h, w)."""
    if tuple(image.shape[-2:]) != tuple(size):
        image = F.resize(image, list(size), InterpolationMode.BILINEAR, antialias=True)
        if seg is not None:
            seg = F.resize(seg[None], list(size), InterpolationMode.NEAREST_EXACT)[0]
    return image, seg


def crop_pair(
    image: torch.Tensor, seg: torch.Tensor | None, top: int, left: int, size: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    image = image[..., top : top + size, left : left + size]
    if seg is not None:
        seg = seg[top : top + size, left : left + size]
    return image, seg


class PairTransform:
    """Geometry shared by an image and its label map.

    Args:
        crop_size: output side (square crops).
        train: random (train) or deterministic (eval) geometry.
        resize: shorter side before cropping (>= ``crop_size``); default ``crop_size``.
        hflip: random horizontal flips (train only).
        rotate_degrees: maximum absolute rotation in degrees (train only; 0 = off).
        scale_min, scale_max: random factor applied to ``resize`` (train only; 1, 1 = off).
            The resized shorter side never drops below ``crop_size``.

    Call with ``image`` uint8 (3,H,W) and ``seg`` int64 (H,W) or ``None``; returns
    ``(image uint8 (3,crop,crop), seg int64 (crop,crop) or None)``. ``image`` may carry an
    optional 4th uint8 channel (4,H,W), e.g. a saliency map: it goes through the image's
    geometry (bilinear) and comes back as the 4th channel of the result.
    """

    def __init__(
        self,
        crop_size: int = C.TRAIN_CROP,
        train: bool = True,
        resize: int | None = None,
        hflip: bool = True,
        rotate_degrees: float = 0.0,
        scale_min: float = 1.0,
        scale_max: float = 1.0,
    ) -> None:
        if crop_size < 1:
            raise ValueError(f"crop_size must be >= 1, got {crop_size}")
        if resize is not None and resize < crop_size:
            raise ValueError(f"resize ({resize}) must be >= crop_size ({crop_size})")
        if not (0 < scale_min <= scale_max):
            raise ValueError(f"need 0 < scale_min <= scale_max, got {scale_min}, {scale_max}")
        if rotate_degrees < 0 or not math.isfinite(rotate_degrees):
            raise ValueError(f"rotate_degrees must be finite and >= 0, got {rotate_degrees}")
        self.crop_size = int(crop_size)
        self.train = bool(train)
        self.resize = int(resize) if resize is not None else int(crop_size)
        self.hflip = bool(hflip)
        self.rotate_degrees = float(rotate_degrees)
        self.scale_min = float(scale_min)
        self.scale_max = float(scale_max)

    def __repr__(self) -> str:
        return (
            f"PairTransform(crop_size={self.crop_size}, train={self.train}, resize={self.resize},"
            f" hflip={self.hflip}, rotate_degrees={self.rotate_degrees},"
            f" scale=({self.scale_min}, {self.scale_max}))"
        )

    def fixed_resize(self) -> int | None:
        """The shorter side every image is resized to before cropping, when that does not
        depend on chance (eval geometry, or ``scale_min == scale_max``); else None."""
        if not self.train:
            return self.resize
        if self.scale_min == self.scale_max:
            return max(self.crop_size, int(round(self.resize * self.scale_min)))
        return None

    def presize(
        self, rgb: np.ndarray, seg: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``rgb`` uint8 (H,W,3) and ``seg`` int64 (H,W) or None resized exactly as
        :meth:`__call__` resizes them first (which then finds nothing to resize), for a cache
        of resized images. Needs :meth:`fixed_resize`."""
        short = self.fixed_resize()
        if short is None:
            raise ValueError("presize needs a fixed resize (scale_min == scale_max)")
        h, w = rgb.shape[:2]
        image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
        seg_t = torch.from_numpy(seg) if seg is not None else None
        image, seg_t = resize_pair(image, seg_t, shorter_side_size(h, w, short, self.crop_size))
        out = np.ascontiguousarray(image.permute(1, 2, 0).numpy())
        return out, (seg_t.numpy() if seg_t is not None else None)

    def __call__(
        self,
        image: torch.Tensor,
        seg: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if image.ndim != 3 or image.shape[0] not in (3, 4):
            raise ValueError(f"image must be (3,H,W) or (4,H,W), got {tuple(image.shape)}")
        if seg is not None and tuple(seg.shape) != tuple(image.shape[-2:]):
            raise ValueError(
                f"seg shape {tuple(seg.shape)} differs from image {tuple(image.shape[-2:])}"
            )
        h, w = image.shape[-2:]
        crop = self.crop_size
        if not self.train:
            image, seg = resize_pair(image, seg, shorter_side_size(h, w, self.resize, crop))
            hh, ww = image.shape[-2:]
            return crop_pair(image, seg, (hh - crop) // 2, (ww - crop) // 2, crop)

        scale = _uniform(self.scale_min, self.scale_max, generator)
        short = max(crop, int(round(self.resize * scale)))
        image, seg = resize_pair(image, seg, shorter_side_size(h, w, short, crop))
        if self.rotate_degrees > 0:
            angle = _uniform(-self.rotate_degrees, self.rotate_degrees, generator)
            image = F.rotate(image, angle, InterpolationMode.BILINEAR, fill=[0.0])
            if seg is not None:
                seg = F.rotate(
                    seg[None], angle, InterpolationMode.NEAREST, fill=[float(C.IGNORE_INDEX)]
                )[0]
        hh, ww = image.shape[-2:]
        top = _randint(hh - crop, generator)
        left = _randint(ww - crop, generator)
        image, seg = crop_pair(image, seg, top, left, crop)
        if self.hflip and float(torch.rand((), generator=generator)) < 0.5:
            image = F.horizontal_flip(image)
            if seg is not None:
                seg = F.horizontal_flip(seg)
        return image, seg
