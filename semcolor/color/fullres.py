"""Full-resolution sRGB <-> CIE Lab for whole photos: chunked, lookup tables, bounded memory.

Why this module exists: :func:`~semcolor.color.rgb_to_lab` and :func:`~semcolor.color.lab_to_rgb`
are the reference (scikit-image's formulas; batched, differentiable, any device), but on a
24-megapixel photo they build several full-size temporaries (gigabytes) and run one
multi-threaded pass over every pixel. The user-facing API (:func:`semcolor.colorize`) needs
exactly two conversions at the photo's own resolution: the input's luminance L, and Lab ->
sRGB of the result. The functions here do those on the CPU, in row chunks of at most
``chunk_pixels`` pixels (working memory of a few MB whatever the image size; small chunks stay
in cache and run single-threaded, so they are fast and immune to OpenMP oversubscription), with
lookup tables where the input is discrete:

- 8- and 16-bit inputs: sRGB decoding is a table lookup (for grays, the whole sRGB -> L is);
  the tables are built in float64 from the reference formulas (the gray -> L table *is*
  ``rgb_to_lab`` of the gray levels);
- 8-bit output: sRGB encoding is a table lookup on linear light quantised to 2**18 levels.

Same maths as the reference (same constants, from :mod:`semcolor.constants`, same XYZ matrices
and white point as :mod:`semcolor.color.lab`), with these documented tolerances, checked by
``tests/color/test_fullres.py``:

- L (:func:`l_from_rgb`, :func:`l_from_planes`): within 1e-3 of ``rgb_to_lab`` (float64), for
  every input kind; for integer grays it is the float64 reference rounded to float32.
- :func:`lab_to_rgb_u8`: at most one 8-bit level from ``round(255 * lab_to_rgb(lab))`` (off
  by one on well under 1% of colours, where the reference lies at a rounding boundary), and
  8-bit grays come back unchanged (gray level -> :func:`l_from_rgb` -> :func:`l_to_gray_u8`
  is the identity).
- :func:`lab_to_rgb_chunked`: ``lab_to_rgb`` itself, applied chunk by chunk (float32; within
  1e-6 of ``lab_to_rgb`` of the whole image, see below).
- ``chunk_pixels`` (and where a pixel sits in the image) changes results only through float32
  rounding: torch's vectorised and scalar kernels (e.g. ``pow``) may differ by one ulp, and
  which pixels take which depends on the chunk edges. L moves by at most 1e-5 (one ulp near
  100), float sRGB by at most 1e-6; integer-gray L is bit-identical (a pure lookup), and so
  are 8-bit outputs, except that a one-ulp change landing on the edge of a lookup bucket can
  (rarely) move a value by one level.

Tensor contract: CPU tensors; L in [0,100] as (H,W) (or (1,H,W)) float32; ab in Lab units as
(2,H,W) float32; sRGB as (H,W,3) uint8 numpy arrays or (3,H,W) float32 tensors in [0,1].
Out-of-gamut colours are clipped per channel, as scikit-image does.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from semcolor import constants as C
from semcolor.color.lab import _matrices, _white, lab_to_rgb, rgb_to_lab

__all__ = [
    "CHUNK_PIXELS",
    "l_from_planes",
    "l_from_rgb",
    "l_to_gray_u8",
    "lab_to_rgb_chunked",
    "lab_to_rgb_u8",
]

#: Default pixels per chunk. At most torch's intra-op grain size (32768): a chunk stays in
#: cache and runs single-threaded, which is much faster than one multi-threaded pass over
#: 24 M pixels, and immune to OpenMP oversubscription.
CHUNK_PIXELS = 1 << 15
#: Resolution of the linear-light -> 8-bit sRGB lookup table (bucket width 3.8e-6, far below
#: the smallest 8-bit step in linear light, 3e-4 near black).
_U8_LUT_LEVELS = 1 << 18
_CPU = torch.device("cpu")
_DEPTHS = ("u8", "u16", "float")


# --------------------------------------------------------------------------------------
# the reference's pieces (matrices, white, transfer functions)
# --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _y_weights() -> tuple[float, float, float]:
    """Y row of xyz_from_rgb over the white's Y: Y = sum_c w_c * linear_c (float64)."""
    xyz_from_rgb, _ = _matrices(torch.float64, _CPU)
    white_y = float(_white(torch.float64, _CPU).flatten()[1])
    return tuple(float(w) / white_y for w in xyz_from_rgb[1])  # type: ignore[return-value]


@functools.lru_cache(maxsize=1)
def _rgb_from_xyz_white() -> list[list[float]]:
    """Linear sRGB from f^-1 values: rgb_from_xyz with the white folded into its columns,
    as lab_to_rgb computes it (xyz = f^-1(f) * white, then rgb_from_xyz @ xyz)."""
    _, rgb_from_xyz = _matrices(torch.float64, _CPU)
    white = _white(torch.float64, _CPU).view(1, 3)
    return (rgb_from_xyz * white).tolist()


def _srgb_decode(v: torch.Tensor) -> torch.Tensor:
    """sRGB in [0,1] -> linear light (the formula of rgb_to_lab), any float dtype."""
    return torch.where(
        v > C.SRGB_KNEE_ENCODED,
        v.clamp_min(C.SRGB_KNEE_ENCODED).add(C.SRGB_OFFSET).div_(1 + C.SRGB_OFFSET)
        .pow_(C.SRGB_GAMMA),
        v / C.SRGB_LINEAR_SLOPE,
    )  # fmt: skip


def _srgb_encode(lin: torch.Tensor) -> torch.Tensor:
    """Linear light -> sRGB (the formula of lab_to_rgb, before clipping), any float dtype."""
    return torch.where(
        lin > C.SRGB_KNEE_LINEAR,
        lin.clamp_min(C.SRGB_KNEE_LINEAR).pow(1.0 / C.SRGB_GAMMA).mul_(1 + C.SRGB_OFFSET)
        .sub_(C.SRGB_OFFSET),
        lin * C.SRGB_LINEAR_SLOPE,
    )  # fmt: skip


def _y_to_l_(y: torch.Tensor) -> torch.Tensor:
    """Y (white = 1) -> L, the formula of rgb_to_lab; may reuse ``y``'s storage."""
    lin = torch.mul(y, C.LAB_KAPPA_SLOPE).add_(C.LAB_OFFSET)
    cube = y.clamp_min(C.LAB_EPSILON).pow_(1.0 / 3.0)
    return torch.where(y > C.LAB_EPSILON, cube, lin).mul_(116.0).sub_(16.0)


def _f_inv(f: torch.Tensor) -> torch.Tensor:
    """Inverse Lab transfer function f^-1 (as lab_to_rgb, knee at 6/29)."""
    lin = torch.sub(f, C.LAB_OFFSET).mul_(1.0 / C.LAB_KAPPA_SLOPE)
    return torch.where(f > C.LAB_F_KNEE, f * f * f, lin)


# --------------------------------------------------------------------------------------
# lookup tables
# --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _int_luts(bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For ``bits``-bit integer inputs: (gray level -> L, (3, levels) weighted linear light
    per channel, whose sum over the channels is Y). Computed in float64, stored float32."""
    v = torch.arange(2**bits, dtype=torch.float64) / (2**bits - 1)
    gray_l = rgb_to_lab(v.expand(1, 3, 1, -1))[0, 0, 0]
    lin = _srgb_decode(v)
    weighted = torch.stack([w * lin for w in _y_weights()])
    return gray_l.float(), weighted.float()


@functools.lru_cache(maxsize=1)
def _u8_lut() -> torch.Tensor:
    """Linear light quantised to _U8_LUT_LEVELS buckets (value at the centre) -> 8-bit sRGB."""
    centres = (torch.arange(_U8_LUT_LEVELS, dtype=torch.float64) + 0.5) / _U8_LUT_LEVELS
    return _srgb_encode(centres).mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)


def _row_chunks(h: int, w: int, chunk_pixels: int) -> Iterator[tuple[int, int]]:
    """Row ranges [r0, r1) covering h rows of width w, at most chunk_pixels each (>= 1 row)."""
    if chunk_pixels < 1:
        raise ValueError(f"chunk_pixels must be >= 1, got {chunk_pixels}")
    rows = max(1, chunk_pixels // max(w, 1))
    for r0 in range(0, h, rows):
        yield r0, min(h, r0 + rows)


def _as_hw(L: torch.Tensor, name: str = "L") -> torch.Tensor:
    if not isinstance(L, torch.Tensor) or not (L.ndim == 2 or (L.ndim == 3 and L.shape[0] == 1)):
        shape = tuple(L.shape) if isinstance(L, torch.Tensor) else type(L).__name__
        raise ValueError(f"{name} must be an (H,W) or (1,H,W) tensor, got {shape}")
    return L[0] if L.ndim == 3 else L


# --------------------------------------------------------------------------------------
# sRGB -> L
# --------------------------------------------------------------------------------------
def l_from_planes(
    planes: Sequence[torch.Tensor], depth: str, *, chunk_pixels: int = CHUNK_PIXELS
) -> torch.Tensor:
    """CIE L of one sRGB image given as separate channel planes, chunked.

    Args:
        planes: 1 (gray) or 3 (R, G, B) CPU tensors of one shape (H,W); views of an
            interleaved image (``img[..., c]``) are fine and are not copied whole.
        depth: "u8" (integer planes with values 0..255, e.g. uint8), "u16" (integer planes
            with values 0..65535: uint16 or int32) or "float" (floating planes in [0,1]).
            Values are not checked (out-of-range integers raise IndexError).
        chunk_pixels: pixels per chunk (memory bound; changes the result only by float32
            rounding, see the module docstring).

    Returns:
        (H,W) contiguous float32 L in [0,100], within 1e-3 of ``rgb_to_lab``'s L (float64);
        for integer grays, the float64 reference rounded to float32.

    Raises:
        ValueError: not 1 or 3 planes, planes not (H,W) or of different shapes, bad depth.
    """
    if depth not in _DEPTHS:
        raise ValueError(f"depth must be one of {list(_DEPTHS)}, got {depth!r}")
    if len(planes) not in (1, 3):
        raise ValueError(f"expected 1 (gray) or 3 (R, G, B) planes, got {len(planes)}")
    shape = tuple(planes[0].shape)
    if len(shape) != 2 or any(tuple(p.shape) != shape for p in planes):
        raise ValueError(f"planes must all be (H,W), got {[tuple(p.shape) for p in planes]}")
    h, w = shape
    out = torch.empty(h, w, dtype=torch.float32)
    integer = depth != "float"
    if integer:
        gray_l, weighted = _int_luts(8 if depth == "u8" else 16)
    weights = (sum(_y_weights()),) if len(planes) == 1 else _y_weights()
    for r0, r1 in _row_chunks(h, w, chunk_pixels):
        chunk = [p[r0:r1] for p in planes]
        if integer:
            if len(chunk) == 1:
                idx = chunk[0].reshape(-1).to(torch.int32)
                out[r0:r1] = gray_l.index_select(0, idx).view(r1 - r0, w)
                continue
            y = None
            for c, p in enumerate(chunk):
                term = weighted[c].index_select(0, p.reshape(-1).to(torch.int32))
                y = term if y is None else y.add_(term)
        else:
            y = None
            for p, weight in zip(chunk, weights, strict=True):
                lin = _srgb_decode(p.reshape(-1).to(torch.float32))
                y = lin.mul_(weight) if y is None else y.add_(lin, alpha=weight)
        out[r0:r1] = _y_to_l_(y).view(r1 - r0, w)
    return out


def l_from_rgb(rgb: np.ndarray | torch.Tensor, *, chunk_pixels: int = CHUNK_PIXELS) -> torch.Tensor:
    """CIE L of an interleaved sRGB (or gray) image, chunked: the fast path of
    ``rgb_to_lab(rgb)[:, 0]`` for whole photos.

    Args:
        rgb: numpy array or CPU tensor, (H,W) (gray: R = G = B) or (H,W,3); dtype uint8
            (0..255), uint16 (0..65535) or floating in [0,1]. Values are not checked.
        chunk_pixels: pixels per chunk (memory bound; changes the result only by float32
            rounding, see the module docstring).

    Returns:
        (H,W) float32 tensor, L in [0,100]: within 1e-3 of ``rgb_to_lab``'s L (float64); for
        integer grays, the float64 reference rounded to float32.

    Raises:
        ValueError: another shape or dtype.
    """
    if isinstance(rgb, np.ndarray):
        if rgb.dtype.byteorder not in ("=", "|"):
            rgb = rgb.astype(rgb.dtype.newbyteorder("="))
        if any(st < 0 for st in rgb.strides):
            rgb = np.ascontiguousarray(rgb)
        with warnings.catch_warnings():  # read-only arrays (np.asarray(PIL image)): never written
            warnings.simplefilter("ignore", UserWarning)
            t = torch.from_numpy(rgb)
    elif isinstance(rgb, torch.Tensor):
        t = rgb.detach()
    else:
        raise ValueError(f"rgb must be a numpy array or a torch tensor, got {type(rgb).__name__}")
    if t.ndim not in (2, 3) or (t.ndim == 3 and t.shape[2] != 3):
        raise ValueError(f"rgb must have shape (H,W) or (H,W,3), got {tuple(t.shape)}")
    if t.dtype == torch.uint8:
        depth = "u8"
    elif t.dtype == getattr(torch, "uint16", None):
        depth = "u16"
    elif t.is_floating_point():
        depth = "float"
    else:
        raise ValueError(f"rgb must be uint8, uint16 or floating (in [0,1]), got {t.dtype}")
    planes = [t] if t.ndim == 2 else [t[..., c] for c in range(3)]
    return l_from_planes(planes, depth, chunk_pixels=chunk_pixels)


# --------------------------------------------------------------------------------------
# Lab -> sRGB
# --------------------------------------------------------------------------------------
def lab_to_rgb_u8(
    L: torch.Tensor, ab: torch.Tensor | None = None, *, chunk_pixels: int = CHUNK_PIXELS
) -> np.ndarray:
    """Lab -> 8-bit sRGB, chunked: the fast path of ``round(255 * lab_to_rgb(lab))``.

    Same maths as :func:`~semcolor.color.lab_to_rgb` (negative z clamped to 0, per-channel
    gamut clipping); the final sRGB encoding is a lookup on linear light quantised to 2**18
    levels.

    Args:
        L: (H,W) or (1,H,W) float32 CPU tensor, L in [0,100].
        ab: (2,H,W) float32 CPU tensor in Lab units, or None for a = b = 0 (gray).
        chunk_pixels: pixels per chunk (memory bound; changes the result only by float32
            rounding, see the module docstring).

    Returns:
        (H,W,3) uint8 numpy array: at most one level from ``round(255 * lab_to_rgb(lab))``
        (identical for all but well under 1% of colours), and 8-bit gray levels come back
        unchanged through :func:`l_from_rgb`.

    Raises:
        ValueError: bad shapes.
    """
    L = _as_hw(L)
    h, w = L.shape
    if ab is not None and (ab.ndim != 3 or tuple(ab.shape) != (2, h, w)):
        raise ValueError(f"ab must be (2,{h},{w}) to match L, got {tuple(ab.shape)}")
    out = torch.empty(h, w, 3, dtype=torch.uint8)
    lut = _u8_lut()
    m = _rgb_from_xyz_white()
    n = _U8_LUT_LEVELS
    for r0, r1 in _row_chunks(h, w, chunk_pixels):
        fy = torch.add(L[r0:r1].reshape(-1), 16.0).mul_(1.0 / 116.0)
        if ab is None:
            fx = fz = fy
        else:
            fx = torch.add(fy, ab[0, r0:r1].reshape(-1), alpha=1.0 / 500.0)
            fz = torch.add(fy, ab[1, r0:r1].reshape(-1), alpha=-1.0 / 200.0).clamp_min_(0.0)
        x, y, z = _f_inv(fx), _f_inv(fy), _f_inv(fz)
        dst = out[r0:r1].view(-1, 3)
        for c in range(3):
            lin = torch.mul(x, m[c][0]).add_(y, alpha=m[c][1]).add_(z, alpha=m[c][2])
            idx = lin.mul_(n).clamp_(0, n - 1).to(torch.int32)
            dst[:, c] = lut.index_select(0, idx)
    return out.numpy()


def l_to_gray_u8(L: torch.Tensor, *, chunk_pixels: int = CHUNK_PIXELS) -> np.ndarray:
    """The luminance alone as an 8-bit gray image: ``lab_to_rgb_u8(L, None)``'s one channel.

    Args:
        L: (H,W) or (1,H,W) float32 CPU tensor, L in [0,100].
        chunk_pixels: pixels per chunk (memory bound; changes the result only by float32
            rounding, see the module docstring).

    Returns:
        (H,W) uint8 numpy array; an 8-bit gray image's :func:`l_from_rgb` maps back to itself.
    """
    return lab_to_rgb_u8(L, None, chunk_pixels=chunk_pixels)[..., 0]


def lab_to_rgb_chunked(
    L: torch.Tensor, ab: torch.Tensor, *, chunk_pixels: int = CHUNK_PIXELS
) -> torch.Tensor:
    """Lab -> float sRGB with :func:`~semcolor.color.lab_to_rgb` itself, chunk by chunk.

    Args:
        L: (H,W) or (1,H,W) float32 CPU tensor, L in [0,100].
        ab: (2,H,W) float32 CPU tensor in Lab units.
        chunk_pixels: pixels per chunk (memory bound; changes the result only by float32
            rounding, see the module docstring).

    Returns:
        (3,H,W) float32 sRGB in [0,1]: ``lab_to_rgb`` of the whole image (per-channel
        gamut clipping), within 1e-6 (float32 rounding: the matrix product may sum in
        another order for another chunk shape), in bounded memory.

    Raises:
        ValueError: bad shapes (or NaN, from ``lab_to_rgb``).
    """
    L = _as_hw(L)
    h, w = L.shape
    if ab.ndim != 3 or tuple(ab.shape) != (2, h, w):
        raise ValueError(f"ab must be (2,{h},{w}) to match L, got {tuple(ab.shape)}")
    out = torch.empty(3, h, w, dtype=torch.float32)
    for r0, r1 in _row_chunks(h, w, chunk_pixels):
        lab = torch.cat([L[None, r0:r1], ab[:, r0:r1]], dim=0)[None]
        out[:, r0:r1] = lab_to_rgb(lab)[0]
    return out
