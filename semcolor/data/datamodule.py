"""LightningDataModule around any datasets that follow the sample contract."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from semcolor.color import PriorEstimator, RebalancePrior

log = logging.getLogger("semcolor.data")


class SemColorDataModule(pl.LightningDataModule):
    """Train/val loaders over datasets built by Hydra (``data/*.yaml``).

    Args:
        name: a short name of the data config (used in cache file names).
        train: training dataset (a :class:`semcolor.data.mixed.MixedDataset` is drawn with
            its per-dataset weights).
        val: validation dataset (deterministic transforms), or None.
        num_scene_classes / num_seg_classes: the label spaces the datasets produce; the
            model's head sizes are interpolated from these in the config.
        batch_size: per-process batch size.
        num_workers: loader worker processes (0: load in the training process).
        pin_memory: pin host memory (useful with a GPU).
        prior_images: how many training images the rebalancing prior is estimated from.
        skip_log: file where datasets record skipped bad files (read at epoch end).
        crop_size: the sample size the datasets produce (the configs pass it to each one).
    """

    def __init__(
        self,
        name: str,
        train: Dataset,
        val: Dataset | None = None,
        num_scene_classes: int = 0,
        num_seg_classes: int = 0,
        batch_size: int = 16,
        num_workers: int = 0,
        pin_memory: bool = False,
        prior_images: int = 500,
        skip_log: str | None = None,
        crop_size: int | None = None,
    ):
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(train) == 0:
            raise ValueError("the training dataset is empty")
        self.name = name
        self.train_set, self.val_set = train, val
        self.num_scene_classes, self.num_seg_classes = num_scene_classes, num_seg_classes
        self.batch_size, self.num_workers, self.pin_memory = batch_size, num_workers, pin_memory
        self.prior_images, self.skip_log, self.crop_size = prior_images, skip_log, crop_size
        for name, ds in (("train", train), ("val", val)):
            for attr in ("num_scene_classes", "num_seg_classes"):
                have, want = getattr(ds, attr, None), getattr(self, attr)
                if ds is not None and have is not None and have != want:
                    raise ValueError(
                        f"data.{name} produces {attr}={have} but data.{attr}={want}; set them equal"
                    )

    def _loader(self, ds: Dataset, train: bool) -> DataLoader:
        sampler = ds.sampler() if train and hasattr(ds, "sampler") else None
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            shuffle=train and sampler is None,
            sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            drop_last=train and len(ds) >= self.batch_size,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader | list:
        return [] if self.val_set is None else self._loader(self.val_set, train=False)

    def rebalance_prior(self, cache: str | os.PathLike[str] | None = None) -> RebalancePrior:
        """The rebalancing prior of the training data: loaded from ``cache`` if it exists,
        else estimated from the first ``prior_images`` samples (deterministic) and written
        there (atomically, so that concurrent DDP ranks never read half a file)."""
        if cache is not None and Path(cache).is_file():
            return RebalancePrior.load(cache)
        n = min(self.prior_images, len(self.train_set))
        if hasattr(self.train_set, "sampler"):
            # A mix: draw as training does (by dataset weights), with a fixed seed.
            sampler = self.train_set.sampler(generator=torch.Generator().manual_seed(0))
            indices = [int(i) for _, i in zip(range(n), iter(sampler), strict=False)]
        else:
            indices = list(range(n))
        subset = torch.utils.data.Subset(self.train_set, indices)
        loader = DataLoader(subset, batch_size=self.batch_size, num_workers=self.num_workers)
        est = PriorEstimator()
        for batch in loader:
            colorful = batch["colorful"].bool()
            if colorful.any():
                est.update(batch["ab"][colorful])
        prior = est.finalize()
        log.info("estimated the rebalancing prior from %d training images", n)
        if cache is not None:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(f"{cache}.{os.getpid()}.tmp.npy")
            prior.save(tmp)
            os.replace(tmp, cache)
        return prior
