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

Size limit (decompression bombs, images too large for memory): a file whose header claims more
than :func:`max_pixels` pixels (width x height; default
:data:`semcolor.constants.MAX_IMAGE_PIXELS` = 89,478,485, PIL's own threshold, where
colorizing needs about 1.6 GB) raises :class:`BadImageError` saying the size, the limit and how
to raise it, *before* any pixel is decoded (``Image.open`` reads only the header; the check
runs before ``im.load()``). To allow larger images set the environment variable
``SEMCOLOR_MAX_PIXELS`` (:data:`semcolor.constants.MAX_PIXELS_ENV`) to a pixel count, e.g.
``SEMCOLOR_MAX_PIXELS=300000000``; it is read at every call, so ``os.environ`` changes apply at
once, and DataLoader workers inherit it. :func:`semcolor.colorize` applies the same limit to
arrays, tensors and PIL images (``ValueError``). PIL's own guard
(``PIL.Image.MAX_IMAGE_PIXELS``): its ``DecompressionBombWarning`` is silenced (semcolor's
limit is the check), and its ``DecompressionBombError`` (above twice PIL's limit, 179 M pixels
by default) is reported as :class:`BadImageError` with the same advice. When
``SEMCOLOR_MAX_PIXELS`` is set above PIL's error level, PIL's limit is raised to it while
semcolor decodes (under a lock; PIL's setting is restored afterwards). 16-bit and float images
are brought to 8 bit in chunks, so decoding needs little more than PIL's own buffer.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import threading
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps

from semcolor import constants as C

#: File extensions treated as images by the folder-style datasets (compared lower-case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
# Everything PIL may fail with on a broken file. Its plugins raise whatever their parsers hit
# (OSError, SyntaxError, struct.error, EOFError, MemoryError, DecompressionBombError, and, found
# by tests/data/test_fuzz_io.py, NotImplementedError from a DDS header with an unknown pixel
# format), so any Exception raised while PIL reads a file's bytes is the file's fault.
# KeyboardInterrupt and SystemExit are not Exceptions and pass through.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (Exception,)


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


def max_pixels() -> int:
    """The largest image semcolor decodes or colorizes, in pixels (width x height).

    ``$SEMCOLOR_MAX_PIXELS`` when set (read at every call), else
    :data:`semcolor.constants.MAX_IMAGE_PIXELS`.

    Raises:
        ValueError: ``SEMCOLOR_MAX_PIXELS`` is set but is not a positive whole number.
    """
    raw = os.environ.get(C.MAX_PIXELS_ENV, "").strip()
    if not raw:
        return C.MAX_IMAGE_PIXELS
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        value = -1.0
    if not (value >= 1 and value.is_integer()):
        raise ValueError(
            f"{C.MAX_PIXELS_ENV}={raw!r} is not a positive whole number of pixels; set it to the "
            f"largest width x height to accept, e.g. {C.MAX_PIXELS_ENV}=300000000, or unset it "
            f"for the default {C.MAX_IMAGE_PIXELS:,}"
        )
    return int(value)


def _too_large(pixels: int, limit: int, size: tuple[int, int] | None = None) -> str:
    """What to tell the user about an image of ``pixels`` pixels over ``limit``."""
    what = f"{size[0]} x {size[1]} = {pixels:,}" if size else f"{pixels:,}"
    gb = pixels * C.COLORIZE_BYTES_PER_PIXEL / 2**30
    return (
        f"image too large: {what} pixels is more than semcolor's limit of {limit:,} pixels "
        f"(colorizing needs about {C.COLORIZE_BYTES_PER_PIXEL} bytes per pixel, {gb:.1f} GB for "
        f"this one); to allow it, set the environment variable {C.MAX_PIXELS_ENV}={pixels} "
        "(or more)"
    )


def too_large_reason(width: int, height: int, limit: int | None = None) -> str | None:
    """Why a ``width`` x ``height`` image cannot be used (too large, see :func:`max_pixels`;
    ``limit`` overrides it), or None when it can. Only the size is looked at."""
    limit = max_pixels() if limit is None else limit
    pixels = int(width) * int(height)
    return _too_large(pixels, limit, (int(width), int(height))) if pixels > limit else None


_PIL_GUARD_LOCK = threading.Lock()


@contextlib.contextmanager
def _pil_guard_allowing(limit: int):
    """Raise PIL's decompression-bomb limit to ``limit`` for the block when the user set
    ``SEMCOLOR_MAX_PIXELS`` above PIL's error level (2 x PIL.Image.MAX_IMAGE_PIXELS); else
    leave PIL's setting alone."""
    pil = Image.MAX_IMAGE_PIXELS
    if pil is None or 2 * pil >= limit or not os.environ.get(C.MAX_PIXELS_ENV, "").strip():
        yield
        return
    with _PIL_GUARD_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _bomb_reason(e: Exception, limit: int) -> str:
    """The reason for PIL's DecompressionBombError ``e`` (its message holds the pixel count)."""
    m = re.search(r"\((\d+) pixels\)", str(e))
    pixels = int(m.group(1)) if m else None
    if pixels is not None and pixels > limit:
        return _too_large(pixels, limit)
    pil = Image.MAX_IMAGE_PIXELS
    return (
        f"image too large for PIL's decompression-bomb guard ({e}); PIL.Image.MAX_IMAGE_PIXELS "
        f"is {pil}; set the environment variable {C.MAX_PIXELS_ENV} to the pixel count to "
        "accept and semcolor raises PIL's guard to it"
    )


def _open(path: str | os.PathLike[str], data: bytes | None = None) -> Image.Image:
    """Open and fully decode ``path`` (first frame), or the encoded ``data`` named ``path``,
    mapping every failure to BadImageError. Images over :func:`max_pixels` are rejected
    from their header, before decoding."""
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
    limit = max_pixels()
    # Never decode truncated data silently, whatever another library set globally.
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with _pil_guard_allowing(limit), warnings.catch_warnings():
            # semcolor's limit is the check (below); PIL's warning would only repeat it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # the context manager closes the file; the decoded pixels stay in ``im``
            with Image.open(source) as im:
                # im.size is the header's: nothing is decoded (or allocated) yet
                reason = too_large_reason(*im.size, limit=limit)
                if reason:
                    raise BadImageError(path, reason)
                im.load()
    except BadImageError:
        raise
    except Image.DecompressionBombError as e:  # PIL's guard, at open or in a plugin's load
        raise BadImageError(path, _bomb_reason(e, limit)) from None
    except _DECODE_ERRORS as e:
        msg = str(e) or type(e).__name__
        if "truncated" in msg.lower():
            raise BadImageError(path, f"truncated file ({msg})") from None
        raise BadImageError(path, f"cannot decode image ({type(e).__name__}: {msg})") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved
    if im.width < 1 or im.height < 1:
        raise BadImageError(path, f"empty image ({im.width}x{im.height})")
    reason = too_large_reason(*im.size, limit=limit)  # a plugin may enlarge the image in load()
    if reason:
        raise BadImageError(path, reason)
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
        v = np.asarray(im)
        lut = _u16_to_u8_lut()
        gray = np.empty(v.shape, np.uint8)
        for r0, r1 in _row_chunks(v.shape):
            c = v[r0:r1]
            gray[r0:r1] = lut[c if c.dtype.kind == "u" else np.clip(c, 0, 65535)]
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        v = np.asarray(im)

        def finite(r0: int, r1: int) -> np.ndarray:  # float64, NaN and inf as 0
            with np.errstate(invalid="ignore"):  # signalling NaNs warn when cast
                c = v[r0:r1].astype(np.float64)
            return np.nan_to_num(c, nan=0.0, posinf=0.0, neginf=0.0)

        top = max((float(finite(r0, r1).max()) for r0, r1 in _row_chunks(v.shape)), default=0.0)
        scale = 255.0 if top <= 1.0 else 1.0
        gray = np.empty(v.shape, np.uint8)
        for r0, r1 in _row_chunks(v.shape):
            gray[r0:r1] = np.rint(np.clip(finite(r0, r1) * scale, 0.0, 255.0))
        return np.repeat(gray[..., None], 3, axis=2)
    return np.array(im.convert("RGB"), dtype=np.uint8)


#: Pixels per chunk when 16-bit and float images are brought to 8 bit: float64 temporaries
#: of 8 MB instead of several copies of the whole image (a 100 MP float TIFF needed 5 GB).
_CHUNK_PIXELS = 1 << 20


def _row_chunks(shape: tuple[int, ...]):
    rows = max(1, _CHUNK_PIXELS // max(shape[1], 1))
    for r0 in range(0, shape[0], rows):
        yield r0, min(shape[0], r0 + rows)


@functools.lru_cache(maxsize=1)
def _u16_to_u8_lut() -> np.ndarray:
    """16-bit value -> round(v * 255 / 65535), as one table (v / 257, full white stays 255)."""
    return np.rint(np.arange(65536, dtype=np.float64) * (255.0 / 65535.0)).astype(np.uint8)


def load_rgb(path: str | os.PathLike[str], exif_transpose: bool = True) -> np.ndarray:
    """Load any image PIL can read as sRGB.

    Args:
        path: image file.
        exif_transpose: apply the EXIF orientation tag (see the module docstring).

    Returns:
        C-contiguous ``np.uint8`` array (H, W, 3).

    Raises:
        BadImageError: missing, zero-byte, truncated, corrupt or undecodable file, or one
            over :func:`max_pixels` (rejected from its header, before decoding).
        ValueError: ``SEMCOLOR_MAX_PIXELS`` is set to something else than a pixel count.
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
        BadLabelError: unreadable file (as :func:`load_rgb`, including over
            :func:`max_pixels`) or a multi-channel map.
        ValueError: ``SEMCOLOR_MAX_PIXELS`` is set to something else than a pixel count.
    """
    try:
        im = _open(path)
    except BadImageError as e:
        raise BadLabelError(e.path, e.reason) from None
    if im.mode not in {"L", "P", "1", "I", "I;16", "I;16L", "I;16B", "I;16N"}:
        raise BadLabelError(path, f"label map must be single-channel, got mode {im.mode}")
    return np.asarray(im).astype(np.int64)


# ============================================================================ saliency maps
# The files semcolor-label-saliency writes (semcolor.data.saliency) and the datasets read
# (semcolor.data.base): here, below both, so that neither imports the other.
#: Suffix of every map file.
MAP_SUFFIX = ".png"


def saliency_path(out_dir: str | os.PathLike[str], relpath: str) -> Path:
    """The map of image ``relpath`` (POSIX, relative to the dataset root, as
    ``dataset.relpath(i)``): ``out_dir/<relpath with its suffix replaced by .png>``."""
    rel = PurePosixPath(str(relpath).replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"image path {relpath!r} must be relative to the dataset root")
    return Path(out_dir).joinpath(*rel.with_suffix(MAP_SUFFIX).parts)


def read_saliency_u8(path: str | os.PathLike[str]) -> np.ndarray:
    """A stored map as uint8 (H,W) 0..255 (16-bit maps are scaled to 8 bit).

    Raises:
        BadLabelError: missing, unreadable, or not a single-channel map.
    """
    try:
        im = _open(path)
    except BadImageError as e:
        raise BadLabelError(e.path, e.reason) from None
    if im.mode == "L":
        return np.asarray(im, dtype=np.uint8).copy()
    if im.mode in {"I", "I;16", "I;16L", "I;16B", "I;16N"}:
        v = np.clip(np.asarray(im).astype(np.float64), 0.0, 65535.0)
        return np.rint(v * (255.0 / 65535.0)).astype(np.uint8)
    raise BadLabelError(path, f"saliency map must be single-channel grayscale, got mode {im.mode}")
