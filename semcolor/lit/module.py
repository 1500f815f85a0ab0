"""SemColorModule: trains a :class:`semcolor.models.SemColorNet` with the multi-task loss."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torchmetrics
from torch import nn
from torchvision.utils import make_grid, save_image

import semcolor
from semcolor import constants as C
from semcolor import hardware
from semcolor.color import AB_BINS, RebalancePrior, normalize_l
from semcolor.data.base import SkipTracker
from semcolor.data.class_names import check_class_names, head_class_counts
from semcolor.evaluation.predict import lab_of, predict_images, recombine
from semcolor.inference.checkpoint import load_model
from semcolor.losses.multitask import MultiTaskLoss
from semcolor.metrics import evaluate_pair, is_colourless
from semcolor.models import ColorizerOutput, SemColorNet

log = logging.getLogger("semcolor.train")

#: Key under which a checkpoint carries what inference needs (see :func:`checkpoint_meta`).
CKPT_KEY = "semcolor"
SCHEDULER_INTERVALS = ("epoch", "step")
#: Bench metrics logged at validation (``val/<method>_<key>``), from evaluate_pair; the
#: signed colour cast (``cast_b`` > 0: a yellow/sepia tint) as the bench reports it.
VAL_METRIC_KEYS: tuple[str, ...] = ("psnr", "ssim", "l2ab", "auc", "colorfulness", "cast_a",
                                    "cast_b")  # fmt: skip


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
        prior: path of a rebalancing prior (.npy) to use as it is (``semcolor-prior``), or
            None: estimate it from the training data on first use (on the targets the loss
            builds) and cache it in ``prior_cache_dir``.
        prior_cache_dir: folder of cached priors, or None for no cache. The file name holds
            :func:`prior_cache_key` of what determines the prior (training data config,
            sample size and seed, target mode, head stride, k, sigma), so a changed root,
            mix, crop or sample never reuses a stale prior; the key is stored in every
            checkpoint.
        compile: ``torch.compile`` the network's forward (the saved weights keep their names).
        max_nan_in_a_row: a non-finite loss skips its update (counted; Lightning still counts
            the batch as a step and steps the LR schedule); this many in a row stop training
            with :class:`NonFiniteLossError`.
        temperature: annealed-mean temperature for validation decoding.
        num_log_images: images in the validation grid (gray | reg | annealed mean | truth).
        init_from: fine-tune: start the network from this checkpoint's weights (a
            ``semcolor-train`` checkpoint, a slim export, or ``"default"`` for the shipped
            default model); the optimizer, schedule and step count start afresh. The run's
            encoder and decoder must match the checkpoint's; a head that the checkpoint lacks
            or sizes differently starts from scratch (see :func:`init_weights_from`).
            Resuming an interrupted run is ``ckpt_path=``, not this.
        run_config: the full resolved config (plain dict), stored in every checkpoint.
        run_overrides: the command-line overrides the run was composed from (stored in
            checkpoints; ``semcolor-train ckpt_path=`` replays them to resume).
        memory_format: "auto" (channels_last on CPU, and on CUDA under bf16:
            :func:`semcolor.hardware.memory_format`), "channels_last" or "contiguous": how
            the network's weights and inputs are laid out. Logged with its reason.
        encoder_lr_mult: the encoder's learning rate as a multiple of the optimizer's (the
            decoder and heads get the full rate). Below 1 keeps more of what a pretrained
            encoder knows: a 1,500-step photo-only RegSoft run with 0.1x scored +0.76 dB
            over gray on imagen1k/test against +0.54 dB with one rate (issue 21).
        freeze_encoder_steps: the encoder's weights do not change for this many optimizer
            steps (the fresh decoder and heads settle first), then train at
            ``encoder_lr_mult``; 0 = never frozen.
        freeze_encoder_bn: keep the encoder's batch-norm statistics as loaded (its layers
            stay in eval mode; their affine weights still train), e.g. for small batches.
    """

    def __init__(
        self,
        net: SemColorNet,
        loss: MultiTaskLoss,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        scheduler_interval: str = "epoch",
        prior: str | None = None,
        prior_cache_dir: str | None = None,
        compile: bool = False,
        max_nan_in_a_row: int = 10,
        temperature: float = C.ANNEALED_MEAN_T,
        num_log_images: int = 4,
        init_from: str | None = None,
        run_config: dict | None = None,
        run_overrides: list[str] | None = None,
        memory_format: str = hardware.AUTO,
        encoder_lr_mult: float = 1.0,
        freeze_encoder_steps: int = 0,
        freeze_encoder_bn: bool = False,
    ):
        super().__init__()
        if scheduler_interval not in SCHEDULER_INTERVALS:
            raise ValueError(
                f"scheduler_interval must be one of {list(SCHEDULER_INTERVALS)}, "
                f"got {scheduler_interval!r}"
            )
        if max_nan_in_a_row < 1:
            raise ValueError(f"max_nan_in_a_row must be >= 1, got {max_nan_in_a_row}")
        if memory_format not in (hardware.AUTO, *hardware.MEMORY_FORMATS):
            raise ValueError(
                f"unknown memory_format {memory_format!r}; valid: "
                f"{[hardware.AUTO, *hardware.MEMORY_FORMATS]}"
            )
        if not encoder_lr_mult >= 0:
            raise ValueError(f"encoder_lr_mult must be >= 0, got {encoder_lr_mult}")
        if freeze_encoder_steps < 0:
            raise ValueError(f"freeze_encoder_steps must be >= 0, got {freeze_encoder_steps}")
        if (encoder_lr_mult != 1.0 or freeze_encoder_steps or freeze_encoder_bn) and not (
            isinstance(getattr(net, "encoder", None), nn.Module)
        ):
            raise ValueError(
                f"encoder_lr_mult / freeze_encoder_* need a network with an encoder; "
                f"{type(net).__name__} has none (leave them at 1.0 / 0 / false)"
            )
        self.memory_format_request = memory_format
        self.memory_format = torch.contiguous_format
        self.encoder_lr_mult = float(encoder_lr_mult)
        self.freeze_encoder_steps = int(freeze_encoder_steps)
        self.freeze_encoder_bn = bool(freeze_encoder_bn)
        self.net, self.criterion = net, loss
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.scheduler_interval, self.prior_path = scheduler_interval, prior
        self.prior_cache_dir = prior_cache_dir
        self.prior_key: str | None = None
        self.compile, self.max_nan_in_a_row = compile, max_nan_in_a_row
        self.temperature, self.num_log_images = temperature, num_log_images
        self.run_config = run_config or {}
        self.run_overrides = list(run_overrides) if run_overrides is not None else None
        self.prior: RebalancePrior | None = None
        self._forward: Callable[[torch.Tensor], ColorizerOutput] = self.net
        self.nan_in_a_row = 0
        self.nan_skipped = 0
        self._val_images: list[torch.Tensor] = []
        self._gray_cache: dict[int, tuple[int, list[dict[str, float]]]] = {}
        methods = [m for m in ("dist", "reg") if m in net.heads]  # methods read their head
        #: Validation columns: the gray baseline and the model's decodings, as the bench.
        self.val_columns: tuple[str, ...] = ("gray", *methods)
        self.val_metrics = nn.ModuleDict(
            {
                m: nn.ModuleDict({k: torchmetrics.MeanMetric() for k in VAL_METRIC_KEYS})
                for m in self.val_columns
            }
        )
        self.val_excluded = torchmetrics.SumMetric()
        self.val_loss = torchmetrics.MeanMetric()
        #: Calibration carried over from a loaded checkpoint (kept when it is saved again).
        self._calibration: dict[str, Any] = {}
        #: Class names of a loaded checkpoint (used when no datamodule supplies them).
        self._loaded_class_names: dict[str, list[str]] = {}
        self.init_from = init_from
        if init_from:
            init_weights_from(self.net, init_from)

    # ------------------------------------------------------------------ setup
    def setup(self, stage: str) -> None:
        bf16 = "bf16" in str(getattr(self._trainer, "precision", ""))
        fmt = hardware.memory_format(self.memory_format_request, self.device, bf16)
        log.info("memory format: %s (%s)", fmt.value, fmt.reason)
        self.memory_format = hardware.torch_memory_format(fmt.value)
        self.net.to(memory_format=self.memory_format)
        if self.compile and self._forward is self.net:
            # Compile the call, not the module, so state_dict keys stay "net.*".
            self._forward = torch.compile(self.net)
        if stage == "fit" and self.criterion.rebalance and self.prior is None:
            self.set_prior(self._load_or_estimate_prior())

    def _load_or_estimate_prior(self) -> RebalancePrior:
        if self.prior_path:
            if not Path(self.prior_path).is_file():
                raise FileNotFoundError(
                    f"module.prior={self.prior_path} does not exist; create it with "
                    "semcolor-prior --images DIR --out FILE, or set module.prior=null to "
                    "estimate the prior from the training data"
                )
            log.info("rebalancing prior: %s", self.prior_path)
            self.prior_key = f"file:{self.prior_path}"
            return RebalancePrior.load(self.prior_path)
        dm = getattr(self.trainer, "datamodule", None)
        if dm is None or not hasattr(dm, "rebalance_prior"):
            raise RuntimeError(
                "class rebalancing needs a prior: give module.prior=/path/prior.npy "
                "(semcolor-prior --images DIR --out prior.npy) or train with a "
                "SemColorDataModule, which estimates it from the training data"
            )
        self.prior_key = prior_cache_key(
            self.run_config.get("data") or {"repr": repr(dm.train_set)},
            self.criterion, getattr(self.net, "dist_stride", 1),
        )  # fmt: skip
        cache = None
        if self.prior_cache_dir:
            name = str(self.run_config.get("data", {}).get("name", "data"))
            cache = Path(self.prior_cache_dir) / f"prior_{name}_{self.prior_key[:16]}.npy"
            log.info("rebalancing prior cache: %s", cache)
        histogram = None
        if getattr(self.net, "dist_head", None) is not None:
            net = self.net

            def histogram(ab: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
                out_hw = net.dist_output_size(*ab.shape[-2:])
                return self.criterion.target_histogram(ab, out_hw, mask)

        return dm.rebalance_prior(cache=cache, histogram=histogram)

    def set_prior(self, prior: RebalancePrior) -> None:
        """Use ``prior`` for class rebalancing (and store it in checkpoints)."""
        self.prior = prior
        self.criterion.set_prior(torch.as_tensor(prior.weights, dtype=torch.float32))

    # ------------------------------------------------------------------ steps
    def forward(self, L: torch.Tensor) -> ColorizerOutput:
        """L: (B,1,H,W) in [0,100] -> network outputs (see ColorizerOutput)."""
        return self._forward(normalize_l(L).contiguous(memory_format=self.memory_format))

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if self.freeze_encoder_bn:  # running statistics stay as loaded (every batch: Lightning
            for m in self.net.encoder.modules():  # puts modules back in train mode after val)
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        if self.freeze_encoder_steps:
            frozen = self.global_step < self.freeze_encoder_steps
            for p in self.net.encoder.parameters():
                p.requires_grad_(not frozen)  # no gradient: AdamW leaves it (and its state)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        out = self(batch["L"])
        loss = self.criterion(out, batch)
        bs = batch["L"].shape[0]
        if self.skip_non_finite(loss.total, bs):
            return None
        self.log("train/loss", loss.total, prog_bar=True, batch_size=bs)
        for name, value in loss.terms.items():
            self.log(f"train/{name}", value, batch_size=bs)
        return loss.total

    def skip_non_finite(self, total: torch.Tensor, batch_size: int) -> bool:
        """True when ``total`` is not finite on any rank: the step must be skipped (counted,
        logged, and :class:`NonFiniteLossError` after ``max_nan_in_a_row`` in a row)."""
        bad = not bool(torch.isfinite(total))
        if self.trainer.world_size > 1:
            # Every rank must agree, or the ranks that step would wait for the others forever.
            bad = self.trainer.strategy.reduce_boolean_decision(bad, all=False)
        bs = batch_size
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
            return True
        self.nan_in_a_row = 0
        return False

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Score the batch with the bench's code (:func:`semcolor.evaluation.predict_images`,
        :func:`semcolor.metrics.evaluate_pair`): per-image metrics on 8-bit RGB, colourless
        ground truths excluded. A batch of :class:`semcolor.data.bench_images.BenchImages`
        (``"gt"``) is the bench protocol itself; a sample-contract batch (L, ab) is scored
        on its own crops (its truth rounded to 8 bits)."""
        if "gt" in batch:
            ok = batch["ok"].bool().tolist()
            gts = [g.cpu().numpy() for g, k in zip(batch["gt"], ok, strict=True) if k]
        else:
            gts = recombine(batch["L"], batch["ab"])
        n_all = len(gts)
        gts = [g for g in gts if not is_colourless(g)]
        self.val_excluded.update(float(n_all - len(gts)))
        if not gts:
            return
        lab = lab_of(gts).to(self.device, torch.float32)
        L, ab = lab[:, :1], lab[:, 1:]
        loss_batch = self._loss_batch(L, ab)
        out = self(L)  # one pass: the loss and the bench's decodings read the same outputs
        loss = self.criterion(out, loss_batch)
        if torch.isfinite(loss.total):
            self.val_loss.update(loss.total.detach(), weight=len(gts))
        methods = tuple(m for m in self.val_columns if m != "gray")
        preds = predict_images(gts, self.net, methods, size=gts[0].shape[0],
                               temperature=self.temperature, outputs=out)  # fmt: skip
        for m in self.val_columns:
            per = self._gray_scores(gts, preds[m], batch_idx) if m == "gray" else [
                evaluate_pair(p, g, keys=VAL_METRIC_KEYS)
                for p, g in zip(preds[m], gts, strict=True)
            ]  # fmt: skip
            for key in VAL_METRIC_KEYS:
                self.val_metrics[m][key].update(torch.tensor([r[key] for r in per]))
        if batch_idx == 0 and self.num_log_images > 0:
            n = min(self.num_log_images, len(gts))
            order = ["gray"] + [m for m in ("reg", "dist") if m in preds]
            rows = [
                np.concatenate([preds[m][i] for m in order] + [gts[i]], axis=1) for i in range(n)
            ]
            self._val_images = [
                torch.from_numpy(np.stack(rows)).permute(0, 3, 1, 2).float().div(255.0)
            ]

    def _gray_scores(
        self, gts: list[np.ndarray], grays: list[np.ndarray], batch_idx: int
    ) -> list[dict[str, float]]:
        """The gray baseline's metrics: the same at every validation of the same images, so
        computed once per batch and kept (keyed by the batch and a checksum of its images)."""
        key = zlib.crc32(b"".join(g.tobytes() for g in gts))
        have = self._gray_cache.get(batch_idx)
        if have is None or have[0] != key:
            per = [evaluate_pair(p, g, keys=VAL_METRIC_KEYS)
                   for p, g in zip(grays, gts, strict=True)]  # fmt: skip
            self._gray_cache[batch_idx] = have = (key, per)
        return have[1]

    def _loss_batch(self, L: torch.Tensor, ab: torch.Tensor) -> dict[str, torch.Tensor]:
        """A sample-contract batch with colour targets only (validation images carry no
        scene or segmentation labels)."""
        b = L.shape[0]
        dev = L.device
        n_scene = int(self.net.init_kwargs.get("num_scene_classes", 0) or 0)
        return {
            "L": L,
            "ab": ab,
            "colorful": torch.ones(b, dtype=torch.bool, device=dev),
            "scene": torch.zeros(b, max(n_scene, 1), device=dev),
            "has_scene": torch.zeros(b, dtype=torch.bool, device=dev),
            "seg": torch.full((b, *L.shape[-2:]), C.IGNORE_INDEX, dtype=torch.int64, device=dev),
            "has_seg": torch.zeros(b, dtype=torch.bool, device=dev),
        }

    def on_validation_epoch_end(self) -> None:
        # Every rank computes every metric (compute() syncs across DDP ranks; a rank that
        # skipped it would leave the others waiting). A metric with no update anywhere is nan.

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*compute.*before.*update.*")
            for m, metrics in self.val_metrics.items():
                for key, metric in metrics.items():
                    self.log(f"val/{m}_{key}", metric.compute())
                    metric.reset()
            self.log("val/loss", self.val_loss.compute(), prog_bar=True)
        self.val_loss.reset()
        self.log("val/excluded_colourless", self.val_excluded.compute())
        self.val_excluded.reset()
        if self._val_images and self.trainer.is_global_zero:
            self._log_image_grid(self._val_images[0])
        self._val_images = []

    def _log_image_grid(self, rows: torch.Tensor) -> None:
        """rows: (n,3,H,k*W) -> one image to every logger (TensorBoard image / PNG file)."""
        grid = make_grid(rows, nrow=1, padding=2)
        tag = "val/gray_reg_dist_truth"
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
            if getattr(self, "_skips", None) is None or self._skips.path != Path(skip_log):
                self._skips = SkipTracker(skip_log)  # remembers what it already reported
            fresh = self._skips.new()
            for path, reason in fresh:
                log.warning("skipped bad file %s: %s", path, reason)
            if fresh:
                log.warning("%d bad files skipped this epoch (listed in %s)", len(fresh), skip_log)

    # ------------------------------------------------------------------ optim
    def param_groups(self, module: nn.Module | None = None) -> list[dict[str, Any]]:
        """The optimizer's parameter groups over ``module`` (default: this module): the
        encoder at ``encoder_lr_mult`` times the optimizer's learning rate (key ``lr_mult``,
        applied by :meth:`make_optimizer`), everything else at 1x; one group when the
        multiplier is 1. Encoder weights frozen for a start are included (they train later)."""
        params = [p for p in (module or self).parameters()
                  if p.requires_grad or self.freeze_encoder_steps]  # fmt: skip
        if self.encoder_lr_mult == 1.0:
            return [{"params": params, "name": "all", "lr_mult": 1.0}]
        enc = {id(p) for p in self.net.encoder.parameters()}
        return [
            {"params": [p for p in params if id(p) in enc], "name": "encoder",
             "lr_mult": self.encoder_lr_mult},
            {"params": [p for p in params if id(p) not in enc], "name": "rest", "lr_mult": 1.0},
        ]  # fmt: skip

    def make_optimizer(
        self, factory: Callable[..., torch.optim.Optimizer], module: nn.Module | None = None
    ) -> torch.optim.Optimizer:
        """``factory`` over :meth:`param_groups`, each group's lr scaled by its ``lr_mult``
        (schedulers then start every group from its own rate)."""
        opt = factory(params=self.param_groups(module))
        for g in opt.param_groups:
            g["lr"] = g["lr"] * g["lr_mult"]
        return opt

    def configure_optimizers(self):
        opt = self.make_optimizer(self.optimizer_factory)
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
        checkpoint[CKPT_KEY]["prior_key"] = self.prior_key
        checkpoint[CKPT_KEY]["temperature"] = float(self.temperature)
        checkpoint[CKPT_KEY]["overrides"] = self.run_overrides
        checkpoint[CKPT_KEY]["class_names"] = self._class_names()
        checkpoint[CKPT_KEY].update(self._calibration)  # a calibrated value wins

    def _class_names(self) -> dict[str, list[str]]:
        """Names of the scene / segmentation classes, from the training data (or, without
        a datamodule, those of the checkpoint this module was loaded from)."""
        dm = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        names = getattr(dm, "class_names", None) or self._loaded_class_names
        return check_class_names(names, head_class_counts(self.net))

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        meta = checkpoint.get(CKPT_KEY)
        if meta:
            self._loaded_class_names = dict(meta.get("class_names") or {})
        if meta and meta.get("prior") is not None:
            p = meta["prior"]
            self.prior = RebalancePrior(
                np.asarray(p["counts"], dtype=np.float64), np.asarray(p["p"]),
                np.asarray(p["p_smooth"]), np.asarray(p["weights"]),
                float(p["sigma"]), float(p["lam"]),
            )  # fmt: skip
            self.nan_skipped = int(meta.get("nan_skipped", 0))
            self.prior_key = meta.get("prior_key")
        if meta and "temperature_calibration" in meta:
            self._calibration = {
                "temperature": float(meta["temperature"]),
                "temperature_calibration": meta["temperature_calibration"],
            }


#: Architecture arguments a fine-tuning source must share with the run (the heads may differ).
_BODY_KWARGS = ("encoder", "input_norm", "decoder_channels", "dist_stride")
#: State-dict prefixes of the heads: these may start fresh when fine-tuning.
_HEAD_PREFIXES = ("reg_head.", "dist_head.", "scene_head.", "seg_head.", "sal_head.")


def _override_value(v: Any) -> str:
    """A value as a Hydra command-line override writes it."""
    if v is None:
        return "null"
    return v if isinstance(v, str) else json.dumps(v).replace(" ", "")


def init_weights_from(net: SemColorNet, source: str) -> dict[str, list[str]]:
    """Copy a checkpoint's network weights into ``net`` (fine-tuning).

    ``source`` is a checkpoint path (training checkpoint or slim export, read weights-only by
    :func:`semcolor.inference.load_model`) or ``"default"`` for the shipped default model.
    Every encoder and decoder tensor is copied; a head tensor is copied when the checkpoint
    has it with the same shape, otherwise the head keeps its fresh initialisation (e.g. a
    scene head for a different class count).

    Returns:
        {"copied": [...], "fresh": [...]} parameter/buffer names.

    Raises:
        ValueError: the checkpoint's encoder/decoder differ from ``net``'s (the message lists
            the ``model.*`` overrides that make them agree).
    """
    src = load_model(None if source == "default" else source)
    if type(src.net) is not type(net):
        raise ValueError(
            f"module.init_from={source} holds a {type(src.net).__name__}, this run builds a "
            f"{type(net).__name__}; pick the matching model= config"
        )
    have, want = src.net.init_kwargs, net.init_kwargs
    differ = [k for k in _BODY_KWARGS if have.get(k) != want.get(k)]
    if differ:
        fixes = " ".join(
            f"model.{k}={_override_value(have.get(k))}" for k in differ
        )
        hint = "; for the shipped default model that is model=efficientnet_lite0"
        raise ValueError(
            f"module.init_from={source}: its network differs from this run's in "
            f"{', '.join(differ)} ("
            + "; ".join(f"{k}: checkpoint {have.get(k)!r}, run {want.get(k)!r}" for k in differ)
            + f"). Build the same body with: {fixes}"
            + (hint if source == "default" else "")
        )
    theirs = src.net.state_dict()
    ours = net.state_dict()
    copied, fresh = [], []
    for k, v in ours.items():
        t = theirs.get(k)
        if t is not None and t.shape == v.shape:
            ours[k] = t.to(v.dtype)
            copied.append(k)
        elif k.startswith(_HEAD_PREFIXES):
            fresh.append(k)
        else:  # same body arguments yet a missing tensor: a genuinely different network
            raise ValueError(f"module.init_from={source}: no matching weight for {k}")
    net.load_state_dict(ours)
    heads_fresh = sorted({k.split(".")[0] for k in fresh})
    log.info(
        "fine-tuning from %s: %d tensors copied%s", src.path, len(copied),
        f"; fresh (not in the checkpoint or sized differently): {heads_fresh}"
        if heads_fresh else "",
    )  # fmt: skip
    return {"copied": copied, "fresh": fresh}


#: Data-config keys that do not change the prior (where logs go, how fast it loads).
_PRIOR_IRRELEVANT = ("skip_log", "batch_size", "num_workers", "pin_memory", "val",
                     "val_options")


def _strip(cfg: Any) -> Any:
    if isinstance(cfg, dict):
        return {k: _strip(v) for k, v in sorted(cfg.items()) if k not in _PRIOR_IRRELEVANT}
    if isinstance(cfg, list | tuple):
        return [_strip(v) for v in cfg]
    return cfg


def prior_cache_key(data_config: dict, loss: MultiTaskLoss, dist_stride: int) -> str:
    """SHA-1 (hex) of what determines the rebalancing prior: the resolved data config (roots,
    mix weights, crop and resize, ``prior_images``, ``prior_seed``...; not the logging or
    loader settings, nor the validation set), the loss's target mode, k and sigma, the
    distribution head's stride, and the rebalancing sigma and lambda."""
    payload = {
        "data": _strip(data_config),
        "dist_targets": loss.dist_targets,
        "k": int(loss.k),
        "sigma": float(loss.sigma),
        "dist_stride": int(dist_stride),
        "rebalance": [C.REBALANCE_SIGMA, C.REBALANCE_LAMBDA],
        # 2: "subsample" takes each cell's centre (was its top-left pixel): old priors differ.
        "targets_version": 2,
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha1(blob).hexdigest()


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
