"""LightningDataModule around any datasets that follow the sample contract."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset
from torchdata.stateful_dataloader import StatefulDataLoader

from semcolor.color import PriorEstimator, RebalancePrior
from semcolor.data.base import SampleOptions
from semcolor.data.class_names import dataset_class_names

log = logging.getLogger("semcolor.data")


def _is_streaming(ds: Dataset) -> bool:
    """Whether ``ds`` is a LitData ``StreamingDataset`` (without importing LitData)."""
    return any(c.__name__ == "StreamingDataset" and c.__module__.startswith("litdata")
               for c in type(ds).__mro__)  # fmt: skip


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
        prior_seed: seed of the random choice of those images.
        skip_log: file where datasets record skipped bad files (read at epoch end).
        crop_size: the sample size the datasets produce (the configs pass it to each one).
        resize: the shorter side images are resized to before cropping (the configs pass
            it to each dataset; None: ``crop_size``).
        scene_labels: soft scene pseudo-labels of the training set (the configs pass it to
            the training dataset; ``semcolor-train`` sizes the scene head from it).
        saliency_dir: per-image saliency maps of the training set (``semcolor-label-saliency
            IMAGES --out DIR``; the configs pass it to the training dataset, whose samples
            then carry ``saliency`` / ``has_saliency``), or None.
        root, val_root, val_fraction: ``data=folder``'s photo folder, optional validation
            folder and held-out fraction (the config passes them to its datasets).
        gray_root, colour_root: ``data=unpaired``'s two domains (the config passes them to
            :func:`semcolor.data.unpaired.unpaired_folders`).
        photos_root, labels_root, aux_colour: ``data=photos``' folder of prepared photo sets
            (``semcolor-prepare-photos``), folder of scene-label files and the switch that
            lets CamVid and Tiny ImageNet images train the colour heads (the config passes
            them to its members).
        options, val_options: the :class:`semcolor.data.SampleOptions` the configs give
            their training and validation datasets (``options: ${data.options}``); kept
            here for the record (the datasets already hold them).
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
        prior_seed: int = 0,
        skip_log: str | None = None,
        crop_size: int | None = None,
        resize: int | None = None,
        scene_labels: str | None = None,
        root: str | None = None,
        val_root: str | None = None,
        val_fraction: float = 0.0,
        saliency_dir: str | None = None,
        gray_root: str | None = None,
        colour_root: str | None = None,
        photos_root: str | None = None,
        labels_root: str | None = None,
        aux_colour: bool = False,
        options: SampleOptions | None = None,
        val_options: SampleOptions | None = None,
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
        self.prior_seed = int(prior_seed)
        self.resize, self.scene_labels = resize, scene_labels
        self.saliency_dir = saliency_dir
        self.gray_root, self.colour_root = gray_root, colour_root
        self.photos_root, self.labels_root = photos_root, labels_root
        self.aux_colour = bool(aux_colour)
        self.options, self.val_options = options, val_options
        self.root, self.val_root, self.val_fraction = root, val_root, float(val_fraction)
        for name, ds in (("train", train), ("val", val)):
            for attr in ("num_scene_classes", "num_seg_classes"):
                have, want = getattr(ds, attr, None), getattr(self, attr)
                if name == "val" and have == 0:
                    continue  # validation scores colour; it may carry no such labels
                if ds is not None and have is not None and have != want:
                    raise ValueError(
                        f"data.{name} produces {attr}={have} but data.{attr}={want}; set them equal"
                    )

    @property
    def class_names(self) -> dict[str, list[str]]:
        """{"scene": [...], "seg": [...]}: the names of the classes the training set's labels
        carry (what checkpoints store; :func:`semcolor.data.class_names.dataset_class_names`)."""
        return dataset_class_names(self.train_set)

    def _loader(self, ds: Dataset, train: bool) -> DataLoader:
        """The training loader is torchdata's ``StatefulDataLoader``: Lightning (>= 2.3) saves
        its ``state_dict`` in every checkpoint and restores it on resume, so a run resumed
        mid-epoch continues that epoch's order where it stopped (sampler position, and the
        shuffle generator's state) instead of restarting the epoch. Validation needs no
        state: a plain ``DataLoader``. Shards (``ShardDataset``, a LitData
        ``StreamingDataset``) get LitData's ``StreamingDataLoader``, stateful as well."""
        if _is_streaming(ds):  # shards: LitData's own stateful loader; order is the dataset's
            from litdata import StreamingDataLoader  # lazy: optional extra (semcolor[shards])

            return StreamingDataLoader(
                ds,
                batch_size=self.batch_size,
                num_workers=self.num_workers,
                pin_memory=self.pin_memory,
                drop_last=train,
                persistent_workers=self.num_workers > 0,
            )
        sampler = ds.sampler() if train and hasattr(ds, "sampler") else None
        cls = StatefulDataLoader if train else DataLoader
        return cls(
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

    def prior_sample(self) -> list[int]:
        """Indices of the training samples the prior is counted on: ``prior_images`` of them,
        drawn at random with ``prior_seed`` over the whole training set (a mix: as training
        draws, by dataset weights). The first N in sorted order would be one class of a
        class-folder dataset."""
        n = min(self.prior_images, len(self.train_set))
        gen = torch.Generator().manual_seed(self.prior_seed)
        if hasattr(self.train_set, "sampler"):
            sampler = self.train_set.sampler(generator=gen)
            return [int(i) for _, i in zip(range(n), iter(sampler), strict=False)]
        return torch.randperm(len(self.train_set), generator=gen)[:n].tolist()

    def rebalance_prior(
        self,
        cache: str | os.PathLike[str] | None = None,
        histogram: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> RebalancePrior:
        """The rebalancing prior of the training data: loaded from ``cache`` if it exists,
        else counted on :meth:`prior_sample` and written there (atomically, so that
        concurrent DDP ranks never read half a file).

        Args:
            cache: .npy path of the cached prior (its name should encode what determines
                the prior, see :func:`semcolor.lit.module.prior_cache_key`), or None.
            histogram: ``(ab (B,2,H,W), colorful (B,) bool) -> (313,)`` target mass, i.e.
                the targets exactly as the loss builds them
                (:meth:`semcolor.losses.MultiTaskLoss.target_histogram`). None: each
                colourful pixel's nearest bin.
        """
        if cache is not None and Path(cache).is_file():
            return RebalancePrior.load(cache)
        indices = self.prior_sample()
        subset = torch.utils.data.Subset(self.train_set, indices)
        loader = DataLoader(subset, batch_size=self.batch_size, num_workers=self.num_workers)
        est = PriorEstimator()
        for batch in loader:
            colorful = batch["colorful"].bool()
            if not colorful.any():
                continue
            if histogram is None:
                est.update(batch["ab"][colorful])
            else:
                est.add_histogram(histogram(batch["ab"], colorful), int(colorful.sum()))
        prior = est.finalize()
        log.info("estimated the rebalancing prior from %d random training images", len(indices))
        if cache is not None:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(f"{cache}.{os.getpid()}.tmp.npy")
            prior.save(tmp)
            os.replace(tmp, cache)
        return prior
