"""Golden tests: the full-resolution fast paths against rgb_to_lab / lab_to_rgb and scikit-image.

Tolerances are the ones semcolor.color.fullres documents: L within 1e-3 of rgb_to_lab (float64;
the measured error is about 2e-5), exact for integer grays; 8-bit output at most one level
off round(255 * lab_to_rgb) on under 1% of colours, 8-bit grays unchanged through a round
trip; lab_to_rgb_chunked within 1e-6 of lab_to_rgb; the chunk size changing results only by
float32 rounding (L by 1e-5, float sRGB by 1e-6, integer grays not at all, 8-bit outputs at
most one level on a rare lookup-bucket edge).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import color as skcolor

from semcolor.color import (
    CHUNK_PIXELS,
    l_from_planes,
    l_from_rgb,
    l_to_gray_u8,
    lab_to_rgb,
    lab_to_rgb_chunked,
    lab_to_rgb_u8,
    rgb_to_lab,
)

LEVELS = np.arange(0, 256, 15)  # every 15th 8-bit level: 18 levels, 18**3 = 5832 colours
L_TOL = 1e-3
FLOAT_TOL = 1e-6
L_ROUNDING = 1e-5  # one float32 ulp near L = 100 (7.6e-6): vectorised vs scalar pow
CHUNKS = (1, 7, 100, 1000, CHUNK_PIXELS, 1 << 30)
ODD_SHAPES = ((1, 1), (3, 1000), (1000, 3))


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield


def grid_u8() -> np.ndarray:
    """(324, 18, 3) uint8: every colour of the 8-bit grid."""
    g = np.stack(np.meshgrid(LEVELS, LEVELS, LEVELS, indexing="ij"), -1)
    return g.reshape(18 * 18, 18, 3).astype(np.uint8)


def sample_u16(shape=(60, 70), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, (*shape, 3), dtype=np.uint16)


def ref_lab(rgb01: np.ndarray) -> torch.Tensor:
    """(H,W,3) or (H,W) sRGB in [0,1] -> (3,H,W) float64 Lab by rgb_to_lab (the reference)."""
    x = np.broadcast_to(rgb01[..., None], (*rgb01.shape, 3)) if rgb01.ndim == 2 else rgb01
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).permute(2, 0, 1)[None]
    return rgb_to_lab(t)[0]


def ref_u8(L: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    """round(255 * lab_to_rgb) in float64, as an (H,W,3) int array."""
    lab = torch.cat([L.reshape(1, *L.shape[-2:]), ab]).double()[None]
    return (lab_to_rgb(lab)[0].permute(1, 2, 0) * 255).round().numpy().astype(int)


def random_lab(h: int, w: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """L uniform in [0,100], ab ~ N(0, 40): many colours out of the sRGB gamut."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(h, w, generator=gen) * 100, torch.randn(2, h, w, generator=gen) * 40


# --------------------------------------------------------------------------------------
# sRGB -> L
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["u8", "u16", "float64", "float32"])
def test_l_from_rgb_on_the_8bit_grid(kind):
    g = grid_u8()
    x = {
        "u8": g,
        "u16": g.astype(np.uint16) * 257,
        "float64": g / 255.0,
        "float32": (g / 255.0).astype(np.float32),
    }[kind]
    L = l_from_rgb(x)
    assert L.shape == g.shape[:2] and L.dtype == torch.float32
    ref = ref_lab(g / 255.0)[0]
    assert (L.double() - ref).abs().max() < L_TOL
    sk = skcolor.rgb2lab(g)[..., 0]
    assert np.abs(L.double().numpy() - sk).max() < L_TOL


def test_l_from_rgb_on_a_16bit_sample():
    x = sample_u16()
    ref = ref_lab(x / 65535.0)[0]
    assert (l_from_rgb(x).double() - ref).abs().max() < L_TOL


@pytest.mark.parametrize("bits", [8, 16])
def test_integer_grays_are_the_reference_exactly(bits):
    """(H,W) integer grays: L is the float64 reference rounded to float32, every level."""
    dtype = np.uint8 if bits == 8 else np.uint16
    v = np.arange(2**bits, dtype=dtype).reshape(2 ** (bits // 2), -1)
    ref = ref_lab(v / (2.0**bits - 1))[0].float()
    assert torch.equal(l_from_rgb(v), ref)
    rgb = np.repeat(v[..., None], 3, axis=2)  # the same grays as three channels
    assert (l_from_rgb(rgb) - ref).abs().max() < L_TOL


def test_l_from_planes_is_l_from_rgb():
    """Planes of a (C,H,W) tensor, u16 as int32, gray as one plane: same L as l_from_rgb."""
    g = grid_u8()
    t = torch.from_numpy(g).permute(2, 0, 1)
    assert torch.equal(l_from_planes(list(t), "u8"), l_from_rgb(g))
    x16 = sample_u16()
    t16 = torch.from_numpy(x16.astype(np.int32)).permute(2, 0, 1)
    assert torch.equal(l_from_planes(list(t16), "u16"), l_from_rgb(x16))
    f = torch.from_numpy(g / 255.0).permute(2, 0, 1)
    assert torch.equal(l_from_planes(list(f), "float"), l_from_rgb(g / 255.0))
    assert torch.equal(l_from_planes([t[1]], "u8"), l_from_rgb(g[..., 1]))


def test_l_from_rgb_array_layouts():
    """Read-only, non-native byte order, negative strides and torch inputs: same L."""
    x = sample_u16((31, 17))
    ref = l_from_rgb(x)
    ro = x.copy()
    ro.flags.writeable = False
    assert torch.equal(l_from_rgb(ro), ref)
    assert torch.equal(l_from_rgb(x.astype(">u2")), ref)
    flipped = l_from_rgb(x[::-1, ::-1]).flip((0, 1))  # other chunk edges: float32 rounding
    assert (flipped - ref).abs().max() < L_ROUNDING
    assert torch.equal(l_from_rgb(torch.from_numpy(x)), ref)  # a torch uint16 tensor
    as_float = l_from_rgb(torch.from_numpy(x.astype(np.float64) / 65535.0))
    assert (as_float - ref).abs().max() < L_TOL


# --------------------------------------------------------------------------------------
# Lab -> sRGB
# --------------------------------------------------------------------------------------
def test_lab_to_rgb_u8_on_the_8bit_grid():
    """Lab of every grid colour comes back as that colour (and as lab_to_rgb / skimage)."""
    g = grid_u8()
    lab = ref_lab(g / 255.0).float()
    fast = lab_to_rgb_u8(lab[0], lab[1:])
    assert fast.shape == g.shape and fast.dtype == np.uint8
    assert np.abs(fast.astype(int) - g).max() <= 1
    assert np.abs(fast.astype(int) - ref_u8(lab[0], lab[1:])).max() <= 1
    sk = (skcolor.lab2rgb(lab.permute(1, 2, 0).double().numpy()) * 255).round()
    assert np.abs(fast - sk).max() <= 1


def test_lab_to_rgb_u8_out_of_gamut_colours():
    L, ab = random_lab(150, 200)
    fast = lab_to_rgb_u8(L, ab).astype(int)
    ref = ref_u8(L, ab)
    assert np.abs(fast - ref).max() <= 1 and (fast != ref).mean() < 0.01
    with pytest.warns(UserWarning, match="negative Z"):  # skimage clamps z like we do
        sk = skcolor.lab2rgb(torch.cat([L[None], ab]).permute(1, 2, 0).double().numpy())
    assert np.abs(fast - (sk * 255).round()).max() <= 1


@pytest.mark.parametrize("bits", [8, 16])
def test_grays_round_trip(bits):
    """8-bit grays come back unchanged; 16-bit grays come back as their nearest 8-bit level
    (up to one level, as lab_to_rgb's rounding)."""
    v = np.arange(0, 2**bits, 1 if bits == 8 else 7, dtype=np.uint8 if bits == 8 else np.uint16)
    v = v[None]
    L = l_from_rgb(v)
    gray = l_to_gray_u8(L)
    assert gray.shape == v.shape and gray.dtype == np.uint8
    if bits == 8:
        assert np.array_equal(gray, v)
        assert np.array_equal(lab_to_rgb_u8(L), np.repeat(v[..., None], 3, axis=2))
    else:
        assert np.abs(gray.astype(int) - np.rint(v / 257.0)).max() <= 1
    assert np.abs(gray.astype(int) - ref_u8(L, torch.zeros(2, *L.shape))[..., 0]).max() <= 1


def test_lab_to_rgb_chunked_is_lab_to_rgb():
    L, ab = random_lab(150, 200, seed=1)
    out = lab_to_rgb_chunked(L, ab, chunk_pixels=1000)
    assert out.shape == (3, 150, 200) and out.dtype == torch.float32
    ref = lab_to_rgb(torch.cat([L[None], ab])[None])[0]
    assert (out - ref).abs().max() < FLOAT_TOL
    assert torch.equal(lab_to_rgb_chunked(L[None], ab, chunk_pixels=1000), out)  # (1,H,W) L


# --------------------------------------------------------------------------------------
# chunking, odd shapes, errors
# --------------------------------------------------------------------------------------
def test_results_do_not_depend_on_the_chunk_size():
    rng = np.random.default_rng(3)
    u8 = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    u16 = sample_u16((37, 53), seed=4)
    f = rng.random((37, 53, 3))
    L, ab = random_lab(37, 53, seed=5)
    base = {
        "u8": l_from_rgb(u8),
        "gray": l_from_rgb(u8[..., 0]),
        "u16": l_from_rgb(u16),
        "float": l_from_rgb(f),
        "lab u8": lab_to_rgb_u8(L, ab),
        "gray u8": l_to_gray_u8(L),
        "lab float": lab_to_rgb_chunked(L, ab),
    }
    for cp in CHUNKS:
        assert torch.equal(l_from_rgb(u8[..., 0], chunk_pixels=cp), base["gray"]), cp  # lookup
        for key, x in (("u8", u8), ("u16", u16), ("float", f)):
            assert (l_from_rgb(x, chunk_pixels=cp) - base[key]).abs().max() < L_ROUNDING, cp
        for key, out in (
            ("lab u8", lab_to_rgb_u8(L, ab, chunk_pixels=cp)),
            ("gray u8", l_to_gray_u8(L, chunk_pixels=cp)),
        ):
            diff = np.abs(out.astype(int) - base[key])
            assert diff.max() <= 1 and (diff > 0).mean() < 1e-3, (key, cp)
        chunked = lab_to_rgb_chunked(L, ab, chunk_pixels=cp)
        assert (chunked - base["lab float"]).abs().max() < FLOAT_TOL, cp


@pytest.mark.parametrize("shape", ODD_SHAPES)
def test_odd_shapes(shape):
    h, w = shape
    rng = np.random.default_rng(6)
    u8 = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    L = l_from_rgb(u8, chunk_pixels=100)
    assert L.shape == shape
    assert (L.double() - ref_lab(u8 / 255.0)[0]).abs().max() < L_TOL
    assert l_from_rgb(u8[..., 0]).shape == shape
    Lr, ab = random_lab(h, w, seed=7)
    fast = lab_to_rgb_u8(Lr, ab, chunk_pixels=100)
    assert fast.shape == (h, w, 3) and np.abs(fast.astype(int) - ref_u8(Lr, ab)).max() <= 1
    assert l_to_gray_u8(Lr).shape == shape
    out = lab_to_rgb_chunked(Lr, ab, chunk_pixels=100)
    assert out.shape == (3, h, w)
    assert (out - lab_to_rgb(torch.cat([Lr[None], ab])[None])[0]).abs().max() < FLOAT_TOL


def test_errors():
    p = torch.zeros(4, 5, dtype=torch.uint8)
    with pytest.raises(ValueError, match="1 \\(gray\\) or 3"):
        l_from_planes([p, p], "u8")
    with pytest.raises(ValueError, match="depth"):
        l_from_planes([p], "u12")
    with pytest.raises(ValueError, match="\\(H,W\\)"):
        l_from_planes([p, p, torch.zeros(4, 6, dtype=torch.uint8)], "u8")
    with pytest.raises(ValueError, match="shape"):
        l_from_rgb(np.zeros((4, 5, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8, uint16 or floating"):
        l_from_rgb(np.zeros((4, 5), np.int32))
    with pytest.raises(ValueError, match="chunk_pixels"):
        l_from_rgb(np.zeros((4, 5), np.uint8), chunk_pixels=0)
    L = torch.zeros(4, 5)
    with pytest.raises(ValueError, match="ab must be"):
        lab_to_rgb_u8(L, torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match="ab must be"):
        lab_to_rgb_chunked(L, torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match="L must be"):
        l_to_gray_u8(torch.zeros(2, 4, 5))
