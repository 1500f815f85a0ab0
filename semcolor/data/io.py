"""Robust image and label-map loading.

:func:`load_rgb` turns whatever PIL can open into an ``np.uint8`` (H,W,3) sRGB array, and
:func:`load_label_map` turns a single-channel label PNG into an ``np.int64`` (H,W) array of
raw pixel values. Anything that cannot be decoded raises :class:`BadImageError` (or its
subclass :class:`BadLabelError`), never a bare PIL/OS error, so that datasets can catch one
exception type, log the file and move on.

Mode handling of :func:`load_rgb` (decisions):

* ``RGB`` as is; ``L``/``1``/``YCbCr``/``LAB``/``HSV`` through PIL's ``convert("RGB")``.
* ``CMYK`` through PIL's ``convert("RGB")`` (PIL already undoes Adobe's inverted CMYK JPEGs;
  ICC profiles are not applied).
* Alpha (``RGBA``, ``LA``, ``PA``, ``RGBa``, ``La``, and ``P`` with a ``transparency`` entry) is
  **composited on white**. Dropping the alpha channel would expose whatever colour the
  encoder left under transparent pixels (often black or garbage); web graphics with
  transparency are meant to be seen on a light page.
* 16-bit single channel (``I;16*``, and ``I`` as Pillow opens 16-bit PNGs) is scaled to
  8 bit by ``round(v * 255 / 65535)`` (i.e. ``v / 257``), so full white stays 255; ``I``
  values are clipped to [0, 65535] first. ``F`` (float) images are taken as [0, 1] when their
  maximum is <= 1, else as [0, 255].
* EXIF orientation is applied (``ImageOps.exif_transpose``) unless ``exif_transpose=False``;
  datasets with pixel-aligned label maps pass ``False`` because annotations (COCO, CamVid)
  index the stored pixel grid.
* Multi-frame files (GIF, TIFF) give their first frame.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps

#: File extensions treated as images by the folder-style datasets (compared lower-case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
# Everything PIL may fail with on a broken file. DecompressionBombError is a plain Exception.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
    EOFError,
    MemoryError,
)


class BadImageError(Exception):
    """An image (or label map) that cannot be used: missing, empty, corrupt, truncated...

    Attributes:
        path: the file, as given.
        reason: a short human-readable reason.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # picklable across DataLoader worker processes
        return (type(self), (self.path, self.reason))


class BadLabelError(BadImageError):
    """A label map that does not fit its image (size mismatch, value out of range...)."""


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(str(path))[1].lower() in IMAGE_EXTENSIONS


def _open(path: str | os.PathLike[str], data: bytes | None = None) -> Image.Image:
    """Open and fully decode ``path`` (first frame), or the encoded ``data`` named ``path``,
    mapping every failure to BadImageError."""
    if data is None:
        p = Path(path)
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            raise BadImageError(path, "file not found") from None
        except OSError as e:
            raise BadImageError(path, f"cannot stat file: {e}") from None
        if not p.is_file():
            raise BadImageError(path, "not a regular file")
        source: Any = p
    else:
        size, source = len(data), io.BytesIO(data)
    if size == 0:
        raise BadImageError(path, "zero-byte file")
    # Never decode truncated data silently, whatever another library set globally.
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # the context manager closes the file; the decoded pixels stay in ``im``
            with Image.open(source) as im:
                im.load()
    except Image.DecompressionBombWarning as e:
        raise BadImageError(path, f"decompression bomb: {e}") from None
    except _DECODE_ERRORS as e:
        msg = str(e) or type(e).__name__
        if "truncated" in msg.lower():
            raise BadImageError(path, f"truncated file ({msg})") from None
        raise BadImageError(path, f"cannot decode image ({type(e).__name__}: {msg})") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved
    if im.width < 1 or im.height < 1:
        raise BadImageError(path, f"empty image ({im.width}x{im.height})")
    return im


def _composite_on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _to_rgb_array(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode == "RGB":
        return np.array(im, dtype=np.uint8)
    if mode == "P":
        if "transparency" in im.info:
            return np.array(_composite_on_white(im), dtype=np.uint8)
        return np.array(im.convert("RGB"), dtype=np.uint8)
    if mode in _ALPHA_MODES:
        return np.array(_composite_on_white(im), dtype=np.uint8)
    if mode in _SIXTEEN_BIT_MODES or mode == "I":
        v = np.asarray(im).astype(np.float64)
        gray = np.rint(np.clip(v, 0.0, 65535.0) * (255.0 / 65535.0)).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        v = np.asarray(im, dtype=np.float64)
        v = np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if v.size and v.max() <= 1.0 else 1.0
        gray = np.rint(np.clip(v * scale, 0.0, 255.0)).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.array(im.convert("RGB"), dtype=np.uint8)


def load_rgb(path: str | os.PathLike[str], exif_transpose: bool = True) -> np.ndarray:
    """Load any image PIL can read as sRGB.

    Args:
        path: image file.
        exif_transpose: apply the EXIF orientation tag (see the module docstring).

    Returns:
        C-contiguous ``np.uint8`` array (H, W, 3).

    Raises:
        BadImageError: missing, zero-byte, truncated, corrupt or undecodable file.
    """
    return _rgb(_open(path), path, exif_transpose)


def load_rgb_bytes(data: bytes, name: str, exif_transpose: bool = True) -> np.ndarray:
    """:func:`load_rgb` of an encoded image held in memory (a shard member, say); ``name``
    is what errors call it. Same returns and errors."""
    return _rgb(_open(name, data=bytes(data)), name, exif_transpose)


def _rgb(im: Image.Image, path: str | os.PathLike[str], exif_transpose: bool) -> np.ndarray:
    if exif_transpose:
        try:
            im = ImageOps.exif_transpose(im)
        except _DECODE_ERRORS:
            pass  # broken EXIF: keep the stored orientation
    try:
        arr = _to_rgb_array(im)
    except _DECODE_ERRORS as e:
        raise BadImageError(path, f"cannot convert mode {im.mode} to RGB ({e})") from None
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise BadImageError(path, f"unexpected decoded shape {arr.shape} (mode {im.mode})")
    return np.ascontiguousarray(arr)


def load_label_map(path: str | os.PathLike[str]) -> np.ndarray:
    """Load a single-channel label map (PNG) as raw integer pixel values.

    ``P`` (palette) images give their palette *indices*, as label PNGs intend; ``L``, ``1``,
    ``I;16*`` and ``I`` give their values. Multi-channel maps are rejected.

    Returns:
        ``np.int64`` array (H, W).

    Raises:
        BadLabelError: unreadable file or a multi-channel map.
    """
    try:
        im = _open(path)
    except BadImageError as e:
        raise BadLabelError(e.path, e.reason) from None
    if im.mode not in {"L", "P", "1", "I", "I;16", "I;16L", "I;16B", "I;16N"}:
        raise BadLabelError(path, f"label map must be single-channel, got mode {im.mode}")
    return np.asarray(im).astype(np.int64)
