"""evaluate_pair, MetricAccumulator / summarize (the bench's summary.json contract)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import skimage.data

from semcolor.metrics import (
    PER_IMAGE_KEYS,
    SUMMARY_KEYS,
    MetricAccumulator,
    ab_auc,
    cni,
    colorfulness,
    colour_cast,
    evaluate_pair,
    grayscale_baseline,
    l2ab,
    psnr,
    ssim,
    summarize,
)

#: Public contract of the bench's summary.json.
CONTRACT_KEYS = {"psnr", "ssim", "l2ab", "auc", "colorfulness", "delta_cf", "cni", "cci_ratio"}


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    gt = skimage.data.chelsea()[::2, ::2]
    return grayscale_baseline(gt), gt


def test_evaluate_pair_keys_and_consistency(pair) -> None:
    pred, gt = pair
    m = evaluate_pair(pred, gt)
    assert tuple(m) == PER_IMAGE_KEYS
    assert all(type(v) is float for v in m.values())
    assert m["psnr"] == psnr(pred, gt)
    assert m["ssim"] == ssim(pred, gt)
    assert m["l2ab"] == pytest.approx(l2ab(pred, gt), rel=1e-15)
    assert m["l2ab_norm"] == pytest.approx(m["l2ab"] / 110.0, rel=1e-15)
    assert m["auc"] == pytest.approx(ab_auc(pred, gt), rel=1e-15)
    assert m["colorfulness"] == colorfulness(pred)
    assert m["delta_cf"] == pytest.approx(abs(colorfulness(pred) - colorfulness(gt)), rel=1e-15)
    assert m["gt_colorfulness"] == colorfulness(gt)
    assert (m["cast_a"], m["cast_b"]) == pytest.approx(colour_cast(pred, gt), rel=1e-15)
    assert m["cni"] == cni(pred)
    assert m["cci"] in (0.0, 1.0)


def test_evaluate_pair_perfect(pair) -> None:
    _, gt = pair
    m = evaluate_pair(gt, gt)
    assert m["psnr"] == 100.0
    assert m["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert m["l2ab"] == 0.0 and m["l2ab_norm"] == 0.0
    assert m["auc"] == 1.0
    assert m["delta_cf"] == 0.0
    assert evaluate_pair(gt, gt, psnr_cap_db=None)["psnr"] == math.inf


def test_evaluate_pair_bad_input(pair) -> None:
    pred, gt = pair
    with pytest.raises(ValueError, match="same shape"):
        evaluate_pair(pred[:-1], gt)
    with pytest.raises(ValueError, match="uint8"):
        evaluate_pair(pred / 255.0, gt)


def _dict(**over: float) -> dict[str, float]:
    base = dict.fromkeys(PER_IMAGE_KEYS, 0.0)
    base.update(over)
    return base


def test_accumulator_means_nan_skipping_and_cci_ratio() -> None:
    acc = MetricAccumulator()
    acc.update(_dict(psnr=20.0, ssim=0.8, cni=0.5, cci=1.0, auc=0.9))
    acc.update(_dict(psnr=30.0, ssim=0.9, cni=float("nan"), cci=0.0, auc=0.95))
    acc.update(_dict(psnr=40.0, ssim=1.0, cni=0.7, cci=0.0, auc=1.0))
    acc.update(_dict(psnr=10.0, ssim=0.5, cni=0.9, cci=1.0, auc=0.85))
    assert len(acc) == 4
    out = acc.compute()
    assert tuple(out) == SUMMARY_KEYS
    assert CONTRACT_KEYS <= set(out)
    assert out["psnr"] == pytest.approx(25.0)
    assert out["ssim"] == pytest.approx(0.8)
    assert out["auc"] == pytest.approx(0.925)
    assert out["cni"] == pytest.approx(0.7)  # NaN image excluded: (0.5 + 0.7 + 0.9) / 3
    assert out["cci_ratio"] == pytest.approx(0.5)
    assert out["num_images"] == 4


def test_delta_cf_both_ways_and_signed_casts() -> None:
    """ΔCF per image (mean |ΔCF|) and of the set means (|ΔCF of means|) differ when one image
    is too colourful and another too dull; opposite casts cancel in the mean."""
    out = summarize([
        _dict(colorfulness=50.0, gt_colorfulness=40.0, delta_cf=10.0, cast_b=6.0, cast_a=1.0),
        _dict(colorfulness=20.0, gt_colorfulness=40.0, delta_cf=20.0, cast_b=-2.0, cast_a=-1.0),
    ])  # fmt: skip
    assert out["delta_cf"] == pytest.approx(15.0)  # (10 + 20) / 2
    assert out["delta_mean_cf"] == pytest.approx(5.0)  # |35 - 40|
    assert out["cast_b"] == pytest.approx(2.0) and out["cast_a"] == pytest.approx(0.0)


def test_delta_mean_cf_from_real_pairs(pair) -> None:
    pred, gt = pair
    per = [evaluate_pair(pred, gt), evaluate_pair(gt, gt)]
    out = summarize(per)
    mean_pred = (colorfulness(pred) + colorfulness(gt)) / 2
    assert out["delta_mean_cf"] == pytest.approx(abs(mean_pred - colorfulness(gt)), rel=1e-12)


def test_accumulator_empty_and_all_nan() -> None:
    out = MetricAccumulator().compute()
    assert out["num_images"] == 0
    assert all(math.isnan(out[k]) for k in SUMMARY_KEYS if k != "num_images")
    out = summarize([_dict(cni=float("nan"))])
    assert math.isnan(out["cni"]) and out["psnr"] == 0.0


def test_accumulator_missing_keys() -> None:
    with pytest.raises(ValueError, match="lacks keys"):
        MetricAccumulator().update({"psnr": 1.0})


def test_summarize_real_pairs(pair) -> None:
    pred, gt = pair
    per_image = [evaluate_pair(pred, gt), evaluate_pair(gt, gt)]
    out = summarize(per_image)
    assert out["num_images"] == 2
    assert out["psnr"] == pytest.approx((per_image[0]["psnr"] + 100.0) / 2)
    assert out["auc"] == pytest.approx((per_image[0]["auc"] + 1.0) / 2)
    assert 0.0 <= out["cci_ratio"] <= 1.0


def test_evaluate_pair_subset_of_keys_gives_the_same_values():
    import numpy as np

    from semcolor.metrics import evaluate_pair

    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
    pred = rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
    full = evaluate_pair(pred, gt)
    part = evaluate_pair(pred, gt, keys=("psnr", "auc", "colorfulness"))
    assert list(part) == ["psnr", "auc", "colorfulness"]
    assert all(part[k] == full[k] for k in part)
    import pytest

    with pytest.raises(ValueError, match="valid"):
        evaluate_pair(pred, gt, keys=("psnr", "bogus"))
