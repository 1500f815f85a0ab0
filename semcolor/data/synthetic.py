"""``data=synthetic``: generated images with every kind of label, for smoke runs and tests.

Each image is a smooth background plus a few coloured rectangles; the segmentation label of a
pixel is the colour class of the rectangle under it (background: class 0), and the scene
label is the class of the largest rectangle. Some samples lack scene or segmentation labels,
and some are colourless, so the loss masks are exercised. Deterministic per (seed, index).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from semcolor import constants as C
from semcolor.color.lab import rgb_to_lab

#: Saturated colours the rectangles are drawn with; class c >= 1 uses _PALETTE[(c-1) % 8].
_PALETTE = np.array(
    [(220, 40, 40), (40, 170, 60), (40, 80, 220), (240, 200, 40),
     (160, 60, 200), (40, 200, 200), (250, 130, 30), (120, 80, 40)], dtype=np.float32
) / 255.0  # fmt: skip


class SyntheticDataset(Dataset):
    """Random rectangles with scene and segmentation labels (the sample contract).

    Args:
        num_samples: dataset length.
        size: images are (size, size).
        num_scene_classes: scene vector length (0: no scene labels at all).
        num_seg_classes: segmentation classes (0: no segmentation labels at all).
        label_fraction: fraction of samples that carry scene / seg labels (independently).
        colourless_fraction: fraction of samples rendered in gray.
        seed: base seed; sample i is generated from (seed, i).
    """

    def __init__(
        self,
        num_samples: int = 64,
        size: int = 64,
        num_scene_classes: int = 8,
        num_seg_classes: int = 9,
        label_fraction: float = 0.75,
        colourless_fraction: float = 0.1,
        seed: int = 0,
    ):
        if num_samples < 1 or size < 4:
            raise ValueError(f"need num_samples >= 1 and size >= 4, got {num_samples}, {size}")
        self.num_samples, self.size, self.seed = num_samples, size, seed
        self.num_scene_classes, self.num_seg_classes = num_scene_classes, num_seg_classes
        self.label_fraction, self.colourless_fraction = label_fraction, colourless_fraction
        self.crop_size = size
        self.paths = [f"synthetic://{seed}/{i}" for i in range(num_samples)]

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        s = self.size
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
        base = rng.uniform(0.2, 0.8, 3).astype(np.float32)
        rgb = base[:, None, None] * (0.7 + 0.3 * (xx + yy)[None] / 2)
        seg = np.zeros((s, s), dtype=np.int64)
        n_cls = max(self.num_seg_classes, self.num_scene_classes, 2)
        areas: dict[int, int] = {}
        for _ in range(rng.integers(1, 4)):
            c = int(rng.integers(1, n_cls))
            h, w = rng.integers(s // 4, s // 2 + 1, 2)
            y, x = rng.integers(0, s - h + 1), rng.integers(0, s - w + 1)
            rgb[:, y : y + h, x : x + w] = _PALETTE[(c - 1) % len(_PALETTE)][:, None, None]
            seg[y : y + h, x : x + w] = c
            areas[c] = areas.get(c, 0) + int(h * w)
        rgb = np.clip(rgb + rng.normal(0, 0.02, rgb.shape).astype(np.float32), 0, 1)
        if rng.random() < self.colourless_fraction:
            rgb = np.repeat(rgb.mean(0, keepdims=True), 3, 0)
        lab = rgb_to_lab(torch.from_numpy(rgb)[None])[0]
        colorful = bool(lab[1:].norm(dim=0).mean() >= C.COLOURLESS_CHROMA)

        scene = torch.zeros(self.num_scene_classes)
        has_scene = self.num_scene_classes > 0 and rng.random() < self.label_fraction
        if has_scene:
            scene[max(areas, key=areas.get) % self.num_scene_classes] = 1.0
        has_seg = self.num_seg_classes > 0 and rng.random() < self.label_fraction
        seg_t = torch.full((s, s), C.IGNORE_INDEX, dtype=torch.int64)
        if has_seg:
            seg_t = torch.from_numpy(seg % self.num_seg_classes)
        return {
            "L": lab[:1].contiguous(),
            "ab": lab[1:].contiguous(),
            "colorful": torch.tensor(colorful),
            "scene": scene,
            "has_scene": torch.tensor(has_scene),
            "seg": seg_t,
            "has_seg": torch.tensor(has_seg),
            "saliency": torch.zeros(1, s, s),
            "has_saliency": torch.tensor(False),
            "index": torch.tensor(index, dtype=torch.int64),
        }
