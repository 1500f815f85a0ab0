"""Shared machinery of the colorization datasets: the sample contract, skipping, label spaces.

Every dataset returns the dict described in :class:`ColorizationDataset`. Subclasses only
list their files (:meth:`ColorizationDataset._scan`) and, if they have segmentation maps,
say how to read them (:meth:`ColorizationDataset._load_seg`).

Bad files
---------
A sample whose image cannot be decoded, or whose label map is unreadable, has a different
size from its image, or holds a value outside the label space, is *skipped*: the dataset
logs a warning naming the file (logger ``semcolor.data``), appends ``(path, reason)`` to
``dataset.skipped``, remembers the index, and returns the next usable index instead (the
returned ``"index"`` is the one actually used, so ``dataset.paths[sample["index"]]`` is
right). More than ``max_retries`` consecutive bad samples raise ``RuntimeError`` — that is a
broken dataset, not a bad file.

Limits: DataLoader workers are separate processes, so ``skipped`` of the dataset object in
the main process only sees skips that happened in the main process (``num_workers=0``,
:meth:`ColorizationDataset.verify`). To collect skips from workers, give ``skip_log`` (a
file path): every process appends one ``path<TAB>reason`` line per skip (single
``O_APPEND`` writes, safe across processes), and :class:`SkipTracker` reads it, e.g. at
epoch end. Each worker re-discovers a bad file once per worker (its memory of bad indices
is per process).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from semcolor import constants as C
from semcolor.color.lab import rgb_to_lab
from semcolor.data.io import (
    MAP_SUFFIX,
    BadImageError,
    BadLabelError,
    is_image_file,
    load_rgb,
    read_saliency_u8,
    saliency_path,
)  # fmt: skip
from semcolor.data.scene_labels import (
    load_scene_labels,
    normalize_name,
    scene_label_class_names,
    soft_scene_vector,
)  # fmt: skip
from semcolor.data.transforms import PairTransform

logger = logging.getLogger("semcolor.data")

#: Keys of every sample, in order.
SAMPLE_KEYS: tuple[str, ...] = ("L", "ab", "colorful", "scene", "has_scene", "seg", "has_seg",
                                "saliency", "has_saliency", "index")
#: Longest side of the thumbnail on which colourfulness is measured (whole image, cheap).
_CHROMA_THUMB = 128


@dataclass(frozen=True, slots=True)
class Record:
    """One sample: an image, its optional segmentation source and hard scene label."""

    image: str
    seg: Any = None  # a label-map path, or whatever the dataset's _load_seg understands
    scene: int | None = None


def list_images(directory: str | os.PathLike[str], recursive: bool = True) -> list[str]:
    """Image files under ``directory`` (extensions of ``IMAGE_EXTENSIONS``, any case), sorted.

    Hidden files (``.name``, e.g. macOS ``._x.jpg`` resource forks) are left out.
    """
    out: list[str] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(directory, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            out.extend(
                os.path.join(dirpath, f)
                for f in filenames
                if not f.startswith(".") and is_image_file(f)
            )
    else:
        with os.scandir(directory) as it:
            out.extend(
                e.path
                for e in it
                if not e.name.startswith(".") and is_image_file(e.name) and e.is_file()
            )
    out.sort()
    return out


#: ``holdout`` choices of datasets that split a folder: drop the held-out files (training)
#: or keep only them (validation).
HOLDOUT_MODES: tuple[str, ...] = ("exclude", "only")


def _holdout_key(relpath: str) -> float:
    """The first 32 bits of the SHA-1 of the POSIX relative path, as a number in [0, 1)."""
    h = hashlib.sha1(normalize_name(relpath).encode("utf-8")).hexdigest()[:8]
    return int(h, 16) / 2**32


def in_holdout(relpath: str, fraction: float) -> bool:
    """Whether an image (its path relative to the dataset root) falls in the held-out part
    by its hash alone (see :func:`held_out` for a folder's split).

    Deterministic and stable: :func:`_holdout_key` of the path below ``fraction``. Adding or
    removing other files never moves such an image between training and validation.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the held-out fraction must be in [0, 1), got {fraction}")
    return _holdout_key(relpath) < fraction


def held_out(relpaths: Sequence[str], fraction: float) -> set[str]:
    """The held-out part of a folder of images (paths relative to its root): those that
    :func:`in_holdout` picks; from 2 images up at least one and never all, so a small folder
    still validates (24 photos at 5% often picked none). When the hash picks none, the image
    with the smallest hash is held out; when it picks all, the one with the largest trains.
    Only then can adding or removing files move an image between the parts.

    Raises:
        ValueError: ``fraction`` outside [0, 1).
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the held-out fraction must be in [0, 1), got {fraction}")
    if fraction == 0.0 or not relpaths:
        return set()
    keys = {p: _holdout_key(p) for p in relpaths}
    chosen = {p for p, k in keys.items() if k < fraction}
    if len(keys) >= 2 and not chosen:
        chosen = {min(keys, key=keys.__getitem__)}
    elif len(keys) >= 2 and len(chosen) == len(keys):
        chosen.discard(max(keys, key=keys.__getitem__))
    return chosen


def chroma_mean(rgb: np.ndarray) -> float:
    """Mean Lab chroma sqrt(a^2 + b^2) of a uint8 (H,W,3) image, on a strided thumbnail."""
    h, w = rgb.shape[:2]
    step = max(1, -(-max(h, w) // _CHROMA_THUMB))
    thumb = torch.from_numpy(np.ascontiguousarray(rgb[::step, ::step]))
    lab = rgb_to_lab(thumb.permute(2, 0, 1)[None].float() / 255.0)
    return float(torch.sqrt(lab[0, 1] ** 2 + lab[0, 2] ** 2).mean())


def make_lut(mapping: dict[int, int], size: int = 256, invalid: int = -2) -> np.ndarray:
    """Lookup table raw value -> label; unmapped values get ``invalid``."""
    lut = np.full(size, invalid, dtype=np.int64)
    for k, v in mapping.items():
        lut[k] = v
    return lut


def apply_lut(raw: np.ndarray, lut: np.ndarray, path: str, invalid: int = -2) -> np.ndarray:
    """Map raw label values through ``lut``; values outside it raise :class:`BadLabelError`."""
    if raw.size == 0:
        return raw.astype(np.int64)
    lo, hi = int(raw.min()), int(raw.max())
    if lo < 0 or hi >= len(lut):
        bad = lo if lo < 0 else hi
        raise BadLabelError(path, f"label value {bad} out of range")
    out = lut[raw]
    if (out == invalid).any():
        bad = int(raw[out == invalid][0])
        raise BadLabelError(path, f"label value {bad} out of range")
    return out


def build_sample(
    rgb: np.ndarray,
    seg: np.ndarray | None,
    sal: np.ndarray | None,
    scene: torch.Tensor,
    has_scene: bool,
    index: int,
    transform: PairTransform,
    colour: bool = True,
    colorful: bool | None = None,
) -> dict[str, torch.Tensor]:
    """The sample contract of :class:`ColorizationDataset` from decoded arrays: one place for
    every dataset (folder layouts and shards alike).

    Args:
        rgb: uint8 (H,W,3) image. seg: int64 (H,W) labels (IGNORE_INDEX allowed) or None.
        sal: uint8 (H,W) saliency map or None. scene: float32 (num_scene_classes,) vector;
        has_scene: whether it is a label. index: the sample's index.
        transform: the geometry (image, labels and map move together).
        colour: False: the sample trains no colour head (``colorful`` False whatever the
            image; :attr:`SampleOptions.colour`).
        colorful: the whole image's colourfulness test, when the caller has it (the decode
            cache keeps it with the resized image); None: measured on ``rgb``.
    """
    if colorful is None:
        colorful = chroma_mean(rgb) >= C.COLOURLESS_CHROMA
    colorful = colour and colorful
    image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
    if sal is not None:  # a 4th channel: the map follows the image's geometry exactly
        image = torch.cat([image, torch.from_numpy(np.ascontiguousarray(sal))[None]], dim=0)
    seg_t = torch.from_numpy(seg) if seg is not None else None
    image, seg_t = transform(image, seg_t)
    if sal is not None:
        saliency = image[3:].float().div_(255.0)
        image = image[:3]
    else:
        saliency = torch.zeros(1, *image.shape[-2:], dtype=torch.float32)
    lab = rgb_to_lab(image[None].float().div_(255.0))[0]
    if seg_t is None:
        seg_t = torch.full(image.shape[-2:], C.IGNORE_INDEX, dtype=torch.int64)
    return {
        "L": lab[:1].contiguous(),
        "ab": lab[1:].contiguous(),
        "colorful": torch.tensor(colorful),
        "scene": scene,
        "has_scene": torch.tensor(bool(has_scene)),
        "seg": seg_t.to(torch.int64).contiguous(),
        "has_seg": torch.tensor(seg is not None),
        "saliency": saliency.contiguous(),
        "has_saliency": torch.tensor(sal is not None),
        "index": torch.tensor(index, dtype=torch.int64),
    }


def resolve_label_count(
    owner: str, name: str, given: int | None, native: int, soft: bool = False,
    whose: str = "the dataset's",
) -> int:
    """The label-space size a dataset produces: ``given`` (0 switches the labels off, a
    number above ``native`` pads), or ``native`` when None. ``soft``: the labels come from a
    pseudo-label file, whose class count must be given. ``owner``/``whose`` name the dataset
    in errors."""
    if given is None:
        if soft and native == 0:
            raise ValueError(
                f"{owner}: scene_labels given but num_scene_classes is not; "
                "pass the classifier's class count (e.g. 365 for Places365)"
            )
        return native
    given = int(given)
    if given < 0:
        raise ValueError(f"{name} must be >= 0, got {given}")
    if 0 < given < native:
        raise ValueError(
            f"{owner}: {name}={given} is smaller than {whose} {native} classes "
            "(0 disables these labels)"
        )
    return given


def append_skip_log(skip_log: str | os.PathLike[str], path: str, reason: str) -> None:
    """Append ``path<TAB>reason`` to ``skip_log`` in one ``O_APPEND`` write (safe across
    DataLoader workers and DDP ranks); a failure to write is logged, never raised (a full
    disk must not stop training)."""
    line = f"{path}\t{reason}".replace("\n", " ") + "\n"
    try:
        fd = os.open(skip_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8", errors="replace"))
        finally:
            os.close(fd)
    except OSError as e:
        logger.warning("cannot write skip log %s: %s", skip_log, e)


class SkipTracker:
    """Reads the ``skip_log`` file that datasets in any process append skipped files to.

    Example (training module, at epoch end)::

        tracker = SkipTracker(cfg.data.skip_log)
        for path, reason in tracker.new():
            log.warning("skipped %s: %s", path, reason)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._reported: set[tuple[str, str]] = set()

    def all(self) -> list[tuple[str, str]]:
        """Every distinct (path, reason) logged so far, in first-seen order."""
        if not self.path.is_file():
            return []
        seen: dict[tuple[str, str], None] = {}
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                p, _, reason = line.partition("\t")
                seen.setdefault((p, reason), None)
        return list(seen)

    def new(self) -> list[tuple[str, str]]:
        """Entries not returned by an earlier call of :meth:`new`."""
        fresh = [e for e in self.all() if e not in self._reported]
        self._reported.update(fresh)
        return fresh

    def clear(self) -> None:
        """Delete the log file and forget what was reported."""
        self.path.unlink(missing_ok=True)
        self._reported.clear()


@dataclass(frozen=True, kw_only=True, slots=True)
class SampleOptions:
    """What every dataset shares: crop and augmentation, label spaces, extra labels, skipping.

    One typed object instead of the same thirteen constructor arguments on every dataset
    class; Hydra instantiates it once per config (``data.options``, ``data.val_options`` in
    ``conf/data/_datamodule.yaml``) and each dataset node says ``options: ${data.options}``.

    Args:
        crop_size: side of the square output crops.
        train: random (True) or deterministic (False) geometry; None: ``split == "train"``
            (``split=None`` counts as train).
        resize: shorter side before cropping (>= crop_size); None: ``crop_size``.
        hflip, rotate_degrees, scale_min, scale_max: train-time augmentation
            (see :class:`semcolor.data.transforms.PairTransform`).
        num_scene_classes, num_seg_classes: label-space sizes (see
            :class:`ColorizationDataset`); None: the dataset's own.
        scene_labels: path of a labels.npz with soft scene labels, or None.
        saliency_dir: folder of per-image saliency maps, or None (see
            :class:`ColorizationDataset`).
        skip_log: file to which every process appends skipped files (see
            :class:`SkipTracker`), or None.
        max_retries: consecutive bad samples tolerated before ``RuntimeError``.
        colour: whether the samples train the colour heads. False marks every sample
            not ``colorful`` (no colour loss, not in the rebalancing prior, not shown to a
            discriminator as real): a mix member kept for its labels only, e.g. CamVid's
            road scenes for segmentation (``data=photos``' ``aux_colour`` switch).
        cache_mb: memory (MB) for a cache of decoded images already resized to the training
            scale, with their label maps and colourfulness (:class:`DecodeCache`): each file
            is then decoded and resized once per process instead of once per draw; the
            samples are bit-identical. 0 = off. Used when the resize is fixed (``scale_min ==
            scale_max``) and there are no saliency maps; each loader process has its own.
    """

    crop_size: int = C.TRAIN_CROP
    train: bool | None = None
    resize: int | None = None
    hflip: bool = True
    rotate_degrees: float = 0.0
    scale_min: float = 1.0
    scale_max: float = 1.0
    num_scene_classes: int | None = None
    num_seg_classes: int | None = None
    scene_labels: str | None = None
    saliency_dir: str | None = None
    skip_log: str | None = None
    max_retries: int = 50
    colour: bool = True
    cache_mb: float = 0.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if not self.cache_mb >= 0:
            raise ValueError(f"cache_mb must be >= 0, got {self.cache_mb}")
        self.transform(True)  # crop/resize/scale checks, with their messages, at construction

    def replace(self, **changes: Any) -> SampleOptions:
        """A copy with ``changes`` (field names; an unknown one lists the valid ones)."""
        valid = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - valid)
        if unknown:
            raise TypeError(f"SampleOptions has no field {unknown}; valid: {sorted(valid)}")
        return dataclasses.replace(self, **changes)

    def transform(self, train: bool) -> PairTransform:
        """The :class:`PairTransform` of these options in train (random) or eval geometry."""
        return PairTransform(
            crop_size=self.crop_size,
            train=train,
            resize=self.resize,
            hflip=self.hflip,
            rotate_degrees=self.rotate_degrees,
            scale_min=self.scale_min,
            scale_max=self.scale_max,
        )


class DecodeCache:
    """A bounded least-recently-used cache of decoded, resized images by sample index.

    Decoding a JPEG and resizing it to the training scale cost about half of a sample's
    loading time (profiled on the default mix: decode 0.29 s, resize 0.10 s, chroma 0.25 s
    of 1.1 s per 280 samples); with 2 CPU cores every millisecond the loader spends is taken
    from the training step. Written by hand: ``functools.lru_cache`` bounds entries, not
    bytes.

    Args:
        max_bytes: the most the stored arrays may take together.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[int, tuple[np.ndarray, np.ndarray | None, bool]] = (
            OrderedDict()
        )

    def get(self, index: int) -> tuple[np.ndarray, np.ndarray | None, bool] | None:
        item = self._items.get(index)
        if item is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(index)
        return item

    def put(self, index: int, rgb: np.ndarray, seg: np.ndarray | None, colorful: bool) -> None:
        size = rgb.nbytes + (seg.nbytes if seg is not None else 0)
        if size > self.max_bytes:
            return
        while self.nbytes + size > self.max_bytes:
            _, (r, g, _c) = self._items.popitem(last=False)
            self.nbytes -= r.nbytes + (g.nbytes if g is not None else 0)
        self._items[index] = (rgb, seg, colorful)
        self.nbytes += size

    def __len__(self) -> int:
        return len(self._items)


def options_with(base: SampleOptions, **changes: Any) -> SampleOptions:
    """``base`` with some fields changed: a mix member's own options in a config without
    repeating every field (``options: {_target_: semcolor.data.base.options_with, base:
    ${data.options}, scene_labels: FILE}``). Unknown fields list the valid ones."""
    return base.replace(**changes)


class ColorizationDataset(Dataset):
    """Base of all datasets; ``__getitem__`` returns the sample contract:

    * ``"L"``: float32 (1,H,W), Lab L in [0, 100];
    * ``"ab"``: float32 (2,H,W), Lab a, b;
    * ``"colorful"``: bool () — False when the whole image's mean chroma is below
      ``constants.COLOURLESS_CHROMA`` (grayscale JPEGs and near-gray images);
    * ``"scene"``: float32 (num_scene_classes,) probability vector (zeros when absent);
    * ``"has_scene"``: bool ();
    * ``"seg"``: int64 (H,W) in [0, num_seg_classes) or ``IGNORE_INDEX`` (all ignore when
      absent);
    * ``"has_seg"``: bool ();
    * ``"saliency"``: float32 (1,H,W) in [0, 1], the image's saliency map (``saliency_dir``)
      after the same geometry as the image (zeros when absent);
    * ``"has_saliency"``: bool () — True when a map was found;
    * ``"index"``: int64 () index of the sample actually returned (see ``paths``).

    Label spaces: ``num_scene_classes`` / ``num_seg_classes`` fix the vector sizes. ``None``
    means the dataset's own class count (0 when it has no such labels); a larger number pads
    (for mixing datasets with different label spaces); 0 switches the labels off; a number
    below the native count is an error. ``scene_labels`` (a labels.npz, see
    :mod:`semcolor.data.scene_labels`) replaces hard scene labels by soft top-K ones; its keys
    are :meth:`relpath` of each image.

    Args (common to all datasets):
        root: dataset root folder.
        split: ``"train"``, ``"val"``... (dataset-specific).
        options: crop, augmentation, label spaces, pseudo-labels, saliency maps and skipping
            (:class:`SampleOptions`; None: its defaults).

    Saliency maps (``options.saliency_dir``, made by ``semcolor-label-saliency IMAGES --out
    DIR``): the map of image :meth:`relpath` ``REL.ext`` is ``DIR/REL.png`` (8-bit grayscale,
    the image's size; :func:`semcolor.data.io.saliency_path`). Images without a map get
    ``has_saliency`` False; an unreadable map, or one whose size differs from its image, makes
    the sample skipped (a bad label). Maps are made from EXIF-transposed images, like the
    images training reads (datasets with segmentation maps read images untransposed: a
    rotated photo's map is then skipped for its size).

    Attributes:
        paths: absolute image path of each index. ``records``: the full :class:`Record` s.
        options: the :class:`SampleOptions` given.
        classes: scene class identifiers (datasets with hard scene labels; e.g. wnids).
        scene_names, seg_names: human-readable names of the scene / segmentation classes the
            samples carry, by index (from the dataset's own label list or the scene-labels
            file; empty when unknown). Training stores them in checkpoints
            (:mod:`semcolor.data.class_names`).
        skipped: ``(path, reason)`` of files skipped in this process.
        provides_scene, provides_seg: whether samples can carry scene / seg labels.

    Subclasses set :attr:`LAYOUT` (shown in errors), :attr:`NATIVE_SEG_CLASSES`, and
    implement :meth:`_scan` (and :meth:`_load_seg` when they have segmentation).
    """

    #: Expected directory layout, shown in error messages.
    LAYOUT: ClassVar[str] = ""
    #: Where to get the dataset (shown with the layout when it is missing; semcolor never
    #: downloads it).
    SOURCE: ClassVar[str] = ""
    #: Number of segmentation classes of the dataset's own maps (0: none).
    NATIVE_SEG_CLASSES: ClassVar[int] = 0
    #: Names of those classes, by label value (empty: unknown, or read by :meth:`_seg_names`).
    SEG_NAMES: ClassVar[tuple[str, ...]] = ()
    #: Accepted ``split`` values (None: any). Checked here, so subclasses whose only extra
    #: need is a split check keep the base's explicit signature instead of repeating it.
    SPLITS: ClassVar[tuple[str | None, ...] | None] = None
    #: Apply EXIF orientation to images. Samples with a label map never do: annotations
    #: (COCO, CamVid) index the stored pixel grid.
    exif_transpose: ClassVar[bool] = True

    def __init__(
        self,
        root: str,
        split: str | None = "train",
        options: SampleOptions | None = None,
    ) -> None:
        options = SampleOptions() if options is None else options
        if not isinstance(options, SampleOptions):
            raise TypeError(
                f"{type(self).__name__}: options must be a semcolor.data.SampleOptions, got "
                f"{type(options).__name__} (in a config: options: {{_target_: "
                "semcolor.data.SampleOptions, crop_size: ...}, or options: ${data.options})"
            )
        self.options = options
        train = options.train
        if self.SPLITS is not None and split not in self.SPLITS:
            raise ValueError(
                f"{type(self).__name__} split must be one of {list(self.SPLITS)}, got {split!r}"
            )
        self.root = Path(root).expanduser()
        self.split = split
        if not self.root.is_dir():
            self._layout_error(f"root directory {str(self.root)!r} does not exist")
        self.train = (split in (None, "train")) if train is None else bool(train)
        self.crop_size = int(options.crop_size)
        self.transform = options.transform(self.train)
        fixed = self.transform.fixed_resize() is not None
        #: Decoded, resized images (SampleOptions.cache_mb; None: off).
        self.cache: DecodeCache | None = (
            DecodeCache(int(options.cache_mb * 2**20))
            if options.cache_mb > 0 and fixed and options.saliency_dir is None else None
        )
        self.skip_log = options.skip_log
        self.max_retries = int(options.max_retries)
        num_scene_classes, num_seg_classes = options.num_scene_classes, options.num_seg_classes
        scene_labels, saliency_dir = options.scene_labels, options.saliency_dir
        self.skipped: list[tuple[str, str]] = []
        self._bad: set[int] = set()
        #: Scene class names when the dataset has hard scene labels (else empty).
        self.classes: list[str] = []

        records = self._scan()
        if not records:
            self._layout_error(f"no images found for split {split!r} under {str(self.root)!r}",
                               exc=ValueError)
        self.records: list[Record] = records
        #: Absolute image path of each index.
        self.paths: list[str] = [r.image for r in records]

        native_scene = len(self.classes)
        # Soft pseudo-labels replace a dataset's own classes (e.g. ImageNet's 1000 wnids).
        self.num_scene_classes = self._label_count(
            "num_scene_classes", num_scene_classes,
            0 if scene_labels is not None else native_scene, soft=scene_labels is not None,
        )  # fmt: skip
        self.num_seg_classes = self._label_count(
            "num_seg_classes", num_seg_classes, self.NATIVE_SEG_CLASSES
        )
        self.provides_seg = self.num_seg_classes > 0 and self.NATIVE_SEG_CLASSES > 0
        self._soft_idx: np.ndarray | None = None
        self._soft_prob: np.ndarray | None = None
        self._soft_ok: np.ndarray | None = None
        if scene_labels is not None:
            self._attach_scene_labels(scene_labels)
        self.saliency_dir: Path | None = None
        self._saliency_ok: np.ndarray | None = None
        if saliency_dir is not None:
            self._attach_saliency(saliency_dir)
        self.provides_scene = self.num_scene_classes > 0 and (
            scene_labels is not None or native_scene > 0
        )
        self.scene_names: list[str] = []
        if self.provides_scene:
            self.scene_names = (scene_label_class_names(scene_labels) if scene_labels is not None
                                else self._scene_names())  # fmt: skip
        self.seg_names: list[str] = self._seg_names() if self.provides_seg else []

    # ----------------------------------------------------------------- subclass hooks
    def _scan(self) -> list[Record]:
        """List the samples (subclasses). Raise via :meth:`_layout_error` on a bad layout."""
        raise NotImplementedError

    def _load_seg(self, record: Record, image_hw: tuple[int, int]) -> np.ndarray | None:
        """Label map of ``record`` as int64 (H,W) in [0, NATIVE_SEG_CLASSES) or IGNORE_INDEX.

        Raises :class:`BadLabelError` for unusable maps. Default: no segmentation.
        """
        return None

    def _scene_names(self) -> list[str]:
        """Human-readable names of :attr:`classes` (subclasses map ids to names)."""
        return list(self.classes)

    def _seg_names(self) -> list[str]:
        """Names of the segmentation classes by label value (default :attr:`SEG_NAMES`)."""
        return list(self.SEG_NAMES)

    # ----------------------------------------------------------------- helpers
    def _layout_error(self, problem: str, exc: type[Exception] = FileNotFoundError) -> None:
        source = f"\nGet it from {self.SOURCE}" if self.SOURCE else ""
        raise exc(f"{type(self).__name__}: {problem}. Expected layout:\n{self.LAYOUT.strip()}"
                  f"{source}")  # fmt: skip

    def _label_count(self, name: str, given: int | None, native: int, soft: bool = False) -> int:
        return resolve_label_count(type(self).__name__, name, given, native, soft=soft)

    def relpath(self, index: int) -> str:
        """Image path of ``index`` relative to ``root`` (POSIX): the key of scene-label files."""
        path, prefix = self.paths[index], str(self.root) + os.sep
        rel = path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, self.root)
        return normalize_name(rel)

    def _attach_scene_labels(self, path: str) -> None:
        if self.num_scene_classes == 0:
            raise ValueError(f"{type(self).__name__}: scene_labels given with num_scene_classes=0")
        table = load_scene_labels(path)
        n = len(self.records)
        k = next(iter(table.values()))[0].shape[0] if table else C.SCENE_PSEUDO_LABEL_TOPK
        idx = np.zeros((n, k), dtype=np.int64)
        prob = np.zeros((n, k), dtype=np.float32)
        ok = np.zeros(n, dtype=bool)
        for i in range(n):
            entry = table.get(self.relpath(i))
            if entry is not None:
                idx[i], prob[i], ok[i] = entry[0], entry[1], True
        if not ok.any():
            raise ValueError(
                f"{type(self).__name__}: none of the {n} images under {str(self.root)!r} is in "
                f"{path!r} (its keys must be image paths relative to the dataset root, e.g. "
                f"{self.relpath(0)!r})"
            )
        if ok.any() and idx[ok].max() >= self.num_scene_classes:
            raise ValueError(
                f"{path!r} has class index {int(idx[ok].max())} but "
                f"num_scene_classes={self.num_scene_classes}"
            )
        if not ok.all():
            logger.warning(
                "%s: %d of %d images have no entry in %s (has_scene=False for them)",
                type(self).__name__, int((~ok).sum()), n, path,
            )
        self._soft_idx, self._soft_prob, self._soft_ok = idx, prob, ok

    def _attach_saliency(self, saliency_dir: str | os.PathLike[str]) -> None:
        d = Path(saliency_dir).expanduser()
        if not d.is_dir():
            raise FileNotFoundError(
                f"{type(self).__name__}: saliency_dir {str(d)!r} is not a folder (make the "
                "maps with semcolor-label-saliency IMAGES --out DIR)"
            )
        # One walk of the folder instead of a stat per image.
        have: set[str] = set()
        for dirpath, _dirnames, filenames in os.walk(d, followlinks=True):
            rel_dir = os.path.relpath(dirpath, d)
            for f in filenames:
                if f.lower().endswith(MAP_SUFFIX) and not f.startswith("."):
                    have.add(normalize_name(os.path.join(rel_dir, f)))
        n = len(self.records)
        ok = np.zeros(n, dtype=bool)
        for i in range(n):
            rel = saliency_path(".", self.relpath(i)).as_posix()
            ok[i] = normalize_name(rel) in have
        if not ok.any():
            raise ValueError(
                f"{type(self).__name__}: none of the {n} images under {str(self.root)!r} has a "
                f"saliency map in {str(d)!r} (the map of {self.relpath(0)!r} would be "
                f"{str(saliency_path(d, self.relpath(0)))!r}: run semcolor-label-saliency "
                "with --root set to the dataset root)"
            )
        if not ok.all():
            logger.warning(
                "%s: %d of %d images have no saliency map in %s (has_saliency=False for them)",
                type(self).__name__, int((~ok).sum()), n, d,
            )
        self.saliency_dir, self._saliency_ok = d, ok

    def load_saliency_map(self, index: int, image_hw: tuple[int, int]) -> np.ndarray | None:
        """The saliency map of ``index`` as uint8 (H,W), untransformed, or None without one.

        Raises :class:`BadLabelError` for an unreadable map or one whose size is not
        ``image_hw``.
        """
        if self._saliency_ok is None or not self._saliency_ok[index]:
            return None

        path = str(saliency_path(self.saliency_dir, self.relpath(index)))
        sal = read_saliency_u8(path)
        if sal.shape != tuple(image_hw):
            raise BadLabelError(
                path,
                f"saliency map size {sal.shape[1]}x{sal.shape[0]} differs from image size "
                f"{image_hw[1]}x{image_hw[0]} ({self.records[index].image})",
            )
        return sal

    def _scene(self, index: int) -> tuple[torch.Tensor, bool]:
        vec = torch.zeros(self.num_scene_classes, dtype=torch.float32)
        if self.num_scene_classes == 0:
            return vec, False
        if self._soft_ok is not None:
            if not self._soft_ok[index]:
                return vec, False
            v = soft_scene_vector(
                self._soft_idx[index], self._soft_prob[index], self.num_scene_classes
            )
            return torch.from_numpy(v), True
        label = self.records[index].scene
        if label is None:
            return vec, False
        vec[label] = 1.0
        return vec, True

    def _record_skip(self, index: int, err: BadImageError) -> None:
        self._bad.add(index)
        entry = (err.path, err.reason)
        self.skipped.append(entry)
        logger.warning("%s: skipping %s (%s)", type(self).__name__, err.path, err.reason)
        if self.skip_log:
            append_skip_log(self.skip_log, err.path, err.reason)

    # ----------------------------------------------------------------- loading
    def load_arrays(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Decoded image uint8 (H,W,3) and label map int64 (H,W) or None, untransformed.

        Raises :class:`BadImageError` / :class:`BadLabelError`.
        """
        record = self.records[index]
        use_seg = self.provides_seg and record.seg is not None
        rgb = load_rgb(record.image, exif_transpose=self.exif_transpose and not use_seg)
        seg = None
        if use_seg:
            seg = self._load_seg(record, rgb.shape[:2])
        if seg is not None:
            where = record.seg if isinstance(record.seg, str) else record.image
            if seg.shape != rgb.shape[:2]:
                raise BadLabelError(
                    where,
                    f"label map size {seg.shape[1]}x{seg.shape[0]} differs from image size "
                    f"{rgb.shape[1]}x{rgb.shape[0]}",
                )
            valid = (seg == C.IGNORE_INDEX) | ((seg >= 0) & (seg < self.num_seg_classes))
            if not valid.all():
                raise BadLabelError(where, f"label value {int(seg[~valid][0])} out of range")
        return rgb, seg

    def _load_sample(self, index: int) -> dict[str, torch.Tensor]:
        scene, has_scene = self._scene(index)
        if self.cache is not None:
            item = self.cache.get(index)
            if item is None:
                rgb, seg = self.load_arrays(index)
                colorful = chroma_mean(rgb) >= C.COLOURLESS_CHROMA  # on the whole image
                rgb, seg = self.transform.presize(rgb, seg)
                self.cache.put(index, rgb, seg, colorful)
            else:
                rgb, seg, colorful = item
            return build_sample(rgb, seg, None, scene, has_scene, index, self.transform,
                                colour=self.options.colour, colorful=colorful)  # fmt: skip
        rgb, seg = self.load_arrays(index)
        sal = self.load_saliency_map(index, rgb.shape[:2])
        return build_sample(rgb, seg, sal, scene, has_scene, index, self.transform,
                            colour=self.options.colour)  # fmt: skip

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        n = len(self.records)
        index = int(index)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {type(self).__name__} of size {n}")
        index %= n
        last: BadImageError | None = None
        for attempt in range(min(n, self.max_retries + 1)):
            j = (index + attempt) % n
            if j in self._bad:
                continue
            try:
                return self._load_sample(j)
            except BadImageError as e:
                self._record_skip(j, e)
                last = e
        raise RuntimeError(
            f"{type(self).__name__}: no usable sample in {min(n, self.max_retries + 1)} "
            f"consecutive indices from {index} under {str(self.root)!r}"
            + (f" (last: {last})" if last else " (all previously skipped)")
        )

    def verify(self, indices: Sequence[int] | None = None) -> list[tuple[str, str]]:
        """Decode every (or the given) sample's image, labels and saliency map; return and
        record bad ones.

        Runs in the calling process (slow on big datasets: it decodes every file).
        """
        bad: list[tuple[str, str]] = []
        for i in range(len(self)) if indices is None else indices:
            try:
                rgb, _ = self.load_arrays(i)
                self.load_saliency_map(i, rgb.shape[:2])
            except BadImageError as e:
                self._record_skip(i, e)
                bad.append((e.path, e.reason))
        return bad

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, n={len(self)},"
            f" train={self.train}, crop={self.crop_size}, scene={self.num_scene_classes},"
            f" seg={self.num_seg_classes})"
        )
