"""Colourfulness M3, CNI, CCI flag, HLS conversion and colourless detection."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pytest
import skimage.data

from semcolor.metrics import (
    cci_flag,
    cni,
    colorfulness,
    colour_cast,
    delta_colorfulness,
    is_colourless,
    mean_chroma,
    rgb_to_hls,
)


def _solid(color: tuple[int, int, int], h: int = 4, w: int = 4) -> np.ndarray:
    return np.broadcast_to(np.asarray(color, dtype=np.uint8), (h, w, 3)).copy()


def _naturalness(s: float, mu: float, sigma: float) -> float:
    return math.exp(-0.5 * ((s - mu) / sigma) ** 2)


# --- colourfulness M3 ---------------------------------------------------------------------------


@pytest.mark.parametrize("v", [0, 37, 128, 255])
def test_flat_gray_has_zero_colourfulness(v: int) -> None:
    assert colorfulness(_solid((v, v, v))) == 0.0


def test_gray_ramp_has_zero_colourfulness() -> None:
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    assert colorfulness(ramp) == 0.0


def test_red_blue_halves_by_hand() -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    img[:, :5] = (255, 0, 0)
    img[:, 5:] = (0, 0, 255)
    # red pixels:  rg = 255 - 0 = 255,  yb = (255 + 0)/2 - 0 = 127.5
    # blue pixels: rg = 0 - 0 = 0,      yb = (0 + 0)/2 - 255 = -255
    # Two equally frequent values x, y have mean (x+y)/2 and population std |x-y|/2:
    #   mu_rg = 127.5,  sigma_rg = 127.5
    #   mu_yb = (127.5 - 255)/2 = -63.75,  sigma_yb = (127.5 + 255)/2 = 191.25
    # sigma_rgyb = sqrt(127.5^2 + 191.25^2) = 127.5 sqrt(1 + 1.5^2) = 127.5 sqrt(3.25)
    # mu_rgyb    = sqrt(127.5^2 + 63.75^2)  = 63.75 sqrt(2^2 + 1)   = 63.75 sqrt(5)
    # M3 = 127.5 sqrt(3.25) + 0.3 * 63.75 sqrt(5) = 229.8542... + 42.7648... = 272.619...
    expected = 127.5 * math.sqrt(3.25) + 0.3 * 63.75 * math.sqrt(5.0)
    assert expected == pytest.approx(272.619, abs=1e-3)
    assert colorfulness(img) == pytest.approx(expected, rel=1e-13)


def test_single_colour_is_point3_times_mean_norm() -> None:
    # Constant image: sigma = 0; rg = 0, yb = 160 - 100 = 60 -> M3 = 0.3 * 60 = 18.
    assert colorfulness(_solid((160, 160, 100))) == pytest.approx(18.0, abs=1e-12)


def test_delta_colorfulness() -> None:
    a, b = _solid((160, 160, 100)), _solid((160, 160, 130))  # M3 18 and 9
    assert delta_colorfulness(a, b) == pytest.approx(9.0, abs=1e-12)
    assert delta_colorfulness(b, a) == pytest.approx(9.0, abs=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        delta_colorfulness(a, _solid((1, 2, 3), 5, 4))


# --- colour cast ---------------------------------------------------------------------------------


def test_colour_cast_golden_lab_values() -> None:
    # sRGB yellow is Lab (97.14, -21.55, 94.48), blue (32.30, 79.19, -107.86) (CIE, D65);
    # gray 128 has a = b = 0 up to 3e-3. Half yellow, half blue against gray:
    pred = np.concatenate([_solid((255, 255, 0), 4, 2), _solid((0, 0, 255), 4, 2)], axis=1)
    gt = _solid((128, 128, 128))
    da, db = colour_cast(pred, gt)
    assert da == pytest.approx((-21.55 + 79.19) / 2, abs=0.01)
    assert db == pytest.approx((94.48 - 107.86) / 2, abs=0.01)
    # signed: the reverse pair has the opposite cast; a sepia tint is a positive b cast
    assert colour_cast(gt, pred) == pytest.approx((-da, -db), abs=1e-9)
    assert colour_cast(_solid((112, 66, 20)), gt)[1] == pytest.approx(34.67, abs=0.01)
    assert colour_cast(gt, gt) == (0.0, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        colour_cast(pred, _solid((1, 2, 3), 5, 4))


# --- CCI flag -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blue", "flag"),
    [(107, False), (106, True), (100, True), (94, True), (93, False)],
)
def test_cci_flag_range_16_20(blue: int, flag: bool) -> None:
    # M3 = 0.3 * (160 - blue): 15.9, 16.2, 18, 19.8, 20.1
    assert cci_flag(_solid((160, 160, blue))) is flag


# --- HLS ----------------------------------------------------------------------------------------


def test_rgb_to_hls_matches_colorsys() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    img[0, :8] = [(0, 0, 0), (255, 255, 255), (9, 9, 9), (255, 255, 0), (0, 255, 255),
                  (255, 0, 255), (255, 0, 0), (200, 200, 100)]  # fmt: skip
    h, l, s = rgb_to_hls(img)
    ref = np.array([[colorsys.rgb_to_hls(*(px / 255.0)) for px in row] for row in img])
    assert np.allclose(h, ref[..., 0] * 360.0, atol=1e-9)
    assert np.allclose(l, ref[..., 1], atol=1e-12)
    assert np.allclose(s, ref[..., 2], atol=1e-12)
    assert h.min() >= 0.0 and h.max() < 360.0


# --- CNI ----------------------------------------------------------------------------------------
# (128 - k, 128, 128 + k): max b -> H = 60 ((r - g)/d + 4) = 60 (-1/2 + 4) = 210 (sky),
# L = 256/510 = 128/255, S = d / (1 - |2L - 1|) = (2k/255) / (254/255) = k/127.
# (128 + k, 128, 128 - k): H = 60 (g - b)/d = 30 (skin); (128 - k, 128 + k, 128 - k): H = 120
# (grass); same L and S = k/127.


def _sky(k: int) -> tuple[int, int, int]:
    return (128 - k, 128, 128 + k)


def _skin(k: int) -> tuple[int, int, int]:
    return (128 + k, 128, 128 - k)


def _grass(k: int) -> tuple[int, int, int]:
    return (128 - k, 128 + k, 128 - k)


#: Pixels that never count: gray (S = 0), low saturation sky hue (S = 8/127 < 0.1), dark
#: (L = 20/255 < 0.2) and bright (L = 227.5/255 > 0.8) sky hues, saturated red (H = 0, no class).
NON_QUALIFYING = [(128, 128, 128), _sky(8), (0, 0, 40), (200, 220, 255), (255, 0, 0)]


def test_non_qualifying_pixels_are_non_qualifying() -> None:
    img = np.asarray([NON_QUALIFYING], dtype=np.uint8)
    h, l, s = rgb_to_hls(img)
    keep = (s > 0.1) & (l > 0.2) & (l < 0.8)
    in_class = ((h >= 25) & (h <= 70)) | ((h >= 95) & (h <= 135)) | ((h >= 185) & (h <= 260))
    assert not np.any(keep & in_class)


@pytest.mark.parametrize("k", [20, 55, 64, 100, 127])
def test_cni_sky_only(k: int) -> None:
    img = np.zeros((6, 10, 3), np.uint8)
    img[:3] = _sky(k)
    for i, c in enumerate(NON_QUALIFYING):
        img[3:, 2 * i : 2 * i + 2] = c
    s = k / 127.0
    assert cni(img) == pytest.approx(_naturalness(s, 0.43, 0.22), rel=1e-12)


def test_cni_class_mixture_is_pixel_count_weighted() -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    img[:4] = _skin(90)  # 40 skin pixels, S = 90/127
    img[4:7] = _grass(30)  # 30 grass pixels, S = 30/127
    img[7:9] = _sky(60)  # 20 sky pixels, S = 60/127
    img[9, :5] = (128, 128, 128)  # 10 pixels that must not count
    img[9, 5:] = (255, 0, 0)
    n_skin, n_grass, n_sky = 40, 30, 20
    expected = (
        n_skin * _naturalness(90 / 127, 0.76, 0.52)
        + n_grass * _naturalness(30 / 127, 0.81, 0.53)
        + n_sky * _naturalness(60 / 127, 0.43, 0.22)
    ) / (n_skin + n_grass + n_sky)
    assert cni(img) == pytest.approx(expected, rel=1e-12)


def test_cni_mean_saturation_within_a_class() -> None:
    img = np.zeros((2, 4, 3), np.uint8)
    img[0] = _sky(30)
    img[1] = _sky(90)  # class mean S = 60/127
    assert cni(img) == pytest.approx(_naturalness(60 / 127, 0.43, 0.22), rel=1e-12)


def test_cni_without_qualifying_pixels_follows_documented_rule() -> None:
    img = np.asarray([NON_QUALIFYING * 2], dtype=np.uint8)
    assert cni(img) == 0.0
    assert math.isnan(cni(img, empty_value=float("nan")))
    assert cni(_solid((90, 90, 90))) == 0.0


def test_cni_range_on_photo() -> None:
    value = cni(skimage.data.coffee())
    assert 0.0 < value <= 1.0


# --- colourless ---------------------------------------------------------------------------------


def test_is_colourless() -> None:
    assert is_colourless(_solid((77, 77, 77)))
    assert not is_colourless(skimage.data.astronaut())
    tint = _solid((130, 128, 126))  # faintly warm gray, chroma ~1.9
    chroma = mean_chroma(tint)
    assert 0.5 < chroma < 5.0
    assert is_colourless(tint, threshold=chroma + 0.01)
    assert not is_colourless(tint, threshold=chroma - 0.01)
    with pytest.raises(ValueError, match="uint8"):
        is_colourless(np.zeros((4, 4, 3)))


@pytest.mark.parametrize("fn", [colorfulness, cni, cci_flag, rgb_to_hls, mean_chroma])
def test_bad_input_raises_valueerror(fn) -> None:
    with pytest.raises(ValueError, match="uint8"):
        fn(np.zeros((4, 4, 3), np.float64))
    with pytest.raises(ValueError, match=r"\(H,W,3\)"):
        fn(np.zeros((4, 4), np.uint8))


def test_cni_hue_rounds_as_scgan_at_class_edges() -> None:
    # (0, 99, 108): hue exactly 185 degrees (the sky class's lower edge). colorsys's order of
    # operations gives 184.99999999999997 (outside); SCGAN's code gives 185.0 (inside).
    from semcolor.metrics.colour import _scgan_hue

    px = np.array([[[0, 99, 108]]], np.uint8)
    assert colorsys.rgb_to_hls(0, 99 / 255, 108 / 255)[0] * 360 < 185
    assert _scgan_hue(px)[0, 0] == 185.0
    h, light, s = rgb_to_hls(px)
    expected = _naturalness(float(s[0, 0]), 0.43, 0.22)
    assert cni(np.repeat(px, 4, axis=1)) == pytest.approx(expected, rel=1e-12)
