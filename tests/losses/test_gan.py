"""The adversarial systems' losses against hand computations on tiny tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F
import torchvision
from skimage.color import lab2rgb, rgb2lab
from torch import nn

from semcolor import constants as C
from semcolor.color import l_to_gray, lab_to_rgb, luma_bt601, luminance_gray, rgb_to_lab
from semcolor.losses import (
    GAN_KINDS,
    HT_CHOICES,
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


def _lab_pair(b=2, h=4, w=5):
    """(real, fake) as SCGAN's D sees them: the same L channel, different ab."""
    L = torch.rand(b, 1, h, w)
    return torch.cat([L, torch.rand(b, 2, h, w)], 1), torch.cat([L, torch.rand(b, 2, h, w)], 1)


def test_scgan_gradient_penalty_is_on_ab_given_l():
    # SCGAN's critic D(L, RGB) is differentiated with respect to the colour image only: a
    # critic that weighs L by 3 has the same penalty as one that ignores L.
    real, fake = _lab_pair()
    w = [3.0, -1.0, 2.0]
    loss, terms = SCGANLoss(w_perc=0.0).adversarial.discriminator_loss(Linear1x1(w), real, fake)
    norm_ab = math.sqrt(4 * 5 * (w[1] ** 2 + w[2] ** 2))
    assert terms["gp"].item() == pytest.approx((norm_ab - 1.0) ** 2, rel=1e-5)


def test_conditional_gradient_penalty_keeps_the_condition_as_it_is():
    class Record(nn.Module):
        def forward(self, x):
            self.seen = x.detach().clone()
            return x.sum((1, 2, 3), keepdim=True)

    real, fake = _lab_pair()
    d = Record()
    gp = gradient_penalty(d, real, fake, alpha=torch.full((2, 1, 1, 1), 0.25), cond_channels=1)
    assert torch.equal(d.seen[:, :1], real[:, :1])  # L passed through, not interpolated
    assert torch.allclose(d.seen[:, 1:], 0.25 * real[:, 1:] + 0.75 * fake[:, 1:])
    # the gradient of a sum over the 2 ab channels: ones, norm sqrt(2 H W)
    assert gp.item() == pytest.approx((math.sqrt(2 * 4 * 5) - 1.0) ** 2, rel=1e-5)
    fake[:, 0] += 0.1
    with pytest.raises(ValueError, match="condition"):
        gradient_penalty(d, real, fake, cond_channels=1)


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


class RecordMeanD(MeanD):
    def __init__(self):
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return super().forward(x)


@pytest.mark.parametrize("kind", GAN_KINDS)
def test_masked_real_samples_are_never_shown_to_d(kind):
    # sample 1 is a colourless photo: its real image is out of D's real set (and of the
    # penalty's interpolates); every fake still counts
    real = torch.stack([torch.full((3, 4, 4), v) for v in (0.8, 0.6, 0.4)])
    fake = torch.stack([torch.full((3, 4, 4), v) for v in (0.2, 0.1, 0.3)])
    keep = torch.tensor([True, False, True])
    d = RecordMeanD()
    loss, _ = AdversarialLoss(kind, gp_weight=0.0).discriminator_loss(d, real, fake, keep)
    assert not any((x == 0.6).any() for x in d.seen)
    r, f = (0.8 + 0.4) / 2, (0.2 + 0.1 + 0.3) / 3
    if kind == "wgan_gp":
        assert loss.item() == pytest.approx(f - r, rel=1e-5)
    else:
        expect = 0.5 * (((0.8 - 1) ** 2 + (0.4 - 1) ** 2) / 2 + (0.04 + 0.01 + 0.09) / 3)
        assert loss.item() == pytest.approx(expect, rel=1e-5)
    d = RecordMeanD()
    AdversarialLoss("wgan_gp").discriminator_loss(d, real, fake, keep)
    assert [x.shape[0] for x in d.seen] == [3, 2, 2]  # fakes, kept reals, their interpolates
    assert not any((x == 0.6).any() for x in d.seen)
    none = AdversarialLoss(kind).discriminator_loss(MeanD(), real, fake, torch.zeros(3, dtype=bool))
    assert torch.isfinite(none[0])  # no real sample left: the real side adds 0


def test_scgan_shows_d_only_colourful_photos_as_real():
    batch = _scgan_batch(torch.tensor([20.0, -10.0]).view(1, 2, 1, 1))
    batch["colorful"] = torch.tensor([True, False])
    assert torch.equal(SCGANLoss(w_perc=0.0).real_mask(batch), torch.tensor([True, False]))
    assert SpyncoGANLoss().real_mask({"real_rgb": torch.rand(2, 3, 4, 4)}) is None


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


def test_scgan_perceptual_features_are_conv3_3_before_its_relu(tmp_path):
    # SCGAN's code: vgg16.features[:15], which ends at conv3_3 (index 14), not relu2_2
    torch.manual_seed(0)
    # vgg16().features' layout without initialising VGG16's 138 M parameters (seconds)
    ref = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])[:15].eval()
    path = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in ref.state_dict().items()}, path)
    loss = SCGANLoss(w_rec=0.0, w_att=0.0, w_perc=5.0, vgg_weights=str(path))
    rgb = torch.rand(1, 3, 32, 32)
    mean = torch.tensor(C.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(C.IMAGENET_STD).view(1, 3, 1, 1)
    (feat,) = loss.perceptual(rgb)
    with torch.no_grad():
        expect = ref((rgb - mean) / std)
    assert feat.shape == (1, 256, 8, 8) and torch.allclose(feat, expect, atol=1e-5)
    assert (feat < 0).any()  # before the ReLU
    # the term itself: mean |f(RGB_pred) - f(RGB_true)| on those features
    batch = _scgan_batch(torch.tensor([30.0, -20.0]).view(1, 2, 1, 1), b=1, h=32, w=32)
    out = ColorizerOutput(ab_reg=torch.zeros(1, 2, 32, 32))
    res = loss(out, batch)
    with torch.no_grad():
        f_p = ref((lab_to_rgb(torch.cat([batch["L"], out.ab_reg], 1)) - mean) / std)
        f_t = ref((lab_to_rgb(torch.cat([batch["L"], batch["ab"]], 1)) - mean) / std)
    assert res.terms["perc"].item() == pytest.approx((f_p - f_t).abs().mean().item(), rel=1e-4)
    assert res.total.item() == pytest.approx(5.0 * res.terms["perc"].item(), rel=1e-6)


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
    assert torch.allclose(handcrafted_gray(rgb, "luminance"), g, atol=1e-12, rtol=0)
    x = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.9 + 0.05).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: handcrafted_gray(t, "luminance"), (x,))
    y = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: handcrafted_gray(t, "lab_l"), (y,))


def test_ht_bt601_weights_by_hand():
    rgb = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert luma_bt601(rgb).item() == pytest.approx(0.299)
    rgb = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    assert luma_bt601(rgb).item() == pytest.approx(0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6)


def test_ht_luminance_makes_the_gray_input_of_a_colour_image():
    # x = l_to_gray(L): the sRGB level of the neutral colour (L, 0, 0). H_t must give the same
    # of the colour image itself; golden values from scikit-image (rgb2lab, then lab2rgb of
    # (L, 0, 0)), where BT.601 luma gives 0.299, 0.587 and 0.114.
    prim = torch.eye(3, dtype=torch.float64).view(3, 3, 1, 1)
    for rgb in prim:
        L = rgb2lab(rgb.view(1, 1, 3).numpy())[0, 0, 0]
        gray = lab2rgb(np.array([[[L, 0.0, 0.0]]]))[0, 0, 1]
        assert handcrafted_gray(rgb[None]).item() == pytest.approx(gray, abs=1e-4)
    assert handcrafted_gray(prim[:1]).item() == pytest.approx(0.4985, abs=1e-4)  # not 0.299
    rgb = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    expect = l_to_gray(rgb_to_lab(rgb)[:, :1])
    assert torch.allclose(luminance_gray(rgb), expect, atol=1e-12, rtol=0)


def test_ht_bt601_is_refused_with_the_reason_and_the_choices():
    for make in (lambda: SpyncoGANLoss(ht="bt601"), lambda: handcrafted_gray(
            torch.rand(1, 3, 2, 2), "bt601")):  # fmt: skip
        with pytest.raises(ValueError, match="l_to_gray.*luminance.*lab_l"):
            make()
    with pytest.raises(ValueError, match="luminance.*lab_l"):
        SpyncoGANLoss(ht="rec709")


def _photo(name: str, size: int = 64) -> torch.Tensor:
    """A real colour photo shipped with scikit-image, area-resized to (1,3,size,size)."""
    rgb = torch.from_numpy(getattr(skimage.data, name)()).permute(2, 0, 1)[None].float() / 255
    return F.interpolate(rgb, size=(size, size), mode="area").clamp(0.0, 1.0)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_real_colour_photos_score_about_zero_on_consistency(name):
    # The pseudo-cycle's fixed point: a photo's own colours must satisfy H_t(photo) = x, the
    # gray input semcolor makes of its L. BT.601 luma gave 3e-3 .. 1.5e-2 at full resolution
    # here (9e-3 .. 4.5e-2 over 3 levels).
    rgb = _photo(name)
    L = rgb_to_lab(rgb)[:, :1]
    pyramid = (rgb, F.avg_pool2d(rgb, 2), F.avg_pool2d(rgb, 4))
    full = ColorizerOutput(ab_reg=torch.zeros(1, 2, 64, 64), rgb_pyramid=pyramid[:1])
    for ht in HT_CHOICES:
        assert SpyncoGANLoss(ht=ht)(full, {"L": L}).terms["cons"].item() < 1e-5, ht
    # coarser levels: x_i and the photo are both area-averaged in sRGB-encoded values, and
    # H_t is not linear there; what is left is small (at most 3e-3 on these photos)
    three = ColorizerOutput(ab_reg=torch.zeros(1, 2, 64, 64), rgb_pyramid=pyramid)
    assert SpyncoGANLoss()(three, {"L": L}).terms["cons"].item() < 5e-3


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
