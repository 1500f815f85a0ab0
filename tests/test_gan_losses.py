"""The adversarial systems' losses against hand computations on tiny tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb
from torch import nn

from semcolor.color import l_to_gray, luma_bt601
from semcolor.gan_losses import (
    AdversarialLoss,
    SCGANLoss,
    SpyncoGANLoss,
    contour_loss,
    gradient_penalty,
    handcrafted_gray,
)
from semcolor.models import ColorizerOutput


class Linear1x1(nn.Module):
    """D(x) = sum_c w_c x_c per pixel (a 1x1 conv without bias): its input gradient is w."""

    def __init__(self, w):
        super().__init__()
        self.conv = nn.Conv2d(len(w), 1, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor(w, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return self.conv(x)


class MeanD(nn.Module):
    """D(x) = mean over channels: fixed, parameter-free scores."""

    def forward(self, x):
        return x.mean(1, keepdim=True)


# ------------------------------------------------------------------ gradient penalty
def test_gradient_penalty_of_a_linear_critic_by_hand():
    w = [0.5, -1.0, 2.0]
    d = Linear1x1(w)
    real, fake = torch.rand(2, 3, 4, 5), torch.rand(2, 3, 4, 5)
    gp = gradient_penalty(d, real, fake, alpha=torch.full((2, 1, 1, 1), 0.3))
    # grad of sum of patch scores wrt x_hat = w at every pixel -> ||grad|| = sqrt(H W sum w^2)
    norm = math.sqrt(4 * 5 * sum(v * v for v in w))
    assert gp.item() == pytest.approx((norm - 1.0) ** 2, rel=1e-5)


def test_gradient_penalty_is_zero_for_a_unit_gradient_and_trains_d():
    d = Linear1x1([1.0 / math.sqrt(4 * 5), 0.0, 0.0])  # ||grad|| = 1 exactly
    real, fake = torch.rand(3, 3, 4, 5), torch.rand(3, 3, 4, 5)
    gp = gradient_penalty(d, real, fake)
    assert gp.item() == pytest.approx(0.0, abs=1e-10)
    d2 = Linear1x1([1.0, 1.0, 1.0])
    gp2 = gradient_penalty(d2, real, fake)
    gp2.backward()  # differentiable with respect to D's weights (create_graph)
    assert d2.conv.weight.grad is not None and d2.conv.weight.grad.abs().sum() > 0


def test_gradient_penalty_interpolates_real_and_fake():
    class Record(nn.Module):
        def forward(self, x):
            self.seen = x.detach().clone()
            return x.sum((1, 2, 3), keepdim=True)

    d = Record()
    real, fake = torch.ones(2, 3, 2, 2), torch.zeros(2, 3, 2, 2)
    gradient_penalty(d, real, fake, alpha=torch.tensor([0.25, 0.75]).view(2, 1, 1, 1))
    assert torch.allclose(d.seen[0], torch.full((3, 2, 2), 0.25))
    assert torch.allclose(d.seen[1], torch.full((3, 2, 2), 0.75))


# ------------------------------------------------------------------ adversarial objectives
def test_wgan_gp_sides_by_hand():
    adv = AdversarialLoss("wgan_gp", gp_weight=10.0)
    real = torch.full((2, 3, 4, 4), 0.8)
    fake = torch.full((2, 3, 4, 4), 0.2)
    loss, terms = adv.discriminator_loss(MeanD(), real, fake)
    # D(x) = channel mean: grad per pixel 1/3 per channel -> ||grad|| = sqrt(16 * 3) / 3
    gp = (math.sqrt(16 * 3) / 3 - 1) ** 2
    assert loss.item() == pytest.approx(0.2 - 0.8 + 10 * gp, rel=1e-5)
    assert terms["wasserstein"].item() == pytest.approx(0.6, rel=1e-6)
    assert adv.generator_loss(MeanD(), fake).item() == pytest.approx(-0.2, rel=1e-6)


def test_lsgan_sides_by_hand():
    adv = AdversarialLoss("lsgan")
    real = torch.full((2, 3, 4, 4), 0.8)
    fake = torch.full((2, 3, 4, 4), 0.2)
    loss, _ = adv.discriminator_loss(MeanD(), real, fake)
    assert loss.item() == pytest.approx(0.5 * ((0.8 - 1) ** 2 + 0.2**2), rel=1e-5)
    assert adv.generator_loss(MeanD(), fake).item() == pytest.approx((0.2 - 1) ** 2, rel=1e-5)


def test_discriminator_loss_gives_no_gradient_to_the_fake():
    fake = torch.rand(2, 3, 4, 4, requires_grad=True)
    loss, _ = AdversarialLoss("wgan_gp").discriminator_loss(Linear1x1([1, 1, 1]),
                                                            torch.rand(2, 3, 4, 4), fake)
    loss.backward()
    assert fake.grad is None


def test_unknown_gan_kind_lists_the_valid_ones():
    with pytest.raises(ValueError, match="wgan_gp.*lsgan"):
        AdversarialLoss("hinge")


# ------------------------------------------------------------------ SCGAN
def _scgan_batch(ab_true, b=2, h=4, w=4, L=50.0, sal=None):
    batch = {
        "L": torch.full((b, 1, h, w), L),
        "ab": ab_true.expand(b, 2, h, w).clone(),
        "colorful": torch.ones(b, dtype=torch.bool),
    }
    if sal is not None:
        batch["saliency"] = torch.full((b, 1, h, w), float(sal))
        batch["has_saliency"] = torch.ones(b, dtype=torch.bool)
    return batch


def _sk_rgb(L, a, b):
    return lab2rgb(np.array([[[L, a, b]]], dtype=np.float64))[0, 0]


def test_scgan_reconstruction_and_attention_by_hand():
    ab_t = torch.tensor([20.0, -10.0]).view(1, 2, 1, 1)
    batch = _scgan_batch(ab_t, sal=1.0)
    out = ColorizerOutput(ab_reg=torch.zeros(2, 2, 4, 4, requires_grad=True),
                          saliency_logits=torch.zeros(2, 1, 4, 4))  # sigmoid 0 = 0.5
    loss = SCGANLoss(w_rec=1.0, w_att=0.5, w_perc=0.0, vgg_weights=None)
    res = loss(out, batch)
    rgb_p, rgb_t = _sk_rgb(50, 0, 0), _sk_rgb(50, 20, -10)
    rec = np.abs(rgb_p - rgb_t).mean()
    att = np.abs(0.5 * rgb_p - 1.0 * rgb_t).mean()
    assert res.terms["rec"].item() == pytest.approx(rec, abs=2e-4)
    assert res.terms["att"].item() == pytest.approx(att, abs=2e-4)
    assert res.total.item() == pytest.approx(rec + 0.5 * att, abs=3e-4)
    res.total.backward()
    assert out.ab_reg.grad.abs().sum() > 0


def test_scgan_l2_and_masks():
    ab_t = torch.tensor([20.0, -10.0]).view(1, 2, 1, 1)
    batch = _scgan_batch(ab_t, sal=1.0)
    batch["colorful"] = torch.tensor([True, False])
    batch["ab"][1] = 90.0  # a colourless sample's (absurd) target must not count
    batch["has_saliency"] = torch.tensor([False, True])
    out = ColorizerOutput(ab_reg=torch.zeros(2, 2, 4, 4),
                          saliency_logits=torch.zeros(2, 1, 4, 4))  # fmt: skip
    res = SCGANLoss(rec="l2", w_perc=0.0)(out, batch)
    rgb_p, rgb_t = _sk_rgb(50, 0, 0), _sk_rgb(50, 20, -10)
    assert res.terms["rec"].item() == pytest.approx(np.square(rgb_p - rgb_t).mean(), abs=2e-4)
    # no sample is both colourful and has a map: the attention term is an exact 0
    assert res.terms["att"].item() == 0.0


def test_scgan_attention_off_without_the_head_or_maps():
    batch = _scgan_batch(torch.zeros(1, 2, 1, 1))
    out = ColorizerOutput(ab_reg=torch.zeros(2, 2, 4, 4))
    assert set(SCGANLoss(w_perc=0.0)(out, batch).terms) == {"rec"}


def test_scgan_perceptual_off_warns(caplog):
    with caplog.at_level("WARNING", logger="semcolor.train"):
        loss = SCGANLoss(w_perc=5.0, vgg_weights=None)
    assert loss.perceptual is None
    assert "perceptual loss is OFF" in caplog.text and "vgg_weights" in caplog.text


def test_scgan_perceptual_missing_file_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="vgg16-397923af.pth"):
        SCGANLoss(w_perc=5.0, vgg_weights=str(tmp_path / "nope.pth"))


def test_scgan_d_inputs_are_normalised_lab():
    batch = _scgan_batch(torch.tensor([55.0, -22.0]).view(1, 2, 1, 1), L=75.0)
    loss = SCGANLoss(w_perc=0.0)
    real = loss.real_for_d(batch)
    assert torch.allclose(real[:, 0], torch.full((2, 4, 4), 0.25))
    assert torch.allclose(real[:, 1], torch.full((2, 4, 4), 0.5))
    out = ColorizerOutput(ab_reg=torch.zeros(2, 2, 4, 4))
    assert torch.equal(loss.fake_for_d(out, batch)[:, 1:], torch.zeros(2, 2, 4, 4))


# ------------------------------------------------------------------ SpyncoGAN
def test_ht_is_exact_on_gray_and_differentiable():
    g = torch.rand(2, 1, 5, 6, dtype=torch.float64)
    rgb = g.expand(2, 3, 5, 6)
    assert torch.allclose(handcrafted_gray(rgb, "bt601"), g, atol=1e-15, rtol=0)
    x = torch.rand(1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: handcrafted_gray(t, "bt601"), (x,))
    y = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: handcrafted_gray(t, "lab_l"), (y,))


def test_ht_bt601_weights_by_hand():
    rgb = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert luma_bt601(rgb).item() == pytest.approx(0.299)
    rgb = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    assert luma_bt601(rgb).item() == pytest.approx(0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6)


def test_ht_lab_l_on_gray_is_l():
    L = torch.tensor([30.0, 60.0]).view(2, 1, 1, 1)
    gray = l_to_gray(L).expand(2, 3, 1, 1)
    assert torch.allclose(handcrafted_gray(gray, "lab_l") * 100, L, atol=0.02)


def _pyramid(x_gray, offset):
    levels = []
    for s in (1, 2, 4):
        xi = x_gray if s == 1 else torch.nn.functional.adaptive_avg_pool2d(
            x_gray, (x_gray.shape[-2] // s, x_gray.shape[-1] // s))  # fmt: skip
        levels.append((xi + offset).expand(-1, 3, -1, -1))
    return tuple(levels)


def test_consistency_by_hand_at_every_level():
    L = torch.rand(2, 1, 8, 8) * 60 + 20
    x = l_to_gray(L)
    loss = SpyncoGANLoss(w_cons=1.0, w_adv=0.0)
    exact = ColorizerOutput(ab_reg=torch.zeros(2, 2, 8, 8), rgb_pyramid=_pyramid(x, 0.0))
    assert loss(exact, {"L": L}).terms["cons"].item() == pytest.approx(0.0, abs=1e-6)
    off = ColorizerOutput(ab_reg=torch.zeros(2, 2, 8, 8), rgb_pyramid=_pyramid(x, 0.05))
    # |H_t(G_i) - x_i| = 0.05 everywhere at each of the 3 levels
    assert loss(off, {"L": L}).terms["cons"].item() == pytest.approx(3 * 0.05, rel=1e-4)
    one = ColorizerOutput(ab_reg=torch.zeros(2, 2, 8, 8), rgb_pyramid=_pyramid(x, 0.05)[:1])
    assert loss(one, {"L": L}).terms["cons"].item() == pytest.approx(0.05, rel=1e-4)


def test_consistency_needs_no_colour_of_the_gray_image():
    L = torch.rand(1, 1, 8, 8) * 100
    out = ColorizerOutput(ab_reg=torch.zeros(1, 2, 8, 8), rgb_pyramid=_pyramid(l_to_gray(L), 0.1))
    res = SpyncoGANLoss(w_contour=1.0)(out, {"L": L})  # a batch with L only
    assert set(res.terms) == {"cons", "contour"}


def test_contour_loss_by_hand():
    gray = torch.zeros(1, 1, 3, 3)  # flat input: every colour change is penalised (weight 1)
    rgb = torch.zeros(1, 3, 3, 3)
    rgb[:, 0, :, 2] = 0.3  # a red column: chroma jumps between columns 1 and 2
    chroma = rgb - luma_bt601(rgb)
    # forward differences on the (2, 2) crop: only dx at column 1 -> 2 is non-zero
    dx = (chroma[..., :2, 2] - chroma[..., :2, 1]).abs().sum()
    expected = dx.item() / (3 * 2 * 2)
    assert contour_loss(rgb, gray).item() == pytest.approx(expected, rel=1e-5)
    assert contour_loss(rgb.mean(1, keepdim=True).expand(1, 3, 3, 3), gray).item() == 0.0
    edge = gray.clone()
    edge[..., 2] = 1.0  # a strong input edge at the same place: the penalty all but vanishes
    assert contour_loss(rgb, edge).item() < expected * 1e-6


def test_spyncogan_d_sees_the_colour_domain():
    loss = SpyncoGANLoss()
    real = torch.rand(2, 3, 4, 4)
    assert torch.allclose(loss.real_for_d({"real_rgb": real}), real * 2 - 1)
    with pytest.raises(KeyError):
        loss.real_for_d({"L": torch.zeros(2, 1, 4, 4)})
