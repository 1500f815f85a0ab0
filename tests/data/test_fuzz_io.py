"""Fuzzing semcolor.data.io: bad input, tried hard.

Random bytes (with image extensions, and behind real magic numbers), real PNG/JPEG/TIFF/GIF/
WebP/BMP/... files made here and then truncated and corrupted, headers claiming huge sizes,
garbage EXIF. The only outcomes allowed are the documented ones: a result meeting the
readers' contract (``load_rgb``: C-contiguous uint8 (H,W,3); ``load_label_map``: int64
(H,W); never more than ``max_pixels()`` pixels), or :class:`BadImageError` (``BadLabelError``
for label maps) naming the file. Anything else (another exception type, a crash, a hang, an
out-of-memory kill) is a bug in semcolor.data.io.

Two sizes of each fuzz test, from the hypothesis profiles registered below:

* ``semcolor-fuzz-ci`` (default selection, CI): derandomized (the same examples every run),
  no example database, a few hundred examples in all; every fuzz test of this file and of
  tests/inference/test_fuzz_colorize.py together stay well under 40 s on 2 CPU cores.
* ``semcolor-fuzz-long`` (``-m slow``): tens of times more examples, random each run.

Every example runs under a time limit (SIGALRM, a Python-level hang fails the example with
:class:`FuzzTimeout`; faulthandler kills the process with a traceback if C code hangs) besides
hypothesis's deadline. The number of inputs tried is counted per test; set
``SEMCOLOR_FUZZ_LOG=path`` to have each module append its counts (JSON lines), e.g.::

    SEMCOLOR_FUZZ_LOG=/tmp/fuzz.jsonl .venv/bin/pytest -m slow -p no:cacheprovider \\
        tests/data/test_fuzz_io.py tests/inference/test_fuzz_colorize.py
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import reject
from hypothesis import strategies as st
from PIL import Image

from semcolor import constants as C
from semcolor.data import io as sio
from semcolor.data.io import BadImageError, BadLabelError, load_label_map, load_rgb, max_pixels
from tests.fuzz_helpers import (
    env_limit,
    fuzz,
    time_limit,
    tried_counter,
)

pytestmark = [
    # PIL warns about what it can skip ("Truncated File Read", "Corrupt EXIF data"): noise here
    pytest.mark.filterwarnings("ignore::UserWarning"),
    # but its decompression-bomb warning must never reach the caller
    pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning"),
]

TRIED, _report_tried = tried_counter(__name__)


# --------------------------------------------------------------------------------------
# the oracle: what every reader may do with any file
# --------------------------------------------------------------------------------------
def _readers():
    out = [
        ("load_rgb", lambda p, d: load_rgb(p)),
        ("load_rgb(exif_transpose=False)", lambda p, d: load_rgb(p, exif_transpose=False)),
        ("load_label_map", lambda p, d: load_label_map(p)),
    ]
    if hasattr(sio, "load_rgb_bytes"):  # the in-memory reader (shards)
        out.append(("load_rgb_bytes", lambda p, d: sio.load_rgb_bytes(d, str(p))))
    return out


READERS = _readers()


#: SEMCOLOR_MAX_PIXELS while fuzzing damaged and random files. The seeds have 143 pixels; a
#: damaged header may legally claim up to the default limit and decode to it (a 706-byte TIFF
#: whose ImageLength was hit decoded to 120 M pixels of zeros: 5 s, and 5.8 GB before
#: load_rgb converted float images in chunks), which would only make the fuzz slow. The
#: limit's own path is fuzzed by the size-claim test, at several limits.
FUZZ_LIMIT = 2**20


def check_readers(path: Path, data: bytes, test: str, limit: int | None = FUZZ_LIMIT) -> None:
    """Write ``data`` to ``path`` and read it with every reader, with SEMCOLOR_MAX_PIXELS at
    ``limit`` (None: unset): a contract-meeting result or the documented error, within the
    time limit."""
    with env_limit(limit):
        _check_readers(path, data, test)


def _check_readers(path: Path, data: bytes, test: str) -> None:
    TRIED[test] += 1
    path.write_bytes(data)
    limit = max_pixels()
    for name, read in READERS:
        with time_limit(f"{name} of {len(data)} bytes ({path.suffix})"):
            try:
                out = read(path, data)
            except BadImageError as e:
                assert e.path == str(path), (name, e.path)
                assert e.reason, name
                if name == "load_label_map":
                    assert isinstance(e, BadLabelError), (name, e)
                continue
        assert isinstance(out, np.ndarray), (name, type(out))
        assert out.shape[0] >= 1 and out.shape[1] >= 1, (name, out.shape)
        assert out.shape[0] * out.shape[1] <= limit, (name, out.shape, limit)
        if name == "load_label_map":
            assert out.dtype == np.int64 and out.ndim == 2, (name, out.dtype, out.shape)
        else:
            assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, (
                name, out.dtype, out.shape)  # fmt: skip
            assert out.flags.c_contiguous, name


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz_io")


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
EXTENSIONS = (*sio.IMAGE_EXTENSIONS, ".gif", ".JPG", ".PNG", "", ".txt", ".dds")

#: Magic numbers of the formats PIL identifies by content (random bytes follow them).
MAGICS = (
    b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"\xff\xd8\xff\xe1\x00\x20Exif\x00\x00MM\x00*",
    b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"II+\x00", b"BM",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"RIFF\x00\x00\x00\x00WEBPVP8L",
    b"RIFF\x00\x00\x00\x00WEBPVP8X", b"\x00\x00\x01\x00", b"8BPS\x00\x01",
    b"SIMPLE  =                    T", b"Image type: L image\r\nImage size (x*y): 9 9\r\n",
    b"/* XPM */", b"\x0a\x05\x01\x08", b"P6\n", b"P5\n3 3\n255\n", b"Pf\n", b"\x01\xda",
    b"DDS \x7c\x00\x00\x00", b"qoif", b"icns", b"\x00\x00\x00\x0cjP  \r\n\x87\n",
    b"\xff\x4f\xff\x51", b"\x59\xa6\x6a\x95", b"BLP1", b"BLP2", b"%!PS", b"\xc5\xd0\xd3\xc6",
    b"\x00\x00\x00\x18ftypavif", b"gimp xcf ", b"FORM", b"\x00\x00\x02\x00\x00",
)  # fmt: skip


def _pixels(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / (w - 1), y * 255 / (h - 1), np.full((h, w), 128.0),
                     (x + y) * 255 / (h + w - 2)], axis=2)  # fmt: skip
    return np.clip(base + rng.integers(-30, 31, base.shape), 0, 255).astype(np.uint8)


def _real_files() -> dict[str, tuple[str, bytes]]:
    """Small real files, name -> (extension, bytes); those this PIL cannot write are left
    out (the set is the same on every run of one installation)."""
    rgba = Image.fromarray(_pixels(11, 13, 0), "RGBA")
    rgb, gray = rgba.convert("RGB"), rgba.convert("L")
    pal = rgb.quantize(16)
    i16 = Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)
    flt = Image.fromarray(np.asarray(gray).astype(np.float32) / 255.0)
    exif = Image.Exif()
    exif[0x0112] = 6
    specs = {
        "png_rgb": (".png", rgb, {}), "png_rgba": (".png", rgba, {}), "png_l": (".png", gray, {}),
        "png_la": (".png", rgba.convert("LA"), {}), "png_p": (".png", pal, {"transparency": 3}),
        "png_1": (".png", gray.convert("1"), {}), "png_i16": (".png", i16, {}),
        "png_interlaced": (".png", rgb, {"interlace": 1}),
        "jpeg_rgb": (".jpg", rgb, {"quality": 90}), "jpeg_l": (".jpg", gray, {}),
        "jpeg_cmyk": (".jpg", rgb.convert("CMYK"), {}),
        "jpeg_progressive": (".jpg", rgb, {"progressive": True}),
        "jpeg_exif": (".jpg", rgb, {"exif": exif}),
        "tiff_rgb": (".tif", rgb, {}), "tiff_lzw": (".tif", rgb, {"compression": "tiff_lzw"}),
        "tiff_deflate": (".tif", rgba, {"compression": "tiff_adobe_deflate"}),
        "tiff_packbits": (".tif", gray, {"compression": "packbits"}),
        "tiff_jpeg": (".tif", rgb, {"compression": "jpeg"}),
        "tiff_g4": (".tif", gray.convert("1"), {"compression": "group4"}),
        "tiff_cmyk": (".tif", rgb.convert("CMYK"), {}), "tiff_f": (".tif", flt, {}),
        "tiff_i16": (".tif", i16, {}),
        "tiff_pages": (".tif", rgb, {"save_all": True, "append_images": [gray]}),
        "gif": (".gif", pal, {}),
        "gif_anim": (".gif", pal, {"save_all": True, "append_images": [pal.rotate(90)],
                                   "transparency": 0, "disposal": 2}),
        "webp_lossy": (".webp", rgb, {"quality": 80}),
        "webp_lossless": (".webp", rgba, {"lossless": True}),
        "webp_anim": (".webp", rgb, {"save_all": True, "append_images": [rgb.rotate(90)]}),
        "bmp_rgb": (".bmp", rgb, {}), "bmp_p": (".bmp", pal, {}),
        "bmp_1": (".bmp", gray.convert("1"), {}), "ico": (".ico", rgba, {"sizes": [(13, 11)]}),
        "ppm": (".ppm", rgb, {}), "tga": (".tga", rgba, {}),
        "pcx": (".pcx", rgb, {}), "sgi": (".sgi", rgb, {}), "im": (".im", rgb, {}),
        "dds": (".dds", rgba, {}), "qoi": (".qoi", rgba, {}), "j2k": (".jp2", rgb, {}),
    }  # fmt: skip
    out = {}
    for name, (ext, im, kw) in specs.items():
        buf = io.BytesIO()
        try:
            im.save(buf, format=Image.registered_extensions()[ext], **kw)
        except (OSError, KeyError, ValueError):
            continue  # no encoder for it in this PIL
        out[name] = (ext, buf.getvalue())
    return out


REAL = _real_files()


@st.composite
def damaged_files(draw) -> tuple[str, bytes]:
    """A real file truncated, overwritten, bit-flipped or spliced, possibly several times
    (a quarter of the edits land in the first 64 bytes, where the headers are)."""
    ext, data = REAL[draw(st.sampled_from(sorted(REAL)))]
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        n = len(buf)
        if n == 0:
            break
        op = draw(st.sampled_from(["cut", "set", "xor", "head", "insert", "zero_run"]))
        if op == "cut":
            del buf[draw(st.integers(0, n - 1)):]
        elif op in ("set", "head"):
            i = draw(st.integers(0, min(n, 64) - 1 if op == "head" else n - 1))
            buf[i] = draw(st.integers(0, 255))
        elif op == "xor":
            buf[draw(st.integers(0, n - 1))] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            i = draw(st.integers(0, n))
            buf[i:i] = draw(st.binary(min_size=1, max_size=32))
        else:
            i = draw(st.integers(0, n - 1))
            buf[i : i + draw(st.integers(1, 64))] = b"\xff" * 4 if draw(st.booleans()) else b""
    return draw(st.sampled_from([ext, ext, ext, *EXTENSIONS])), bytes(buf)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def big_png(width: int, height: int, bit_depth: int = 8, colour_type: int = 2,
            idat: bytes = b"") -> bytes:
    """A PNG whose (valid, CRC-checked) IHDR claims ``width`` x ``height``, with a tiny IDAT:
    its pixels are never in the file (nor allocated here)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(idat))
            + _chunk(b"IEND", b""))  # fmt: skip


def big_tiff(width: int, height: int, samples: int = 1) -> bytes:
    """An uncompressed little-endian TIFF claiming ``width`` x ``height`` with 8 data bytes."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 2 if samples == 3 else 1), (273, 4, 1, 8), (277, 3, 1, samples),
               (278, 4, 1, height), (279, 4, 1, 8)]  # fmt: skip
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, typ, count, value) for tag, typ, count, value in entries
    ) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 16) + b"\x80" * 8 + ifd


def big_bmp(width: int, height: int, bpp: int = 24) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bpp, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54) + info + b"\x00" * 16


def big_gif(width: int, height: int) -> bytes:
    """A real GIF whose logical screen (PIL's image size) claims ``width`` x ``height``."""
    buf = io.BytesIO()
    Image.fromarray(_pixels(5, 6, 1)[..., 0]).convert("P").save(buf, "GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def big_jpeg(width: int, height: int) -> bytes:
    """A real JPEG whose SOF0 frame header claims ``width`` x ``height``."""
    buf = io.BytesIO()
    Image.fromarray(_pixels(8, 8, 2)[..., :3]).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def big_webp(width: int, height: int) -> bytes:
    """A WebP extended header (VP8X) whose canvas claims ``width`` x ``height``."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4 + (width - 1).to_bytes(3, "little") + (
        height - 1).to_bytes(3, "little")  # fmt: skip
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


#: A side of a crafted header: small (the image is at most 64 x 65535 = 4 M pixels, cheap to
#: allocate), or so large that any image with it exceeds every limit the fuzz sets (10**9):
#: sizes in between would make the fuzz allocate gigabytes for nothing.
SMALL = st.integers(0, 64)
HUGE_16 = st.integers(2**15, 2**16 - 1)  # formats with 16-bit sizes (JPEG, GIF)
HUGE_31 = st.integers(2**30 + 1, 2**31 - 1)


@st.composite
def size_claims(draw) -> tuple[str, bytes, int | None]:
    """(extension, a file whose header claims some size, SEMCOLOR_MAX_PIXELS or None)."""
    fmt = draw(st.sampled_from(["png", "png", "tiff", "bmp", "gif", "jpeg", "webp"]))
    big = HUGE_16 if fmt in ("gif", "jpeg", "webp") else st.one_of(HUGE_16, HUGE_31)
    side = st.one_of(SMALL, SMALL, big)
    w, h = draw(side), draw(side)
    limit = draw(st.sampled_from([None, None, 1, 100, 4096, 10**9]))
    if fmt == "png":
        depth, colour = draw(st.sampled_from([(8, 2), (8, 0), (16, 6), (1, 0), (8, 3), (8, 4),
                                              (16, 2), (3, 7)]))  # fmt: skip
        data = big_png(w, h, depth, colour, draw(st.binary(max_size=64)))
        return ".png", data, limit
    if fmt == "tiff":
        return ".tif", big_tiff(w, h, draw(st.sampled_from([1, 3]))), limit
    if fmt == "bmp":
        return ".bmp", big_bmp(w, -h if draw(st.booleans()) else h,
                               draw(st.sampled_from([1, 8, 24, 32]))), limit  # fmt: skip
    if fmt == "gif":
        return ".gif", big_gif(w, h), limit
    if fmt == "jpeg":
        return ".jpg", big_jpeg(w, h), limit
    return ".webp", big_webp(max(w, 1), max(h, 1)), limit


# --------------------------------------------------------------------------------------
# the fuzz tests
# --------------------------------------------------------------------------------------
def _random_bytes(fuzz_dir, data, ext):
    check_readers(fuzz_dir / f"random{ext}", data, "random_bytes")


test_fuzz_random_bytes, test_fuzz_random_bytes_long = fuzz(
    _random_bytes, 120, 5000, data=st.binary(max_size=4096), ext=st.sampled_from(EXTENSIONS)
)


def _magic_bytes(fuzz_dir, magic, tail, ext):
    check_readers(fuzz_dir / f"magic{ext}", magic + tail, "magic_bytes")


test_fuzz_magic_then_random, test_fuzz_magic_then_random_long = fuzz(
    _magic_bytes, 200, 10000, magic=st.sampled_from(MAGICS), tail=st.binary(max_size=2048),
    ext=st.sampled_from(EXTENSIONS),
)  # fmt: skip


def _damaged(fuzz_dir, file):
    ext, data = file
    check_readers(fuzz_dir / f"damaged{ext}", data, "damaged_real_files")


test_fuzz_damaged_real_files, test_fuzz_damaged_real_files_long = fuzz(
    _damaged, 250, 12000, file=damaged_files()
)


def _size_claim(fuzz_dir, claim):
    ext, data, limit = claim
    check_readers(fuzz_dir / f"claim{ext}", data, "size_claims", limit=limit)


test_fuzz_header_size_claims, test_fuzz_header_size_claims_long = fuzz(
    _size_claim, 160, 8000, claim=size_claims()
)


def _exif(fuzz_dir, base, orientation, junk, mode):
    ext, fmt = {"jpeg": (".jpg", "JPEG"), "png": (".png", "PNG"), "webp": (".webp", "WEBP"),
                "tiff": (".tif", "TIFF")}[base]  # fmt: skip
    if mode == "orientation":
        exif = Image.Exif()
        exif[0x0112] = orientation
        try:
            blob = exif.tobytes()
        except (struct.error, ValueError, TypeError, OverflowError):
            blob = b"MM\x00*\x00\x00\x00\x08"
        blob = blob[: len(blob) - len(junk)] + junk  # the tail overwritten
    else:
        blob = junk
    buf = io.BytesIO()
    try:
        Image.fromarray(_pixels(7, 9, 3)[..., :3]).save(buf, fmt, exif=b"Exif\x00\x00" + blob)
    except Exception:  # PIL's TIFF writer parses the EXIF it embeds: not the reader's problem
        reject()
    check_readers(fuzz_dir / f"exif{ext}", buf.getvalue(), "garbage_exif")


test_fuzz_garbage_exif, test_fuzz_garbage_exif_long = fuzz(
    _exif, 80, 4000, base=st.sampled_from(["jpeg", "png", "webp", "tiff"]),
    orientation=st.one_of(st.integers(0, 9), st.integers(0, 2**16 - 1)),
    junk=st.binary(max_size=48), mode=st.sampled_from(["orientation", "raw"]),
)  # fmt: skip


# --------------------------------------------------------------------------------------
# regressions (found by the fuzz) and the size limit, as plain tests
# --------------------------------------------------------------------------------------
def test_real_files_are_read(tmp_path):
    """The fuzz's seed files are valid: each reads with the contract (so damage is what the
    fuzz measures)."""
    assert {"png_rgb", "jpeg_rgb", "tiff_rgb", "gif", "webp_lossy", "bmp_rgb"} <= set(REAL)
    for name, (ext, data) in REAL.items():
        p = tmp_path / f"{name}{ext}"
        p.write_bytes(data)
        out = load_rgb(p)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, name
        assert out.shape[:2] in ((11, 13), (13, 11)), (name, out.shape)


def test_dds_with_unknown_pixel_format_is_bad_image(tmp_path):
    """Regression (fuzz): PIL's DDS reader raises NotImplementedError for a pixel format it
    does not know; that was not in the decode errors and escaped load_rgb."""
    header = struct.pack("<4sIIIIIII", b"DDS ", 124, 0x1007, 4, 4, 0, 0, 0) + b"\x00" * 44
    pixfmt = struct.pack("<II4sIIIII", 32, 0x1, b"ZZZZ", 0, 0, 0, 0, 0)  # FOURCC "ZZZZ"
    p = tmp_path / "bad.dds"
    p.write_bytes(header + pixfmt + b"\x00" * 20 + b"\x00" * 64)
    with pytest.raises(Exception) as raw:
        Image.open(p).load()
    assert isinstance(raw.value, NotImplementedError)  # what PIL itself raises
    with pytest.raises(BadImageError, match="NotImplementedError"):
        load_rgb(p)
    with pytest.raises(BadLabelError):
        load_label_map(p)


def test_huge_png_header_is_rejected_before_decoding(tmp_path, monkeypatch):
    """30000 x 30000 claimed by a 70-byte PNG: a clear error naming the limit and how to
    raise it, at once (nothing allocated), not an out-of-memory kill."""
    monkeypatch.delenv(C.MAX_PIXELS_ENV, raising=False)
    p = tmp_path / "bomb.png"
    p.write_bytes(big_png(30000, 30000))
    assert p.stat().st_size < 100
    allocated = spy_pixel_allocations(monkeypatch)
    with pytest.raises(BadImageError) as e:
        load_rgb(p)
    assert not allocated, allocated
    msg = str(e.value)
    assert "900,000,000 pixels" in msg and f"{C.MAX_IMAGE_PIXELS:,}" in msg, msg
    assert "SEMCOLOR_MAX_PIXELS=900000000" in msg, msg
    with pytest.raises(BadLabelError, match="SEMCOLOR_MAX_PIXELS"):
        load_label_map(p)


def spy_pixel_allocations(monkeypatch) -> list:
    """The sizes of the pixel buffers PIL allocates from now on (every decoder gets its image
    from Image.core.new, or maps raw files with Image.core.map_buffer)."""
    sizes: list = []
    for name in ("new", "map_buffer"):
        orig = getattr(Image.core, name)

        def spy(mode, size, *args, _orig=orig):
            sizes.append(size)
            return _orig(mode, size, *args)

        monkeypatch.setattr(Image.core, name, spy)
    return sizes


@pytest.mark.parametrize("make", [big_png, big_tiff, big_bmp, big_gif, big_jpeg])
def test_size_over_limit_is_rejected_from_the_header(tmp_path, monkeypatch, make):
    """Over semcolor's limit but under PIL's guard (150 M pixels < 2 x 89 M): semcolor's own
    check rejects it from im.size, before im.load() allocates 450 MB."""
    monkeypatch.delenv(C.MAX_PIXELS_ENV, raising=False)
    w, h = (15000, 10000) if make not in (big_gif, big_jpeg) else (12500, 12000)
    p = tmp_path / f"big.{make.__name__}"
    p.write_bytes(make(w, h))
    allocated = spy_pixel_allocations(monkeypatch)
    with pytest.raises(BadImageError, match=rf"{w} x {h} = {w * h:,} pixels .* limit of "
                       rf"{C.MAX_IMAGE_PIXELS:,} pixels.*SEMCOLOR_MAX_PIXELS={w * h}"):  # fmt: skip
        load_rgb(p)
    assert not allocated, allocated


def _saved_png(path: Path, h: int, w: int) -> Path:
    Image.fromarray(_pixels(h, w, 4)[..., :3]).save(path)
    return path


def test_limit_raised_and_lowered_by_environment(tmp_path, monkeypatch):
    """SEMCOLOR_MAX_PIXELS: a lowered limit rejects a moderately sized image (naming the
    limit), a raised one lets it through; malformed values are a clear ValueError."""
    p = _saved_png(tmp_path / "m.png", 60, 80)  # 4800 pixels
    monkeypatch.setattr(C, "MAX_IMAGE_PIXELS", 4000)  # as if the default were below it
    monkeypatch.delenv(C.MAX_PIXELS_ENV, raising=False)
    with pytest.raises(BadImageError, match=r"80 x 60 = 4,800 pixels .* limit of 4,000"):
        load_rgb(p)
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "4800")
    assert max_pixels() == 4800
    assert load_rgb(p).shape == (60, 80, 3)
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "4_799")
    with pytest.raises(BadImageError, match="limit of 4,799 pixels"):
        load_rgb(p)
    with pytest.raises(BadLabelError, match="limit of 4,799 pixels"):
        load_label_map(p)
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "1e4")
    assert max_pixels() == 10000 and load_rgb(p).shape == (60, 80, 3)
    for bad in ("lots", "0", "-5", "2.5"):
        monkeypatch.setenv(C.MAX_PIXELS_ENV, bad)
        with pytest.raises(ValueError, match=f"SEMCOLOR_MAX_PIXELS='{bad}' is not a positive"):
            load_rgb(p)
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "")
    assert max_pixels() == 4000


def test_default_limit_admits_a_24_megapixel_photo(tmp_path, monkeypatch):
    """The default limit (PIL's 89,478,485) is far above a 24 MP photo (6000 x 4000): its
    header passes; checked without decoding 24 M pixels (the header is all the check
    reads)."""
    monkeypatch.delenv(C.MAX_PIXELS_ENV, raising=False)
    assert C.MAX_IMAGE_PIXELS == Image.MAX_IMAGE_PIXELS == 89_478_485
    assert sio.too_large_reason(6000, 4000) is None
    assert sio.too_large_reason(C.MAX_IMAGE_PIXELS, 1) is None  # exactly the limit
    assert "89,478,486 pixels" in sio.too_large_reason(1, C.MAX_IMAGE_PIXELS + 1)
    p = tmp_path / "24mp.png"
    p.write_bytes(big_png(6000, 4000))  # header only: fails as truncated, not as too large
    with pytest.raises(BadImageError) as e:
        load_rgb(p)
    assert "too large" not in str(e.value) and "truncated" in str(e.value)


def test_pil_decompression_bomb_error_is_bad_image(tmp_path, monkeypatch):
    """PIL's own DecompressionBombError (above 2 x PIL.Image.MAX_IMAGE_PIXELS) comes out as
    BadImageError saying what to do; PIL's setting is left alone."""
    monkeypatch.delenv(C.MAX_PIXELS_ENV, raising=False)
    p = _saved_png(tmp_path / "b.png", 60, 80)  # 4800 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # PIL raises above 2000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(p)
    with pytest.raises(BadImageError, match="decompression-bomb guard.*SEMCOLOR_MAX_PIXELS"):
        load_rgb(p)
    assert Image.MAX_IMAGE_PIXELS == 1000
    # Explicitly allowed by SEMCOLOR_MAX_PIXELS: PIL's guard is raised for the call only.
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "5000")
    assert load_rgb(p).shape == (60, 80, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000
    # And over semcolor's limit, PIL's error names semcolor's limit.
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "1500")
    with pytest.raises(BadImageError, match="4,800 pixels is more than semcolor's limit of 1,500"):
        load_rgb(p)


def test_pil_decompression_bomb_warning_does_not_escape(tmp_path, monkeypatch):
    """PIL's DecompressionBombWarning (between 1 and 2 x PIL's limit) never reaches the
    caller: semcolor's limit decides (error if over it, the image if under it)."""
    p = _saved_png(tmp_path / "w.png", 60, 80)  # 4800 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # PIL warns in (3000, 6000]
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(p)
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "4000")
    with pytest.raises(BadImageError, match="limit of 4,000 pixels"):
        load_rgb(p)
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "10000")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_rgb(p).shape == (60, 80, 3)


def test_bomb_error_raised_in_a_plugin_load_is_bad_image(tmp_path, monkeypatch):
    """A DecompressionBombError from inside load() (GIF, ICNS... check sizes there) is
    BadImageError too."""

    def bomb(self):
        raise Image.DecompressionBombError("Image size (999999999999 pixels) exceeds limit")

    p = _saved_png(tmp_path / "l.png", 6, 8)
    monkeypatch.setattr(Image.Image, "load", bomb)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", bomb)
    with pytest.raises(BadImageError, match="999,999,999,999 pixels is more than semcolor"):
        load_rgb(p)


@pytest.mark.parametrize("mode", ["F", "I;16", "I"])
def test_float_and_16_bit_conversion_memory_is_bounded(mode):
    """Regression (fuzz): load_rgb brought float and 16-bit images to 8 bit through several
    whole-image float64 copies (24 bytes per pixel traced, besides PIL's buffer: the fuzz's
    120 MP TIFF peaked at 5.8 GB); it now converts in chunks (a table for 16 bit). Results
    are unchanged (tests/data/test_data_io.py checks the values)."""
    import tracemalloc

    h, w = 1500, 2000  # 3 M pixels
    rng = np.random.default_rng(0)
    if mode == "F":
        im = Image.fromarray(rng.random((h, w), dtype=np.float32), "F")
    else:
        a = rng.integers(0, 65536, (h, w))
        im = Image.fromarray(a.astype(np.uint16 if mode == "I;16" else np.int32))
    assert im.mode == mode
    tracemalloc.start()
    try:
        out = sio._to_rgb_array(im)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == (h, w, 3) and out.dtype == np.uint8
    # output 3 B + gray 1 B + np.asarray's copy of PIL's buffer (built through tobytes: up to
    # 2 x 4 B) + chunks; the whole-image float64 copies took 24 B (traced by tracemalloc)
    assert peak / (h * w) < 14, f"{peak / (h * w):.1f} bytes per pixel"
