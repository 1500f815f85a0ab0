"""SemColorModule: trains a :class:`semcolor.models.SemColorNet` with the multi-task loss."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torchmetrics
from torch import nn

import semcolor
from semcolor import constants as C
from semcolor.color import AB_BINS, RebalancePrior, lab_to_rgb, normalize_l
from semcolor.inference import decode_outputs
from semcolor.losses import MultiTaskLoss
from semcolor.models import ColorizerOutput, SemColorNet

log = logging.getLogger("semcolor.train")

#: Key under which a checkpoint carries what inference needs (see :func:`checkpoint_meta`).
CKPT_KEY = "semcolor"
SCHEDULER_INTERVALS = ("epoch", "step")


class NonFiniteLossError(RuntimeError):
    """Raised after too many non-finite losses in a row; earlier checkpoints stay intact."""


class SemColorModule(pl.LightningModule):
    """LightningModule for the four-headed colorization network.

    Args:
        net: the network (``model/*.yaml``).
        loss: the multi-task loss (``loss/*.yaml``).
        optimizer: a partial optimizer, called with the parameters (``optimizer/*.yaml``).
        scheduler: a partial LR scheduler, called with the optimizer, or None.
        scheduler_interval: "epoch" or "step": when the scheduler steps.
        prior: path of the rebalancing prior (.npy). Loaded if it exists; otherwise estimated
            from the training data on first use and cached there. None: estimate, no cache.
        compile: ``torch.compile`` the network's forward (the saved weights keep their names).
        max_nan_in_a_row: a non-finite loss skips its update (counted; Lightning still counts
            the batch as a step and steps the LR schedule); this many in a row stop training
            with :class:`NonFiniteLossError`.
        temperature: annealed-mean temperature for validation decoding.
        num_log_images: images in the validation grid (gray | reg | annealed mean | truth).
        run_config: the full resolved config (plain dict), stored in every checkpoint.
    """

    def __init__(
        self,
        net: SemColorNet,
        loss: MultiTaskLoss,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        scheduler_interval: str = "epoch",
        prior: str | None = None,
        compile: bool = False,
        max_nan_in_a_row: int = 10,
        temperature: float = C.ANNEALED_MEAN_T,
        num_log_images: int = 4,
        run_config: dict | None = None,
    ):
        super().__init__()
        if scheduler_interval not in SCHEDULER_INTERVALS:
            raise ValueError(
                f"scheduler_interval must be one of {list(SCHEDULER_INTERVALS)}, "
                f"got {scheduler_interval!r}"
            )
        if max_nan_in_a_row < 1:
            raise ValueError(f"max_nan_in_a_row must be >= 1, got {max_nan_in_a_row}")
        self.net, self.criterion = net, loss
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.prior_path = scheduler_interval, prior
        self.compile, self.max_nan_in_a_row = compile, max_nan_in_a_row
        self.temperature, self.num_log_images = temperature, num_log_images
        self.run_config = run_config or {}
        self.prior: RebalancePrior | None = None
        self._forward: Callable[[torch.Tensor], ColorizerOutput] = self.net
        self.nan_in_a_row = 0
        self.nan_skipped = 0
        self._val_images: list[torch.Tensor] = []
        methods = [m for m, h in (("soft", "dist"), ("reg", "reg")) if h in net.heads]
        self.val_metrics = nn.ModuleDict(
            {
                m: torchmetrics.MetricCollection(
                    {
                        "psnr": torchmetrics.image.PeakSignalNoiseRatio(data_range=1.0),
                        "ssim": torchmetrics.image.StructuralSimilarityIndexMeasure(
                            data_range=1.0
                        ),
                        "l2ab": torchmetrics.MeanMetric(),
                    },
                    prefix=f"val/{m}_",
                )
                for m in methods
            }
        )

    # ------------------------------------------------------------------ setup
    def setup(self, stage: str) -> None:
        if self.compile and self._forward is self.net:
            # Compile the call, not the module, so state_dict keys stay "net.*".
            self._forward = torch.compile(self.net)
        if stage == "fit" and self.criterion.rebalance and self.prior is None:
            self.set_prior(self._load_or_estimate_prior())

    def _load_or_estimate_prior(self) -> RebalancePrior:
        if self.prior_path and Path(self.prior_path).is_file():
            log.info("rebalancing prior: %s", self.prior_path)
            return RebalancePrior.load(self.prior_path)
        dm = getattr(self.trainer, "datamodule", None)
        if dm is None or not hasattr(dm, "rebalance_prior"):
            raise RuntimeError(
                "class rebalancing needs a prior: give module.prior=/path/prior.npy "
                "(semcolor-prior --images DIR --out prior.npy) or train with a "
                "SemColorDataModule, which estimates it from the training data"
            )
        return dm.rebalance_prior(cache=self.prior_path)

    def set_prior(self, prior: RebalancePrior) -> None:
        """Use ``prior`` for class rebalancing (and store it in checkpoints)."""
        self.prior = prior
        self.criterion.set_prior(torch.as_tensor(prior.weights, dtype=torch.float32))

    # ------------------------------------------------------------------ steps
    def forward(self, L: torch.Tensor) -> ColorizerOutput:
        """L: (B,1,H,W) in [0,100] -> network outputs (see ColorizerOutput)."""
        return self._forward(normalize_l(L))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        out = self(batch["L"])
        loss = self.criterion(out, batch)
        bad = not bool(torch.isfinite(loss.total))
        if self.trainer.world_size > 1:
            # Every rank must agree, or the ranks that step would wait for the others forever.
            bad = self.trainer.strategy.reduce_boolean_decision(bad, all=False)
        bs = batch["L"].shape[0]
        if bad:
            self.nan_in_a_row += 1
            self.nan_skipped += 1
            self.log("train/nan_skipped", float(self.nan_skipped), batch_size=bs)
            log.warning(
                "non-finite loss at step %d: step skipped (%d in a row, %d in all)",
                self.global_step, self.nan_in_a_row, self.nan_skipped,
            )  # fmt: skip
            if self.nan_in_a_row >= self.max_nan_in_a_row:
                raise NonFiniteLossError(
                    f"training stopped: {self.nan_in_a_row} non-finite losses in a row at step "
                    f"{self.global_step} (module.max_nan_in_a_row={self.max_nan_in_a_row}). "
                    "Checkpoints written so far are intact; resume from the last good one "
                    "with a lower optimizer.lr or trainer.gradient_clip_val set."
                )
            return None
        self.nan_in_a_row = 0
        self.log("train/loss", loss.total, prog_bar=True, batch_size=bs)
        for name, value in loss.terms.items():
            self.log(f"train/{name}", value, batch_size=bs)
        return loss.total

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        L, ab = batch["L"], batch["ab"]
        out = self(L)
        loss = self.criterion(out, batch)
        bs = L.shape[0]
        if torch.isfinite(loss.total):
            self.log("val/loss", loss.total, prog_bar=True, batch_size=bs, sync_dist=True)
        truth = lab_to_rgb(torch.cat([L, ab], 1).float())
        methods = tuple(self.val_metrics.keys())
        decoded = decode_outputs(out, methods, self.temperature, tuple(L.shape[-2:]))
        rgbs = {}
        for method, ab_pred in decoded.items():
            rgb = lab_to_rgb(torch.cat([L.float(), ab_pred], 1))
            rgbs[method] = rgb
            metrics = self.val_metrics[method]
            metrics["psnr"].update(rgb, truth)
            metrics["ssim"].update(rgb, truth)
            metrics["l2ab"].update((ab_pred - ab).norm(dim=1).mean(dim=(1, 2)))
        if batch_idx == 0 and self.num_log_images > 0:
            n = min(self.num_log_images, bs)
            gray = lab_to_rgb(torch.cat([L[:n].float(), torch.zeros_like(ab[:n])], 1))
            cols = [gray] + [rgbs[m][:n] for m in ("reg", "soft") if m in rgbs] + [truth[:n]]
            self._val_images = [torch.cat(cols, dim=3).cpu()]  # each row: one sample

    def on_validation_epoch_end(self) -> None:
        for metrics in self.val_metrics.values():
            self.log_dict(metrics.compute(), sync_dist=True)
            metrics.reset()
        if self._val_images and self.trainer.is_global_zero:
            self._log_image_grid(self._val_images[0])
        self._val_images = []

    def _log_image_grid(self, rows: torch.Tensor) -> None:
        """rows: (n,3,H,k*W) -> one image to every logger (TensorBoard image / PNG file)."""
        from torchvision.utils import make_grid, save_image

        grid = make_grid(rows, nrow=1, padding=2)
        tag = "val/gray_reg_soft_truth"
        for logger in self.loggers:
            exp = getattr(logger, "experiment", None)
            if hasattr(exp, "add_image"):
                exp.add_image(tag, grid, self.global_step)
            elif getattr(logger, "log_dir", None):
                out = Path(logger.log_dir) / "images" / f"val_step{self.global_step:07d}.png"
                out.parent.mkdir(parents=True, exist_ok=True)
                save_image(grid, out)

    def on_train_epoch_end(self) -> None:
        dm = getattr(self.trainer, "datamodule", None)
        skip_log = getattr(dm, "skip_log", None)
        if skip_log and os.path.exists(skip_log):
            from semcolor.data.base import SkipTracker

            if getattr(self, "_skips", None) is None or self._skips.path != Path(skip_log):
                self._skips = SkipTracker(skip_log)  # remembers what it already reported
            fresh = self._skips.new()
            for path, reason in fresh:
                log.warning("skipped bad file %s: %s", path, reason)
            if fresh:
                log.warning("%d bad files skipped this epoch (listed in %s)", len(fresh), skip_log)

    # ------------------------------------------------------------------ optim
    def configure_optimizers(self):
        opt = self.optimizer_factory(params=[p for p in self.parameters() if p.requires_grad])
        if self.scheduler_factory is None:
            return opt
        sched = self.scheduler_factory(optimizer=opt)
        return {
            "optimizer": opt,
            "lr_scheduler": {"scheduler": sched, "interval": self.scheduler_interval},
        }

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CKPT_KEY] = checkpoint_meta(self.net, self.prior, self.run_config)
        checkpoint[CKPT_KEY]["nan_skipped"] = self.nan_skipped

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        meta = checkpoint.get(CKPT_KEY)
        if meta and meta.get("prior") is not None:
            p = meta["prior"]
            self.prior = RebalancePrior(
                np.asarray(p["counts"], dtype=np.int64), np.asarray(p["p"]),
                np.asarray(p["p_smooth"]), np.asarray(p["weights"]),
                float(p["sigma"]), float(p["lam"]),
            )  # fmt: skip
            self.nan_skipped = int(meta.get("nan_skipped", 0))


def checkpoint_meta(net: SemColorNet, prior: RebalancePrior | None, config: dict) -> dict:
    """Everything inference needs besides the weights, in weights-only-loadable types.

    Keys: version, arch, model (the network's constructor arguments), ab_bins (313,2),
    prior (arrays as tensors, or None), config (the resolved run config).
    """
    prior_d = None
    if prior is not None:
        prior_d = {
            "counts": torch.as_tensor(prior.counts),
            "p": torch.as_tensor(prior.p),
            "p_smooth": torch.as_tensor(prior.p_smooth),
            "weights": torch.as_tensor(prior.weights),
            "sigma": prior.sigma,
            "lam": prior.lam,
        }
    return {
        "version": semcolor.__version__,
        "arch": type(net).__name__,
        "model": dict(net.init_kwargs),
        "ab_bins": torch.tensor(AB_BINS),
        "prior": prior_d,
        "config": config,
    }
