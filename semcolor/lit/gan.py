"""GANModule: trains a generator against a discriminator (SCGAN, SpyncoGAN) with Lightning's
manual optimisation. Everything else — validation under the bench protocol, checkpoint
metadata, fine-tuning, non-finite-loss handling — is :class:`SemColorModule`'s.

One training batch:

1. Stage 1 (the first ``pretrain_steps`` generator steps, or always when the criterion's
   ``w_adv`` is 0): a generator step on the criterion's non-adversarial terms only (SCGAN's
   ``trainer_noGAN``).
2. Stage 2: a discriminator step on (real, generated.detach()), colourless photos left out
   of the real set (the criterion's ``real_mask``); then, on every
   ``d_steps_per_g``-th batch of the stage, a generator step on the criterion's terms plus
   ``w_adv`` x the adversarial term, with D's parameters frozen for it.

Each step changes only its own network: the two optimizers hold disjoint parameters and
gradients are zeroed before each backward. ``trainer.global_step`` counts optimizer steps of
both networks (Lightning's rule for manual optimisation), so ``trainer.max_steps`` does too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from semcolor.lit.module import CKPT_KEY, SemColorModule

log = logging.getLogger("semcolor.train")


class GANModule(SemColorModule):
    """LightningModule for generator + discriminator systems.

    Args:
        net: the generator (``model/*.yaml``: ``scgan`` or ``spyncogan``); the network the
            checkpoint's ``semcolor`` metadata describes and :func:`semcolor.load_model`
            serves.
        loss: the generator criterion (:class:`semcolor.losses.gan.SCGANLoss` or
            :class:`semcolor.losses.gan.SpyncoGANLoss`), which also names the adversarial
            objective (``loss.gan``) and its weight (``loss.w_adv``).
        discriminator: the discriminator (``discriminator/*.yaml``); saved in the training
            checkpoint beside the generator (``disc.*`` keys), never served.
        optimizer: partial optimizer of the generator (``optimizer/*.yaml``).
        optimizer_d: partial optimizer of the discriminator (``optimizer_d``); None = the
            generator's.
        pretrain_steps: generator steps of stage 1, without the adversarial term.
        d_steps_per_g: discriminator steps per generator step in stage 2 (>= 1).
        grad_clip: clip each network's gradient norm to this before its step (None: off;
            Lightning's ``trainer.gradient_clip_val`` does not apply to manual optimisation).
        **base: :class:`SemColorModule`'s other options (scheduler, scheduler_interval,
            compile, max_nan_in_a_row, temperature, num_log_images, init_from, run_config,
            run_overrides).
    """

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        discriminator: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        optimizer_d: Callable[..., torch.optim.Optimizer] | None = None,
        pretrain_steps: int = 0,
        d_steps_per_g: int = 1,
        grad_clip: float | None = None,
        **base: Any,
    ):
        super().__init__(net=net, loss=loss, optimizer=optimizer, **base)
        if not isinstance(pretrain_steps, int) or pretrain_steps < 0:
            raise ValueError(f"pretrain_steps must be an int >= 0, got {pretrain_steps!r}")
        if not isinstance(d_steps_per_g, int) or d_steps_per_g < 1:
            raise ValueError(f"d_steps_per_g must be an int >= 1, got {d_steps_per_g!r}")
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or null, got {grad_clip!r}")
        if not hasattr(loss, "adversarial") or not hasattr(loss, "w_adv"):
            raise ValueError(
                f"GANModule needs an adversarial criterion (semcolor.losses.gan.SCGANLoss or "
                f"SpyncoGANLoss), got {type(loss).__name__}"
            )
        self.automatic_optimization = False
        self.disc = discriminator
        self.optimizer_d_factory = optimizer_d or optimizer
        self.pretrain_steps, self.d_steps_per_g = pretrain_steps, d_steps_per_g
        self.grad_clip = grad_clip
        #: Steps taken by each network, and batches seen in stage 2 (saved in checkpoints).
        self.g_steps = self.d_steps = self.gan_batches = 0

    # ------------------------------------------------------------------ steps
    @property
    def adversarial_on(self) -> bool:
        """Whether this batch is in stage 2 (the adversarial term is active)."""
        return self.criterion.w_adv > 0 and self.g_steps >= self.pretrain_steps

    def _step(self, opt: Any, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.grad_clip is not None:
            self.clip_gradients(opt, gradient_clip_val=self.grad_clip,
                                gradient_clip_algorithm="norm")  # fmt: skip
        opt.step()

    def discriminator_step(self, batch: dict, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """One D update on (real of ``batch``, ``fake`` detached); returns its terms. Only
        the criterion's ``real_mask`` samples are shown as real (SCGAN: colourful ones)."""
        _, opt_d = self.optimizers()
        real = self.criterion.real_for_d(batch)
        loss, terms = self.criterion.adversarial.discriminator_loss(
            self.disc, real, fake.detach(), real_mask=self.criterion.real_mask(batch)
        )
        if not self.skip_non_finite(loss, real.shape[0]):
            self._step(opt_d, loss)
            self.d_steps += 1
        return terms

    def generator_step(self, batch: dict, out: Any, adversarial: bool) -> dict[str, torch.Tensor]:
        """One G update on the criterion's terms (+ w_adv x the adversarial term)."""
        opt_g, _ = self.optimizers()
        g = self.criterion(out, batch)
        total, terms = g.total, dict(g.terms)
        if adversarial:
            self.disc.requires_grad_(False)  # G's step must leave no gradient in D
            try:
                adv = self.criterion.adversarial.generator_loss(
                    self.disc, self.criterion.fake_for_d(out, batch)
                )
            finally:
                self.disc.requires_grad_(True)
            total = total + self.criterion.w_adv * adv
            terms["adv"] = adv.detach()
        if not self.skip_non_finite(total, batch["L"].shape[0]):
            self._step(opt_g, total)
            self.g_steps += 1
        terms["loss"] = total.detach()
        return terms

    def training_step(self, batch: dict, batch_idx: int) -> None:
        bs = batch["L"].shape[0]
        adversarial = self.adversarial_on
        g_turn = not adversarial or self.gan_batches % self.d_steps_per_g == self.d_steps_per_g - 1
        with torch.set_grad_enabled(g_turn):
            out = self(batch["L"])
        terms: dict[str, torch.Tensor] = {}
        if adversarial:
            self.gan_batches += 1
            fake = self.criterion.fake_for_d(out, batch)
            terms.update(self.discriminator_step(batch, fake))
        if g_turn:
            terms.update(self.generator_step(batch, out, adversarial))
        for name, value in terms.items():
            self.log(f"train/{name}", value, batch_size=bs, prog_bar=name == "loss")
        self.log("train/adversarial", float(adversarial), batch_size=bs)
        if self.scheduler_factory is not None and self.scheduler_interval == "step":
            for sched in self._schedulers():
                sched.step()

    def _schedulers(self) -> list:
        s = self.lr_schedulers()
        return [] if s is None else (list(s) if isinstance(s, list | tuple) else [s])

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        if self.scheduler_factory is not None and self.scheduler_interval == "epoch":
            for sched in self._schedulers():
                sched.step()

    # ------------------------------------------------------------------ optim
    def configure_optimizers(self):
        opt_g = self.make_optimizer(self.optimizer_factory, self.net)
        opt_d = self.optimizer_d_factory(params=list(self.disc.parameters()))
        if self.scheduler_factory is None:
            return [opt_g, opt_d]
        return [opt_g, opt_d], [self.scheduler_factory(optimizer=opt_g),
                                self.scheduler_factory(optimizer=opt_d)]  # fmt: skip

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint[CKPT_KEY]["gan"] = {
            "g_steps": self.g_steps, "d_steps": self.d_steps, "gan_batches": self.gan_batches,
            "discriminator": type(self.disc).__name__,
            "discriminator_kwargs": dict(getattr(self.disc, "init_kwargs", {})),
        }  # fmt: skip

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        gan = (checkpoint.get(CKPT_KEY) or {}).get("gan") or {}
        self.g_steps = int(gan.get("g_steps", 0))
        self.d_steps = int(gan.get("d_steps", 0))
        self.gan_batches = int(gan.get("gan_batches", 0))
