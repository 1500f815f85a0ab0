"""Validation images exactly as ``semcolor-bench`` scores them.

Training validation must report the bench's numbers, so its ground truths are made by the
bench's own loader (:func:`semcolor.bench.load_ground_truth`: the 8-bit image resized to
``size`` x ``size`` with PIL bicubic) from the bench's own image listing
(:func:`semcolor.bench.list_dataset_images`). The module's validation step then scores
them with :func:`semcolor.bench.predict_images` and :func:`semcolor.metrics.evaluate_pair`,
colourless ground truths excluded.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch.utils.data import Dataset

log = logging.getLogger("semcolor.data")


class BenchImages(Dataset):
    """Ground truths of a dataset split under the bench protocol.

    Args:
        root: dataset root (as ``semcolor-bench --root``).
        dataset: a bench dataset name (``folder``, ``imagenet``, ``camvid``...; see
            :data:`semcolor.bench.DATASETS`).
        split: the split (``folder``: a subfolder, or None for the root itself).
        size: evaluation side (256, the papers' protocol).
        limit: keep the first N images in sorted order (None: all).
        holdout_fraction: > 0 keeps only the held-out part of the folder
            (:func:`semcolor.data.base.held_out`): the validation part of a folder that
            ``ImageFolder(holdout="exclude")`` trains on.

    Each item: ``{"gt": uint8 (size,size,3), "ok": bool (), "index": int64 ()}``; an
    unreadable file gives ``ok=False`` (a zero image), is logged, and is left out of the
    metrics, so one bad file never stops a run.
    """

    def __init__(
        self,
        root: str,
        dataset: str = "folder",
        split: str | None = None,
        size: int = 256,
        limit: int | None = None,
        holdout_fraction: float = 0.0,
    ) -> None:
        import os

        from semcolor.bench import list_dataset_images
        from semcolor.data.base import held_out

        if size < 11:
            raise ValueError(f"size must be >= 11 (SSIM window), got {size}")
        self.size = int(size)
        root = os.path.expanduser(str(root))
        base = root if split is None or dataset != "folder" else f"{root}/{split}"
        ds_split = None if dataset == "folder" else split
        paths = list_dataset_images(dataset, base, split=ds_split)
        if holdout_fraction > 0:
            held = held_out([os.path.relpath(p, base) for p in paths], holdout_fraction)
            if not held:
                raise ValueError(
                    f"{base!r} holds {len(paths)} image(s): holding one out for validation "
                    "needs at least 2; give more images, or data.val_root=FOLDER"
                )
            paths = [p for p in paths if os.path.relpath(p, base) in held]
        self.paths = paths if limit is None else paths[:limit]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        from semcolor.bench import load_ground_truth
        from semcolor.data.io import BadImageError

        try:
            gt, ok = load_ground_truth(self.paths[index], self.size), True
        except BadImageError as e:
            log.warning("validation: skipping %s (%s)", e.path, e.reason)
            gt, ok = np.zeros((self.size, self.size, 3), np.uint8), False
        return {
            "gt": torch.from_numpy(np.array(gt)),  # a writable copy
            "ok": torch.tensor(ok),
            "index": torch.tensor(index, dtype=torch.int64),
        }
