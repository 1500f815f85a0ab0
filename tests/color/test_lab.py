"""Golden values: semcolor's Lab conversion against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import color as skcolor
from skimage import data as skdata

from semcolor.color import lab_to_rgb, luminance_gray, normalize_ab, normalize_l, rgb_to_lab

LEVELS = np.arange(0, 256, 15)
TOL = {torch.float64: 1e-4, torch.float32: 1e-2}


def _grid() -> np.ndarray:
    g = np.stack(np.meshgrid(LEVELS, LEVELS, LEVELS, indexing="ij"), -1).reshape(-1, 1, 3)
    return g / 255.0


def _to_t(x: np.ndarray, dtype) -> torch.Tensor:
    return torch.tensor(x, dtype=dtype).permute(2, 0, 1)[None]


def _to_np(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).detach().numpy()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_rgb_to_lab_matches_skimage_on_grid(dtype):
    rgb = _grid()
    ref = skcolor.rgb2lab(rgb)
    out = _to_np(rgb_to_lab(_to_t(rgb, dtype)))
    assert out.dtype == (np.float64 if dtype == torch.float64 else np.float32)
    assert np.abs(out - ref).max() < TOL[dtype]


@pytest.mark.filterwarnings("ignore:Conversion from CIE-LAB")  # the out-of-gamut rows, on purpose
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_lab_to_rgb_matches_skimage_on_grid(dtype):
    lab = skcolor.rgb2lab(_grid())
    # Include out-of-gamut Lab values: both sides clip to [0, 1].
    wild = np.array([[[50.0, 100.0, -120.0], [90.0, -90.0, 90.0], [5.0, 60.0, 60.0]]])
    lab = np.concatenate([lab, wild.reshape(-1, 1, 3)], 0)
    ref = skcolor.lab2rgb(lab)
    out = _to_np(lab_to_rgb(_to_t(lab, dtype)))
    assert out.min() >= 0 and out.max() <= 1
    assert np.abs(out - ref).max() < TOL[dtype] / 100  # RGB units are 100x smaller


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_real_photos_and_round_trip(name):
    img = getattr(skdata, name)() / 255.0
    ref = skcolor.rgb2lab(img)
    lab64 = rgb_to_lab(_to_t(img, torch.float64))
    assert np.abs(_to_np(lab64) - ref).max() < 1e-4
    lab32 = rgb_to_lab(_to_t(img, torch.float32))
    assert np.abs(_to_np(lab32) - ref).max() < 1e-2
    back = lab_to_rgb(lab64)
    assert np.abs(_to_np(back) - img).max() < 1e-6  # real photos are in gamut


def test_batched_and_gradients():
    rgb = torch.rand(3, 3, 8, 9, dtype=torch.float64, requires_grad=True)
    lab = rgb_to_lab(rgb)
    assert lab.shape == (3, 3, 8, 9)
    # Each image converts independently.
    assert torch.allclose(rgb_to_lab(rgb[1:2]), lab[1:2])
    assert torch.autograd.gradcheck(
        lambda x: rgb_to_lab(x.clamp(0.05, 0.95)), (rgb[:1, :, :2, :2],)
    )
    lab_in = lab.detach().requires_grad_(True)
    lab_to_rgb(lab_in).sum().backward()
    assert torch.isfinite(lab_in.grad).all()
    # Gradients stay finite at black, where the cube root has infinite slope.
    black = torch.zeros(1, 3, 2, 2, requires_grad=True)
    rgb_to_lab(black).sum().backward()
    assert torch.isfinite(black.grad).all()


def test_known_values():
    white = torch.ones(1, 3, 1, 1, dtype=torch.float64)
    # scikit-image's matrix maps white to (100, -0.0025, 0.0047), not exactly (100, 0, 0).
    expected = torch.tensor([100.0, 0, 0], dtype=torch.float64)
    assert torch.allclose(rgb_to_lab(white).flatten(), expected, atol=1e-2)
    assert torch.allclose(rgb_to_lab(white * 0).flatten(), torch.zeros(3, dtype=torch.float64))
    assert normalize_l(torch.tensor(50.0)) == 0 and normalize_l(torch.tensor(100.0)) == 0.5
    assert normalize_ab(torch.tensor(110.0)) == 1


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (torch.rand(3, 4, 4), r"\(B,3,H,W\)"),
        (torch.rand(1, 4, 4, 4), r"\(B,3,H,W\)"),
        (torch.randint(0, 255, (1, 3, 4, 4)), "floating"),
        (torch.full((1, 3, 2, 2), float("nan")), "NaN"),
        (torch.full((1, 3, 2, 2), 1.5), r"\[0, 1\]"),
        (torch.full((1, 3, 2, 2), -0.1), r"\[0, 1\]"),
        (np.zeros((1, 3, 2, 2)), "torch.Tensor"),
    ],
)
def test_rgb_to_lab_bad_input(x, match):
    with pytest.raises(ValueError, match=match):
        rgb_to_lab(x)


def test_lab_to_rgb_bad_input():
    with pytest.raises(ValueError, match=r"\(B,3,H,W\)"):
        lab_to_rgb(torch.zeros(1, 2, 4, 4))


def test_luminance_gray_is_the_gray_of_the_lab_l():
    # golden: scikit-image's gray of the same L, lab2rgb((L, 0, 0)), on the RGB grid
    rgb = _grid()
    L = skcolor.rgb2lab(rgb)[..., :1]
    gray = skcolor.lab2rgb(np.concatenate([L, np.zeros_like(L), np.zeros_like(L)], -1))
    got = _to_np(luminance_gray(_to_t(rgb, torch.float64)))[..., 0]
    assert np.abs(got - gray[..., 1]).max() < 1e-4
    g = torch.rand(1, 1, 3, 4, dtype=torch.float64)  # exact on gray
    assert torch.allclose(luminance_gray(g.expand(1, 3, 3, 4)), g, atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match=r"\(B,3,H,W\)"):
        luminance_gray(torch.rand(1, 1, 3, 4))
