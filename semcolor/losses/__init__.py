"""Losses: every training objective in one room (``losses/``), computed from a network's
:class:`semcolor.models.ColorizerOutput` and a batch; heads know nothing of them.

- :mod:`~semcolor.losses.multitask`: the multi-task loss of Nguyen-Quynh, Kim & Do (2020):
  class-rebalanced soft cross-entropy on the 313 ab bins (Zhang et al. 2016), ab regression,
  scene cross-entropy on Places365 pseudo-labels, Dice on segmentation (:class:`MultiTaskLoss`).
- :mod:`~semcolor.losses.gan`: the adversarial systems' losses: SCGAN's (L1, attention,
  perceptual), SpyncoGAN's (consistency through H_t, contour), WGAN-GP and LSGAN.

Imports ``torch`` and :mod:`semcolor.models` (for the output contract and SCGAN's VGG16
features); used by :mod:`semcolor.lit` only.
"""

from __future__ import annotations

# isort: off
from semcolor.losses.gan import (
    CONTOUR_EDGE_SCALE, GAN_KINDS, HT_CHOICES, REC_NORMS, AdversarialLoss, SCGANLoss, SpyncoGANLoss,
    contour_loss, gradient_penalty, handcrafted_gray,
)
from semcolor.losses.multitask import (
    DICE_EPS, REG_LOSSES, LossOutput, MultiTaskLoss, dice_loss, scene_ce_loss, soft_ce_loss,
)
# isort: on

__all__ = [
    "CONTOUR_EDGE_SCALE", "DICE_EPS", "GAN_KINDS", "HT_CHOICES", "REC_NORMS", "REG_LOSSES",
    "AdversarialLoss", "LossOutput", "MultiTaskLoss", "SCGANLoss", "SpyncoGANLoss",
    "contour_loss", "dice_loss", "gradient_penalty", "handcrafted_gray", "scene_ce_loss",
    "soft_ce_loss",
]  # fmt: skip
