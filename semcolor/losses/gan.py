"""Losses of the two adversarial systems semcolor trains next to the multi-task U-Net.

- :class:`SCGANLoss`: Zhao et al., SCGAN (IEEE TCSVT 2020), as their released training code
  computes it (``train/trainer.py``): L1 on the colour image, the attention loss
  L1(RGB_pred * sal_pred, RGB_true * sal_true), a perceptual L1 on VGG16 features and the
  adversarial term (WGAN-GP, or LSGAN in their ablation).
- :class:`SpyncoGANLoss`: Ratajczak et al., pseudo-cyclic network: the consistency
  ||H_t(G(x)) - x||_1 at every pyramid level, H_t a fixed differentiable colour -> gray map
  that makes the gray input x of a colour photo (so the photo's own colours score 0), a
  realism term from a discriminator on colour images of the other domain, and an optional
  contour term.
- :class:`AdversarialLoss`: the discriminator and generator sides of WGAN-GP and LSGAN.

Every criterion's ``forward(out, batch)`` returns the generator's non-adversarial terms as a
:class:`semcolor.losses.LossOutput` (what validation scores); the adversarial side is added by
:class:`semcolor.lit.gan.GANModule`, which owns the discriminator. Plain torch.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from semcolor import constants as C
from semcolor.color import (
    l_to_gray,
    lab_to_rgb,
    luma_bt601,
    luminance_gray,
    normalize_ab,
    normalize_l,
    rgb_to_gray_lab,
)  # fmt: skip
from semcolor.losses.multitask import LossOutput, _masked_mean, _zero_touching
from semcolor.models import ColorizerOutput
from semcolor.models.gan import VGG16Features

log = logging.getLogger("semcolor.train")

#: Adversarial objectives: Gulrajani et al.'s WGAN-GP (SCGAN's choice) and Mao et al.'s LSGAN.
GAN_KINDS: tuple[str, ...] = ("wgan_gp", "lsgan")
#: Reconstruction norms of SCGAN's ablation ("L1" vs "L2").
REC_NORMS: tuple[str, ...] = ("l1", "l2")
#: H_t choices: the sRGB gray of the output's luminance (as x = l_to_gray(L) is made), or the
#: L of its Lab conversion / 100 (against L / 100). Both give a photo's own colours 0.
HT_CHOICES: tuple[str, ...] = ("luminance", "lab_l")
#: Edge scale of the contour term (gray levels in [0, 1]): colour may change freely where
#: the input's gradient is well above it.
CONTOUR_EDGE_SCALE: float = 0.05


def gradient_penalty(
    disc: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    alpha: torch.Tensor | None = None,
    cond_channels: int = 0,
) -> torch.Tensor:
    """WGAN-GP's penalty E[(||grad_x D(x_hat)||_2 - 1)^2] (Gulrajani et al. 2017).

    x_hat = alpha real + (1 - alpha) fake with alpha ~ U[0, 1] per sample; a PatchGAN's
    patch scores are summed before the gradient (grad_outputs of ones, as SCGAN's code);
    the norm is over each sample's whole gradient with respect to the judged channels.

    A conditional critic D(cond, image) takes its condition as the first ``cond_channels``
    channels, which real and fake share: they are passed as they are and neither
    interpolated nor differentiated, so the penalty is on the image channels given the
    condition (SCGAN's code takes the gradient with respect to the RGB interpolate only,
    not its L input).

    Args:
        real, fake: (B,C,H,W) float; fake is detached here.
        alpha: (B,1,1,1) mixing weights, or None to draw them.
        cond_channels: leading channels that are the condition (0: unconditional).

    Returns:
        Scalar, differentiable with respect to D's parameters.

    Raises:
        ValueError: the condition channels of ``real`` and ``fake`` differ.
    """
    k = int(cond_channels)
    if not 0 <= k < real.shape[1]:
        raise ValueError(f"cond_channels must be in [0, {real.shape[1]}), got {cond_channels!r}")
    if alpha is None:
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    real, fake = real.detach(), fake.detach()
    if k and not torch.equal(real[:, :k], fake[:, :k]):
        raise ValueError(
            f"the first {k} channel(s) are the critic's condition and must be the same in "
            "real and fake (SCGAN: the input's normalised L)"
        )
    mixed = (alpha * real[:, k:] + (1 - alpha) * fake[:, k:]).requires_grad_(True)
    x_hat = torch.cat([real[:, :k], mixed], dim=1) if k else mixed
    scores = disc(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1.0).square().mean()


class AdversarialLoss(nn.Module):
    """Both sides of the adversarial game on raw discriminator scores.

    - ``wgan_gp``: D minimises mean D(fake) - mean D(real) + gp_weight * GP; G minimises
      -mean D(fake).
    - ``lsgan``: D minimises 0.5 (mean (D(real) - 1)^2 + mean D(fake)^2); G minimises
      mean (D(fake) - 1)^2 (SCGAN's code, its LSGAN ablation).

    Args:
        kind: one of :data:`GAN_KINDS`.
        gp_weight: the gradient-penalty weight (WGAN-GP only; 10 in both papers' setups).
        cond_channels: leading channels of D's input that are its condition, shared by real
            and fake; the penalty leaves them out (:func:`gradient_penalty`).
    """

    def __init__(self, kind: str = "wgan_gp", gp_weight: float = C.WGAN_GP_WEIGHT,
                 cond_channels: int = 0):  # fmt: skip
        super().__init__()
        if kind not in GAN_KINDS:
            raise ValueError(f"gan must be one of {list(GAN_KINDS)}, got {kind!r}")
        if not gp_weight >= 0:
            raise ValueError(f"gp_weight must be >= 0, got {gp_weight!r}")
        if not isinstance(cond_channels, int) or cond_channels < 0:
            raise ValueError(f"cond_channels must be an int >= 0, got {cond_channels!r}")
        self.kind, self.gp_weight = kind, float(gp_weight)
        self.cond_channels = cond_channels

    def discriminator_loss(
        self,
        disc: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        real_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(loss, detached terms) for one D step; ``fake`` is detached (G gets no gradient).

        real, fake: (B,C,H,W). real_mask: (B,) bool, the samples whose ``real`` D may be
        shown (None: all). The others' real images are left out of D's real set and of the
        penalty's interpolates (a colourless photo is not a real colour image); every fake
        still counts. With no real sample left, the real side contributes 0.
        """
        fake = fake.detach()
        d_fake = disc(fake).float()
        if real_mask is not None:
            keep = real_mask.to(device=real.device, dtype=torch.bool).flatten()
            if keep.shape[0] != real.shape[0]:
                raise ValueError(f"real_mask must be ({real.shape[0]},), got "
                                 f"{tuple(real_mask.shape)}")  # fmt: skip
            real, paired_fake = real[keep], fake[keep]
        else:
            paired_fake = fake
        has_real = real.shape[0] > 0
        d_real = disc(real).float() if has_real else d_fake.new_zeros((0,))
        real_mean = d_real.mean() if has_real else d_fake.new_zeros(())
        if self.kind == "wgan_gp":
            gp = (gradient_penalty(disc, real, paired_fake, cond_channels=self.cond_channels)
                  if self.gp_weight > 0 and has_real else d_fake.new_zeros(()))  # fmt: skip
            wdist = real_mean - d_fake.mean()
            loss = -wdist + self.gp_weight * gp
            return loss, {"d_loss": loss.detach(), "wasserstein": wdist.detach(), "gp": gp.detach()}
        real_term = (d_real - 1).square().mean() if has_real else d_fake.new_zeros(())
        loss = 0.5 * (real_term + d_fake.square().mean())
        return loss, {"d_loss": loss.detach()}

    def generator_loss(self, disc: nn.Module, fake: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial term for ``fake`` (gradients flow into G through it)."""
        d_fake = disc(fake).float()
        if self.kind == "wgan_gp":
            return -d_fake.mean()
        return (d_fake - 1).square().mean()


def _perceptual_net(vgg_weights: str | None, layers: tuple[str, ...]) -> nn.Module | None:
    if vgg_weights is None:
        log.warning(
            "SCGAN's perceptual loss is OFF: no VGG16 weights given (loss.vgg_weights=null). "
            "Put torchvision's VGG16 ImageNet state_dict in a local file and pass "
            "loss.vgg_weights=/path/vgg16-397923af.pth to turn it on"
        )
        return None

    return VGG16Features(vgg_weights, layers)


class SCGANLoss(nn.Module):
    """SCGAN's generator objective without its adversarial term (weights from its
    ``train/second.sh``: L1 1, attention 0.5, perceptual 5, GAN 0.05).

    Terms (``LossOutput.terms`` keys), each off at weight 0:

    - ``rec``: L1 (or L2, ``rec="l2"``) between the predicted and true sRGB images, the
      prediction being ``lab_to_rgb(L, ab_reg)`` (the network predicts ab; L is the input's).
    - ``att``: L1(RGB_pred * sigmoid(saliency_logits), RGB_true * saliency) over samples whose
      map exists (``has_saliency``): the saliency head learns the map through the colours it
      weights, as in SCGAN's code.
    - ``perc``: L1 between VGG16 features of the two images at conv3_3 before its ReLU
      (SCGAN's code: ``vgg16.features[:15]``; its weight of 5 is scaled for these
      features); active only with ``vgg_weights`` (a local torchvision VGG16 state_dict);
      without one a warning says it is off.

    Colourless samples (``colorful`` False) add nothing to ``rec``, ``att`` and ``perc``, and
    their true images are not shown to the discriminator as real (:meth:`real_mask`).

    Args:
        w_rec, w_att, w_perc: term weights (>= 0).
        w_adv: weight of the adversarial term the training module adds (0: no GAN).
        rec: "l1" (SCGAN) or "l2" (their ablation).
        gan: "wgan_gp" (SCGAN) or "lsgan" (their ablation); see :class:`AdversarialLoss`.
        gp_weight: WGAN-GP penalty weight.
        vgg_weights: path of a local VGG16 state_dict, or None (perceptual term off).

    The discriminator judges (B,3,H,W) ``cat(normalize_l(L), normalize_ab(ab))`` images
    (:meth:`real_for_d`, :meth:`fake_for_d`): conditional on L, as SCGAN's D(L, RGB), so the
    gradient penalty is on the ab channels only (L is the condition).
    """

    #: The VGG16 layer of the perceptual term: conv3_3 before its ReLU, the last layer of
    #: SCGAN's ``vgg16.features[:15]`` (semcolor.models.gan.VGG16_LAYERS).
    perceptual_layer: str = "conv3_3"

    #: No class rebalancing prior is needed (read by SemColorModule.setup).
    rebalance = False

    def __init__(
        self,
        w_rec: float = C.SCGAN_W_L1,
        w_att: float = C.SCGAN_W_ATTENTION,
        w_perc: float = C.SCGAN_W_PERCEPTUAL,
        w_adv: float = C.SCGAN_W_GAN,
        rec: str = "l1",
        gan: str = "wgan_gp",
        gp_weight: float = C.WGAN_GP_WEIGHT,
        vgg_weights: str | None = None,
    ):
        super().__init__()
        if rec not in REC_NORMS:
            raise ValueError(f"rec must be one of {list(REC_NORMS)}, got {rec!r}")
        for name, w in (("w_rec", w_rec), ("w_att", w_att), ("w_perc", w_perc), ("w_adv", w_adv)):
            if not w >= 0:
                raise ValueError(f"{name} must be >= 0, got {w!r}")
        self.w_rec, self.w_att, self.w_perc, self.w_adv = w_rec, w_att, w_perc, w_adv
        self.rec = rec
        # D's first channel is the condition L, which real and fake share.
        self.adversarial = AdversarialLoss(gan, gp_weight, cond_channels=1)
        # Held outside the module tree: frozen VGG weights stay out of every checkpoint.
        self._vgg = ([_perceptual_net(vgg_weights, (self.perceptual_layer,))] if w_perc > 0
                     else [None])  # fmt: skip

    @property
    def perceptual(self) -> nn.Module | None:
        """The frozen VGG16 feature extractor, or None when the perceptual term is off."""
        return self._vgg[0]

    def real_for_d(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B,3,H,W) the true colour image as D sees it: normalised L and ab."""
        return torch.cat([normalize_l(batch["L"]), normalize_ab(batch["ab"])], dim=1)

    def real_mask(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B,) bool: the samples whose true image D may see as real: the colourful ones (a
        colourless photo's ab is no real colour image; the reconstruction terms skip it too)."""
        return batch["colorful"].bool()

    def fake_for_d(self, out: ColorizerOutput, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B,3,H,W) the generated image as D sees it (differentiable in ``out.ab_reg``)."""
        return torch.cat([normalize_l(batch["L"]), normalize_ab(out.ab_reg.float())], dim=1)

    def forward(self, out: ColorizerOutput, batch: dict[str, torch.Tensor]) -> LossOutput:
        """out: the generator's outputs (``ab_reg``, optional ``saliency_logits``); batch: the
        sample contract (``L``, ``ab``, ``colorful``; ``saliency``, ``has_saliency`` when
        maps exist). -> LossOutput(total of the weighted terms, {"rec", "att", "perc"})."""
        if out.ab_reg is None:
            raise ValueError("SCGANLoss needs the generator's ab_reg output (the reg head)")
        colorful = batch["colorful"].bool()
        L = batch["L"].float()
        rgb_p = lab_to_rgb(torch.cat([L, out.ab_reg.float()], dim=1))
        with torch.no_grad():
            rgb_t = lab_to_rgb(torch.cat([L, batch["ab"].float()], dim=1))
        terms: dict[str, torch.Tensor] = {}
        total = _zero_touching(*out.as_dict().values())
        if self.w_rec > 0:
            d = rgb_p - rgb_t
            per = d.abs() if self.rec == "l1" else d.square()
            terms["rec"] = _masked_mean(per, colorful)
            total = total + self.w_rec * terms["rec"]
        if self.w_att > 0 and out.saliency_logits is not None and "saliency" in batch:
            has = batch["has_saliency"].bool() & colorful
            sal_p = torch.sigmoid(out.saliency_logits.float())
            per = (rgb_p * sal_p - rgb_t * batch["saliency"].float()).abs()
            terms["att"] = _masked_mean(per, has)
            total = total + self.w_att * terms["att"]
        vgg = self.perceptual
        if self.w_perc > 0 and vgg is not None:
            vgg.to(rgb_p.device)
            with torch.no_grad():
                f_t = vgg(rgb_t)
            f_p = vgg(rgb_p)
            perc = sum(_masked_mean((a - b).abs(), colorful) for a, b in zip(f_p, f_t, strict=True))
            terms["perc"] = perc / len(f_p)
            total = total + self.w_perc * terms["perc"]
        return LossOutput(total, {k: v.detach() for k, v in terms.items()})


def _check_ht(ht: str) -> None:
    if ht == "bt601":
        raise ValueError(
            "ht='bt601' was removed: BT.601 luma of the sRGB output is not how the gray input "
            "x = l_to_gray(L) is made (pure red: 0.299 against 0.499), so a photo's own "
            f"colours were penalised; use one of {list(HT_CHOICES)} ('luminance' is the same "
            "sRGB gray scale and the default)"
        )
    if ht not in HT_CHOICES:
        raise ValueError(f"ht must be one of {list(HT_CHOICES)}, got {ht!r}")


def _gray_target(L: torch.Tensor, ht: str) -> torch.Tensor:
    """x in H_t's space: the sRGB gray level of L (luminance) or L / 100 (lab_l); (B,1,H,W)."""
    return l_to_gray(L.float()) if ht == "luminance" else L.float() / 100.0


def handcrafted_gray(rgb: torch.Tensor, ht: str = "luminance") -> torch.Tensor:
    """SpyncoGAN's H_t: (B,3,H,W) sRGB in [0,1] -> (B,1,H,W) gray in [0,1].

    Both choices make of a colour image exactly the gray input x that semcolor makes of its
    Lab L, so the true colours of a photo score 0 on the consistency term:

    ``luminance``: :func:`semcolor.color.luminance_gray`, the sRGB level of the neutral colour
    with the image's luminance, = ``l_to_gray`` of its Lab L (exact on gray: R=G=B=g -> g).
    ``lab_l``: the Lab L of the image / 100 (compared with L / 100).
    """
    _check_ht(ht)
    if ht == "luminance":
        return luminance_gray(rgb)
    return rgb_to_gray_lab(rgb) / 100.0


def _grad_mag(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences along W and H, each cropped to (.., H-1, W-1)."""
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return dx, dy


def contour_loss(rgb: torch.Tensor, gray: torch.Tensor,
                 scale: float = CONTOUR_EDGE_SCALE) -> torch.Tensor:  # fmt: skip
    """Edge-aware colour smoothness: the chroma part of the image (rgb minus its BT.601 luma,
    which is 0 on gray whatever H_t is) may change where the gray input has contours and is
    penalised elsewhere, weight exp(-|grad x| / scale). Our stand-in for SpyncoGAN's contour
    ablation (the paper's exact term was not at hand here; docs/spyncogan.md).
    rgb (B,3,H,W), gray (B,1,H,W) -> scalar."""
    chroma = rgb - luma_bt601(rgb)
    cx, cy = _grad_mag(chroma)
    gx, gy = _grad_mag(gray)
    wx, wy = torch.exp(-gx.abs() / scale), torch.exp(-gy.abs() / scale)
    return (cx.abs() * wx + cy.abs() * wy).mean()


class SpyncoGANLoss(nn.Module):
    """SpyncoGAN's generator objective without its adversarial term.

    Terms (``LossOutput.terms`` keys), each off at weight 0:

    - ``cons``: sum over pyramid levels i of mean |H_t(G_i(x)) - x_i|, x_i the gray input
      area-averaged to level i's size (the pseudo-cycle: H_t stands in for CycleGAN's second
      generator, so no colour image of x's own is ever needed).
    - ``contour``: :func:`contour_loss` of the full-resolution level (off by default).

    Args:
        w_cons, w_contour: term weights.
        w_adv: weight of the realism term the training module adds (0: no GAN).
        ht: "luminance" (H_t = the sRGB gray of the output's luminance, as the input x =
            ``l_to_gray(L)`` is made; default) or "lab_l" (its Lab L / 100 against L / 100).
        gan: "lsgan" (default, as CycleGAN) or "wgan_gp".
        gp_weight: WGAN-GP penalty weight.

    The discriminator judges (B,3,H,W) sRGB images mapped to [-1, 1]: real ones of the
    colour domain (``batch["real_rgb"]``) against the generator's full-resolution level.
    """

    rebalance = False

    def __init__(
        self,
        w_cons: float = 10.0,
        w_contour: float = 0.0,
        w_adv: float = 1.0,
        ht: str = "luminance",
        gan: str = "lsgan",
        gp_weight: float = C.WGAN_GP_WEIGHT,
    ):
        super().__init__()
        _check_ht(ht)
        for name, w in (("w_cons", w_cons), ("w_contour", w_contour), ("w_adv", w_adv)):
            if not w >= 0:
                raise ValueError(f"{name} must be >= 0, got {w!r}")
        self.w_cons, self.w_contour, self.w_adv, self.ht = w_cons, w_contour, w_adv, ht
        self.adversarial = AdversarialLoss(gan, gp_weight)

    def real_for_d(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B,3,H,W) a colour-domain image (``batch["real_rgb"]``, from ``data=unpaired``)
        in [-1, 1]. KeyError without one: SpyncoGAN never takes the gray image's own colours."""
        return batch["real_rgb"].float() * 2 - 1

    def real_mask(self, batch: dict[str, torch.Tensor]) -> None:
        """None: every ``real_rgb`` is a colour image (:class:`semcolor.data.unpaired.
        UnpairedDataset` draws only colourful colour-domain images)."""
        return None

    def fake_for_d(self, out: ColorizerOutput, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B,3,H,W) the generator's full-resolution image in [-1, 1]."""
        return out.rgb_pyramid[0].float() * 2 - 1

    def forward(self, out: ColorizerOutput, batch: dict[str, torch.Tensor]) -> LossOutput:
        """out: a PyramidColorizer's outputs; batch: needs only ``L`` (the gray domain).
        -> LossOutput(total, {"cons", "contour"})."""
        if out.rgb_pyramid is None:
            raise ValueError("SpyncoGANLoss needs a generator that outputs rgb_pyramid "
                             "(model=spyncogan)")  # fmt: skip
        x = _gray_target(batch["L"], self.ht)
        terms: dict[str, torch.Tensor] = {}
        total = _zero_touching(*out.as_dict().values())
        if self.w_cons > 0:
            cons = x.new_zeros(())
            for level in out.rgb_pyramid:
                xi = x if level.shape[-2:] == x.shape[-2:] else F.adaptive_avg_pool2d(
                    x, tuple(level.shape[-2:]))  # fmt: skip
                cons = cons + (handcrafted_gray(level.float(), self.ht) - xi).abs().mean()
            terms["cons"] = cons
            total = total + self.w_cons * cons
        if self.w_contour > 0:
            terms["contour"] = contour_loss(out.rgb_pyramid[0].float(), x)
            total = total + self.w_contour * terms["contour"]
        return LossOutput(total, {k: v.detach() for k, v in terms.items()})
