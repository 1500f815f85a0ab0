"""Class-rebalancing prior (Zhang et al. section 3.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semcolor import constants as C
from semcolor.color import (
    AB_BINS,
    PriorEstimator,
    RebalancePrior,
    hard_encode,
    rebalance_weights,
    smooth_distribution,
)


def _random_ab(seed: int, b: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 2, 16, 16, generator=g) * 20


def test_streaming_equals_one_shot():
    batches = [_random_ab(s) for s in range(4)]
    est = PriorEstimator()
    for ab in batches:
        est.update(ab)
    one = torch.bincount(hard_encode(torch.cat(batches)).flatten(), minlength=313).numpy()
    assert np.array_equal(est.counts, one)
    assert est.num_images == 8
    assert est.counts.nbytes == 313 * 8  # bounded memory whatever the number of images


def test_mask_excludes_pixels():
    est = PriorEstimator()
    ab = torch.full((1, 2, 4, 4), 30.0)
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[0, 0, 0] = True
    est.update(ab, mask)
    assert est.counts.sum() == 1


def test_prior_normalisation_and_shape():
    est = PriorEstimator()
    est.update(_random_ab(0, 8))
    prior = est.finalize()
    assert prior.p.sum() == pytest.approx(1.0)
    assert prior.p_smooth.sum() == pytest.approx(1.0)
    assert np.sum(prior.p_smooth * prior.weights) == pytest.approx(1.0, abs=1e-12)
    # Rare bins get larger weights than common ones.
    assert prior.weights[prior.p_smooth.argmin()] > prior.weights[prior.p_smooth.argmax()]
    # With lambda = 0.5 the largest weight ratio is bounded by (uniform mix): <= 1/(0.5/313)
    assert prior.weights.max() / prior.weights.min() < 2 * 313


def test_weights_formula_by_hand():
    p = np.zeros(313)
    p[C.AB_NEUTRAL_BIN] = 1.0
    w = rebalance_weights(p, lam=0.5)
    raw = 1.0 / (0.5 * p + 0.5 / 313)
    assert np.allclose(w, raw / np.sum(p * raw))
    assert w[C.AB_NEUTRAL_BIN] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="lambda"):
        rebalance_weights(p, lam=1.5)
    with pytest.raises(ValueError, match="lambda = 0"):
        rebalance_weights(p, lam=0.0)


def test_smoothing_spreads_to_neighbours_only():
    p = np.zeros(313)
    p[C.AB_NEUTRAL_BIN] = 1.0
    ps = smooth_distribution(p, sigma=5.0)
    d = np.linalg.norm(AB_BINS, axis=1)
    # exp(-d^2/(2*25)): grid neighbours at 10 get e^-2 of the centre, diagonal ones e^-4.
    assert ps[d == 10] / ps[C.AB_NEUTRAL_BIN] == pytest.approx(np.exp(-2.0))
    assert ps[(d > 14) & (d < 15)] / ps[C.AB_NEUTRAL_BIN] == pytest.approx(np.exp(-4.0))
    assert ps.sum() == pytest.approx(1.0)


def test_save_load_round_trip(tmp_path):
    est = PriorEstimator()
    est.update(_random_ab(3))
    prior = est.finalize()
    path = tmp_path / "prior.npy"
    prior.save(path)
    back = RebalancePrior.load(path)
    assert np.array_equal(back.counts, prior.counts)
    assert np.allclose(back.weights, prior.weights) and back.lam == prior.lam
    np.save(tmp_path / "bad.npy", np.zeros(3))
    with pytest.raises(ValueError, match="semcolor-prior"):
        RebalancePrior.load(tmp_path / "bad.npy")
    with pytest.raises(ValueError, match="cannot read"):
        RebalancePrior.load(tmp_path / "missing.npy")


def test_empty_estimator_and_uniform():
    with pytest.raises(ValueError, match="no pixels"):
        PriorEstimator().finalize()
    assert np.allclose(RebalancePrior.uniform().weights, 1.0)
