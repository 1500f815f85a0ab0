"""Sharded streaming training data in LitData's optimized format (``semcolor-shard``,
``data=shards``).

Why LitData (Lightning AI's ``litdata``) and not WebDataset tar shards: with Lightning DDP it
does what multi-node training needs without code of ours. Each rank (and each loader worker)
reads its own chunks (shards); its ``StreamingDataLoader`` has ``state_dict`` /
``load_state_dict``, which Lightning saves in every checkpoint, so a resumed run continues
mid-epoch; ``drop_last`` (on by default under DDP) gives every rank the same number of
samples so collectives never wait on a rank that ran out; chunks are read from a local
folder or streamed from object storage (``s3://``, ``gs://``, ``azure://``, ``hf://``) with a
bounded local cache; and its ``optimize`` converts with checkpoints (a killed conversion
resumes) in a fixed order. WebDataset would need our own rank/worker splitting, equal-count
padding and resumable iteration state.

What a shard sample holds (one per source image; :func:`shard_record`): the image file's
own encoded bytes (no re-encoding), whether EXIF orientation applies, the label map as a
PNG of final label values (255, or 65535 above 255 classes, for ``IGNORE_INDEX``), the scene
vector (float32, already padded to the configured label space), the saliency map as PNG, the
source index and path. Decoding, augmentation and Lab conversion happen at read time, with
the same code as the folder datasets (:func:`semcolor.data.base.build_sample`), so random
crops differ per epoch as before.

Not a source: a weighted mix (:class:`semcolor.data.mixed.MixedDataset`, ``data=mixed``).
LitData streams every stored sample once per epoch in shuffled order, so a mix stored as
shards would be drawn in proportion to its members' sizes, not by its weights (the default
mix's 40/15/5/5/20/15% would become 11/2/0.6/0.3/85/1%); :func:`write_shards` refuses it.
LitData's own weighted combination (``CombinedStreamingDataset(weights=...)``, 0.2.76) is
no substitute as it stands: it ends an epoch as soon as any member runs out, has no length
(no fixed step count per epoch), and draws members from ``random.Random(seed)`` created
anew for every epoch and loader worker, i.e. the same member sequence in each. Train a mix
from its folders (``data=mixed``: drawn by weight, resumed exactly) or shard each source on
its own.

Bad data: a source file that cannot be decoded is skipped at conversion and listed (in the
report and ``semcolor_shards.json``). A member that is corrupt *in a shard* (bit rot, a
bad copy) is logged, appended to ``skip_log``, and replaced by an inert sample (gray,
``colorful``/``has_*`` False, ``index`` -1: every loss term masks it out), so the rank's
sample count, and with it DDP's step count, stays what LitData planned.
"""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import torch
from PIL import Image

# LitData's PyPI version check is off by default; make sure: nothing may go online.
os.environ.setdefault("LITDATA_DISABLE_VERSION_CHECK", "1")

from semcolor import constants as C  # noqa: E402
from semcolor.data.base import (  # noqa: E402
    ColorizationDataset,
    SampleOptions,
    append_skip_log,
    build_sample,
    resolve_label_count,
)
from semcolor.data.io import BadImageError, BadLabelError, load_rgb_bytes  # noqa: E402
from semcolor.data.mixed import MixedDataset  # noqa: E402

log = logging.getLogger("semcolor.data")

#: Version of the record layout below, stored in ``semcolor_shards.json``.
SHARD_FORMAT_VERSION = 1
#: The metadata file :func:`write_shards` adds next to LitData's ``index.json``.
META_NAME = "semcolor_shards.json"
#: Default chunk (shard) size (:data:`semcolor.constants.SHARD_CHUNK_BYTES`).
DEFAULT_CHUNK_BYTES = C.SHARD_CHUNK_BYTES
#: Label value that stands for ``IGNORE_INDEX`` in 8-bit / 16-bit label PNGs.
_IGNORE_U8, _IGNORE_U16 = 255, 65535


def _litdata():
    try:
        import litdata  # lazy: optional extra (semcolor[shards])
    except ImportError as e:  # pragma: no cover - the extra is in dev
        raise ImportError(
            "sharded data needs LitData: pip install 'semcolor[shards]'"
        ) from e
    return litdata


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _encode_seg(seg: np.ndarray, num_classes: int) -> bytes:
    if num_classes < _IGNORE_U8:
        out = np.where(seg == C.IGNORE_INDEX, _IGNORE_U8, seg).astype(np.uint8)
    else:
        out = np.where(seg == C.IGNORE_INDEX, _IGNORE_U16, seg).astype(np.uint16)
    return _png(out)


def _decode_png(data: bytes | memoryview, what: str, path: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(bytes(data))) as im:
            return np.array(im)  # writable: torch.from_numpy needs it
    except Exception as e:  # noqa: BLE001 - any decoder failure is a bad member
        raise BadLabelError(
            path, f"cannot decode the shard's {what} ({type(e).__name__}: {e})"
        ) from None


#: Why a weighted mix is no shard source (see the module docstring).
MIX_REFUSAL = (
    "a weighted mix (MixedDataset, e.g. data=mixed) cannot be sharded: shards are streamed "
    "with every stored sample drawn once per epoch, so its members would be drawn in "
    "proportion to their sizes, not by its weights. Train the mix from its folders "
    "(semcolor-train data=mixed, drawn by weight, exact resume), or shard one source at a time"
)


def _check_source(dataset: Any) -> ColorizationDataset:
    if isinstance(dataset, MixedDataset):
        raise ValueError(MIX_REFUSAL)
    if isinstance(dataset, ColorizationDataset):
        return dataset
    raise TypeError(
        f"semcolor-shard converts semcolor's folder datasets (ColorizationDataset), not "
        f"{type(dataset).__name__}"
    )


def shard_record(dataset: Any, index: int) -> dict[str, Any]:
    """The stored form of sample ``index`` of ``dataset`` (a ColorizationDataset).

    Keys: ``index`` (int, the source index), ``path`` (bytes, UTF-8), ``image`` (bytes, the file as
    stored), ``exif`` (int 0/1), ``seg`` (bytes: PNG, or empty), ``scene`` (bytes: float32
    (num_scene_classes,)), ``has_scene`` (int), ``saliency`` (bytes: PNG, or empty).

    Raises:
        BadImageError: the image, its label map or its saliency map is unusable (decoded and
            checked exactly as training would).
    """
    ds, local = _check_source(dataset), int(index)
    record = ds.records[local]
    rgb, seg = ds.load_arrays(local)  # decodes and validates, as training does
    sal = ds.load_saliency_map(local, rgb.shape[:2])
    scene, has_scene = ds._scene(local)
    try:
        with open(record.image, "rb") as f:
            data = f.read()
    except OSError as e:
        raise BadImageError(record.image, f"cannot read file ({e})") from None
    use_seg = ds.provides_seg and record.seg is not None
    return {
        "index": int(index),
        # bytes, not str: LitData stores a str naming an existing image file as that image
        "path": str(record.image).encode("utf-8"),
        "image": data,
        "exif": int(ds.exif_transpose and not use_seg),
        "seg": _encode_seg(seg, ds.num_seg_classes) if seg is not None else b"",
        "scene": scene.numpy().astype(np.float32).tobytes(),
        "has_scene": int(has_scene),
        "saliency": _png(sal) if sal is not None else b"",
    }


class _Encoder:
    """The per-item function handed to ``litdata.optimize`` (picklable for its workers):
    a record, or None for a bad source file (LitData then stores nothing for it)."""

    def __init__(self, dataset: Any, skip_log: str) -> None:
        self.dataset, self.skip_log = dataset, skip_log

    def __call__(self, index: int) -> dict[str, Any] | None:
        try:
            return shard_record(self.dataset, index)
        except BadImageError as e:
            append_skip_log(self.skip_log, e.path, e.reason)
            return None


@dataclass
class ShardReport:
    """What :func:`write_shards` did. ``skipped``: (path, reason) of bad source files."""

    out: str
    samples: int
    chunks: int
    skipped: list[tuple[str, str]] = field(default_factory=list)


def write_shards(
    dataset: Any,
    out: str | os.PathLike[str],
    chunk_bytes: str | int | None = DEFAULT_CHUNK_BYTES,
    chunk_size: int | None = None,
    num_workers: int = 1,
    overwrite: bool = False,
) -> ShardReport:
    """Convert ``dataset`` (every index, in order) into LitData chunks under ``out``.

    Deterministic (items in source order; chunk files are byte-identical for the same
    source, chunk size and ``num_workers``) and resumable (LitData's conversion
    checkpoints: rerunning an interrupted conversion continues it). A finished ``out`` is
    left alone unless ``overwrite``.

    Args:
        dataset: a ColorizationDataset (its label spaces are kept); not a weighted mix
            (:data:`MIX_REFUSAL`).
        out: a new or empty folder, an interrupted conversion's folder, or (``overwrite``)
            an old one.
        chunk_bytes / chunk_size: chunk limit in bytes ("64MB") or in samples (one of the
            two; ``chunk_size`` wins when given).
        num_workers: conversion processes.

    Raises:
        FileExistsError: ``out`` holds a finished conversion and ``overwrite`` is False.
        ValueError: no usable sample, or ``dataset`` is a MixedDataset.
        TypeError: ``dataset`` is no semcolor folder dataset.
    """
    first = _check_source(dataset)  # before anything is written
    ld = _litdata()
    out_p = Path(out).expanduser().resolve()
    meta_path = out_p / META_NAME
    if meta_path.is_file() and not overwrite:
        raise FileExistsError(
            f"{out_p} already holds finished shards ({META_NAME}); pass --overwrite to redo "
            "them or choose another --out"
        )
    if overwrite and out_p.is_dir():
        shutil.rmtree(out_p)
    out_p.mkdir(parents=True, exist_ok=True)
    skip_log = out_p.parent / f".{out_p.name}.skipped.tsv"
    resuming = (out_p / ".checkpoints").is_dir()
    if not resuming:
        skip_log.unlink(missing_ok=True)
    n = len(dataset)

    # LitData sets the global start method (spawn: forking a process that runs torch's
    # threads can deadlock); give the caller's back afterwards.
    previous = multiprocessing.get_start_method(allow_none=True)
    try:
        ld.optimize(
            fn=_Encoder(dataset, str(skip_log)),
            inputs=list(range(n)),
            output_dir=str(out_p),
            chunk_size=chunk_size,
            chunk_bytes=None if chunk_size else chunk_bytes,
            num_workers=int(num_workers),
            use_checkpoint=True,  # LitData's own resume of an interrupted conversion
            keep_data_ordered=True,  # deterministic: items in source order
            mode="append" if resuming else None,
            verbose=False,
        )
    finally:
        if previous is not None:
            multiprocessing.set_start_method(previous, force=True)
    index = json.loads((out_p / "index.json").read_text())
    samples = sum(int(c["chunk_size"]) for c in index["chunks"])
    skipped: dict[tuple[str, str], None] = {}
    if skip_log.is_file():
        for line in skip_log.read_text(encoding="utf-8").splitlines():
            p, _, reason = line.partition("\t")
            skipped.setdefault((p, reason), None)
    if samples == 0:
        raise ValueError(f"no usable sample among the {n} of {dataset!r}")
    meta = {
        "version": SHARD_FORMAT_VERSION,
        "samples": samples,
        "source_samples": n,
        "num_scene_classes": int(first.num_scene_classes),
        "num_seg_classes": int(first.num_seg_classes),
        "source": repr(dataset),
        "skipped": [list(s) for s in skipped],
    }
    tmp = meta_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, meta_path)  # the finished marker, written last
    skip_log.unlink(missing_ok=True)
    return ShardReport(str(out_p), samples, len(index["chunks"]), list(skipped))


def read_meta(root: str) -> dict[str, Any]:
    """``semcolor_shards.json`` of a shard folder or URL (fsspec)."""
    url = f"{str(root).rstrip('/')}/{META_NAME}"
    try:
        with fsspec.open(url, "r") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{url} not found: {root!r} is not a finished semcolor shard folder (make one "
            "with semcolor-shard SRC --out DIR; an interrupted conversion resumes when rerun)"
        ) from None
    if meta.get("version") != SHARD_FORMAT_VERSION:
        raise ValueError(
            f"{url}: shard format version {meta.get('version')}, this semcolor reads "
            f"{SHARD_FORMAT_VERSION}; convert again with this version's semcolor-shard"
        )
    return meta


def _streaming_base():
    return _litdata().StreamingDataset


class ShardDataset(_streaming_base()):  # type: ignore[misc]
    """Training samples streamed from ``semcolor-shard`` output (LitData
    ``StreamingDataset``): the :class:`semcolor.data.base.ColorizationDataset` contract.

    Under DDP each rank reads distinct chunks; with loader workers each worker its own.
    Iterate it with ``litdata.StreamingDataLoader`` (``SemColorDataModule`` does), whose
    state Lightning checkpoints.

    Args:
        root: the shard folder, or a URL LitData streams from (``s3://bucket/shards``...).
        options: crop, augmentation, skipping (:class:`SampleOptions`). Label counts: None
            takes the shards'; larger pads; smaller is an error. Scene labels and saliency
            maps are baked in at conversion, so ``scene_labels`` / ``saliency_dir`` must be
            None.
        shuffle: chunk and in-chunk order shuffled per epoch (seeded).
        seed: shuffle seed.
        drop_last: None: LitData's default (True under DDP: equal sample counts per rank,
            at most a few samples per epoch unseen; False: all seen, counts may differ by a
            chunk, which DDP collectives do not tolerate).
        cache_dir, max_cache_size: local chunk cache for remote shards (LitData's).
    """

    def __init__(
        self,
        root: str,
        options: SampleOptions | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool | None = None,
        cache_dir: str | None = None,
        max_cache_size: str | None = "50GB",
    ) -> None:
        options = SampleOptions() if options is None else options
        if options.scene_labels is not None or options.saliency_dir is not None:
            raise ValueError(
                "ShardDataset: scene_labels / saliency_dir are baked into shards at "
                "conversion; convert with them set (semcolor-shard ... data.scene_labels=...) "
                "and leave them None here"
            )
        root = str(root)
        if "://" not in root:
            root = str(Path(root).expanduser().resolve())
        self.meta = read_meta(root)
        self.root, self.options = root, options
        self.train = True if options.train is None else bool(options.train)
        self.crop_size = int(options.crop_size)
        # not ``transform``: LitData applies an attribute of that name to raw items
        self.geometry = options.transform(self.train)
        self.skip_log = options.skip_log
        self.skipped: list[tuple[str, str]] = []
        self.native_scene_classes = int(self.meta["num_scene_classes"])
        self.native_seg_classes = int(self.meta["num_seg_classes"])
        self.num_scene_classes = resolve_label_count(
            "ShardDataset", "num_scene_classes", options.num_scene_classes,
            self.native_scene_classes, whose="the shards'",
        )  # fmt: skip
        self.num_seg_classes = resolve_label_count(
            "ShardDataset", "num_seg_classes", options.num_seg_classes,
            self.native_seg_classes, whose="the shards'",
        )  # fmt: skip
        super().__init__(
            input_dir=root, shuffle=shuffle, seed=seed, drop_last=drop_last,
            cache_dir=cache_dir, max_cache_size=max_cache_size,
        )  # fmt: skip

    # LitData calls __getitem__ for every item (from __next__ too): decode here.
    def __getitem__(self, index: Any) -> dict[str, torch.Tensor]:
        raw = super().__getitem__(index)
        try:
            return self.decode(raw)
        except BadImageError as e:
            self._record_skip(e)
            return self.inert_sample()

    def decode(self, raw: dict[str, Any]) -> dict[str, torch.Tensor]:
        """A stored record (:func:`shard_record`) -> the sample contract.

        Raises:
            BadImageError: an undecodable member.
        """
        path = bytes(raw["path"]).decode("utf-8", errors="replace")
        rgb = load_rgb_bytes(bytes(raw["image"]), path, exif_transpose=bool(raw["exif"]))
        seg = None
        if len(raw["seg"]) and self.num_seg_classes > 0:
            m = _decode_png(raw["seg"], "label map", path).astype(np.int64)
            ignore = _IGNORE_U8 if self.native_seg_classes < _IGNORE_U8 else _IGNORE_U16
            seg = np.where(m == ignore, C.IGNORE_INDEX, m)
            if seg.shape != rgb.shape[:2] or int(seg.max(initial=-1)) >= self.num_seg_classes:
                raise BadLabelError(path, "the shard's label map does not fit its image")
        sal = None
        if len(raw["saliency"]):
            sal = _decode_png(raw["saliency"], "saliency map", path)
            if sal.shape != rgb.shape[:2]:
                raise BadLabelError(path, "the shard's saliency map does not fit its image")
        vec = np.frombuffer(bytes(raw["scene"]), dtype=np.float32)
        if vec.size != self.native_scene_classes:
            raise BadLabelError(path, f"scene vector of {vec.size} values in the shard")
        scene = torch.zeros(self.num_scene_classes, dtype=torch.float32)
        has_scene = bool(raw["has_scene"]) and self.num_scene_classes > 0
        if has_scene:
            scene[: vec.size] = torch.from_numpy(vec.copy())
        return build_sample(rgb, seg, sal, scene, has_scene, int(raw["index"]), self.geometry,
                            colour=self.options.colour)  # fmt: skip

    def inert_sample(self) -> dict[str, torch.Tensor]:
        """A stand-in for a corrupt member that no loss term learns from: mid-gray, not
        colourful, no labels, ``index`` -1."""
        s = self.crop_size
        gray = np.full((s, s, 3), 128, dtype=np.uint8)
        sample = build_sample(
            gray, None, None, torch.zeros(self.num_scene_classes), False, -1,
            self.options.replace(train=False, resize=None).transform(False),
        )  # fmt: skip
        sample["colorful"] = torch.tensor(False)
        return sample

    def _record_skip(self, err: BadImageError) -> None:
        entry = (err.path, err.reason)
        self.skipped.append(entry)
        log.warning("ShardDataset: skipping %s (%s)", err.path, err.reason)
        if self.skip_log:
            append_skip_log(self.skip_log, err.path, err.reason)

    def __repr__(self) -> str:
        return (
            f"ShardDataset(root={self.root!r}, n={self.meta['samples']}, train={self.train}, "
            f"crop={self.crop_size}, scene={self.num_scene_classes}, "
            f"seg={self.num_seg_classes})"
        )
