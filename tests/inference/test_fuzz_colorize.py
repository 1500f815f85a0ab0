"""Fuzzing semcolor.colorize's inputs: bad input, tried hard.

numpy arrays of every dtype (bool, int8..uint64, float16..longdouble, complex, object,
datetime, strings; native and byte-swapped) and shape (0-d to 5-d, zero-sized sides, 1 to 5
channels first or last; flipped, transposed, broadcast, Fortran-ordered), torch tensors of
every dtype and layout, PIL images of every mode (random pixels, palettes, transparency),
lazily opened PIL images and paths of damaged files, and objects of other types. Each goes
through the input preparation (``semcolor.inference.api._prepare``) and, for fewer examples, a real
:meth:`semcolor.Colorizer.colorize` on a tiny random model (as tests/inference/test_api.py does).

The oracle is the documented contract (``semcolor.inference.api``'s module docstring): a valid input
gives the documented result (uint8 (H,W,3|4) for arrays; a float tensor in [0,1] with the
input's layout, C = 3|4, the input's floating dtype or float32; a PIL image RGB, RGBA when the
input has alpha), and an invalid one ``ValueError``; an object of another kind
``TypeError``; an undecodable file or lazily opened image
:class:`semcolor.data.io.BadImageError`. Nothing else, nothing slow.

Profiles, time limits and counters as in tests/data/test_fuzz_io.py (its docstring says how
to run the long fuzz and collect the counts).
"""

from __future__ import annotations

import io
import os
import struct
import time
import warnings
import zlib

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from PIL import Image

import semcolor
from semcolor import constants as C
from semcolor.data.io import BadImageError, max_pixels
from semcolor.inference import api
from tests.fuzz_helpers import (
    fuzz,
    time_limit,
    tried_counter,
)
from tests.inference.test_inference import tiny_net

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),  # PIL on damaged files
    pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning"),
]

SIZE = 32  # network side (the tiny model's smallest; a call takes ~20 ms)

TRIED, _report_tried = tried_counter(__name__)


@pytest.fixture(scope="module")
def colorizer():
    return semcolor.Colorizer(tiny_net(), device="cpu", size=SIZE)


@pytest.fixture(autouse=True)
def _one_thread():
    """As tests/inference/test_api.py: tiny models gain nothing from threads, and on a busy machine
    OpenMP oversubscription makes each forward pass many times slower."""
    torch.set_num_threads(1)
    yield


# --------------------------------------------------------------------------------------
# the oracle
# --------------------------------------------------------------------------------------
def check_prepared(p, hw: tuple[int, int], n: int = 1) -> None:
    assert isinstance(p.L, torch.Tensor) and p.L.dtype == torch.float32
    assert tuple(p.L.shape) == (n, *hw), (tuple(p.L.shape), hw)
    assert bool(torch.isfinite(p.L).all()), "non-finite L"
    lo, hi = float(p.L.min()), float(p.L.max())
    assert -1e-3 <= lo and hi <= 100.0 + 1e-3, (lo, hi)


def outcome(fn, what: str):
    """("ok", result) or ("ValueError"/"TypeError"/"BadImageError", exception); any other
    exception propagates (a bug), and so does a hang (FuzzTimeout)."""
    with time_limit(what):
        try:
            return "ok", fn()
        except BadImageError as e:  # before ValueError: not one, but keep the order explicit
            assert e.reason, what
            return "BadImageError", e
        except ValueError as e:
            assert str(e), what
            return "ValueError", e
        except TypeError as e:
            return "TypeError", e


# --------------------------------------------------------------------------------------
# numpy arrays
# --------------------------------------------------------------------------------------
DTYPES = [np.dtype(d) for d in (
    "?", "i1", "u1", "i2", "u2", ">u2", "i4", "u4", "i8", "u8", "f2", "f4", ">f4", "f8", ">f8",
    "g", "c8", "c16", "G", "O", "M8[s]", "m8[ms]", "U3", "S2",
)]  # fmt: skip
SIDE = st.integers(0, 6)


@st.composite
def image_arrays(draw) -> np.ndarray:
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.one_of(
        hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4),
        st.tuples(SIDE, SIDE),
        st.tuples(SIDE, SIDE, st.integers(1, 5)),  # channels last
        st.tuples(st.integers(1, 5), SIDE, SIDE),  # channels first
    ))  # fmt: skip
    elements = None
    if dtype.kind == "f" and draw(st.integers(0, 3)):  # mostly in [0,1], sometimes anything
        width = {2: 16, 4: 32}.get(dtype.itemsize, 64)
        elements = st.floats(0.0, 1.0, width=width)
    elif dtype.kind == "u" and draw(st.booleans()):
        elements = st.integers(0, min(255, np.iinfo(dtype).max))
    elif dtype.kind == "O":
        elements = st.one_of(st.none(), st.integers(-3, 300), st.floats(), st.text(max_size=2))
    if dtype.kind == "f" and dtype.itemsize > 8:  # longdouble: built from float64 values
        a = draw(hnp.arrays(np.float64, shape, elements=elements)).astype(dtype)
    else:
        a = draw(hnp.arrays(dtype, shape, elements=elements))
    view = draw(st.sampled_from(["as is", "as is", "flip", "transpose", "broadcast", "fortran",
                                 "readonly", "strided"]))  # fmt: skip
    if view == "flip" and a.ndim >= 2:
        a = a[::-1, ::-1]
    elif view == "transpose" and a.ndim >= 2:
        a = np.swapaxes(np.swapaxes(a, 0, 1).copy(), 0, 1)  # same shape, non-C strides
    elif view == "broadcast" and a.ndim >= 1:
        a = np.broadcast_to(a[:1], a.shape)  # zero stride, read-only
    elif view == "fortran":
        a = np.asfortranarray(a)
    elif view == "readonly":
        a.flags.writeable = False
    elif view == "strided" and a.ndim >= 1:
        a = np.repeat(a, 2, axis=0)[::2]
    return a


def array_is_valid(a: np.ndarray) -> bool:
    """The array contract: (H,W), (H,W,1), (H,W,3), (H,W,4), H, W >= 1; uint8, uint16 or
    floating with finite values in [0, 1] (checked in float64, as the library does)."""
    dt = a.dtype
    if not ((dt.kind == "u" and dt.itemsize in (1, 2)) or dt.kind == "f"):
        return False
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3, 4))):
        return False
    if a.shape[0] < 1 or a.shape[1] < 1:
        return False
    if dt.kind == "f":
        with np.errstate(over="ignore"):
            v = a.astype(np.float64)
        return bool(np.isfinite(v).all() and v.min() >= 0.0 and v.max() <= 1.0)
    return True


def _expected_alpha(a: np.ndarray) -> np.ndarray:
    alpha = a[..., 3]
    if alpha.dtype.kind == "u" and alpha.dtype.itemsize == 1:
        return alpha
    if alpha.dtype.kind == "u":
        return np.rint(alpha.astype(np.float64) / 257.0).astype(np.uint8)
    return np.rint(np.clip(alpha.astype(np.float64), 0, 1) * 255.0).astype(np.uint8)


def _array_prepare(a):
    TRIED["array_prepare"] += 1
    before = a.copy() if a.flags.writeable and a.dtype.kind != "O" else None  # (NaN != NaN)
    kind, res = outcome(lambda: api._prepare(a), f"_prepare(array {a.dtype} {a.shape})")
    valid = array_is_valid(a)
    assert kind == ("ok" if valid else "ValueError"), (kind, res, a.dtype, a.shape)
    if before is not None:
        np.testing.assert_array_equal(a, before)  # the input is never written to
    if valid:
        check_prepared(res, a.shape[:2])
        if a.ndim == 3 and a.shape[2] == 4:
            assert res.alpha.dtype == np.uint8 and res.alpha.shape == a.shape[:2]
        else:
            assert res.alpha is None


test_fuzz_array_prepare, test_fuzz_array_prepare_long = fuzz(
    _array_prepare, 300, 12000, a=image_arrays()
)


def _array_colorize(colorizer, a):
    TRIED["array_colorize"] += 1
    kind, out = outcome(lambda: colorizer.colorize(a), f"colorize(array {a.dtype} {a.shape})")
    valid = array_is_valid(a)
    assert kind == ("ok" if valid else "ValueError"), (kind, out, a.dtype, a.shape)
    if valid:
        c = 4 if a.ndim == 3 and a.shape[2] == 4 else 3
        assert isinstance(out, np.ndarray) and out.dtype == np.uint8, type(out)
        assert out.shape == (*a.shape[:2], c), (out.shape, a.shape)
        if c == 4:
            np.testing.assert_array_equal(out[..., 3], _expected_alpha(a))


test_fuzz_array_colorize, test_fuzz_array_colorize_long = fuzz(
    _array_colorize, 60, 2500, a=image_arrays()
)


# --------------------------------------------------------------------------------------
# torch tensors
# --------------------------------------------------------------------------------------
TORCH_DTYPES = [torch.bool, torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64,
                torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64]
for _name in ("uint16", "uint32", "uint64"):
    if hasattr(torch, _name):
        TORCH_DTYPES.append(getattr(torch, _name))
FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


@st.composite
def image_tensors(draw) -> torch.Tensor:
    dtype = draw(st.sampled_from(TORCH_DTYPES))
    ch = st.integers(1, 5)
    shape = draw(st.one_of(
        hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4),
        st.tuples(SIDE, SIDE), st.tuples(ch, SIDE, SIDE),
        st.tuples(st.integers(0, 3), ch, SIDE, SIDE),
    ))  # fmt: skip
    values = draw(st.sampled_from(["unit", "unit", "unit", "any"]))
    if dtype.is_floating_point:
        el = st.floats(0.0, 1.0) if values == "unit" else st.floats(allow_subnormal=False)
        t = torch.from_numpy(draw(hnp.arrays(np.float64, shape, elements=el))).to(dtype)
    elif dtype.is_complex:
        t = torch.from_numpy(draw(hnp.arrays(np.complex64, shape)))
    elif dtype == torch.bool:
        t = torch.from_numpy(draw(hnp.arrays(np.bool_, shape)))
    else:
        hi = 65535 if dtype in (getattr(torch, "uint16", None), torch.int32, torch.int64) else 255
        lo = -128 if dtype == torch.int8 else 0
        ints = draw(hnp.arrays(np.int64, shape, elements=st.integers(lo, min(hi, 127)
                                                                     if lo else hi)))  # fmt: skip
        t = torch.from_numpy(ints).to(dtype)
    view = draw(st.sampled_from(["as is", "as is", "transpose", "expand", "grad", "slice"]))
    if view == "transpose" and t.ndim >= 2:
        t = t.transpose(-1, -2).contiguous().transpose(-1, -2)  # same shape, non-contiguous
    elif view == "expand" and t.ndim >= 1:
        t = t[:1].expand(t.shape)  # zero stride
    elif view == "grad" and t.is_floating_point():
        t = t.clone().requires_grad_()
    elif view == "slice" and t.ndim >= 1:
        t = torch.cat([t, t]) [::2]
    return t


def _tensor_layout(t: torch.Tensor) -> tuple[str, int] | None:
    return {2: ("hw", 1), 3: ("chw", t.shape[0] if t.ndim == 3 else 0),
            4: ("bchw", t.shape[1] if t.ndim == 4 else 0)}.get(t.ndim)  # fmt: skip


def tensor_is_valid(t: torch.Tensor) -> bool:
    """The tensor contract: (H,W), (C,H,W), (B,C,H,W), C in {1,3,4}, not empty; floating with
    finite values in [0,1] (half precision checked in float32, as the library does), uint8
    or uint16."""
    layout = _tensor_layout(t)
    if layout is None or layout[1] not in (1, 3, 4) or t.numel() == 0:
        return False
    if t.is_floating_point():
        v = t.detach().float() if t.dtype in (torch.float16, torch.bfloat16) else t.detach()
        return bool(torch.isfinite(v).all() and v.min() >= 0 and v.max() <= 1)
    return t.dtype in (torch.uint8, getattr(torch, "uint16", torch.uint8))


def _tensor_prepare(t):
    TRIED["tensor_prepare"] += 1
    kind, res = outcome(lambda: api._prepare(t), f"_prepare(tensor {t.dtype} {tuple(t.shape)})")
    valid = tensor_is_valid(t)
    assert kind == ("ok" if valid else "ValueError"), (kind, res, t.dtype, tuple(t.shape))
    if valid:
        n = t.shape[0] if t.ndim == 4 else 1
        check_prepared(res, tuple(t.shape[-2:]), n)


test_fuzz_tensor_prepare, test_fuzz_tensor_prepare_long = fuzz(
    _tensor_prepare, 250, 10000, t=image_tensors()
)


def _tensor_colorize(colorizer, t):
    TRIED["tensor_colorize"] += 1
    kind, out = outcome(lambda: colorizer.colorize(t), f"colorize(tensor {t.dtype} "
                        f"{tuple(t.shape)})")  # fmt: skip
    valid = tensor_is_valid(t)
    assert kind == ("ok" if valid else "ValueError"), (kind, out, t.dtype, tuple(t.shape))
    if valid:
        layout, c = _tensor_layout(t)
        c_out = 4 if c == 4 else 3
        shape = {"hw": (3, *t.shape), "chw": (c_out, *t.shape[1:]),
                 "bchw": (t.shape[0], c_out, *t.shape[2:])}[layout]  # fmt: skip
        assert isinstance(out, torch.Tensor) and tuple(out.shape) == shape, (out.shape, shape)
        assert out.dtype == (t.dtype if t.is_floating_point() else torch.float32), out.dtype
        assert out.device == t.device and not out.requires_grad
        v = out.float()
        assert bool(torch.isfinite(v).all()) and v.min() >= 0 and v.max() <= 1


test_fuzz_tensor_colorize, test_fuzz_tensor_colorize_long = fuzz(
    _tensor_colorize, 50, 2500, t=image_tensors()
)


# --------------------------------------------------------------------------------------
# PIL images of every mode
# --------------------------------------------------------------------------------------
ALPHA_MODES = ("LA", "RGBA", "PA", "RGBa", "La")


@st.composite
def pil_images(draw) -> Image.Image:
    mode = draw(st.sampled_from(sorted(Image.MODES)))
    w, h = draw(SIDE), draw(SIDE)
    im = Image.new(mode, (w, h))
    if w and h:
        im.frombytes(draw(st.binary(min_size=len(im.tobytes()), max_size=len(im.tobytes()))))
    if mode in ("P", "PA"):
        raw = draw(st.sampled_from(["RGB", "RGBA"]))
        k = draw(st.integers(1, 256))
        im.putpalette(draw(st.binary(min_size=k * len(raw), max_size=k * len(raw))), raw)
    if mode in ("P", "L", "RGB", "1") and draw(st.booleans()):
        if mode == "P" and draw(st.booleans()):
            im.info["transparency"] = draw(st.binary(min_size=1, max_size=260))
        elif mode == "RGB":
            im.info["transparency"] = draw(st.tuples(*[st.integers(0, 255)] * 3))
        else:
            im.info["transparency"] = draw(st.integers(0, 255))
    return im


def pil_is_valid(im: Image.Image) -> bool:
    """Not empty, and a P image's transparency (bytes: one alpha per palette entry) not
    longer than a palette can be, 256 (PIL itself refuses to convert such an image)."""
    if im.width < 1 or im.height < 1:
        return False
    trns = im.info.get("transparency")
    return not (im.mode == "P" and isinstance(trns, bytes) and len(trns) > 256)


def _pil_has_alpha(im: Image.Image) -> bool:
    return im.mode in ALPHA_MODES or (im.mode == "P" and "transparency" in im.info)


def _pil_prepare(im):
    TRIED["pil_prepare"] += 1
    kind, res = outcome(lambda: api._prepare(im), f"_prepare(PIL {im.mode} {im.size})")
    valid = pil_is_valid(im)
    assert kind == ("ok" if valid else "ValueError"), (kind, res, im.mode, im.size)
    if valid:
        check_prepared(res, (im.height, im.width))
        assert (res.alpha is not None) == _pil_has_alpha(im), (im.mode, im.info)


test_fuzz_pil_prepare, test_fuzz_pil_prepare_long = fuzz(
    _pil_prepare, 200, 8000, im=pil_images()
)


def _pil_colorize(colorizer, im):
    TRIED["pil_colorize"] += 1
    kind, out = outcome(lambda: colorizer.colorize(im), f"colorize(PIL {im.mode} {im.size})")
    valid = pil_is_valid(im)
    assert kind == ("ok" if valid else "ValueError"), (kind, out, im.mode, im.size)
    if valid:
        assert isinstance(out, Image.Image) and out.size == im.size
        assert out.mode == ("RGBA" if _pil_has_alpha(im) else "RGB"), (out.mode, im.mode)


test_fuzz_pil_colorize, test_fuzz_pil_colorize_long = fuzz(
    _pil_colorize, 40, 2500, im=pil_images()
)


# --------------------------------------------------------------------------------------
# damaged files: lazily opened PIL images and paths
# --------------------------------------------------------------------------------------
def _real_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8))
    out = {}
    for fmt, im, kw in [("PNG", rgb, {}), ("PNG", rgb.convert("LA"), {}),
                        ("JPEG", rgb, {}), ("JPEG", rgb.convert("L"), {}),
                        ("TIFF", rgb, {"compression": "tiff_lzw"}), ("TIFF", rgb, {}),
                        ("GIF", rgb.convert("P"), {}), ("WEBP", rgb, {}), ("BMP", rgb, {})]:
        buf = io.BytesIO()
        try:
            im.save(buf, fmt, **kw)
        except OSError:
            continue
        out[f"{fmt.lower()}_{im.mode}_{len(out)}"] = buf.getvalue()
    return out


REAL = _real_files()


@st.composite
def damaged_bytes(draw) -> bytes:
    buf = bytearray(REAL[draw(st.sampled_from(sorted(REAL)))])
    for _ in range(draw(st.integers(0, 4))):
        n = len(buf)
        op = draw(st.sampled_from(["cut", "set", "flip"]))
        if op == "cut" and n > 1:
            del buf[draw(st.integers(1, n - 1)):]
        elif op == "set":
            buf[draw(st.integers(0, n - 1))] = draw(st.integers(0, 255))
        else:
            buf[draw(st.integers(0, n - 1))] ^= 1 << draw(st.integers(0, 7))
    return bytes(buf)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_colorize")


#: SEMCOLOR_MAX_PIXELS while fuzzing damaged files (as tests/data/test_fuzz_io.py: a damaged
#: header may legally claim up to the default limit, which would only make the fuzz slow).
FUZZ_LIMIT = 2**20


def _damaged(colorizer, fuzz_dir, data, how):
    saved = os.environ.get(C.MAX_PIXELS_ENV)
    os.environ[C.MAX_PIXELS_ENV] = str(FUZZ_LIMIT)
    try:
        _damaged_file(colorizer, fuzz_dir, data, how)
    finally:
        if saved is None:
            os.environ.pop(C.MAX_PIXELS_ENV, None)
        else:
            os.environ[C.MAX_PIXELS_ENV] = saved


def _damaged_file(colorizer, fuzz_dir, data, how):
    TRIED["damaged_files"] += 1
    if how == "path":
        p = fuzz_dir / "damaged.img"
        p.write_bytes(data)
        kind, out = outcome(lambda: colorizer.colorize(p), f"colorize(path, {len(data)} bytes)")
        assert kind in ("ok", "BadImageError"), (kind, out)
        if kind == "ok":
            assert isinstance(out, Image.Image) and out.mode in ("RGB", "RGBA")
        return
    try:
        im = Image.open(io.BytesIO(data))  # what PIL itself refuses is not semcolor's business
    except Exception:
        return
    fn = (lambda: api._prepare(im)) if how == "lazy PIL prepare" else (
        lambda: colorizer.colorize(im))  # fmt: skip
    kind, out = outcome(fn, f"{how} ({im.format} {im.mode} {im.size})")
    if im.width * im.height > FUZZ_LIMIT:  # an in-memory image over the limit: ValueError
        assert kind == "ValueError" and C.MAX_PIXELS_ENV in str(out), (kind, out)
        return
    assert kind in ("ok", "BadImageError"), (kind, out)
    if kind == "BadImageError":
        assert out.path == "<PIL.Image>", out.path


test_fuzz_damaged_files, test_fuzz_damaged_files_long = fuzz(
    _damaged, 150, 6000, data=damaged_bytes(),
    how=st.sampled_from(["path", "lazy PIL prepare", "lazy PIL prepare", "lazy PIL colorize"]),
)  # fmt: skip


def _other_objects(obj):
    TRIED["other_objects"] += 1
    kind, res = outcome(lambda: api._prepare(obj), f"_prepare({type(obj).__name__})")
    assert kind == "TypeError", (kind, res, type(obj))
    assert type(obj).__name__ in str(res)


test_fuzz_other_objects, test_fuzz_other_objects_long = fuzz(
    _other_objects, 50, 1000,
    obj=st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.binary(),
                  st.lists(st.integers(0, 255), max_size=4), st.dictionaries(st.text(), st.none()),
                  hnp.from_dtype(np.dtype("u1")), hnp.from_dtype(np.dtype("f4")),
                  st.builds(bytearray, st.binary()), st.builds(memoryview, st.binary())),
)  # fmt: skip


# --------------------------------------------------------------------------------------
# regressions (found by the fuzz) and the pixel limit, as plain tests
# --------------------------------------------------------------------------------------
def _png(h: int, w: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
        buf, "PNG")  # fmt: skip
    return buf.getvalue()


def test_lazily_opened_truncated_image_is_bad_image(colorizer, tmp_path):
    """Regression (fuzz): a PIL image opened lazily from a truncated file decodes inside
    colorize; PIL's OSError ("image file is truncated") escaped instead of BadImageError."""
    data = _png(40, 50)
    for im in (Image.open(io.BytesIO(data[: len(data) // 2])), _saved_open(tmp_path, data)):
        with pytest.raises(BadImageError, match="cannot decode image.*truncated") as e:
            colorizer.colorize(im)
        assert e.value.path in ("<PIL.Image>", str(tmp_path / "t.png"))


def test_palette_transparency_longer_than_any_palette_is_a_clear_value_error(colorizer):
    """Regression (fuzz): a P image whose transparency (one alpha byte per palette entry) has
    more than 256 entries made PIL's convert("RGBA") fail with the bare "palette index out of
    range"; the ValueError now says what is wrong and what to do. Trimmed, it works."""
    im = Image.new("P", (3, 2))
    im.putpalette(b"\x10\x20\x30" * 4)  # 4 entries
    im.info["transparency"] = bytes(257)
    with pytest.raises(ValueError, match=r"transparency for 257 palette entries, more than a "
                       r"palette can have \(256\); trim im.info\['transparency'\]"):  # fmt: skip
        colorizer.colorize(im)
    im.info["transparency"] = im.info["transparency"][:4]
    out = colorizer.colorize(im)
    assert out.mode == "RGBA" and out.size == (3, 2)


def test_float_image_with_signalling_nans_warns_nothing(tmp_path):
    """Regression (fuzz): an F image holding signalling NaNs made the float64 cast emit
    "RuntimeWarning: invalid value encountered in cast" at the user (NaN counts as 0, as
    documented, silently)."""
    from semcolor.data.io import _to_rgb_array

    im = Image.new("F", (2, 1))
    im.frombytes(bytes([0, 0, 0xC0, 0x7F, 1, 0, 0x80, 0x7F]))  # quiet NaN, signalling NaN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(api._prepare(im).L.max()) == 0.0
        assert _to_rgb_array(im).tolist() == [[[0, 0, 0], [0, 0, 0]]]


def test_flipped_array_with_a_length_one_axis(colorizer):
    """Regression (fuzz): a flipped view with a length-1 axis (``a[::-1]`` of a (1,W,3)
    array) keeps its negative stride through np.ascontiguousarray (numpy calls it
    contiguous), and torch.from_numpy raised ValueError on a valid image."""
    views = [np.arange(15, dtype=np.uint8).reshape(1, 5, 3)[::-1],
             np.zeros((1, 1), np.uint8)[::-1, ::-1],
             np.linspace(0, 1, 4, dtype=np.float32).reshape(4, 1)[:, ::-1],
             np.full((1, 3, 4), 9, np.uint16)[::-1, ::-1]]  # fmt: skip
    for a in views:
        assert any(st < 0 for st in a.strides)
        check_prepared(api._prepare(a), a.shape[:2])
        out = colorizer.colorize(a)
        assert out.dtype == np.uint8 and out.shape == (*a.shape[:2], 4 if a.ndim == 3
                                                       and a.shape[2] == 4 else 3)  # fmt: skip


def _saved_open(tmp_path, data: bytes) -> Image.Image:
    p = tmp_path / "t.png"
    p.write_bytes(data[: len(data) // 2])
    return Image.open(p)


def _big_png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))  # fmt: skip


def test_pixel_limit_applies_to_every_input_kind(colorizer, tmp_path, monkeypatch):
    """Over semcolor's pixel limit, every kind of input fails at once with a message naming
    the limit and SEMCOLOR_MAX_PIXELS, before anything of the image's size is allocated
    (these inputs hold one value each, or nothing at all)."""
    monkeypatch.delenv(C.MAX_PIXELS_ENV, raising=False)
    side = 20000  # 400 M pixels
    huge = [np.broadcast_to(np.uint8(7), (side, side)),
            np.broadcast_to(np.float64(0.5), (side, side, 3)),
            torch.zeros(1, 1, 1).expand(3, side, side),
            torch.zeros(1, 1, 1, 1, dtype=torch.uint8).expand(2, 1, side, side)]  # fmt: skip
    lazy = tmp_path / "150mp.png"  # over semcolor's limit, under PIL's error (179 M)
    lazy.write_bytes(_big_png_header(side, 7500))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # PIL's, at open
        huge.append(Image.open(lazy))  # lazily opened: only the header is read
    for x in huge:
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match=rf"{side} x \d+ = [\d,]+ pixels is more than "
                           rf"semcolor's limit of {C.MAX_IMAGE_PIXELS:,}.*SEMCOLOR_MAX_PIXELS="):
            colorizer.colorize(x)
        assert time.perf_counter() - t0 < 2.0, type(x)
    p = tmp_path / "bomb.png"
    p.write_bytes(_big_png_header(30000, 30000))
    with pytest.raises(BadImageError, match="SEMCOLOR_MAX_PIXELS=900000000"):
        colorizer.colorize(p)
    with pytest.raises(BadImageError, match="SEMCOLOR_MAX_PIXELS=900000000"):
        semcolor.colorize(str(p), model=colorizer.model, size=SIZE)


def test_pixel_limit_raised_and_lowered_for_arrays(colorizer, monkeypatch):
    """SEMCOLOR_MAX_PIXELS lowered below an array's size rejects it; raised, it passes."""
    a = np.full((10, 11), 0.5)
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "109")
    assert max_pixels() == 109
    for x in (a, torch.from_numpy(a), Image.fromarray((a * 255).astype(np.uint8))):
        with pytest.raises(ValueError, match=r"11 x 10 = 110 pixels .* limit of 109 pixels"):
            colorizer.colorize(x)
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "110")
    assert colorizer.colorize(a).shape == (10, 11, 3)
    assert tuple(colorizer.colorize(torch.from_numpy(a)).shape) == (3, 10, 11)
    # a batch is limited per image, not in total
    assert tuple(colorizer.colorize(torch.rand(3, 1, 10, 11)).shape) == (3, 3, 10, 11)


def test_array_checks_come_before_conversions(monkeypatch):
    """A byte-swapped or long-double array is converted only once its shape and size are
    known good (the conversion copies the whole array)."""
    monkeypatch.setenv(C.MAX_PIXELS_ENV, "100")
    for dtype in (">u2", ">f8", np.longdouble):
        big = np.broadcast_to(np.zeros((), dtype=dtype), (11, 10))
        with pytest.raises(ValueError, match="limit of 100 pixels"):
            api._prepare(big)
    ok = np.full((10, 10), 0.25, dtype=">f8")
    check_prepared(api._prepare(ok), (10, 10))
    check_prepared(api._prepare(np.full((10, 10, 3), 0.25, dtype=np.longdouble)), (10, 10))
    with pytest.raises(ValueError, match="NaN or infinite"):  # beyond float64
        api._prepare(np.full((3, 3), np.finfo(np.longdouble).max, dtype=np.longdouble))
