"""Colour hints (Levin et al. 2004 on the model's ab): where a hint goes and where it stops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from semcolor.color.hints import apply_hints, parse_hints

H, W = 60, 80
RED_AB = rgb2lab(np.array([[[1.0, 0.0, 0.0]]]))[0, 0, 1:]


def _two_regions():
    """L: a dark left half and a bright right half (a strong edge at x = 40); the model's ab:
    a uniform blue-ish colour everywhere."""
    L = torch.full((1, H, W), 35.0)
    L[..., 40:] = 80.0
    L += torch.rand(1, H, W) * 0.5  # a little texture
    ab = torch.zeros(1, 2, H, W)
    ab[:, 0], ab[:, 1] = -5.0, -20.0
    return L, ab


def test_a_hinted_region_takes_the_hint_and_the_other_side_keeps_the_model():
    L, ab = _two_regions()
    scribble = [(x, 30, "#ff0000") for x in range(5, 36, 3)]  # a stroke across the left half
    out = apply_hints(L, ab, parse_hints(scribble, (H, W)))
    left = out[0, :, :, :40].mean((1, 2)).numpy()
    right = out[0, :, :, 41:]
    # the left region moved most of the way to the hint's chroma ...
    model = ab[0, :, 0, 0].numpy()
    moved = np.linalg.norm(left - model) / np.linalg.norm(RED_AB - model)
    assert moved > 0.5, moved
    assert np.allclose(out[0, :, 30, 20].numpy(), RED_AB, atol=8)
    # ... and across the strong luminance edge the model's colour stays
    assert torch.allclose(right, ab[0, :, :, 41:], atol=0.05)


def test_no_hints_is_exactly_the_model_output():
    L, ab = _two_regions()
    assert apply_hints(L, ab, None) is ab
    assert parse_hints(None, (H, W)) is None
    assert parse_hints(np.zeros((H, W, 4), np.uint8), (H, W)) is None  # nothing marked


def test_hint_image_rgba_and_rgb():
    L, ab = _two_regions()
    img = np.zeros((H, W, 4), np.uint8)
    img[28:33, 5:35] = (0, 0, 255, 255)  # blue, opaque
    h = parse_hints(img, (H, W))
    assert h.count == 5 * 30
    out = apply_hints(L, ab, h)
    blue = rgb2lab(np.array([[[0.0, 0.0, 1.0]]]))[0, 0, 1:]
    assert np.allclose(out[0, :, 30, 20].numpy(), blue, atol=8)
    rgb = img[..., :3].copy()  # RGB: non-black pixels are hints
    assert parse_hints(rgb, (H, W)).count == 5 * 30


def test_hints_work_through_the_api_at_full_resolution():
    import semcolor

    gray = np.full((90, 120), 110, np.uint8)
    gray[:, 60:] = 230
    plain = semcolor.colorize(gray, size=64)
    assert np.array_equal(plain, semcolor.colorize(gray, size=64, hints=None))
    hinted = semcolor.colorize(gray, size=64, hints=[(x, 45, (0, 200, 0)) for x in range(5, 55, 4)])
    lab = rgb2lab(hinted)
    assert lab[45, 20, 1] < -20  # green (negative a) on the hinted side
    assert np.abs(hinted[:, 62:].astype(int) - plain[:, 62:].astype(int)).max() <= 1


@pytest.mark.parametrize(
    "bad, match",
    [
        ([(200, 5, "#ff0000")], "outside"),
        ([(5, -1, "#ff0000")], "outside"),
        ([(float("nan"), 5, "#ff0000")], "finite"),
        ([(5, 5, "red")], "#rrggbb"),
        ([(5, 5, (300, 0, 0))], "0..255"),
        ([(5, 5)], r"\(x, y, colour\)"),
        (np.zeros((10, 10, 3), np.uint8), "photo is 80x60"),
        (np.zeros((H, W), np.uint8), r"\(H,W,3\)"),
        (np.full((H, W, 3), np.nan), "NaN"),
        ("hints.png", "list of"),
    ],
)
def test_bad_hints_are_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        parse_hints(bad, (H, W))


def _peppers():
    """Two 'peppers' of the same mid-gray (L about 50, shaded by 4 L units, with a fine
    texture of +-10 L units from pixel to pixel, as photos have) on a bright background
    (L 78): the first at the left, the second at the right, apart."""
    gen = torch.Generator().manual_seed(0)
    h, w = 96, 128
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing="ij")  # fmt: skip
    left = ((xx - 34) / 26) ** 2 + ((yy - 48) / 36) ** 2 <= 1
    right = ((xx - 96) / 22) ** 2 + ((yy - 48) / 30) ** 2 <= 1
    L = torch.full((h, w), 78.0)
    shade = 48.0 + 4.0 * (xx - 34).abs() / 26  # brighter towards the pepper's sides
    L = torch.where(left | right, shade, L) + (torch.rand(h, w, generator=gen) - 0.5) * 20
    ab = torch.zeros(1, 2, h, w)
    ab[:, 0], ab[:, 1] = -6.0, 14.0  # the model's dull olive
    return L[None], ab, left.numpy(), right.numpy()


def test_one_hint_recolours_its_region_not_a_dot():
    """README: a hint spreads through its region of similar luminance and stops at strong
    edges. One red hint in the left pepper turns the pepper red (before hint regions: a red
    dot, 4% of the pepper moved halfway); the other pepper, as gray but not connected, and
    the background across the edge keep the model's colour."""
    L, ab, left, right = _peppers()
    out = apply_hints(L, ab, parse_hints([(34, 48, "#d02020")], L.shape[-2:]))[0].numpy()
    hint_ab = rgb2lab(np.array([[[0xD0, 0x20, 0x20]]]) / 255.0)[0, 0, 1:, None, None]
    model = ab[0].numpy()
    halfway = np.hypot(*(out - hint_ab)) <= 0.5 * np.hypot(*(model - hint_ab))
    assert halfway[left].mean() >= 0.95, halfway[left].mean()
    assert halfway[right].mean() == 0.0
    background = ~(left | right)
    assert halfway[background].mean() < 0.05
    assert np.abs(out[:, right] - model[:, right]).max() < 1.0


def test_a_point_is_column_then_row_from_the_top_left():
    """README: (x, y, colour) with x the column and y the row; arr[y, x] is that pixel."""
    h, w = 40, 60
    L = torch.full((1, h, w), 50.0)
    L[..., :, 30:] = 90.0  # two regions: left and right halves
    ab = torch.zeros(1, 2, h, w)
    out = apply_hints(L, ab, parse_hints([(50, 5, "#ff0000")], (h, w)))[0]
    assert torch.allclose(out[:, 5, 50], torch.from_numpy(RED_AB).float(), atol=1.0)
    assert out[0, :, 30:].mean() > 20 and out[0, :, :30].abs().max() < 1.0  # the right half
