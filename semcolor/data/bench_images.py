"""The bench protocol's images: the listing of a dataset split, the ground-truth loader, and
validation images exactly as ``semcolor-bench`` scores them.

The bench protocol's data side lives here, below the evaluation room that scores it: the
image listing of a dataset split (:func:`list_dataset_images`) and the ground-truth loader
(:func:`load_ground_truth`: the 8-bit image resized to ``size`` x ``size`` with PIL bicubic).
``semcolor-bench`` (:mod:`semcolor.evaluation`) and training validation (:class:`BenchImages`,
scored by :mod:`semcolor.lit.module` with :func:`semcolor.evaluation.predict_images` and
:func:`semcolor.metrics.evaluate_pair`, colourless ground truths excluded) both read images
through these two functions, so both report the same numbers.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from semcolor import constants as C
from semcolor.data import datasets as D
from semcolor.data.base import SampleOptions, held_out
from semcolor.data.io import BadImageError, load_rgb

log = logging.getLogger("semcolor.data")

#: Datasets known to the bench -> (class name in semcolor.data.datasets, default split).
DATASETS = C.BENCH_DATASETS
#: Default network input side (the papers' 256x256 protocol).
DEFAULT_SIZE = C.BENCH_SIZE


class BenchError(Exception):
    """The benchmark cannot run or produced nothing (bad dataset, nothing evaluable)."""


# ============================================================================ listing
def list_dataset_images(
    dataset: str,
    root: str | os.PathLike[str],
    split: str | None = None,
    image_list: str | None = None,
    limit: int | None = None,
) -> list[str]:
    """Sorted image paths of a dataset split, via the dataset classes' ``.paths``.

    Args:
        dataset: one of :data:`DATASETS` (``div2k``, ``imagenet``, ``places365``,
            ``cocostuff``, ``camvid``, ``tinyimagenet``, ``folder``).
        root: dataset root (layouts: ``data/README.md``; ``folder``: any folder of images,
            read recursively).
        split: the split; None = the dataset's evaluation split (div2k ``valid``,
            imagenet/places365/cocostuff/tinyimagenet ``val``, camvid ``test``, folder: the
            root itself).
        image_list: ImageNet ``image_list`` (e.g. a ctest10k list) or Places365
            ``list_file``; ignored for the other datasets (an error if given).
        limit: keep the first N paths in sorted order.

    Raises:
        BenchError: unknown dataset, missing root, wrong layout or no images; the message
            names the path and the expected layout.
    """
    key = dataset.lower()
    if key not in DATASETS:
        raise BenchError(f"unknown dataset {dataset!r}; choose one of {sorted(DATASETS)}")
    cls_name, default_split = DATASETS[key]
    cls = getattr(D, cls_name)
    kwargs: dict[str, Any] = {
        "split": default_split if split is None else split,
        "options": SampleOptions(train=False, num_scene_classes=0, num_seg_classes=0),
    }
    if image_list is not None:
        if key == "imagenet":
            kwargs["image_list"] = str(image_list)
        elif key == "places365":
            kwargs["list_file"] = str(image_list)
        else:
            raise BenchError(f"--image-list applies to imagenet and places365, not {dataset}")
    if key == "cocostuff":
        kwargs["labels"] = "none"
    if not Path(root).expanduser().is_dir():
        source = f"\nGet it from {cls.SOURCE}" if getattr(cls, "SOURCE", "") else ""
        raise BenchError(
            f"{cls_name}: dataset root {str(root)!r} does not exist or is not a folder. "
            f"Expected layout:\n{cls.LAYOUT.strip()}{source}"
        )
    try:
        ds = cls(str(root), **kwargs)
    except (FileNotFoundError, ValueError) as e:
        raise BenchError(str(e)) from e
    paths = sorted(dict.fromkeys(ds.paths))
    if limit is not None:
        if limit < 1:
            raise BenchError(f"limit must be >= 1, got {limit}")
        paths = paths[:limit]
    return paths


# ============================================================================ images
def load_ground_truth(path: str | os.PathLike[str], size: int | None = DEFAULT_SIZE) -> np.ndarray:
    """The evaluation ground truth of one file: uint8 (H,W,3) sRGB, resized to
    ``size`` x ``size`` with PIL bicubic (None: the original resolution).

    Raises:
        semcolor.data.io.BadImageError: the file cannot be decoded.
    """
    return load_ground_truth_and_size(path, size)[0]


def load_ground_truth_and_size(
    path: str | os.PathLike[str], size: int | None
) -> tuple[np.ndarray, tuple[int, int]]:
    """:func:`load_ground_truth` and the file's original (width, height).

    Raises:
        semcolor.data.io.BadImageError: the file cannot be decoded.
    """
    rgb = load_rgb(path)
    wh = (int(rgb.shape[1]), int(rgb.shape[0]))
    if size is not None and rgb.shape[:2] != (size, size):
        rgb = np.asarray(
            Image.fromarray(rgb).resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8
        )
    return np.ascontiguousarray(rgb), wh


class BenchImages(Dataset):
    """Ground truths of a dataset split under the bench protocol.

    Args:
        root: dataset root (as ``semcolor-bench --root``).
        dataset: a bench dataset name (``folder``, ``imagenet``, ``camvid``...; see
            :data:`DATASETS`).
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
        size: int = DEFAULT_SIZE,
        limit: int | None = None,
        holdout_fraction: float = 0.0,
    ) -> None:
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
