"""Targets of a distribution head that predicts at stride s (Zhang et al.'s is at s = 4).

The head emits one 313-bin distribution per s x s cell of the image. What should that
cell's target be? Three answers (``DIST_TARGET_MODES``):

- ``"cell"`` (default): soft-encode every full-resolution pixel (k = 5 nearest bins,
  Gaussian sigma = 5) and average the encodings over the cell. That is the cell's exact
  colour distribution: a cell on a red/green edge targets "half red, half green", not the
  brown that their average ab would encode to. Built by a sparse scatter-add of the k
  weights per pixel into the (B,313,h,w) cell grid; no dense 313 x H x W tensor at full
  resolution ever exists.
- ``"subsample"``: Zhang et al.'s training net: one ab value per cell, soft-encoded. It is
  taken at the cell's *centre* (:func:`cell_centres`), where the bilinear upsampling of the
  head's output (``align_corners=False``) places it: the centre pixel for odd s, the mean of
  the central 2x2 pixels for even s (the centre lies between them). Taking the top-left
  pixel (``ab[..., ::s, ::s]``, semcolor 0.2 and earlier) shifts every target by (s-1)/2 pixels.
- ``"area"``: ab averaged over the cell, then soft-encoded (semcolor < 0.2; turns textures
  and edges into desaturated mixtures).

The rebalancing prior must be counted on the same targets (:func:`target_histogram`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semcolor import constants as C
from semcolor.color.bins import soft_encode_sparse

#: Accepted ``mode`` values, default first.
DIST_TARGET_MODES: tuple[str, ...] = ("cell", "subsample", "area")


@dataclass
class DistTargets:
    """Per-cell target distributions over the 313 bins, dense or sparse.

    Exactly one form is set:

    - ``dense``: (B,313,h,w) float32, each cell sums to 1 ("cell" mode at stride > 1);
    - ``idx``, ``wts``: (B,k,h,w) int64 bin indices and float32 weights summing to 1 over k
      (one soft-encoded pixel per cell: stride 1, "subsample", "area").
    """

    dense: torch.Tensor | None = None
    idx: torch.Tensor | None = None
    wts: torch.Tensor | None = None

    def cross_entropy(self, logp: torch.Tensor) -> torch.Tensor:
        """-sum_q target_q log p_q per cell: logp (B,313,h,w) -> (B,h,w)."""
        if self.dense is not None:
            return -(self.dense * logp).sum(1)
        return -(torch.gather(logp, 1, self.idx) * self.wts).sum(1)

    def top_bin(self) -> torch.Tensor:
        """(B,h,w) int64: the most likely bin of each cell (indexes the rebalancing weights,
        Zhang et al. eq. 3: v(Z) = w[argmax_q Z_q])."""
        if self.dense is not None:
            return self.dense.argmax(1)
        return self.idx[:, 0]

    def histogram(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(313,) float64 target mass summed over cells of the samples where ``mask`` (B,)
        is True (all when None); each cell contributes 1."""
        if self.dense is not None:
            d = self.dense if mask is None else self.dense[mask.bool()]
            return d.sum((0, 2, 3)).double()
        if mask is not None:
            mask = mask.bool()
        idx, wts = (self.idx, self.wts) if mask is None else (self.idx[mask], self.wts[mask])
        return torch.bincount(
            idx.reshape(-1), weights=wts.reshape(-1).double(), minlength=C.NUM_AB_BINS
        )


def _check_mode(mode: str) -> None:
    if mode not in DIST_TARGET_MODES:
        raise ValueError(f"dist target mode must be one of {list(DIST_TARGET_MODES)}, got {mode!r}")


def cell_distributions(
    ab: torch.Tensor,
    stride: int,
    k: int = C.SOFT_ENCODE_K,
    sigma: float = C.SOFT_ENCODE_SIGMA,
) -> torch.Tensor:
    """Exact colour distribution of every ``stride`` x ``stride`` cell.

    Args:
        ab: (B,2,H,W) float ab in Lab units, any device.
        stride: cell side s >= 1; cells at the bottom/right border may be smaller
            (ceil(H/s) x ceil(W/s) cells, as the head's output).

    Returns:
        (B,313,ceil(H/s),ceil(W/s)) float32: the mean of the pixels' soft encodings.
    """
    b, _, H, W = ab.shape
    h, w = -(-H // stride), -(-W // stride)
    idx, wts = soft_encode_sparse(ab.float(), k, sigma)  # (B,k,H,W)
    dev = ab.device
    cy = torch.arange(H, device=dev) // stride
    cx = torch.arange(W, device=dev) // stride
    cell = (cy[:, None] * w + cx[None, :]).view(1, 1, H, W)  # (1,1,H,W) cell id
    count = torch.bincount(cell.reshape(-1), minlength=h * w).to(torch.float32)
    flat = idx * (h * w) + cell  # index into (313*h*w)
    out = torch.zeros(b, C.NUM_AB_BINS * h * w, device=dev, dtype=torch.float32)
    out.scatter_add_(1, flat.reshape(b, -1), wts.reshape(b, -1).to(torch.float32))
    return (out.view(b, C.NUM_AB_BINS, h, w) / count.view(1, 1, h, w)).contiguous()


def cell_centres(ab: torch.Tensor, stride: int) -> torch.Tensor:
    """ab at the centre of every ``stride`` x ``stride`` cell.

    Cell i along an axis of n pixels covers pixels [i*s, min((i+1)*s, n)); its centre is
    i*s + (m-1)/2 with m its pixel count (a partial border cell: its own centre). A centre
    on a pixel gives that pixel; one between two pixels (even m) their mean, i.e. bilinear
    sampling at the centre: the mean of the central 2x2 pixels of an even cell. Why not
    pixel s//2 (no averaging, but half a pixel off): the ceiling of a perfect stride-4 head
    on imagen1k/val is 37.59 dB with the 2x2 mean, 37.05 with pixel 2, 37.04 with pixel 1
    and 34.68 with the top-left pixel (annealed mean; ``benchmarks/bench_dist_targets.py
    --limit 100 --subsample-variants``, docs/default_model.md).

    Args:
        ab: (B,2,H,W) float.
        stride: s >= 1.

    Returns:
        (B,2,ceil(H/s),ceil(W/s)), ab's dtype.
    """

    def lo_hi(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = torch.arange(0, n, stride, device=ab.device)
        last = torch.clamp(start + stride, max=n) - 1  # the cell's last pixel
        twice = start + last  # twice the centre: odd = between two pixels
        return twice // 2, (twice + 1) // 2

    ylo, yhi = lo_hi(ab.shape[-2])
    xlo, xhi = lo_hi(ab.shape[-1])
    rows = (ab.index_select(-2, ylo) + ab.index_select(-2, yhi)) / 2
    return (rows.index_select(-1, xlo) + rows.index_select(-1, xhi)) / 2


def distribution_targets(
    ab: torch.Tensor,
    out_hw: tuple[int, int],
    mode: str = "cell",
    k: int = C.SOFT_ENCODE_K,
    sigma: float = C.SOFT_ENCODE_SIGMA,
    stride: int | None = None,
) -> DistTargets:
    """Targets of a distribution head whose output is (h, w) = ``out_hw``.

    Args:
        ab: (B,2,H,W) float ab in Lab units.
        out_hw: the head's spatial output size (h, w) = (ceil(H/s), ceil(W/s)).
        mode: one of :data:`DIST_TARGET_MODES` (see the module doc).
        stride: the head's stride s; None = the smallest power of two that maps (H, W)
            onto (h, w) (SemColorNet's strides are powers of two).

    Returns:
        :class:`DistTargets` at (h, w): dense for "cell" at stride > 1, sparse otherwise.
    """
    _check_mode(mode)
    H, W = ab.shape[-2:]
    h, w = int(out_hw[0]), int(out_hw[1])
    if stride is None:
        stride = next(
            (s for s in (2**i for i in range(16)) if -(-H // s) == h and -(-W // s) == w), 0
        )
    if stride < 1 or -(-H // stride) != h or -(-W // stride) != w:
        raise ValueError(
            f"ab of size {H}x{W} does not map onto a {h}x{w} head output by one integer stride"
        )
    ab = ab.float().detach()
    if stride == 1:
        pass
    elif mode == "cell":
        return DistTargets(dense=cell_distributions(ab, stride, k, sigma))
    elif mode == "subsample":
        ab = cell_centres(ab, stride)
    else:  # area
        ab = F.interpolate(ab, size=(h, w), mode="area")
    idx, wts = soft_encode_sparse(ab, k, sigma)
    return DistTargets(idx=idx, wts=wts)
