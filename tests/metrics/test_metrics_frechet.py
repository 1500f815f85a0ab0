"""Fréchet distance: closed forms on known Gaussians, scipy's sqrtm, samples vs statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import linalg

from semcolor.metrics import frechet_distance, frechet_distance_features, gaussian_stats


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def test_univariate_is_mean_and_std_gap_squared():
    # N(1, 2^2) vs N(4, 3^2): (1 - 4)^2 + (2 - 3)^2 = 10
    assert frechet_distance([1.0], [[4.0]], [4.0], [[9.0]]) == pytest.approx(10.0, abs=1e-12)


def test_commuting_covariances_closed_form():
    """Sigma_1 = R diag(a) R^T, Sigma_2 = R diag(b) R^T: d^2 = |dmu|^2 + sum (sqrt a - sqrt b)^2."""
    a, b = np.array([1.0, 4.0, 9.0, 0.25]), np.array([4.0, 1.0, 9.0, 2.0])
    r = _rotation(4, 0)
    mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 0.0, 3.0])
    want = 1.0 + 4.0 + float(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    got = frechet_distance(mu1, r @ np.diag(a) @ r.T, mu2, r @ np.diag(b) @ r.T)
    assert got == pytest.approx(want, rel=1e-10)


def test_non_commuting_2x2_closed_form():
    """For 2x2 M = Sigma_1 Sigma_2 with eigenvalues l1, l2 >= 0:
    tr(M^(1/2)) = sqrt(l1) + sqrt(l2) = sqrt(tr M + 2 sqrt(det M))."""
    s1 = np.array([[2.0, 1.0], [1.0, 2.0]])
    s2 = np.array([[1.0, 0.0], [0.0, 4.0]])
    m = s1 @ s2  # [[2, 4], [1, 8]]: tr 10, det 12; s1 and s2 do not commute
    assert not np.allclose(m, s2 @ s1)
    tr_sqrt = math.sqrt(np.trace(m) + 2 * math.sqrt(np.linalg.det(m)))
    want = 0.5**2 + 0.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt  # 0.25 + 9 - 8.2288
    got = frechet_distance([0.5, 1.0], s1, [0.0, 1.0], s2)
    assert got == pytest.approx(want, rel=1e-12)
    assert got == pytest.approx(frechet_distance([0.0, 1.0], s2, [0.5, 1.0], s1), rel=1e-12)


def test_identical_gaussians_are_zero_and_singular_covariances_work():
    r = _rotation(6, 1)
    s = r @ np.diag([3.0, 2.0, 1.0, 0.0, 0.0, 0.0]) @ r.T  # rank 3: no Cholesky
    mu = np.arange(6.0)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)
    # against a point mass (Sigma = 0) the distance is |dmu|^2 + tr(Sigma)
    assert frechet_distance(mu, s, mu + 1, np.zeros((6, 6))) == pytest.approx(6.0 + 6.0)


def test_agrees_with_scipy_sqrtm_on_random_covariances():
    """pytorch-fid's formula (scipy.linalg.sqrtm of Sigma_1 Sigma_2) on full-rank 40-d."""
    rng = np.random.default_rng(2)
    x1 = rng.normal(size=(200, 40))
    x2 = rng.normal(size=(300, 40)) @ rng.normal(size=(40, 40)) * 0.3 + 0.2
    m1, s1 = gaussian_stats(x1)
    m2, s2 = gaussian_stats(x2)
    ref = float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2)
                - 2 * np.trace(linalg.sqrtm(s1 @ s2)).real)  # fmt: skip
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-9)
    assert frechet_distance_features(x1, x2) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize(("n1", "n2"), [(12, 20), (20, 12), (80, 15)])
def test_features_fewer_samples_than_dimensions_equal_the_statistics_path(n1, n2):
    """n <= D: the covariances are singular and the sample factors are used. (The
    statistics path takes square roots of rounding-level eigenvalues there, ~1e-8 relative.)"""
    rng = np.random.default_rng(n1)
    x1, x2 = rng.normal(size=(n1, 30)), rng.normal(size=(n2, 30)) * 2 + 1
    want = frechet_distance(*gaussian_stats(x1), *gaussian_stats(x2))
    assert frechet_distance_features(x1, x2) == pytest.approx(want, rel=1e-7)
    assert np.cov(x1, rowvar=False).shape == (30, 30) and want > 0


def test_samples_of_known_gaussians_approach_the_closed_form():
    """20,000 draws of N(0, diag(1, 4, 9)) and N(1, diag(4, 4, 1)): d^2 -> 3 + 1 + 0 + 4 = 8."""
    rng = np.random.default_rng(3)
    x1 = rng.normal(size=(20_000, 3)) * np.array([1.0, 2.0, 3.0])
    x2 = rng.normal(size=(20_000, 3)) * np.array([2.0, 2.0, 1.0]) + 1.0
    assert frechet_distance_features(x1, x2) == pytest.approx(8.0, abs=0.15)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance_features(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance_features(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance_features(np.zeros(4), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance_features(np.full((3, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"\(D, D\)"):
        frechet_distance([0.0, 0.0], np.eye(3), [0.0, 0.0], np.eye(2))
