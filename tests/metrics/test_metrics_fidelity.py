"""PSNR / SSIM / L2ab / AuC and input validation (semcolor.metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import skimage.data
from skimage.color import lab2rgb, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from semcolor import constants as C
from semcolor.metrics import (
    ab_auc,
    ab_error_map,
    as_uint8,
    auc_from_errors,
    grayscale_baseline,
    is_colourless,
    l2ab,
    l2ab_norm,
    mean_chroma,
    psnr,
    ssim,
)

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket"]


def _gray_prediction(rgb: np.ndarray) -> np.ndarray:
    """Reference gray baseline built here independently: Lab with ab = 0, back to uint8."""
    lab = rgb2lab(rgb)
    lab[..., 1:] = 0.0
    return np.round(np.clip(lab2rgb(lab), 0.0, 1.0) * 255.0).astype(np.uint8)


def _solid(color: tuple[int, int, int], h: int = 16, w: int = 16) -> np.ndarray:
    return np.broadcast_to(np.asarray(color, dtype=np.uint8), (h, w, 3)).copy()


def _ab_of(color: tuple[int, int, int]) -> np.ndarray:
    return rgb2lab(np.asarray(color, dtype=np.uint8).reshape(1, 1, 3))[0, 0, 1:]


# --- gray baseline on scikit-image's colour photos ------------------------------------------


@pytest.mark.parametrize("name", PHOTOS)
def test_gray_baseline_matches_direct_skimage(name: str) -> None:
    gt = getattr(skimage.data, name)()
    gray = _gray_prediction(gt)
    assert np.array_equal(grayscale_baseline(gt), gray)

    ref_psnr = peak_signal_noise_ratio(gt, gray, data_range=255)
    ref_ssim = structural_similarity(
        gt,
        gray,
        channel_axis=-1,
        data_range=255,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert abs(psnr(gray, gt) - ref_psnr) <= 1e-6
    assert abs(ssim(gray, gt) - ref_ssim) <= 1e-6
    assert 10.0 < psnr(gray, gt) < 40.0
    assert 0.0 < ssim(gray, gt) < 1.0

    # The gray prediction's ab is ~0 (|ab| < 0.01 for neutral sRGB in skimage), so its L2ab
    # equals the ground truth's mean chroma up to that (triangle inequality).
    assert abs(l2ab(gray, gt) - mean_chroma(gt)) < 0.02
    assert l2ab_norm(gray, gt) == pytest.approx(l2ab(gray, gt) / C.AB_SCALE, rel=1e-15)
    assert is_colourless(gray)
    assert not is_colourless(gt)


# --- PSNR / SSIM ----------------------------------------------------------------------------


def test_psnr_identical_is_capped_and_documented_uncapped_inf() -> None:
    img = skimage.data.chelsea()
    assert psnr(img, img) == 100.0
    assert psnr(img, img, cap_db=None) == math.inf
    assert psnr(img, img, cap_db=60.0) == 60.0


def test_psnr_known_mse() -> None:
    gt = _solid((10, 20, 30))
    pred = _solid((11, 21, 31))  # MSE = 1 -> 10 log10(255^2) = 20 log10(255)
    assert psnr(pred, gt) == pytest.approx(20 * math.log10(255), abs=1e-12)


def test_ssim_identical_is_one_and_small_images_rejected() -> None:
    img = skimage.data.coffee()[:64, :64]
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    tiny = np.zeros((10, 40, 3), np.uint8)
    with pytest.raises(ValueError, match="11x11"):
        ssim(tiny, tiny)


# --- L2ab -------------------------------------------------------------------------------------


def test_l2ab_known_shift() -> None:
    c_gt, c_shift = (200, 120, 60), (180, 130, 90)
    gt = _solid(c_gt, 8, 10)
    pred = gt.copy()
    pred[:, 5:] = c_shift  # right half shifted in colour
    d = float(np.linalg.norm(_ab_of(c_shift) - _ab_of(c_gt)))
    assert d > 5.0
    assert l2ab(pred, gt) == pytest.approx(d / 2, rel=1e-12)
    assert l2ab_norm(pred, gt) == pytest.approx(d / 2 / 110.0, rel=1e-12)
    err = ab_error_map(pred, gt)
    assert err.shape == (8, 10) and err.dtype == np.float64
    assert np.all(err[:, :5] == 0.0)
    assert np.allclose(err[:, 5:], d, rtol=1e-12)
    assert l2ab(gt, gt) == 0.0


def test_l2ab_ignores_lightness() -> None:
    # Same chroma-free colours at different lightness: ab error ~0 (neutral axis).
    assert l2ab(_solid((40, 40, 40)), _solid((220, 220, 220))) < 0.01


# --- AuC ---------------------------------------------------------------------------------------


def _expected_auc_constant(e: float) -> float:
    """Our definition for a constant error e: acc(t) = [t >= e] at t = 0..150, trapezoid / 150.

    acc is 0 for t < ceil(e) and 1 from t = ceil(e) on; the trapezoid over [ceil(e)-1, ceil(e)]
    contributes 1/2, every later unit interval 1: area = (150 - ceil(e)) + 1/2.
    """
    if e == 0:
        return 1.0
    if e > 150:
        return 0.0
    return (150.5 - math.ceil(e)) / 150.0


def test_auc_perfect_prediction_is_one() -> None:
    img = skimage.data.astronaut()[::4, ::4]
    assert ab_auc(img, img) == 1.0
    assert auc_from_errors(np.zeros((5, 7))) == 1.0


@pytest.mark.parametrize("e", [0.0, 0.25, 1.0, 10.0, 10.5, 75.0, 149.5, 150.0, 150.5, 400.0])
def test_auc_constant_error(e: float) -> None:
    errors = np.full((6, 9), e)
    assert auc_from_errors(errors) == pytest.approx(_expected_auc_constant(e), abs=1e-15)
    # Independent evaluation of the same definition (numpy's trapezoid on the full curve).
    t = np.arange(151.0)
    acc = (errors.ravel()[None, :] <= t[:, None]).mean(axis=1)
    trapz = getattr(np, "trapezoid", None) or np.trapz  # noqa: NPY201
    assert auc_from_errors(errors) == pytest.approx(trapz(acc, t) / 150.0, abs=1e-15)


def test_auc_constant_error_10_is_140_5_over_150() -> None:
    assert auc_from_errors(np.full(100, 10.0)) == 140.5 / 150.0


def test_auc_mixture_and_image_pair() -> None:
    # Half the pixels perfect, half beyond every threshold -> 1/2.
    assert auc_from_errors(np.array([0.0, 0.0, 500.0, 500.0])) == pytest.approx(0.5, abs=1e-15)
    c_gt, c_pred = (90, 160, 200), (120, 150, 170)
    e = float(np.linalg.norm(_ab_of(c_pred) - _ab_of(c_gt)))
    auc = ab_auc(_solid(c_pred), _solid(c_gt))
    assert auc == pytest.approx(_expected_auc_constant(e), abs=1e-12)


def test_auc_bad_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        auc_from_errors(np.array([]))
    with pytest.raises(ValueError, match="non-negative"):
        auc_from_errors(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="non-negative"):
        auc_from_errors(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="max_threshold"):
        auc_from_errors(np.array([1.0]), max_threshold=0)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [psnr, ssim, l2ab, ab_auc, ab_error_map])
def test_bad_input_raises_valueerror(fn) -> None:
    good = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="uint8"):
        fn(good.astype(np.float32), good)
    with pytest.raises(ValueError, match=r"\(H,W,3\)"):
        fn(np.zeros((3, 16, 16), np.uint8), good)
    with pytest.raises(ValueError, match=r"\(H,W,3\)"):
        fn(good, np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match=r"\(H,W,3\)"):
        fn(good, np.zeros((16, 16, 4), np.uint8))
    with pytest.raises(ValueError, match="numpy uint8 array"):
        fn(good.tolist(), good)
    with pytest.raises(ValueError, match="same shape"):
        fn(good, np.zeros((16, 17, 3), np.uint8))


def test_as_uint8() -> None:
    x = np.array([0.0, 0.2, 0.5, 1.0, 1 / 255, 0.5 / 255 + 1e-9]).reshape(1, 2, 3)
    out = as_uint8(x)
    assert out.dtype == np.uint8
    assert out.ravel().tolist() == [0, 51, 128, 255, 1, 1]
    u = np.zeros((2, 2, 3), np.uint8)
    assert as_uint8(u) is u
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        as_uint8(np.full((2, 2, 3), 1.5))
    with pytest.raises(ValueError, match="NaN"):
        as_uint8(np.full((2, 2, 3), np.nan))
    with pytest.raises(ValueError, match=r"\(H,W,3\)"):
        as_uint8(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="uint8"):
        as_uint8(np.zeros((2, 2, 3), np.int32))
