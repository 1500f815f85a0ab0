"""A small copy of a training recipe's data under a byte budget (``semcolor-pack``).

For a machine that cannot reach the datasets (a rented GPU reached by copying a few tens of
MB): the pack is a data root with the recipe's own layout, so the recipe trains from it
unchanged with ``paths.data_root=PACK``, its weighted mix included (the members keep their
draw weights; only the number of distinct images per member shrinks). Shards
(:mod:`semcolor.data.shards`) are no substitute: they refuse a weighted mix by design.

What goes in:

* **Validation** (the recipe's ``data.val``, e.g. imagen1k/val, a split for choosing):
  every file, byte for byte, so that validation scores exactly what ``semcolor-bench``
  scores on the source.
* **Training members**: a subset of each, chosen in a fixed order (the SHA-1 of the file's
  path relative to its dataset root, salted so that it is independent of the hash that
  holds out Caltech-101's validation part). The budget left after validation and the
  labels is shared out by the members' draw weights: a member drawn w% of the time gets
  w% of the bytes, so that every member's images are seen about equally often; a member
  with fewer images than its share gets them all and its unused share goes to the others.
  A member the mix never draws (weight 0) keeps ``min_images`` images, so that its folder
  exists. An image whose shorter side exceeds the recipe's resize (``data.resize``, the
  evaluation scale) is resized exactly as the training loader resizes it first
  (:meth:`semcolor.data.transforms.PairTransform.presize`: antialiased bilinear, its label
  map nearest) and stored as JPEG (``constants.PACK_JPEG_QUALITY``, 4:4:4); the loader then
  finds nothing left to resize. Every other image (and label map) is copied byte for byte.
* **Scene pseudo-labels**: each labels file, reduced to the packed images.
* ``manifest.json``: the recipe, the budget, per member what was packed, the command that
  trains from the pack, and the unreadable source files that were left out (their count and
  the first ``MANIFEST_SKIPPED``; ``semcolor-pack`` prints them all).

Only the recipe's own splits are read (its training members and its validation set): a
report split never enters a pack unless the recipe itself names it. The sources are only
read; the pack is written to a hidden folder beside ``out`` and renamed into place when it
is complete, so an interrupted run leaves no half pack behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from semcolor import constants as C
from semcolor.data.io import BadImageError, load_label_map, load_rgb_bytes
from semcolor.data.scene_labels import (
    load_scene_labels,
    normalize_name,
    save_scene_labels,
    scene_label_class_names,
    scene_label_classes,
)

#: ``manifest.json``'s ``format`` value: marks a folder as a pack (only a pack is replaced
#: by ``overwrite``).
PACK_FORMAT = "semcolor-pack"
PACK_VERSION = 1
#: Bytes kept back for ``manifest.json`` (it lists the members and at most
#: ``MANIFEST_SKIPPED`` of the skipped files, not images).
MANIFEST_RESERVE = 16 * 1024
MANIFEST_SKIPPED = 50
#: Salt of the order in which a member's images are packed (see the module docstring).
ORDER_SALT = "semcolor-pack\0"
_JPEG_SUFFIXES = (".jpg", ".jpeg")


@dataclass(frozen=True)
class PackMember:
    """One training dataset of the recipe and where it goes in the pack.

    Attributes:
        name: shown in reports (e.g. ``"imagenette2/train"``).
        dataset: the source dataset, built as the recipe builds it (a
            :class:`semcolor.data.base.ColorizationDataset`; its ``records`` name files).
        weight: its share of the mix's draws (0 to 1; 0 = never drawn).
        dest_root: the pack folder that stands for ``dataset.root``.
        scene_labels: (source labels file, pack labels file), or None.
    """

    name: str
    dataset: Any
    weight: float
    dest_root: Path
    scene_labels: tuple[Path, Path] | None = None


@dataclass(frozen=True)
class PackCopy:
    """Files copied byte for byte (the validation split): ``files`` under ``src_base`` go
    to the same relative paths under ``dest_base``."""

    name: str
    files: Sequence[str]
    src_base: Path
    dest_base: Path


@dataclass
class MemberReport:
    """What was packed of one member."""

    name: str
    weight: float
    available: int
    packed: int = 0
    bytes: int = 0
    resized: int = 0


@dataclass
class PackReport:
    """The outcome of :func:`pack_data` (also written to ``manifest.json``)."""

    out: Path
    max_bytes: int
    total_bytes: int = 0
    members: list[MemberReport] = field(default_factory=list)
    copies: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Item:
    """One encoded sample: (path relative to the member's root, bytes) of its files."""

    key: str
    files: list[tuple[str, bytes]]
    resized: bool

    @property
    def size(self) -> int:
        return sum(len(b) for _, b in self.files)


def order_key(relpath: str) -> str:
    """The packing order of an image (its path relative to the dataset root)."""
    return hashlib.sha1((ORDER_SALT + normalize_name(relpath)).encode("utf-8")).hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _encode_image(rgb: np.ndarray, jpeg: bool) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(rgb))
    if jpeg:
        im.save(buf, "JPEG", quality=C.PACK_JPEG_QUALITY, subsampling=C.PACK_JPEG_SUBSAMPLING)
    else:
        im.save(buf, "PNG")
    return buf.getvalue()


def _encode_label(seg: np.ndarray) -> bytes:
    buf = io.BytesIO()
    dtype = np.uint8 if seg.min() >= 0 and seg.max() < 256 else np.uint16
    Image.fromarray(seg.astype(dtype)).save(buf, "PNG")
    return buf.getvalue()


def encode_record(dataset: Any, index: int) -> _Item:
    """The files of sample ``index`` as the pack stores them (see the module docstring).

    Raises:
        BadImageError: the image or its label map cannot be read.
        ValueError: the dataset's labels are not files (nothing to copy).
    """
    rec = dataset.records[index]
    root = Path(dataset.root)
    rel = os.path.relpath(rec.image, root)
    if rec.seg is not None and not isinstance(rec.seg, (str, os.PathLike)):
        raise ValueError(
            f"{type(dataset).__name__}: its label maps are not files ({type(rec.seg).__name__});"
            " semcolor-pack packs datasets whose samples are image (and label map) files"
        )
    seg_rel = os.path.relpath(rec.seg, root) if rec.seg is not None else None
    try:
        raw = Path(rec.image).read_bytes()
        raw_seg = Path(rec.seg).read_bytes() if rec.seg is not None else None
    except OSError as e:
        raise BadImageError(rec.image, f"cannot read ({e.strerror or e})") from None
    short = dataset.transform.fixed_resize()
    try:
        with Image.open(io.BytesIO(raw)) as im:
            w, h = im.size
    except Exception as e:  # noqa: BLE001 - PIL raises many types for a bad file
        raise BadImageError(rec.image, f"not an image ({type(e).__name__})") from None
    if short is None or min(h, w) <= short:  # the loader resizes it itself (or upscales)
        files = [(rel, raw)] + ([(seg_rel, raw_seg)] if seg_rel is not None else [])
        return _Item(rel, files, resized=False)
    # As ColorizationDataset.load_arrays reads it: no EXIF turn when a label map indexes it.
    use_seg = bool(getattr(dataset, "provides_seg", False)) and rec.seg is not None
    rgb = load_rgb_bytes(raw, rec.image, exif_transpose=dataset.exif_transpose and not use_seg)
    seg = load_label_map(rec.seg).astype(np.int64) if rec.seg is not None else None
    if seg is not None and seg.shape != rgb.shape[:2]:
        raise BadImageError(rec.seg, f"label map size {seg.shape[::-1]} differs from the "
                                     f"image's {rgb.shape[1::-1]}")  # fmt: skip
    rgb, seg = dataset.transform.presize(rgb, seg)
    files = [(rel, _encode_image(rgb, Path(rel).suffix.lower() in _JPEG_SUFFIXES))]
    if seg is not None:
        files.append((seg_rel, _encode_label(seg)))
    return _Item(rel, files, resized=True)


class _Feed:
    """A member's images in packing order, encoded one ahead (the next one that fits)."""

    def __init__(self, member: PackMember, report: MemberReport, skipped: list):
        self.member, self.report, self.skipped = member, report, skipped
        ds = member.dataset
        keyed = sorted((order_key(os.path.relpath(r.image, ds.root)), i)
                       for i, r in enumerate(ds.records))  # fmt: skip
        self._order = iter([i for _, i in keyed])
        self._next: _Item | None = None
        self.done = False
        self.keys: list[str] = []

    def peek(self) -> _Item | None:
        while self._next is None and not self.done:
            i = next(self._order, None)
            if i is None:
                self.done = True
                break
            try:
                self._next = encode_record(self.member.dataset, i)
            except BadImageError as e:
                self.skipped.append((str(e.path), e.reason))
        return self._next

    def take(self, writer: _Writer) -> int:
        item, self._next = self._next, None
        n = writer.write(self.member.dest_root, item.files)
        self.report.packed += 1
        self.report.bytes += n
        self.report.resized += int(item.resized)
        self.keys.append(normalize_name(item.key))
        return n


class _Writer:
    """Writes files below the staging folder and counts the bytes (a file two members share
    is written and counted once)."""

    def __init__(self, staging: Path, out: Path):
        self.staging, self.out = staging, out
        self.written: set[Path] = set()
        self.bytes = 0

    def target(self, dest: Path) -> Path:
        return self.staging / dest.relative_to(self.out)

    def write(self, dest_root: Path, files: list[tuple[str, bytes]]) -> int:
        n = 0
        for rel, data in files:
            path = self.target(dest_root / rel)
            if path in self.written:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.written.add(path)
            n += len(data)
        self.bytes += n
        return n


def _share_out(feeds: list[_Feed], budget: int, writer: _Writer) -> None:
    """Fill the members up to their weight's share of ``budget``, handing the share a member
    cannot use (it ran out of images) to the others, until nothing more fits."""
    active = [f for f in feeds if f.member.weight > 0]
    remaining = budget
    while active:
        total_w = sum(f.member.weight for f in active)
        shares = [remaining * f.member.weight / total_w for f in active]
        progressed = False
        for f, share in zip(active, shares, strict=True):
            used = 0
            while (item := f.peek()) is not None and used + item.size <= share:
                used += f.take(writer)
                progressed = True
            remaining -= used
        active = [f for f in active if f.peek() is not None]
        if not progressed:
            break


def _check_out(out: Path, sources: list[Path], overwrite: bool) -> None:
    for src in sources:
        if _inside(out, src) or _inside(src, out):
            raise ValueError(
                f"the pack folder {out} overlaps the source {src}: choose a folder outside "
                "every source (the sources are only read)"
            )
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder; choose another --out")
        if any(out.iterdir()):
            if not _is_pack(out):
                raise FileExistsError(
                    f"{out} is not empty and holds no pack ({out / 'manifest.json'} is not a "
                    f"{PACK_FORMAT} manifest); choose a new or empty folder"
                )
            if not overwrite:
                raise FileExistsError(f"{out} already holds a pack; pass overwrite (--overwrite) "
                                      "to replace it")  # fmt: skip


def _is_pack(folder: Path) -> bool:
    try:
        return json.loads((folder / "manifest.json").read_text()).get("format") == PACK_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def folder_bytes(folder: str | os.PathLike[str]) -> int:
    """Total size in bytes of the files below ``folder`` (what a copy of it transfers)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def pack_data(
    members: Sequence[PackMember],
    copies: Sequence[PackCopy],
    out: str | os.PathLike[str],
    max_bytes: int,
    *,
    min_images: int = C.PACK_MIN_IMAGES_UNDRAWN,
    manifest: dict[str, Any] | None = None,
    overwrite: bool = False,
    keep_out: Sequence[str | os.PathLike[str]] = (),
) -> PackReport:
    """Write a pack of ``members`` (a subset, by weight) and ``copies`` (whole) to ``out``.

    Args:
        members: the recipe's training datasets with their draw weights and pack folders.
        copies: file sets copied whole and byte for byte (the validation split).
        out: the pack folder (new, empty, or an earlier pack with ``overwrite``); every
            ``dest_root`` / ``dest_base`` / labels destination lies below it.
        max_bytes: the most the pack's files may hold together (``manifest.json`` included).
        min_images: images kept of a member whose weight is 0.
        manifest: extra entries for ``manifest.json`` (the recipe's overrides, the command
            that trains from the pack...).
        overwrite: replace an earlier pack in ``out``.
        keep_out: more folders ``out`` may not overlap (the data locations the sources lie
            in: a pack is never written into them).

    Returns:
        A :class:`PackReport`; unreadable source files are left out and listed in
        ``skipped`` (and in the manifest).

    Raises:
        ValueError: ``out`` overlaps a source; a destination outside ``out``; the budget
            cannot hold the validation files, the labels and at least one image of every
            drawn member (the message gives the sizes).
        FileExistsError: ``out`` holds something else, or a pack without ``overwrite``.
    """
    out = Path(os.path.abspath(os.path.expanduser(out)))
    sources = [Path(os.path.abspath(m.dataset.root)) for m in members]
    sources += [Path(os.path.abspath(c.src_base)) for c in copies]
    sources += [Path(os.path.abspath(m.scene_labels[0])) for m in members if m.scene_labels]
    sources += [Path(os.path.abspath(os.path.expanduser(k))) for k in keep_out]
    _check_out(out, sources, overwrite)
    dests = [m.dest_root for m in members] + [c.dest_base for c in copies]
    dests += [m.scene_labels[1] for m in members if m.scene_labels]
    for d in dests:
        if not _inside(Path(os.path.abspath(d)), out):
            raise ValueError(f"{d} is not below the pack folder {out}")
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be > 0, got {max_bytes}")

    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        report = _pack_into(staging, out, members, copies, max_bytes, min_images,
                            manifest or {})  # fmt: skip
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():  # an empty folder, or an earlier pack being replaced (checked above)
        shutil.rmtree(out)
    staging.rename(out)
    return report


def _pack_into(staging: Path, out: Path, members: Sequence[PackMember],
               copies: Sequence[PackCopy], max_bytes: int, min_images: int,
               extra: dict[str, Any]) -> PackReport:  # fmt: skip
    report = PackReport(out=out, max_bytes=int(max_bytes))
    writer = _Writer(staging, out)
    for c in copies:  # validation: every file, byte for byte
        n = 0
        for f in c.files:
            rel = os.path.relpath(f, c.src_base)
            n += writer.write(c.dest_base, [(rel, Path(f).read_bytes())])
        report.copies[c.name] = {"files": len(c.files), "bytes": n,
                                 "path": os.path.relpath(c.dest_base, out)}  # fmt: skip
    labels_src = {m.scene_labels[0] for m in members if m.scene_labels}
    labels_reserve = sum(Path(p).stat().st_size for p in labels_src)
    fixed = writer.bytes + labels_reserve + MANIFEST_RESERVE
    if fixed >= max_bytes:
        raise ValueError(
            f"the budget of {max_bytes / 1e6:.2f} MB cannot hold the validation files "
            f"({writer.bytes / 1e6:.2f} MB), the scene labels ({labels_reserve / 1e6:.2f} MB) "
            f"and the manifest; give more than {fixed / 1e6:.2f} MB"
        )
    feeds = []
    for m in members:
        r = MemberReport(m.name, float(m.weight), len(m.dataset.records))
        report.members.append(r)
        feeds.append(_Feed(m, r, report.skipped))
    for f in feeds:  # undrawn members: a few images, so that their folders exist
        if f.member.weight <= 0:
            while f.report.packed < min_images and f.peek() is not None:
                f.take(writer)
    for f in feeds:  # a mix refuses an empty member: one image of each drawn one first
        if f.member.weight > 0 and f.peek() is not None:
            f.take(writer)
    budget = max_bytes - writer.bytes - labels_reserve - MANIFEST_RESERVE
    if budget < 0:
        need = writer.bytes + labels_reserve + MANIFEST_RESERVE
        raise ValueError(
            f"the budget of {max_bytes / 1e6:.2f} MB cannot hold the validation files, the "
            f"scene labels, the manifest and one image of every member ({need / 1e6:.2f} MB); "
            f"give more than {need / 1e6:.2f} MB"
        )
    _share_out(feeds, budget, writer)
    empty = [f.member.name for f in feeds if f.report.packed == 0]
    if empty:
        raise ValueError(f"no readable image in {empty}: nothing to pack for them")
    for src in sorted(labels_src):  # scene labels, reduced to the packed images
        keep = set()
        dest = None
        for m, f in zip(members, feeds, strict=True):
            if m.scene_labels and m.scene_labels[0] == src:
                keep.update(f.keys)
                dest = m.scene_labels[1]
        table = load_scene_labels(src)
        names = [n for n in table if n in keep]
        k = max((len(table[n][0]) for n in names), default=C.SCENE_PSEUDO_LABEL_TOPK)
        idx = np.array([table[n][0] for n in names], np.int64).reshape(len(names), k)
        prob = np.array([table[n][1] for n in names], np.float32).reshape(len(names), k)
        class_names = scene_label_class_names(src) or None
        target = writer.target(Path(dest))
        target.parent.mkdir(parents=True, exist_ok=True)
        save_scene_labels(target, names, idx, prob, num_classes=scene_label_classes(src),
                          class_names=class_names)  # fmt: skip
        writer.bytes += target.stat().st_size
        report.labels[str(dest)] = len(names)
    manifest = {
        "format": PACK_FORMAT, "version": PACK_VERSION, **extra,
        "max_bytes": report.max_bytes,
        "jpeg": {"quality": C.PACK_JPEG_QUALITY, "subsampling": C.PACK_JPEG_SUBSAMPLING},
        "members": [vars(r) for r in report.members],
        "copied": report.copies, "scene_labels": report.labels,
        "skipped_count": len(report.skipped),
        "skipped": [list(s) for s in report.skipped[:MANIFEST_SKIPPED]],
    }  # fmt: skip
    manifest["data_bytes"] = writer.bytes  # every file but this manifest
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1))
    report.total_bytes = folder_bytes(staging)
    if report.total_bytes > max_bytes:  # the reserves above make this unreachable
        raise RuntimeError(f"pack of {report.total_bytes} bytes exceeds {max_bytes}")
    return report
