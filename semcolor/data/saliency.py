"""Per-image saliency maps as pseudo-labels (what ``semcolor-label-saliency`` runs).

SCGAN (Zhao et al., "SCGAN: Saliency Map-guided Colorization with Generative Adversarial
Network", IEEE TCSVT 2020) guides colorization with a saliency map predicted for each image
and found saliency maps of the *object-detection* kind (salient-object masks) more useful
than *fixation* (eye-tracking) saliency. Their maps come from a trained network; here the
classical OpenCV detectors (``opencv-contrib-python-headless``: spectral residual, Hou &
Zhang 2007; fine-grained, Montabone & Soto 2010) are the offline, weight-free stand-in: no
download, no GPU, deterministic. A better detector plugs in as ``package.module:function``.

Layout: the map of image ``relpath`` (the POSIX path relative to the dataset root that
``dataset.relpath(i)`` gives) is ``out_dir/<relpath with suffix .png>``, an 8-bit grayscale
PNG (0..255 for saliency 0..1). Datasets read the maps with ``saliency_dir=out_dir``.

Pieces (usable without the CLI):

* :data:`DETECTORS` / :func:`resolve_detector` — ``rgb uint8 (H,W,3) -> float32 (H,W)`` in
  [0, 1] callables by name, or a user's ``module:function``;
* :func:`saliency_path` — where the map of an image lives;
* :func:`label_saliency` — the resumable loop writing maps atomically;
* :func:`load_saliency` — a map back as float32 (H,W) in [0, 1].
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from semcolor.data.io import (  # the map files' names and reader live in io, below base
    BadImageError,
    load_rgb,
    read_saliency_u8,
    saliency_path,
)
from semcolor.data.pseudo_labels import collect_images

log = logging.getLogger("semcolor.label_saliency")

#: A saliency detector: uint8 (H,W,3) RGB -> float32 (H,W) in [0, 1].
Detector = Callable[[np.ndarray], np.ndarray]
#: Hidden file in ``out_dir`` naming the detector the maps were made with.
MANIFEST = ".semcolor-saliency.json"


def normalise(saliency: np.ndarray) -> np.ndarray:
    """Min-max normalise a map to float32 [0, 1] per image; a constant map gives zeros."""
    m = np.asarray(saliency, dtype=np.float32)
    m = np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(m.min()), float(m.max())) if m.size else (0.0, 0.0)
    if hi - lo <= 1e-12:
        return np.zeros(m.shape, np.float32)
    return ((m - lo) / (hi - lo)).astype(np.float32)


def _opencv(factory_name: str) -> Detector:
    def detect(rgb: np.ndarray) -> np.ndarray:
        bgr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[..., ::-1])
        if bgr.size == 0 or (bgr == bgr[:1, :1]).all():
            # a featureless image has no salient part (spectral residual returns FFT noise
            # blown up by its own normalisation there)
            return np.zeros(bgr.shape[:2], np.float32)
        ok, sal = getattr(cv2.saliency, factory_name)().computeSaliency(bgr)
        if not ok or sal is None:
            return np.zeros(bgr.shape[:2], np.float32)
        return normalise(sal)

    detect.__name__ = factory_name
    detect.__doc__ = (
        f"cv2.saliency.{factory_name}() on the image, min-max normalised (zeros for a "
        "constant image)."
    )
    return detect


#: Built-in detectors (classical, no weights).
DETECTORS: dict[str, Detector] = {
    "spectral_residual": _opencv("StaticSaliencySpectralResidual_create"),
    "fine_grained": _opencv("StaticSaliencyFineGrained_create"),
}


def resolve_detector(name: str | Detector) -> Detector:
    """A detector by registry name (:data:`DETECTORS`) or ``"package.module:function"``.

    The imported function must have the detectors' contract: uint8 (H,W,3) RGB -> (H,W)
    float in [0, 1]. A callable is returned as is.

    Raises:
        ValueError: unknown name, unimportable module, or a missing / non-callable function.
    """
    if callable(name):
        return name
    name = str(name).strip()
    if name in DETECTORS:
        return DETECTORS[name]
    valid = f"{', '.join(DETECTORS)}, or 'package.module:function' (your own detector)"
    mod_name, sep, func_name = name.partition(":")
    if not sep or not mod_name or not func_name:
        raise ValueError(f"unknown saliency detector {name!r}; valid: {valid}")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise ValueError(f"saliency detector {name!r}: cannot import {mod_name!r} ({e})") from e
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ValueError(
            f"saliency detector {name!r}: {mod_name!r} has no function {func_name!r}; "
            f"valid: {valid}"
        )
    return func


def to_uint8(saliency: np.ndarray) -> np.ndarray:
    """float [0, 1] (H,W) -> uint8 0..255 (rounded), the stored form."""
    return np.rint(np.clip(saliency, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_saliency(path: str | os.PathLike[str], saliency: np.ndarray) -> None:
    """Write a map (float [0, 1] or uint8) as an 8-bit grayscale PNG, atomically: a temp
    file in the same folder, then ``os.replace`` (an interruption leaves no partial map)."""
    path = Path(path)
    arr = saliency if saliency.dtype == np.uint8 else to_uint8(saliency)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        Image.fromarray(arr, mode="L").save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_saliency(path: str | os.PathLike[str]) -> np.ndarray:
    """A map (PNG) as float32 (H,W) in [0, 1].

    Raises:
        BadLabelError: missing, unreadable, or not a single-channel map.
    """
    return read_saliency_u8(path).astype(np.float32) / 255.0


@dataclass
class SaliencyResult:
    """What :func:`label_saliency` did."""

    out_dir: Path
    written: int = 0  #: maps written in this call
    skipped_existing: int = 0  #: images whose map was already there
    bad: list[tuple[str, str]] = field(default_factory=list)  #: (image path, reason)


def _detector_id(detector: str | Detector) -> str:
    if isinstance(detector, str):
        return detector.strip()
    return f"{getattr(detector, '__module__', '?')}:{getattr(detector, '__qualname__', '?')}"


def _check_manifest(out_dir: Path, ident: str, overwrite: bool) -> None:
    path = out_dir / MANIFEST
    if path.is_file() and not overwrite:
        try:
            old = json.loads(path.read_text(encoding="utf-8")).get("detector", "")
        except (OSError, ValueError, AttributeError):
            old = ""
        if old and old != ident:
            raise ValueError(
                f"the maps in {out_dir} were made with detector {old!r}, not {ident!r}: use "
                "that detector to continue, another --out, or --overwrite to redo them all"
            )
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"detector": ident}) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def label_saliency(
    images: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    detector: str | Detector = "spectral_residual",
    root: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> SaliencyResult:
    """Write the saliency map of every image under ``images`` to ``out_dir``.

    Images are read as training reads them (:func:`semcolor.data.io.load_rgb`, EXIF
    orientation applied). Each map goes to :func:`saliency_path` ``(out_dir, key)`` where
    ``key`` is the image path relative to ``root``, atomically. Resumable: an existing map is
    kept (counted in ``skipped_existing``) unless ``overwrite``; a hidden manifest in
    ``out_dir`` refuses to continue with another detector. Unreadable images are listed in
    ``bad`` and the others are written. Two images whose maps would share a name (``a.jpg``
    and ``a.png``) are both listed in ``bad`` (a dataset could not tell their maps apart).

    Args:
        images: folder of images (recursive) or a text file with one path per line
            (:func:`semcolor.data.pseudo_labels.collect_images`).
        out_dir: where the maps go. It must not be the images folder or ``root`` (maps and
            photos would mix, and a map could replace a ``.png`` photo); a folder inside
            the images folder is allowed and its files are never taken as images (a hidden
            name such as ``.saliency`` also keeps dataset folders from listing them).
        detector: a :data:`DETECTORS` name, ``"module:function"``, or a callable.
        root: the dataset root the keys are relative to (pass the dataset's ``root``);
            default ``images`` (or the list file's folder).
        overwrite: recompute maps that exist.
        progress: show a progress bar (None: only when stderr is a terminal).

    Raises:
        FileNotFoundError: ``images`` does not exist. ValueError: unknown detector, a bad
        ``out_dir``, an image outside ``root``, or a detector returning a wrong map.
    """
    detect = resolve_detector(detector)
    out = Path(out_dir).expanduser()
    out_abs = Path(os.path.abspath(out))
    images_p = Path(images).expanduser()
    folders = {Path(os.path.abspath(images_p if images_p.is_dir() else images_p.parent))}
    if root is not None:
        folders.add(Path(os.path.abspath(Path(root).expanduser())))
    for folder in sorted(folders):
        if out_abs == folder or (out.exists() and folder.exists() and out.samefile(folder)):
            raise ValueError(
                f"--out {out} is the images folder {folder}: the maps would mix with the "
                "photos (and could replace .png photos); choose another folder, e.g. "
                f"{folder.parent / (folder.name + '_saliency')}"
            )
    items = collect_images(images, root)
    inside = [k for k, p in items if _inside(Path(os.path.abspath(p)), out_abs)]
    if inside:
        log.info("ignoring %d files under --out %s (maps, not images)", len(inside), out)
        items = [(k, p) for k, p in items if not _inside(Path(os.path.abspath(p)), out_abs)]
    if not items:
        raise ValueError(f"no images found in {images}")
    result = SaliencyResult(out_dir=out)

    by_map: dict[Path, list[tuple[str, str]]] = {}
    for key, path in items:
        by_map.setdefault(saliency_path(out, key), []).append((key, path))
    image_files = {os.path.abspath(p) for _, p in items}
    todo: list[tuple[str, Path]] = []
    for target, group in by_map.items():
        if len(group) > 1:
            names = ", ".join(k for k, _ in group)
            for _, path in group:
                result.bad.append((path, f"its saliency map name {target.name} is shared by "
                                         f"{names}; rename one"))  # fmt: skip
            continue
        if os.path.abspath(target) in image_files:
            raise ValueError(f"the map of {group[0][1]} would overwrite the image {target}")
        if target.exists() and not overwrite:
            result.skipped_existing += 1
            continue
        todo.append((group[0][1], target))
    out.mkdir(parents=True, exist_ok=True)
    _check_manifest(out, _detector_id(detector), overwrite)

    bar = tqdm(total=len(todo), unit="img", desc="label-saliency",
               disable=None if progress is None else not progress)  # fmt: skip
    try:
        for path, target in todo:
            try:
                rgb = load_rgb(path)
            except BadImageError as e:
                result.bad.append((path, e.reason or "unreadable"))
                log.warning("skipping %s: %s", path, e.reason)
                bar.update(1)
                continue
            sal = np.asarray(detect(rgb))
            if sal.shape != rgb.shape[:2]:
                raise ValueError(
                    f"detector {_detector_id(detector)!r} returned a map of shape {sal.shape} "
                    f"for {path} of shape {rgb.shape[:2]} (it must return (H,W))"
                )
            if not np.isfinite(sal).all():
                raise ValueError(f"detector {_detector_id(detector)!r}: non-finite map for {path}")
            save_saliency(target, to_uint8(sal.astype(np.float32)))
            result.written += 1
            bar.update(1)
    finally:
        bar.close()
    return result
