"""The weighted multi-task loss of Nguyen-Quynh, Kim & Do (IEEE Access 2020).

    L = w_dist * L_dist + w_scene * L_scene + w_seg * L_seg + w_reg * L_reg

Per-sample masks make datasets with different labels mixable in one batch: a sample without
scene (segmentation) labels adds nothing to L_clas (L_seg); a colourless sample adds nothing
to L_soft and L_reg. A term with no contributing sample is an exact zero that still touches
its head's outputs, so the head gets zero (not missing) gradients — which also keeps
DistributedDataParallel from waiting for gradients that never come.

Plain torch: usable without Lightning. Batches follow the sample contract of
:mod:`semcolor.data` ("L", "ab", "colorful", "scene", "has_scene", "seg", "has_seg").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from semcolor import constants as C
from semcolor.color import normalize_ab
from semcolor.color.targets import DIST_TARGET_MODES, distribution_targets
from semcolor.models import ColorizerOutput

#: Regression loss choices for ``reg_loss``.
REG_LOSSES = ("mse", "smooth_l1")
#: Lower bound of the Dice denominator (as segmentation-models-pytorch's DiceLoss).
DICE_EPS = 1e-7


@dataclass
class LossOutput:
    """Total loss (scalar, differentiable) and each weighted-free term (detached floats)."""

    total: torch.Tensor
    terms: dict[str, torch.Tensor]


def _zero_touching(*tensors: torch.Tensor | None) -> torch.Tensor:
    """An exact 0 that depends on ``tensors`` (gives zero gradients instead of None)."""
    present = [t for t in tensors if t is not None]
    return sum(t.sum() for t in present) * 0.0


def _masked_mean(per_item: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of per_item (B,...) over samples where mask (B,) is True, all other dims averaged."""
    m = mask.to(per_item.dtype).view(-1, *([1] * (per_item.ndim - 1))).expand_as(per_item)
    return (per_item * m).sum() / m.sum().clamp_min(1.0)


def soft_ce_loss(
    logits: torch.Tensor,
    ab: torch.Tensor,
    mask: torch.Tensor,
    class_weights: torch.Tensor | None = None,
    k: int = C.SOFT_ENCODE_K,
    sigma: float = C.SOFT_ENCODE_SIGMA,
    targets: str = "cell",
) -> torch.Tensor:
    """Class-rebalanced cross-entropy against soft-encoded ab (Zhang et al. eq. 2-4).

    Args:
        logits: (B,313,h,w) bin logits (h, w may be H/s, W/s for a strided head).
        ab: (B,2,H,W) target ab in Lab units.
        mask: (B,) bool, samples that count (colourful ones).
        class_weights: (313,) rebalancing weight per bin, or None for none; each cell
            is weighted by the weight of its target's most likely bin (Zhang et al. eq. 3).
        targets: how a strided head's cell targets are built, one of
            :data:`semcolor.color.targets.DIST_TARGET_MODES` ("cell": the mean of the
            pixels' soft encodings, the default; "subsample": Zhang et al.'s one ab value per
            cell, taken at the cell's centre; "area": soft encoding of the area-averaged ab).

    Returns:
        Scalar: the weighted per-cell cross-entropy averaged over counted cells.
    """
    # Targets are built here, on the training device, not in the data workers.
    with torch.no_grad():
        t = distribution_targets(ab, tuple(logits.shape[-2:]), targets, k, sigma)
    logp = torch.log_softmax(logits.float(), dim=1)
    ce = t.cross_entropy(logp)  # (B,h,w)
    if class_weights is not None:
        ce = ce * class_weights[t.top_bin()]
    return _masked_mean(ce, mask)


def scene_ce_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with soft (or one-hot) targets. logits, target: (B,K); mask: (B,)."""
    ce = -(target * torch.log_softmax(logits.float(), dim=1)).sum(1)
    return _masked_mean(ce, mask)


def dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = C.IGNORE_INDEX,
    eps: float = DICE_EPS,
) -> torch.Tensor:
    """1 - soft Dice over the classes present in the target (Nguyen-Quynh et al.: 1 - Dice).

    Per class c over the whole batch: Dice_c = 2 sum(p_c y_c) / (sum p_c + sum y_c), with
    p the softmax and y the one-hot target, ignored pixels left out. Hand-written because
    segmentation-models-pytorch's DiceLoss averages over all K classes with absent ones
    counted as 0 loss, so its value shrinks by (classes present / K): a completely wrong
    single-class image scores ~1/183 at K = 183 instead of ~1. Here it scores ~1 for any K.
    No one-hot tensor is built (bincounts over the labelled pixels).

    Args:
        logits: (N,K,H,W) float; target: (N,H,W) int64 in [0, K) or ``ignore_index``.

    Returns:
        Scalar in [0, 1]; an exact 0 touching ``logits`` if no pixel is labelled.
    """
    n, k = logits.shape[:2]
    prob = torch.softmax(logits.float(), dim=1)
    valid = target != ignore_index
    if not bool(valid.any()):
        return _zero_touching(logits)
    tgt = torch.where(valid, target, torch.zeros_like(target))
    p_true = torch.gather(prob, 1, tgt[:, None])[:, 0]  # (N,H,W): prob of the true class
    vt = tgt[valid]
    inter = torch.zeros(k, device=logits.device, dtype=prob.dtype).index_add(0, vt, p_true[valid])
    count = torch.bincount(vt, minlength=k).to(prob.dtype)
    p_sum = (prob * valid[:, None].to(prob.dtype)).sum((0, 2, 3))
    dice = 2.0 * inter / (p_sum + count).clamp_min(eps)
    present = count > 0
    return (1.0 - dice[present]).mean()


class MultiTaskLoss(nn.Module):
    """L = w_dist L_dist + w_scene L_scene + w_seg L_seg + w_reg L_reg, with per-sample masks.

    Each term is named after the head it trains (``LossOutput.terms`` keys "dist", "scene",
    "seg", "reg"): L_dist the class-rebalanced cross-entropy against soft-encoded ab (Zhang et
    al.), L_scene the cross-entropy against top-5 smoothed scene labels, L_seg the Dice loss,
    L_reg the ab regression.

    Args:
        w_dist, w_scene, w_seg, w_reg: term weights (0 switches a term off).
        reg_loss: "mse" (the paper) or "smooth_l1", on normalised ab (ab / 110).
        seg_ce_weight: weight of an extra pixel cross-entropy added to the Dice loss (0: Dice
            only, as the paper).
        rebalance: weight L_dist by the class-rebalancing weights (``set_prior``).
        k, sigma: soft-encoding parameters (Zhang et al.: 5 and 5).
        dist_targets: targets of a strided distribution head, one of
            :data:`semcolor.color.targets.DIST_TARGET_MODES` (see :func:`soft_ce_loss`).
        w_soft, w_clas: deprecated spellings of ``w_dist`` and ``w_scene`` (semcolor 0.1
            configs); when given they win, with a FutureWarning.

    The (313,) rebalancing weights are a buffer, so they travel with ``state_dict``.
    """

    def __init__(
        self,
        w_dist: float = 1.0,
        w_scene: float = 0.1,
        w_seg: float = 0.5,
        w_reg: float = 1.0,
        reg_loss: str = "mse",
        seg_ce_weight: float = 0.0,
        rebalance: bool = True,
        k: int = C.SOFT_ENCODE_K,
        sigma: float = C.SOFT_ENCODE_SIGMA,
        dist_targets: str = "cell",
        w_soft: float | None = None,
        w_clas: float | None = None,
    ):
        super().__init__()
        for old, new, value in (("w_soft", "w_dist", w_soft), ("w_clas", "w_scene", w_clas)):
            if value is not None:
                warnings.warn(f"loss.{old} is deprecated; write loss.{new}={value}",
                              FutureWarning, stacklevel=2)  # fmt: skip
        w_dist = w_dist if w_soft is None else w_soft
        w_scene = w_scene if w_clas is None else w_clas
        if dist_targets not in DIST_TARGET_MODES:
            raise ValueError(
                f"dist_targets must be one of {list(DIST_TARGET_MODES)}, got {dist_targets!r}"
            )
        self.dist_targets = dist_targets
        if reg_loss not in REG_LOSSES:
            raise ValueError(f"reg_loss must be one of {list(REG_LOSSES)}, got {reg_loss!r}")
        weights = (("w_dist", w_dist), ("w_scene", w_scene), ("w_seg", w_seg), ("w_reg", w_reg))
        for name, w in weights:
            if not w >= 0:
                raise ValueError(f"{name} must be >= 0, got {w!r}")
        self.w_dist, self.w_scene, self.w_seg, self.w_reg = w_dist, w_scene, w_seg, w_reg
        self.reg_loss, self.seg_ce_weight = reg_loss, seg_ce_weight
        self.rebalance, self.k, self.sigma = rebalance, k, sigma
        self.register_buffer("class_weights", torch.ones(C.NUM_AB_BINS))

    def set_prior(self, weights: torch.Tensor) -> None:
        """Install (313,) rebalancing weights (from :class:`semcolor.color.RebalancePrior`)."""
        weights = torch.as_tensor(weights, dtype=torch.float32)
        if weights.shape != (C.NUM_AB_BINS,) or not torch.isfinite(weights).all():
            raise ValueError(f"weights must be a finite ({C.NUM_AB_BINS},) vector")
        self.class_weights.copy_(weights)

    def target_histogram(
        self, ab: torch.Tensor, out_hw: tuple[int, int], mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(313,) float64 mass of the distribution targets this loss builds for ab (B,2,H,W)
        and a head output of size ``out_hw``, over the samples where ``mask`` (B,) holds:
        what the rebalancing prior is counted on."""
        t = distribution_targets(ab, out_hw, self.dist_targets, self.k, self.sigma)
        return t.histogram(mask)

    def forward(self, out: ColorizerOutput, batch: dict[str, torch.Tensor]) -> LossOutput:
        """out: the network's outputs; batch: the sample contract, batched. -> LossOutput."""
        terms: dict[str, torch.Tensor] = {}
        total = _zero_touching(*out.as_dict().values())
        colorful = batch["colorful"].bool()
        if out.ab_logits is not None and self.w_dist > 0:
            cw = self.class_weights if self.rebalance else None
            t = soft_ce_loss(
                out.ab_logits, batch["ab"], colorful, cw, self.k, self.sigma, self.dist_targets
            )
            terms["dist"] = t
            total = total + self.w_dist * t
        if out.ab_reg is not None and self.w_reg > 0:
            diff = normalize_ab(out.ab_reg.float()) - normalize_ab(batch["ab"])
            per = diff.square() if self.reg_loss == "mse" else F.smooth_l1_loss(
                diff, torch.zeros_like(diff), reduction="none", beta=0.1
            )
            t = _masked_mean(per, colorful)
            terms["reg"] = t
            total = total + self.w_reg * t
        if out.scene_logits is not None and self.w_scene > 0:
            has = batch["has_scene"].bool()
            t = scene_ce_loss(out.scene_logits, batch["scene"], has)
            terms["scene"] = t
            total = total + self.w_scene * t
        if out.seg_logits is not None and self.w_seg > 0:
            has = batch["has_seg"].bool()
            if bool(has.any()):
                logits, target = out.seg_logits[has], batch["seg"][has]
                t = dice_loss(logits, target)
                if self.seg_ce_weight > 0:
                    ce = F.cross_entropy(logits.float(), target, ignore_index=C.IGNORE_INDEX)
                    t = t + self.seg_ce_weight * torch.nan_to_num(ce)  # all-ignored -> nan
            else:
                t = _zero_touching(out.seg_logits)
            terms["seg"] = t
            total = total + self.w_seg * t
        return LossOutput(total, {k: v.detach() for k, v in terms.items()})
