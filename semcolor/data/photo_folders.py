"""Training photo folders from published dataset layouts (``semcolor-prepare-photos``).

Two public photo collections widen what the colour heads see beyond ``../shared``:

* **Imagenette2** (fast.ai; ``train/<wnid>/*.JPEG``, ``val/<wnid>/*.JPEG``): its published
  splits are kept, ``train`` to train and ``val`` to choose.
* **Caltech-101** (Fei-Fei, Fergus, Perona 2004; ``<class>/image_NNNN.jpg``): it has no
  split, so a deterministic part, chosen by the hash of each file's path
  (:func:`semcolor.data.base.in_holdout`), is held out as ``val`` for choosing; the rest is
  ``train``. Whole classes are stored as 1-channel gray JPEGs.

The output is ``OUT/train/<class>/<file>`` and ``OUT/val/<class>/<file>``, each file a
byte-for-byte copy of its source (never re-encoded), readable by ``data=folder`` or as
members of a mix (``data=photos``). Left out, and listed in ``OUT/dropped.tsv`` (path,
reason): colourless images (the datasets' own rule: mean Lab chroma below
``constants.COLOURLESS_CHROMA``; they would train no colour head), images whose shorter side
is below ``min_side`` and unreadable files. ``OUT/manifest.json`` records the source, the
layout, the settings and the counts. The source is only read; ``OUT`` may not lie inside it
(nor it inside ``OUT``). A second run with the same settings continues an interrupted one
(files already copied with the same size are kept).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from semcolor import constants as C
from semcolor.data.base import chroma_mean, in_holdout
from semcolor.data.io import BadImageError, is_image_file, load_rgb

#: Layouts this module reads (:data:`semcolor.constants.PHOTO_LAYOUTS`).
LAYOUTS = C.PHOTO_LAYOUTS
#: Output splits.
SPLITS: tuple[str, ...] = ("train", "val")
_WNID = re.compile(r"n\d{8}")
_CALTECH_FILE = re.compile(r"image_\d{4}\.jpe?g", re.IGNORECASE)
MANIFEST, DROPPED = "manifest.json", "dropped.tsv"


class LayoutError(ValueError):
    """The source folder does not have the layout asked for (the message shows it)."""


@dataclass
class PrepareResult:
    """What :func:`prepare_photos` did: counts per split and every file left out."""

    layout: str
    copied: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    kept_existing: int = 0
    colourless: list[tuple[str, str]] = field(default_factory=list)
    too_small: list[tuple[str, str]] = field(default_factory=list)
    bad: list[tuple[str, str]] = field(default_factory=list)

    @property
    def dropped(self) -> list[tuple[str, str]]:
        return [*self.colourless, *self.too_small, *self.bad]


def _subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and is_image_file(p.name))


def detect_layout(src: Path) -> str:
    """The layout of ``src`` (a :data:`LAYOUTS` key).

    Raises:
        LayoutError: neither layout fits (the message shows both).
    """
    if (src / "train").is_dir() and (src / "val").is_dir():
        return "imagenette2"
    classes = _subdirs(src) if src.is_dir() else []
    if classes and any(_CALTECH_FILE.fullmatch(p.name) for p in _images(classes[0])):
        return "caltech101"
    raise LayoutError(_layout_message(src, "its layout is none of the known ones"))


def _layout_message(src: Path, problem: str) -> str:
    lines = "\n".join(f"  {k}: {v}" for k, v in LAYOUTS.items())
    return f"{src}: {problem}. Expected one of:\n{lines}"


def plan(src: Path, layout: str, holdout_fraction: float) -> list[tuple[Path, str, str]]:
    """Every source image with its output split and relative output path, in sorted order.

    Raises:
        LayoutError: ``src`` does not have ``layout``.
        ValueError: an unknown layout (the message lists the valid ones).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; valid: {sorted(LAYOUTS)} or 'auto'")
    out: list[tuple[Path, str, str]] = []
    if layout == "imagenette2":
        for split in SPLITS:
            d = src / split
            if not d.is_dir():
                raise LayoutError(_layout_message(src, f"there is no {split}/ folder"))
            classes = _subdirs(d)
            wrong = [c.name for c in classes if not _WNID.fullmatch(c.name)]
            if not classes or wrong:
                raise LayoutError(_layout_message(
                    src, f"{split}/ must hold wnid class folders"
                    + (f" (found {wrong[:3]})" if wrong else " (it holds none)"),
                ))  # fmt: skip
            out += [(p, split, f"{c.name}/{p.name}") for c in classes for p in _images(c)]
    else:
        classes = _subdirs(src)
        if not classes:
            raise LayoutError(_layout_message(src, "it holds no class folders"))
        if {c.name for c in classes} & set(SPLITS):
            raise LayoutError(_layout_message(
                src, "it holds train/ or val/ folders: Caltech-101 has no split (is this "
                "Imagenette2? use --layout imagenette2)",
            ))  # fmt: skip
        for c in classes:
            for p in _images(c):
                rel = f"{c.name}/{p.name}"
                split = "val" if in_holdout(rel, holdout_fraction) else "train"
                out.append((p, split, rel))
    if not out:
        raise LayoutError(_layout_message(src, "it holds no images"))
    return out


def _check_paths(src: Path, out: Path) -> None:
    s, o = src.resolve(), out.resolve()
    if s == o or s in o.parents or o in s.parents:
        raise ValueError(
            f"--out {out} and the source {src} overlap; the source is only read: give an "
            "output folder outside it (and not one that contains it)"
        )


def _check_out(out: Path, settings: dict) -> None:
    """OUT must be empty/absent, or the output of an earlier run with the same settings."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    manifest = out / MANIFEST
    if manifest.is_file():
        before = json.loads(manifest.read_text(encoding="utf-8")).get("settings")
        if before != settings:
            raise ValueError(
                f"{out} holds the output of a run with other settings ({before}); use another "
                "--out folder, or the same settings to continue that run"
            )
        return
    if any(out.iterdir()):
        raise ValueError(f"--out {out} is not empty and holds no {MANIFEST}: give a new folder")


def _copy(src: Path, dst: Path) -> bool:
    """Copy atomically (temp file + rename); False when ``dst`` already holds it."""
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.partial")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def prepare_photos(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    layout: str = "auto",
    holdout_fraction: float = C.CALTECH_HOLDOUT_FRACTION,
    min_side: int = C.PHOTO_MIN_SIDE,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> PrepareResult:
    """Build ``out/{train,val}/<class>/<file>`` from a published layout (module docstring).

    Args:
        src: the dataset as published (``imagenette2/`` or ``caltech-101/``).
        out: output folder: absent, empty, or an earlier run's with the same settings.
        layout: a :data:`LAYOUTS` key or "auto" (detected).
        holdout_fraction: Caltech-101's held-out (``val``) fraction, in [0, 1); Imagenette2
            keeps its published split and ignores it.
        min_side: drop images whose shorter side is below this (0 = keep all).
        progress: wraps the file iterable (e.g. ``tqdm``), or None.

    Raises:
        FileNotFoundError: ``src`` is not a folder.
        LayoutError: ``src`` lacks the layout. ValueError: bad settings or output folder.
    """
    src, out = Path(src).expanduser(), Path(out).expanduser()
    if not src.is_dir():
        raise FileNotFoundError(f"source folder {src} does not exist")
    if min_side < 0:
        raise ValueError(f"min_side must be >= 0, got {min_side}")
    if not 0.0 <= holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
    _check_paths(src, out)
    layout = detect_layout(src) if layout == "auto" else layout
    files = plan(src, layout, holdout_fraction)
    settings = {"layout": layout, "min_side": int(min_side),
                "holdout_fraction": float(holdout_fraction) if layout == "caltech101" else None,
                "colourless_chroma": C.COLOURLESS_CHROMA}  # fmt: skip
    _check_out(out, settings)
    out.mkdir(parents=True, exist_ok=True)
    result = PrepareResult(layout)
    # The manifest first: an interrupted run's folder is then recognised and continued.
    _write_manifest(out, src, settings, result, complete=False)
    for path, split, rel in progress(files) if progress else files:
        try:
            rgb = load_rgb(path)
        except BadImageError as e:
            result.bad.append((str(path), e.reason))
            continue
        h, w = rgb.shape[:2]
        if min(h, w) < min_side:
            result.too_small.append((str(path), f"too small: {w}x{h} < {min_side} px"))
            continue
        chroma = chroma_mean(rgb)
        if chroma < C.COLOURLESS_CHROMA:
            result.colourless.append(
                (str(path), f"colourless: mean chroma {chroma:.2f} < {C.COLOURLESS_CHROMA}")
            )
            continue
        if _copy(path, out / split / rel):
            result.copied[split] += 1
        else:
            result.kept_existing += 1
    _write_reports(out, src, settings, result)
    return result


def _write_reports(out: Path, src: Path, settings: dict, result: PrepareResult) -> None:
    with open(out / DROPPED, "w", encoding="utf-8") as f:
        f.write("path\treason\n")
        f.writelines(f"{p}\t{r}\n" for p, r in result.dropped)
    _write_manifest(out, src, settings, result, complete=True)


def _write_manifest(
    out: Path, src: Path, settings: dict, result: PrepareResult, complete: bool
) -> None:
    counts = {s: sum(1 for _ in (out / s).rglob("*") if _.is_file()) if (out / s).is_dir()
              else 0 for s in SPLITS}  # fmt: skip
    manifest = {
        "source": str(src.resolve()),
        "settings": settings,
        "images": counts,
        "dropped": {"colourless": len(result.colourless), "too_small": len(result.too_small),
                    "unreadable": len(result.bad)},
        "complete": complete,
        "made_by": "semcolor-prepare-photos",
    }  # fmt: skip
    tmp = out / f".{MANIFEST}.partial"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
