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
    mean_preserving_tilt,
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


def _warm_prior() -> RebalancePrior:
    """Mostly near-neutral pixels, with the mass falling off toward saturated bins."""
    d2 = (AB_BINS**2).sum(1)
    counts = np.exp(-d2 / (2 * 15.0**2)) * 1e6 + (AB_BINS[:, 1] > 40) * 5000.0
    return RebalancePrior.from_counts(counts)


def test_mean_preserving_tilt_restores_the_mean_and_keeps_the_spread():
    """The rebalanced distribution p*w has another mean than p; the tilt puts it back
    (to 1e-6 Lab units) and leaves it far wider than p (rare colours still favoured)."""
    prior = _warm_prior()
    off, gamma = mean_preserving_tilt(prior.p, prior.weights)
    bins = AB_BINS.astype(np.float64)

    def stats(x):
        x = x / x.sum()
        mu = x @ bins
        return mu, float(x @ ((bins - mu) ** 2).sum(1))

    (mu_p, var_p), (mu_q, var_q) = stats(prior.p), stats(prior.p * prior.weights)
    mu_t, var_t = stats(prior.p * prior.weights * np.exp(off))
    assert np.abs(mu_q - mu_p).max() > 5  # rebalancing shifts the mean (here toward +b)
    assert np.abs(mu_t - mu_p).max() < 1e-6
    assert var_t > 2 * var_p and var_q > 2 * var_p  # the spread toward rare colours stays
    assert off.shape == (313,) and np.allclose(off, bins @ gamma)
    target = np.array([3.0, -4.0])  # any reachable target
    off2, _ = mean_preserving_tilt(prior.p, prior.weights, target)
    assert np.abs(stats(prior.p * prior.weights * np.exp(off2))[0] - target).max() < 1e-6


def test_mean_preserving_tilt_is_zero_without_rebalancing_and_checks_inputs():
    prior = _warm_prior()
    off, gamma = mean_preserving_tilt(prior.p, np.ones(313))
    assert np.abs(gamma).max() < 1e-9 and np.abs(off).max() < 1e-6
    with pytest.raises(ValueError, match=r"\(313,\) array"):
        mean_preserving_tilt(prior.p[:10], prior.weights)
    with pytest.raises(ValueError, match="non-negative"):
        mean_preserving_tilt(-prior.p, prior.weights)
    with pytest.raises(ValueError, match="no tilt reaches"):
        mean_preserving_tilt(prior.p, prior.weights, np.array([500.0, 0.0]))
