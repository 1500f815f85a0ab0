"""The 313 quantised ab bins of Zhang et al. (ECCV 2016) and the (soft) encoding onto them.

Soft-encoding is exact k-nearest-neighbour search, but fast: the bins lie on a grid of
spacing 10, so for every small cell of the ab plane the few bins that can possibly be among
the k nearest of *any* point in that cell are precomputed once (a bound from the triangle
inequality, below). Each pixel then ranks ~15 candidates instead of 313. Hand-written
because no library offers k-NN over a fixed 2-D lattice on the GPU; the classic
implementation (scikit-learn ``NearestNeighbors``, as in Zhang et al.'s training layer) is
the reference in ``benchmarks/bench_soft_encode.py``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from semcolor import constants as C
from semcolor.color._checks import check_image_tensor

# For each a (step 10), the inclusive b range of in-gamut bins [Zhang16, their pts_in_hull].
_B_RANGES: dict[int, tuple[int, int]] = {
    -90: (50, 90), -80: (20, 90), -70: (0, 90), -60: (-20, 90), -50: (-30, 100),
    -40: (-40, 100), -30: (-50, 100), -20: (-50, 100), -10: (-60, 100), 0: (-70, 100),
    10: (-80, 90), 20: (-80, 90), 30: (-90, 90), 40: (-100, 90), 50: (-100, 80),
    60: (-110, 80), 70: (-110, 80), 80: (-110, 70), 90: (-110, 70), 100: (-90, 0),
}  # fmt: skip


def _make_bins() -> np.ndarray:
    step = int(C.AB_GRID_STEP)
    pts = [(a, b) for a, (lo, hi) in sorted(_B_RANGES.items()) for b in range(lo, hi + 1, step)]
    arr = np.asarray(pts, dtype=np.float64)
    assert arr.shape == (C.NUM_AB_BINS, 2), arr.shape
    assert tuple(arr[C.AB_NEUTRAL_BIN]) == (0.0, 0.0)
    arr.setflags(write=False)
    return arr


#: (313, 2) float64 read-only array of bin centres (a, b), sorted by a then b.
AB_BINS: np.ndarray = _make_bins()


@functools.lru_cache(maxsize=16)
def ab_bins_tensor(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
    """``AB_BINS`` as a (313, 2) tensor on ``device`` (cached; do not modify in place)."""
    return torch.tensor(AB_BINS, dtype=dtype, device=torch.device(device))


# --- candidate table -------------------------------------------------------------------
# Cells of _CELL x _CELL Lab units tile [_LO, _LO + _NCELL*_CELL)^2. Outside it (far beyond
# the sRGB gamut) pixels fall back to a brute-force search over all 313 bins.
_CELL = 2.5
_LO = -160.0
_NCELL = 128
_FAR = 1.0e4  # coordinate of padding candidates: never among the k nearest


@functools.lru_cache(maxsize=8)
def _candidate_table(k: int) -> tuple[np.ndarray, np.ndarray]:
    """For every cell, the bins that can be among the k nearest of some point in it.

    For a point p in a cell with centre c and half-diagonal h, d_k(p) <= d_k(c) + h
    (triangle inequality), and every bin j that is a k-NN of p has
    dist(cell, j) <= d(p, j) <= d_k(p). So {j : dist(cell, j) <= d_k(c) + h} is complete.

    Returns (cand_a, cand_b): (NCELL*NCELL, M) float64 coordinates of the candidates, padded
    with _FAR, and the matching (NCELL*NCELL, M) int64 bin indices (padding -> 0).
    """
    bins = AB_BINS
    centres_1d = _LO + _CELL * (np.arange(_NCELL) + 0.5)
    ca, cb = np.meshgrid(centres_1d, centres_1d, indexing="ij")
    centres = np.stack([ca.ravel(), cb.ravel()], axis=1)  # (cells, 2)
    half = _CELL / 2
    d_centre = np.sqrt(((centres[:, None, :] - bins[None]) ** 2).sum(-1))  # (cells, 313)
    dk = np.partition(d_centre, k - 1, axis=1)[:, k - 1]
    bound = dk + half * np.sqrt(2.0) + 1e-6
    gap = np.maximum(np.abs(centres[:, None, :] - bins[None]) - half, 0.0)
    d_cell = np.sqrt((gap**2).sum(-1))
    mask = d_cell <= bound[:, None]
    m = int(mask.sum(1).max())
    idx = np.zeros((len(centres), m), dtype=np.int64)
    cand_a = np.full((len(centres), m), _FAR)
    cand_b = np.full((len(centres), m), _FAR)
    for i, row in enumerate(mask):
        j = np.flatnonzero(row)
        idx[i, : len(j)] = j
        cand_a[i, : len(j)] = bins[j, 0]
        cand_b[i, : len(j)] = bins[j, 1]
    return np.stack([cand_a, cand_b], axis=-1), idx


@functools.lru_cache(maxsize=16)
def _table_tensors(k: int, device: torch.device, dtype: torch.dtype):
    coords, idx = _candidate_table(k)
    return (
        torch.as_tensor(coords, dtype=dtype, device=device),
        torch.as_tensor(idx, dtype=torch.int64, device=device),
    )


def _knn_flat(ab: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k nearest bins of N points. ab: (N, 2) -> (d2 - d2_nearest (N,k), indices (N,k)).

    Computed in float64 (it serves the few pixels near or beyond the gamut edge, where
    float32 distances of far points would lose the precision the weights need).
    """
    in_dtype = ab.dtype
    ab = ab.double()
    coords, idx = _table_tensors(k, ab.device, ab.dtype)
    cell = torch.floor((ab - _LO) / _CELL).to(torch.int64)
    inside = ((cell >= 0) & (cell < _NCELL)).all(dim=1)
    flat = cell[:, 0].clamp(0, _NCELL - 1) * _NCELL + cell[:, 1].clamp(0, _NCELL - 1)
    cand = coords[flat]  # (N, M, 2)
    d2 = (cand - ab[:, None, :]).square().sum(-1)  # (N, M)
    d2k, j = torch.topk(d2, k, dim=1, largest=False, sorted=True)
    nn = torch.gather(idx[flat], 1, j)
    if not bool(inside.all()):
        # Rare: far outside the ab gamut; brute force over all bins for those points.
        out = ~inside
        bins = ab_bins_tensor(ab.device, ab.dtype)
        d2_all = (ab[out][:, None, :] - bins[None]).square().sum(-1)
        d2k[out], nn[out] = torch.topk(d2_all, k, dim=1, largest=False, sorted=True)
    return (d2k - d2k[:, :1]).to(in_dtype), nn


# --- fast path: the lattice lemma ----------------------------------------------------
# On an infinite square lattice (spacing 1), let c be the lattice point nearest to p and
# (sx, sy) the signs of p - c. The 5 nearest lattice points of p are c, c+(sx,0), c+(0,sy)
# and two of {c+(sx,sy), c-(sx,0), c-(0,sy)}: the farthest of those three is dropped.
# (Each other lattice point is dominated by one of these six; checked by brute force in
# tests/color/test_bins.py.) If all five are in-gamut bins they are also the 5 nearest
# *bins*; otherwise (pixels near the gamut edge) the candidate table above decides.
_OFF_A = (0.0, 1.0, 0.0, 1.0, -1.0, 0.0)
_OFF_B = (0.0, 0.0, 1.0, 1.0, 0.0, -1.0)
_LUT_R = 16  # lattice lookup covers lattice coordinates [-16, 16] (Lab [-160, 160])
_SIDE = 2 * _LUT_R + 1


@functools.lru_cache(maxsize=16)
def _lattice_tensors(device: torch.device, dtype: torch.dtype):
    """Bin index of every lattice point in [-16,16]^2 (-1 = not a bin), and the offsets."""
    lut = torch.full((_SIDE * _SIDE,), -1, dtype=torch.int64)
    lat = np.rint(AB_BINS / C.AB_GRID_STEP).astype(np.int64) + _LUT_R
    lut[torch.as_tensor(lat[:, 0] * _SIDE + lat[:, 1])] = torch.arange(C.NUM_AB_BINS)
    off = torch.tensor([_OFF_A[:3], _OFF_B[:3]], dtype=dtype).view(1, 2, 3, 1)
    return lut.to(device), off.to(device), torch.ones((), dtype=dtype, device=device)


def _knn5_lattice(ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact 5 nearest bins via the lattice lemma. ab: (B,2,P) -> (d2, idx), each (B,5,P).

    In the frame reflected by the signs of p - c (lattice units, p at (x, y), 0 <= x, y <=
    1/2), the three further candidates (1,1), (-1,0), (0,-1) have squared distances
    D3 = (1-x)^2 + (1-y)^2, D4 = (1+x)^2 + y^2, D5 = x^2 + (1+y)^2, so D3 - D4 = 1 - 4x - 2y,
    D3 - D5 = 1 - 2x - 4y and D4 - D5 = 2(x - y): (1,1) is the farthest iff 4x + 2y <= 1 and
    2x + 4y <= 1, else (-1,0) iff x >= y, else (0,-1). The five kept candidates are thus built
    directly (no ranking, no gathers); at exact ties either choice is right. Planar layout
    (pixels innermost): every op is one long contiguous loop. Pixels whose five lattice
    neighbours are not all bins get idx -1; the caller re-solves them.
    """
    lut, off, one = _lattice_tensors(ab.device, ab.dtype)
    step = C.AB_GRID_STEP
    near = torch.round(ab / step)  # (B,2,P) nearest lattice point
    frac = ab - near * step  # offset from it, Lab units
    sign = torch.copysign(one, frac)  # quadrant of p around it
    x, y = frac[:, 0].abs(), frac[:, 1].abs()  # reflected offsets, Lab units (<= step/2)
    drop11 = (4 * x + 2 * y <= step) & (2 * x + 4 * y <= step)
    far_b = (drop11 | (x >= y)).to(ab.dtype)  # 5th candidate is (0,-1), else (-1,0)
    keep11 = (~drop11).to(ab.dtype)  # 4th candidate is (1,1), else (-1,0)
    # Per-pixel offsets of the 4th and 5th candidates (rows 0-2 are fixed).
    off45 = torch.stack([2 * keep11 - 1, far_b - 1, keep11, -far_b], 1).view(-1, 2, 2, ab.shape[2])
    offs = torch.cat([off.expand(ab.shape[0], 2, 3, ab.shape[2]), off45], 2)  # (B,2,5,P)
    lat = torch.addcmul(near.unsqueeze(2), sign.unsqueeze(2), offs)  # lattice coordinates
    d2 = (ab.unsqueeze(2) - lat * step).square_().sum(1)  # (B,5,P) squared Lab distance
    lat = lat.clamp_(-_LUT_R, _LUT_R).add_(_LUT_R)
    flat = torch.addcmul(lat[:, 1], lat[:, 0], torch.full_like(one, _SIDE)).to(torch.int64)
    return d2, torch.take(lut, flat)


def _knn_planar(ab: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k nearest bins, nearest first. ab: (B,2,P) -> (squared distances, indices), (B,k,P).

    Near the gamut edge the distances are relative to the nearest bin's (computed in float64,
    see :func:`_knn_flat`): the weights only depend on differences.
    """
    if k != 5:
        d2, nn = _knn_flat(ab.transpose(1, 2).reshape(-1, 2), k)
        shape = (ab.shape[0], ab.shape[2], k)
        return d2.view(shape).transpose(1, 2), nn.view(shape).transpose(1, 2)
    d2, nn = _knn5_lattice(ab)
    edge = (nn < 0).any(dim=1)  # (B,P)
    if bool(edge.any()):
        # Near the gamut edge: exact search over the candidate table for those pixels.
        sel = edge.nonzero(as_tuple=True)
        d2e, nne = _knn_flat(ab.transpose(1, 2)[sel], k)
        d2.transpose(1, 2)[sel] = d2e
        nn.transpose(1, 2)[sel] = nne
    return d2, nn


#: Pixels processed per chunk. Bounds working memory, and keeps each pass's temporaries
#: (~2.6 MB at 2^16 pixels) in cache: 2^18 was 1.6-2x slower per pixel on 8x256x256 batches.
_CHUNK = 1 << 16


def _knn_chunked(ab: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k-NN of every pixel, in pieces of at most _CHUNK pixels (bounded working memory).

    ab: (B,2,H,W) -> (squared distances, bin indices), each (B,k,H,W), nearest first.
    """
    b, _, h, w = ab.shape
    p = h * w
    src = ab.reshape(b, 2, p)
    if b * p <= _CHUNK:
        d2, nn = _knn_planar(src, k)
    else:
        d2 = torch.empty(b, k, p, dtype=ab.dtype, device=ab.device)
        nn = torch.empty(b, k, p, dtype=torch.int64, device=ab.device)
        per = max(1, _CHUNK // max(p, 1))  # whole images per piece...
        cols = min(p, _CHUNK)  # ...or pixel ranges of one image when it is larger
        for i in range(0, b, per):
            for j in range(0, p, cols):
                d2[i : i + per, :, j : j + cols], nn[i : i + per, :, j : j + cols] = (
                    _knn_planar(src[i : i + per, :, j : j + cols], k)
                )
    return d2.reshape(b, k, h, w), nn.reshape(b, k, h, w)


def _check_ab(ab: torch.Tensor, k: int, sigma: float) -> None:
    check_image_tensor(ab, "ab", 2)
    if not 1 <= k <= C.NUM_AB_BINS:
        raise ValueError(f"k must be in [1, {C.NUM_AB_BINS}], got {k}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")


def soft_encode_sparse(
    ab: torch.Tensor, k: int = C.SOFT_ENCODE_K, sigma: float = C.SOFT_ENCODE_SIGMA
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-encode ab onto its k nearest bins, returned sparsely (what the loss uses).

    Args:
        ab: (B,2,H,W) float32/float64 ab in Lab units, any device.
        k: number of nearest bins (Zhang et al.: 5).
        sigma: Gaussian kernel width in Lab units (Zhang et al.: 5).

    Returns:
        ``(index, weight)``: index (B,k,H,W) int64 bin indices into ``AB_BINS``, nearest
        first; weight (B,k,H,W) of ab's dtype, exp(-d^2 / 2 sigma^2) normalised to sum 1
        over k. Memory is O(B*k*H*W), not O(B*313*H*W).
    """
    _check_ab(ab, k, sigma)
    d2, nn = _knn_chunked(ab, k)
    # Normalised Gaussian weights = softmax of -d^2 / 2 sigma^2 (one fused, stable pass;
    # far out-of-gamut points cannot underflow to 0/0).
    wts = torch.softmax(d2.mul_(-0.5 / (sigma * sigma)), dim=1)
    return nn, wts


def soft_encode(
    ab: torch.Tensor,
    k: int = C.SOFT_ENCODE_K,
    sigma: float = C.SOFT_ENCODE_SIGMA,
    *,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Soft-encode ab as a dense distribution over the 313 bins (Zhang et al. section 3.1).

    Args:
        ab: (B,2,H,W) float32/float64 ab in Lab units, any device.
        k: number of nearest bins that get weight.
        sigma: Gaussian kernel width in Lab units.
        dtype: output dtype (default: ab's). The dense output alone takes
            B*313*H*W*itemsize bytes (2.6 GB for (32,2,256,256) in float32): for big
            batches use :func:`soft_encode_sparse` (what the training loss uses) or
            ``dtype=torch.float16``. Working memory beyond the output is bounded.

    Returns:
        (B,313,H,W) probabilities: at most k non-zeros per pixel, summing to 1.
    """
    index, weight = soft_encode_sparse(ab, k, sigma)
    b, _, h, w = ab.shape
    out = torch.zeros(b, C.NUM_AB_BINS, h, w, dtype=dtype or ab.dtype, device=ab.device)
    return out.scatter_(1, index, weight.to(out.dtype))


def hard_encode(ab: torch.Tensor) -> torch.Tensor:
    """Index of the nearest bin. ab: (B,2,H,W) Lab units -> (B,H,W) int64 in [0, 313)."""
    _check_ab(ab, 1, 1.0)
    return _knn_chunked(ab, 1)[1][:, 0]
