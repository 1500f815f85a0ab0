"""Class rebalancing of the ab distribution loss (Zhang et al. ECCV 2016, section 3.1).

Rare (saturated) colours are up-weighted so that the distribution head does not collapse to
desaturated browns: each pixel's loss is weighted by w[q*] with q* its target's most likely
bin and

    w ∝ ((1 - λ) p̃ + λ / Q)^-1,   normalised so that  Σ_q p̃_q w_q = 1,

where p̃ is the empirical bin distribution smoothed by a Gaussian of σ = 5 in ab space.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from semcolor import constants as C
from semcolor.color.bins import AB_BINS, hard_encode


class PriorEstimator:
    """Streaming estimate of the empirical ab-bin distribution p over many images.

    Memory is one (313,) float64 histogram whatever the number of images. :meth:`update`
    counts each pixel's nearest bin; :meth:`add_histogram` adds target mass as the loss
    builds it (e.g. the per-cell distributions of a strided head, fractional counts).

    Example::

        est = PriorEstimator()
        for ab in batches:          # (B,2,H,W) ab in Lab units
            est.update(ab)
        prior = est.finalize()       # RebalancePrior with p, p̃ and weights
    """

    def __init__(self) -> None:
        self.counts = np.zeros(C.NUM_AB_BINS, dtype=np.float64)
        self.num_images = 0

    def update(self, ab: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Add pixels. ab: (B,2,H,W) Lab units; mask: optional (B,H,W) bool, True = count."""
        idx = hard_encode(ab)
        if mask is not None:
            idx = idx[mask.to(torch.bool)]
        self.counts += torch.bincount(idx.reshape(-1), minlength=C.NUM_AB_BINS).cpu().numpy()
        self.num_images += ab.shape[0]

    def add_histogram(self, hist: torch.Tensor | np.ndarray, num_images: int) -> None:
        """Add a (313,) non-negative mass histogram counted over ``num_images`` images."""
        h = np.asarray(torch.as_tensor(hist).detach().cpu().double().numpy())
        if h.shape != (C.NUM_AB_BINS,) or not np.all(np.isfinite(h)) or h.min() < 0:
            raise ValueError(f"hist must be a finite non-negative ({C.NUM_AB_BINS},) array")
        self.counts += h
        self.num_images += int(num_images)

    def finalize(
        self, sigma: float = C.REBALANCE_SIGMA, lam: float = C.REBALANCE_LAMBDA
    ) -> RebalancePrior:
        """Smooth, mix with uniform, invert and normalise (raises if nothing was counted)."""
        if self.counts.sum() == 0:
            raise ValueError("PriorEstimator saw no pixels; call update() with images first")
        return RebalancePrior.from_counts(self.counts, sigma=sigma, lam=lam)


def smooth_distribution(p: np.ndarray, sigma: float = C.REBALANCE_SIGMA) -> np.ndarray:
    """Gaussian smoothing of a (313,) distribution in ab space (σ in Lab units); sums to 1."""
    d2 = ((AB_BINS[:, None, :] - AB_BINS[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2.0 * sigma * sigma))
    p_s = kernel @ np.asarray(p, dtype=np.float64)
    return p_s / p_s.sum()


def rebalance_weights(
    p_smooth: np.ndarray, lam: float = C.REBALANCE_LAMBDA
) -> np.ndarray:
    """w ∝ ((1-λ) p̃ + λ/Q)^-1, normalised so that Σ p̃ w = 1. (313,) -> (313,) float64."""
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], got {lam}")
    p_smooth = np.asarray(p_smooth, dtype=np.float64)
    mix = (1.0 - lam) * p_smooth + lam / C.NUM_AB_BINS
    if np.any(mix <= 0):
        raise ValueError("lambda = 0 needs a prior with no empty bin (weights would be inf)")
    w = 1.0 / mix
    return w / np.sum(p_smooth * w)


@dataclasses.dataclass(frozen=True)
class RebalancePrior:
    """Empirical ab prior and the derived rebalancing weights, all (313,) float64.

    Attributes:
        counts: pixel counts (or target mass) per bin, float64.
        p: empirical distribution (counts / total).
        p_smooth: p smoothed by a Gaussian of ``sigma`` in ab space.
        weights: per-bin loss weights, Σ p_smooth * weights = 1.
    """

    counts: np.ndarray
    p: np.ndarray
    p_smooth: np.ndarray
    weights: np.ndarray
    sigma: float = C.REBALANCE_SIGMA
    lam: float = C.REBALANCE_LAMBDA

    @classmethod
    def from_counts(
        cls, counts: np.ndarray, sigma: float = C.REBALANCE_SIGMA, lam: float = C.REBALANCE_LAMBDA
    ) -> RebalancePrior:
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (C.NUM_AB_BINS,) or counts.min() < 0 or counts.sum() == 0:
            raise ValueError(
                f"counts must be a non-negative ({C.NUM_AB_BINS},) array with a positive sum, "
                f"got shape {counts.shape}"
            )
        p = counts / counts.sum()
        p_s = smooth_distribution(p, sigma)
        return cls(counts, p, p_s, rebalance_weights(p_s, lam), float(sigma), float(lam))

    @classmethod
    def uniform(cls) -> RebalancePrior:
        """A flat prior: every weight is 1 (i.e. no rebalancing). Not smoothed: smoothing
        a flat histogram would tilt it at the gamut edge, where bins have fewer neighbours."""
        flat = np.full(C.NUM_AB_BINS, 1.0 / C.NUM_AB_BINS)
        return cls(np.ones(C.NUM_AB_BINS), flat, flat, np.ones(C.NUM_AB_BINS))

    def save(self, path) -> None:
        """Save as .npy: a (5, 313) float64 array [counts, p, p_smooth, weights, (σ, λ, 0...)].

        Plain arrays only, so loading needs no pickle (``np.load(..., allow_pickle=False)``).
        """
        meta = np.zeros(C.NUM_AB_BINS)
        meta[:2] = (self.sigma, self.lam)
        arr = np.stack([self.counts.astype(np.float64), self.p, self.p_smooth, self.weights, meta])
        np.save(path, arr, allow_pickle=False)

    @classmethod
    def load(cls, path) -> RebalancePrior:
        """Load a prior written by :meth:`save` (clear error for anything else)."""
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read rebalancing prior {path}: {e}") from e
        if arr.shape != (5, C.NUM_AB_BINS):
            raise ValueError(
                f"{path} is not a semcolor prior: expected a (5, {C.NUM_AB_BINS}) array, "
                f"got {arr.shape}; create one with `semcolor-prior --images DIR --out {path}`"
            )
        return cls(
            arr[0], arr[1], arr[2], arr[3], float(arr[4, 0]), float(arr[4, 1])
        )


def mean_preserving_tilt(
    p: np.ndarray, weights: np.ndarray, target: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The exponential tilt that moves the rebalanced distribution's mean ab back to the
    training data's: per-bin logit offsets ``AB_BINS @ γ`` with γ (2,) such that

        mean_ab( normalise(p · w · exp(AB_BINS @ γ)) ) = target   (default: mean_ab(p)).

    Why: the class-rebalanced loss teaches the distribution head p(bin | x) · w(bin) (each
    pixel's loss is scaled by its target's weight), so where the head is unsure its output
    leans toward the rare bins; their mean is not the data's (the in-gamut bins reach far
    into +b, yellow), which shows as a yellow/sepia cast (measured: benchmarks/bench_cast.py).
    Adding these offsets to the logits keeps the rebalancing's spread toward rare colours
    and removes only its shift of the mean colour. Written by hand: a 2-parameter Newton
    solve of the convex log-partition (no library offers exponential tilting of a discrete
    distribution).

    Args:
        p: (313,) the training data's bin distribution (the checkpoint prior's ``p``).
        weights: (313,) the rebalancing weights the head was trained with.
        target: (2,) the mean ab to restore (default: that of ``p``).

    Returns:
        (offsets (313,) float64 to add to the logits, γ (2,) float64 per Lab unit of a, b).

    Raises:
        ValueError: shapes other than (313,), negative or non-finite entries, or a target
            outside the bins' hull (no tilt reaches it).
    """
    p = np.asarray(p, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    for name, x in (("p", p), ("weights", w)):
        if x.shape != (C.NUM_AB_BINS,) or not np.all(np.isfinite(x)) or x.min() < 0:
            raise ValueError(f"{name} must be a finite non-negative ({C.NUM_AB_BINS},) array, "
                             f"got shape {x.shape}")  # fmt: skip
    q = p * w
    if p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("p and p * weights need a positive sum")
    q = q / q.sum()
    bins = AB_BINS.astype(np.float64)
    goal = (p / p.sum()) @ bins if target is None else np.asarray(target, dtype=np.float64)
    support = q > 0
    gamma = np.zeros(2)
    for _ in range(C.TILT_MAX_ITERATIONS):
        z = np.where(support, np.log(np.where(support, q, 1.0)) + bins @ gamma, -np.inf)
        e = np.exp(z - z.max())
        e /= e.sum()
        mu = e @ bins
        if np.abs(mu - goal).max() < C.TILT_TOLERANCE:
            return bins @ gamma, gamma
        d = bins - mu
        cov = d.T @ (d * e[:, None])
        gamma = gamma - np.linalg.solve(cov + 1e-12 * np.eye(2), mu - goal)
        if not np.all(np.isfinite(gamma)):
            break
    raise ValueError(f"no tilt reaches the mean ab {goal.tolist()} from this distribution "
                     "(is it inside the bins' hull?)")  # fmt: skip
