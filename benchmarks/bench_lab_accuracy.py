"""The README's Lab accuracy figures: semcolor's sRGB <-> Lab against scikit-image (the
named baseline), over an 8-bit RGB grid (every 15th level, 5,832 colours) and scikit-image's
photos, in float64 and float32. Prints the largest absolute differences (Lab units for
rgb_to_lab, RGB in [0, 1] for lab_to_rgb). `pytest tests/color` asserts bounds on the same.

    python benchmarks/bench_lab_accuracy.py
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from skimage import color as skcolor
from skimage import data as skdata

from semcolor.color import lab_to_rgb, rgb_to_lab

LEVELS = np.arange(0, 256, 15)
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def _t(x: np.ndarray, dtype) -> torch.Tensor:
    return torch.tensor(x, dtype=dtype).permute(2, 0, 1)[None]


def _np(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).double().numpy()


def main() -> None:
    grid = np.stack(np.meshgrid(LEVELS, LEVELS, LEVELS, indexing="ij"), -1).reshape(-1, 1, 3)
    images = [grid / 255.0] + [getattr(skdata, n)() / 255.0 for n in PHOTOS]
    head = ("dtype", "rgb_to_lab max |diff| (Lab)", "lab_to_rgb max |diff| (RGB)")
    print(f"{head[0]:>8} | {head[1]:>28} | {head[2]:>28}")
    for dtype in (torch.float64, torch.float32):
        fwd = back = 0.0
        for img in images:
            ref = skcolor.rgb2lab(img)
            fwd = max(fwd, float(np.abs(_np(rgb_to_lab(_t(img, dtype))) - ref).max()))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref_rgb = skcolor.lab2rgb(ref)
            back = max(back, float(np.abs(_np(lab_to_rgb(_t(ref, dtype))) - ref_rgb).max()))
        print(f"{str(dtype).split('.')[-1]:>8} | {fwd:28.2e} | {back:28.2e}")


if __name__ == "__main__":
    main()
