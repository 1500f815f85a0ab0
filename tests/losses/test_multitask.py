"""The multi-task loss: each term's value and the per-sample masks."""

from __future__ import annotations

import pytest
import torch

from semcolor import constants as C
from semcolor.color import soft_encode
from semcolor.losses import MultiTaskLoss, dice_loss, soft_ce_loss
from semcolor.models import ColorizerOutput


def _batch(b=4, h=8, w=8, n_scene=5, n_seg=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "L": torch.rand(b, 1, h, w, generator=g) * 100,
        "ab": torch.randn(b, 2, h, w, generator=g) * 30,
        "colorful": torch.ones(b, dtype=torch.bool),
        "scene": torch.softmax(torch.randn(b, n_scene, generator=g), 1),
        "has_scene": torch.ones(b, dtype=torch.bool),
        "seg": torch.randint(0, n_seg, (b, h, w), generator=g),
        "has_seg": torch.ones(b, dtype=torch.bool),
    }


def _outputs(b=4, h=8, w=8, n_scene=5, n_seg=3, stride=1, seed=1):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s: torch.randn(*s, generator=g).requires_grad_(True)  # noqa: E731
    return ColorizerOutput(
        ab_reg=(mk(b, 2, h, w) * 30).detach().requires_grad_(True),
        ab_logits=mk(b, C.NUM_AB_BINS, h // stride, w // stride),
        scene_logits=mk(b, n_scene),
        seg_logits=mk(b, n_seg, h, w),
    )


def test_soft_ce_equals_dense_cross_entropy():
    batch, out = _batch(), _outputs()
    mask = torch.ones(4, dtype=torch.bool)
    got = soft_ce_loss(out.ab_logits, batch["ab"], mask, targets="area")
    q = soft_encode(batch["ab"])
    ref = -(q * torch.log_softmax(out.ab_logits, 1)).sum(1).mean()
    assert torch.allclose(got, ref, atol=1e-5)
    # Rebalancing: every pixel weighted by its nearest bin's weight.
    w = torch.rand(C.NUM_AB_BINS) + 0.5
    got_w = soft_ce_loss(out.ab_logits, batch["ab"], mask, w)
    nearest = q.argmax(1)
    ref_w = (-(q * torch.log_softmax(out.ab_logits, 1)).sum(1) * w[nearest]).mean()
    assert torch.allclose(got_w, ref_w, atol=1e-5)


def test_soft_ce_area_mode_uses_area_downsampled_targets():
    batch, out = _batch(), _outputs(stride=4)
    mask = torch.ones(4, dtype=torch.bool)
    got = soft_ce_loss(out.ab_logits, batch["ab"], mask, targets="area")
    ab4 = torch.nn.functional.avg_pool2d(batch["ab"], 4)
    ref = -(soft_encode(ab4) * torch.log_softmax(out.ab_logits, 1)).sum(1).mean()
    assert torch.allclose(got, ref, atol=1e-5)


def test_total_is_weighted_sum_of_terms():
    loss = MultiTaskLoss(w_dist=0.3, w_scene=0.2, w_seg=0.7, w_reg=1.5)
    res = loss(_outputs(), _batch())
    t = res.terms
    assert set(t) == {"dist", "reg", "scene", "seg"}
    expect = 0.3 * t["dist"] + 0.2 * t["scene"] + 0.7 * t["seg"] + 1.5 * t["reg"]
    assert torch.allclose(res.total, expect, atol=1e-5)
    # Scene term: soft-target cross-entropy by hand.
    out, batch = _outputs(), _batch()
    ref = -(batch["scene"] * torch.log_softmax(out.scene_logits, 1)).sum(1).mean()
    assert torch.allclose(loss(out, batch).terms["scene"], ref, atol=1e-6)


def test_batch_without_seg_labels_gives_zero_seg_gradients():
    loss = MultiTaskLoss()
    batch, out = _batch(), _outputs()
    batch["has_seg"][:] = False
    batch["seg"][:] = C.IGNORE_INDEX
    loss(out, batch).total.backward()
    assert out.seg_logits.grad is not None and torch.count_nonzero(out.seg_logits.grad) == 0
    assert torch.count_nonzero(out.scene_logits.grad) > 0


def test_masks_are_per_sample():
    loss = MultiTaskLoss()
    batch, out = _batch(), _outputs()
    batch["has_scene"][1] = False
    batch["colorful"][2] = False
    batch["has_seg"][3] = False
    loss(out, batch).total.backward()
    assert torch.count_nonzero(out.scene_logits.grad[1]) == 0
    assert torch.count_nonzero(out.scene_logits.grad[0]) > 0
    # A colourless sample adds nothing to either colour loss.
    assert torch.count_nonzero(out.ab_reg.grad[2]) == 0
    assert torch.count_nonzero(out.ab_logits.grad[2]) == 0
    assert torch.count_nonzero(out.ab_logits.grad[0]) > 0
    assert torch.count_nonzero(out.seg_logits.grad[3]) == 0
    # The masked sample's value does not change the loss.
    before = loss(out, batch).terms["scene"]
    batch["scene"][1] = torch.tensor([1.0, 0, 0, 0, 0])
    assert torch.equal(loss(out, batch).terms["scene"], before)


def test_disabled_heads_and_zero_weights():
    loss = MultiTaskLoss(w_scene=0.0)
    out = ColorizerOutput(ab_reg=_outputs().ab_reg)
    res = loss(out, _batch())
    assert set(res.terms) == {"reg"}
    assert set(loss(_outputs(), _batch()).terms) == {"dist", "reg", "seg"}


def test_dice_ignores_unlabeled_pixels():
    logits = torch.zeros(1, 3, 4, 4)
    logits[0, 1] = 20.0  # predicts class 1 everywhere
    target = torch.full((1, 4, 4), C.IGNORE_INDEX)
    target[0, :2] = 1
    assert dice_loss(logits, target) < 0.01  # the ignored half does not count
    target[0, :2] = 2
    assert dice_loss(logits, target) > 0.3


def test_smooth_l1_and_bad_arguments():
    res = MultiTaskLoss(reg_loss="smooth_l1")(_outputs(), _batch())
    assert torch.isfinite(res.terms["reg"])
    with pytest.raises(ValueError, match="reg_loss must be one of"):
        MultiTaskLoss(reg_loss="l3")
    with pytest.raises(ValueError, match="w_seg"):
        MultiTaskLoss(w_seg=-1)
    with pytest.raises(ValueError, match="313"):
        MultiTaskLoss().set_prior(torch.ones(3))


# --- issue 9: the Dice term and the strided-head targets ----------------------------------
def test_dice_is_about_one_for_a_completely_wrong_prediction_at_k183():
    from semcolor.losses import dice_loss

    k = 183
    logits = torch.full((2, k, 16, 16), -10.0)
    logits[:, 0] = 10.0  # predicts class 0 everywhere
    target = torch.full((2, 16, 16), 7, dtype=torch.int64)  # truth: class 7 everywhere
    assert dice_loss(logits, target).item() == pytest.approx(1.0, abs=1e-3)
    # smp's DiceLoss averages over all 183 classes: ~2/183 here. Ours does not shrink with K.
    good = torch.full((2, k, 16, 16), -10.0)
    good[:, 7] = 10.0
    assert dice_loss(good, target).item() < 1e-3


def test_dice_averages_over_present_classes_and_ignores_unlabelled():
    from semcolor import constants as C
    from semcolor.losses import dice_loss

    logits = torch.full((1, 183, 4, 4), -10.0)
    logits[:, 1] = 10.0
    target = torch.full((1, 4, 4), C.IGNORE_INDEX, dtype=torch.int64)
    target[0, :2] = 1  # half right (class 1), half class 2 predicted as 1, rest ignored
    target[0, 2:, :2] = 2
    # class 1: Dice = 2*8/(12+8) = 0.8; class 2: 0 -> mean loss (0.2 + 1) / 2 = 0.6
    assert dice_loss(logits, target).item() == pytest.approx(0.6, abs=1e-3)
    none = torch.full((1, 4, 4), C.IGNORE_INDEX, dtype=torch.int64)
    z = dice_loss(logits.requires_grad_(), none)
    assert z.item() == 0.0
    z.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_soft_ce_default_targets_are_exact_cell_distributions():
    import torch.nn.functional as F

    from semcolor.color import soft_encode

    batch, out = _batch(), _outputs(stride=4)
    mask = torch.ones(4, dtype=torch.bool)
    got = soft_ce_loss(out.ab_logits, batch["ab"], mask)
    cells = F.avg_pool2d(soft_encode(batch["ab"]), 4)
    ref = -(cells * torch.log_softmax(out.ab_logits, 1)).sum(1).mean()
    assert torch.allclose(got, ref, atol=1e-5)


def test_loss_rejects_unknown_target_mode():
    with pytest.raises(ValueError, match="dist_targets must be one of"):
        MultiTaskLoss(dist_targets="bogus")
