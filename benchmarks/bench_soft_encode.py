"""Soft-encoding speed: semcolor vs the classic reference, in one run.

Reference: Zhang et al.'s training layer (NNEncode in their caffe code): scikit-learn
``NearestNeighbors(n_neighbors=5, algorithm="ball_tree")`` over the 313 bins, Gaussian
weights exp(-d^2 / 2 sigma^2), normalised, written into a dense (B,313,H,W) array.

Two comparisons on the same ab batch, each printing megapixels/s and the ratio:

* ``sparse``: the encoding itself — k nearest bins + normalised Gaussian weights
  (reference: ``kneighbors`` + weights; semcolor: ``soft_encode_sparse``, what the loss uses);
* ``dense``: the same written into a (B,313,H,W) array (reference: Zhang et al.'s layer;
  semcolor: ``soft_encode``). Writing 313 floats per pixel is memory-bound on a 2-core
  machine, so this ratio is capped by memory bandwidth whatever the search costs.

Results are checked to agree within 1e-5, except at pixels where the k-th and (k+1)-th
nearest bins are exactly equidistant (a tie either answer is right for; counted).

    python benchmarks/bench_soft_encode.py [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from semcolor import constants as C
from semcolor.color import AB_BINS, rgb_to_lab, soft_encode, soft_encode_sparse


class ReferenceNNEncode:
    """Zhang et al.'s NNEncode: ball-tree k-NN + Gaussian weights + dense scatter."""

    def __init__(self, k: int = C.SOFT_ENCODE_K, sigma: float = C.SOFT_ENCODE_SIGMA):
        self.k, self.sigma = k, sigma
        self.nbrs = NearestNeighbors(n_neighbors=k, algorithm="ball_tree").fit(AB_BINS)

    def sparse(self, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pts = ab.transpose(0, 2, 3, 1).reshape(-1, 2)
        dists, inds = self.nbrs.kneighbors(pts)
        wts = np.exp(-(dists**2) / (2 * self.sigma**2))
        wts /= wts.sum(axis=1, keepdims=True)
        return inds, wts

    def __call__(self, ab: np.ndarray) -> np.ndarray:
        b, _, h, w = ab.shape
        inds, wts = self.sparse(ab)
        enc = np.zeros((inds.shape[0], C.NUM_AB_BINS), dtype=ab.dtype)
        enc[np.arange(inds.shape[0])[:, None], inds] = wts
        return enc.reshape(b, h, w, C.NUM_AB_BINS).transpose(0, 3, 1, 2)


def realistic_ab(shape: tuple[int, int, int, int], seed: int = 0) -> torch.Tensor:
    """ab of random sRGB colours (so values span the real gamut, not a synthetic box)."""
    g = torch.Generator().manual_seed(seed)
    b, _, h, w = shape
    rgb = torch.rand(b, 3, h, w, generator=g, dtype=torch.float64)
    return rgb_to_lab(rgb)[:, 1:].float()


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up (candidate table, allocator)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ref = ReferenceNNEncode()
    # Pixels whose k-th and (k+1)-th nearest bins tie: either neighbour is a right answer.
    ties_nn = NearestNeighbors(n_neighbors=C.SOFT_ENCODE_K + 1).fit(AB_BINS)
    print(
        f"torch {torch.__version__}, {args.threads} threads, best of {args.repeats}, "
        "ab of random sRGB colours"
    )
    print(
        f"{'mode':>6} | {'batch':>12} | {'reference MP/s':>14} | {'semcolor MP/s':>13} | "
        f"{'ratio':>6} | max |diff| (ties excluded)"
    )
    worst = 0.0
    for shape in [(16, 2, 64, 64), (8, 2, 256, 256)]:
        ab = realistic_ab(shape)
        ab_np = ab.numpy()
        d6, _ = ties_nn.kneighbors(ab_np.transpose(0, 2, 3, 1).reshape(-1, 2))
        tie = np.isclose(d6[:, -1], d6[:, -2], rtol=0, atol=1e-9)
        tie = tie.reshape(shape[0], shape[2], shape[3])
        out_ref = ref(ab_np)
        out = soft_encode(ab).numpy()
        diff = float(np.abs(out - out_ref).max(axis=1)[~tie].max())
        worst = max(worst, diff)
        mp = shape[0] * shape[2] * shape[3] / 1e6
        name = "x".join(map(str, shape))
        for mode, f_ref, f_ours in [
            ("sparse", lambda: ref.sparse(ab_np), lambda: soft_encode_sparse(ab)),  # noqa: B023
            ("dense", lambda: ref(ab_np), lambda: soft_encode(ab)),  # noqa: B023
        ]:
            t_ref = best_of(f_ref, args.repeats)
            t_ours = best_of(f_ours, args.repeats)
            print(
                f"{mode:>6} | {name:>12} | {mp / t_ref:14.2f} | {mp / t_ours:13.2f} | "
                f"{t_ref / t_ours:5.1f}x | {diff:.2e} ({int(tie.sum())} tied pixels)"
            )
    if worst > 1e-5:
        raise SystemExit(f"results differ by {worst:.2e} > 1e-5")


if __name__ == "__main__":
    main()
