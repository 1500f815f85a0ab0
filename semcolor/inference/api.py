"""The user-facing colorization API: :func:`colorize` and :class:`Colorizer`.

Protocol (the one of :mod:`semcolor.inference`, Zhang et al.): the image's luminance L is
computed at full resolution (sRGB -> CIE Lab L, the formula of
:func:`semcolor.color.rgb_to_lab`); a copy resized to ``size`` x ``size`` goes through the
network (:func:`semcolor.inference.predict_ab`), which predicts ab at its own output
resolution; ab is upsampled bilinearly, in one step (:func:`semcolor.inference.upsample_ab`),
to the image's own size and recombined with the **full-resolution L, which is never
resampled** (the ab is that of ``predict_ab(net, L, size=size)``). A colour input is treated
as its luminance (its colours are replaced).

Input kinds and what comes back (always at the input's resolution):

============================  ==============================================================
input                         output
============================  ==============================================================
``str`` / ``Path`` (a file)   ``PIL.Image`` ``RGB`` (``RGBA`` if the file has alpha); EXIF
                              orientation applied
``PIL.Image`` (any mode)      ``PIL.Image`` ``RGB``, or ``RGBA`` when the input has alpha
                              (``LA``, ``RGBA``, ``PA``, ``P`` with transparency...)
``numpy.ndarray``             ``uint8`` (H,W,3); (H,W,4) when the input has 4 channels
``torch.Tensor``              float tensor in [0,1], see below
============================  ==============================================================

Array contract: (H,W), (H,W,1), (H,W,3) or (H,W,4) (the 4th channel is alpha, returned
unchanged up to the conversion to uint8); dtype ``uint8`` (0..255), ``uint16`` (0..65535) or
floating in [0,1]. Tensor contract: (H,W), (C,H,W) or a batch (B,C,H,W), C in {1,3,4} (4 =
RGB + alpha), dtype floating in [0,1], ``uint8`` or ``uint16``, any device; the result has the
same layout with C = 3 (4 when the input had alpha), the input's floating dtype (float32 for
integer inputs) and the input's device. Anything else raises ``ValueError`` (empty, NaN or
infinite values, float values outside [0,1], other dtypes, other channel counts, more than
:func:`semcolor.data.io.max_pixels` pixels per image: set ``SEMCOLOR_MAX_PIXELS`` to raise
it); an object of another type raises ``TypeError``. A file over that limit, or that cannot be
decoded (also a PIL image opened lazily from such a file), raises
:class:`semcolor.data.io.BadImageError`.

Only the network runs on ``device``; the full-resolution work (L, ab upsampling, Lab -> sRGB)
runs on the CPU, the colour conversions in small chunks (:mod:`semcolor.color.fullres`), so
memory stays bounded: a 24-megapixel photo needs about 0.5 GB besides the model. 8-bit
outputs are encoded through an exact-to-one-level lookup table
(:func:`semcolor.color.lab_to_rgb_u8`: at most one level from
:func:`semcolor.color.lab_to_rgb`, and 8-bit grays come back unchanged); float (tensor)
outputs use :func:`semcolor.color.lab_to_rgb` itself, chunked
(:func:`semcolor.color.lab_to_rgb_chunked`). Out-of-gamut colours are clipped per channel, as
scikit-image does, so L is kept exactly wherever the colour is in gamut (up to the 8-bit
rounding of the output).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont, ImageOps

from semcolor import constants as C
from semcolor.color import entropy, normalize_l
from semcolor.color.fullres import l_from_planes, l_from_rgb, lab_to_rgb_chunked, lab_to_rgb_u8
from semcolor.color.hints import apply_hints, parse_hints
from semcolor.data.io import _DECODE_ERRORS, BadImageError, _open, too_large_reason
from semcolor.hardware import resolve_device
from semcolor.inference.checkpoint import (
    LoadedModel,
    check_temperature,
    load_model,
    resolve_temperature,
)  # fmt: skip
from semcolor.inference.export import ort_network, require_onnx
from semcolor.inference.predict import (
    BACKENDS,
    CPU_NETWORK_BATCH,
    CPU_ORT_NETWORK_BATCH,
    METHOD_ALIASES,
    METHODS,
    PRECISION_CHOICES,
    canonical_method,
    check_choice,
    decode_outputs,
    default_batch_size,
    heads_for,
    network_outputs,
    predict_ab,
    resolve_precision,
    upsample_ab,
)  # fmt: skip

__all__ = ["Colorization", "Colorizer", "analyze", "colorize", "uncertainty_image"]

ModelLike = Any  # None | str | os.PathLike | LoadedModel | torch.nn.Module


# --------------------------------------------------------------------------------------
# input conversion
# --------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    """One input turned into what the pipeline needs, plus how to rebuild its kind.

    L: (n,H,W) float32 CPU luminance in [0,100] (n > 1 only for a (B,C,H,W) tensor).
    alpha: None, an (H,W) uint8 array (PIL/array inputs) or an (n,H,W) float32 tensor.
    kind: "pil", "array" or "tensor".
    layout: for tensors, "hw", "chw" or "bchw".
    """

    L: torch.Tensor
    alpha: Any
    kind: str
    layout: str = ""
    dtype: torch.dtype | None = None
    device: torch.device | None = None

    @property
    def n(self) -> int:
        return int(self.L.shape[0])


def _open_path(path: str | os.PathLike[str]) -> Image.Image:
    """Open an image file fully decoded, EXIF orientation applied."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image {p} does not exist")
    im = _open(p)  # BadImageError on anything undecodable
    try:
        im = ImageOps.exif_transpose(im)
    except _DECODE_ERRORS:
        pass  # broken EXIF: keep the stored orientation
    return im


def _alpha_u8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.uint16:
        return np.rint(a / 257.0).astype(np.uint8)
    return np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def _check_float_values(values: np.ndarray | torch.Tensor, what: str) -> None:
    if isinstance(values, torch.Tensor):
        finite = bool(torch.isfinite(values).all())
        lo, hi = (float(v) for v in torch.aminmax(values)) if finite else (0.0, 0.0)
    else:
        finite = bool(np.isfinite(values).all())
        lo, hi = (float(values.min()), float(values.max())) if finite else (0.0, 0.0)
    if not finite:
        raise ValueError(f"{what} contains NaN or infinite values")
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"float {what} must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]; "
            "pass uint8 (0..255) or uint16 (0..65535) data, or divide by the maximum"
        )


def _check_pixels(height: int, width: int, what: str) -> None:
    """ValueError when an in-memory image is over semcolor's pixel limit
    (:func:`semcolor.data.io.max_pixels`), before anything of its size is allocated."""
    reason = too_large_reason(width, height)
    if reason:
        raise ValueError(f"{what}: {reason}")


def _prepare_array(a: np.ndarray, kind: str = "array") -> _Prepared:
    # Everything is checked on the dtype and shape alone before any conversion copies the
    # array (a broadcast array can claim terabytes while holding one value).
    dt = a.dtype
    if not ((dt.kind == "u" and dt.itemsize in (1, 2)) or (dt.kind == "f" and dt.itemsize >= 2)):
        raise ValueError(
            f"image arrays must be uint8, uint16 or float (in [0,1]), got dtype {a.dtype}"
        )
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(
            f"image arrays must have shape (H,W), (H,W,1), (H,W,3) or (H,W,4), got {a.shape}"
        )
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"empty image array of shape {a.shape}")
    _check_pixels(a.shape[0], a.shape[1], f"image array of shape {a.shape}")
    if any(st < 0 for st in a.strides):
        # flipped views (a[::-1]): torch.from_numpy refuses negative strides, and
        # np.ascontiguousarray keeps them where an axis has length 1 (found by the fuzz)
        a = a.copy()
    if not a.dtype.isnative:  # big-endian files (e.g. ">u2" from some TIFF readers)
        a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype.kind == "f" and a.dtype.itemsize > 8:  # longdouble
        with np.errstate(over="ignore"):  # beyond float64: inf, rejected just below
            a = a.astype(np.float64)
    if a.dtype.kind == "f":
        _check_float_values(a, "image array")
        if a.dtype == np.float16:
            a = a.astype(np.float32)
    alpha = None
    if a.ndim == 3 and a.shape[2] == 4:
        alpha = _alpha_u8(a[..., 3])
        a = a[..., :3]
    return _Prepared(l_from_rgb(a)[None], alpha, kind)


def _prepare_pil(im: Image.Image) -> _Prepared:
    mode = im.mode
    if im.width < 1 or im.height < 1:
        raise ValueError(f"empty PIL image ({im.width}x{im.height})")
    # im.size is known before the pixels: an image opened lazily (Image.open) is checked
    # against the limit before it is decoded
    _check_pixels(im.height, im.width, f"PIL image of mode {mode}")
    try:  # a lazily opened image decodes here: its file's errors are BadImageError
        im.load()
    except _DECODE_ERRORS as e:
        name = getattr(im, "filename", "") or "<PIL.Image>"
        msg = str(e) or type(e).__name__
        raise BadImageError(name, f"cannot decode image ({type(e).__name__}: {msg})") from None
    try:
        if mode == "La":
            im = im.convert("LA")
        elif mode in ("RGBa", "PA") or (mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
        elif mode == "1":
            im = im.convert("L")
        elif mode not in ("L", "LA", "RGB", "RGBA", "I", "F") and not mode.startswith("I;16"):
            im = im.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV...
    except (ValueError, OSError) as e:
        trns = im.info.get("transparency")
        if mode == "P" and isinstance(trns, bytes) and len(trns) > 256:  # found by the fuzz
            raise ValueError(
                f"PIL image of mode P has transparency for {len(trns)} palette entries, more "
                "than a palette can have (256); trim im.info['transparency'] to the palette's "
                "length"
            ) from e
        raise ValueError(f"cannot convert a PIL image of mode {mode} to RGB: {e}") from e
    a = np.asarray(im)
    if im.mode == "LA":
        prep = _prepare_array(a[..., 0], kind="pil")
        prep.alpha = np.ascontiguousarray(a[..., 1])
        return prep
    if im.mode == "I":  # 32-bit integers: 16-bit data as Pillow opens some PNGs
        a = np.clip(a, 0, 65535).astype(np.uint16)
    elif im.mode == "F":  # as semcolor.data.io: [0,1] if max <= 1 else [0,255]
        with np.errstate(invalid="ignore"):  # signalling NaNs warn when cast (fuzz)
            a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        a = np.clip(a if a.max() <= 1.0 else a / 255.0, 0.0, 1.0)
    elif a.dtype.kind == "u" and a.dtype.itemsize == 2:  # I;16, I;16B...
        a = a.astype(np.uint16)
    return _prepare_array(a, kind="pil")


def _prepare_tensor(t: torch.Tensor) -> _Prepared:
    t = t.detach()
    layout = {2: "hw", 3: "chw", 4: "bchw"}.get(t.ndim)
    if layout is None:
        raise ValueError(
            f"image tensors must be (H,W), (C,H,W) or (B,C,H,W), got shape {tuple(t.shape)}"
        )
    x = t.reshape(1, 1, *t.shape) if layout == "hw" else (t[None] if layout == "chw" else t)
    if x.shape[1] not in (1, 3, 4):
        raise ValueError(
            f"image tensors must have 1, 3 or 4 channels (C in (C,H,W)), got {x.shape[1]} in "
            f"shape {tuple(t.shape)}"
        )
    if x.numel() == 0:
        raise ValueError(f"empty image tensor of shape {tuple(t.shape)}")
    _check_pixels(x.shape[2], x.shape[3], f"image tensor of shape {tuple(t.shape)}")
    uint16 = getattr(torch, "uint16", None)
    if x.is_floating_point():
        x = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        _check_float_values(x, "image tensor")
        depth, out_dtype = "float", t.dtype
    elif x.dtype == torch.uint8:
        depth, out_dtype = "u8", torch.float32
    elif uint16 is not None and x.dtype == uint16:
        depth, out_dtype = "u16", torch.float32
    else:
        raise ValueError(
            f"image tensors must be floating (in [0,1]), uint8 or uint16, got {t.dtype}"
        )
    x = x.cpu()
    if depth == "u16":
        x = x.to(torch.int32)  # index_select needs int indices; uint16 has few CPU kernels
    Ls, alphas = [], []
    for img in x:
        planes = [img[0]] if img.shape[0] == 1 else [img[c] for c in range(3)]
        Ls.append(l_from_planes(planes, depth))
        if img.shape[0] == 4:
            scale = {"u8": 255.0, "u16": 65535.0}.get(depth, 1.0)
            alphas.append(img[3].to(torch.float32) / scale)
    alpha = torch.stack(alphas) if alphas else None
    return _Prepared(torch.stack(Ls), alpha, "tensor", layout, out_dtype, t.device)


def _prepare(img: Any) -> _Prepared:
    """Any supported input -> _Prepared (paths are opened as PIL images; an already prepared
    input passes through, so callers that need its L too prepare it once)."""
    if isinstance(img, _Prepared):
        return img
    if isinstance(img, str | os.PathLike):
        return _prepare_pil(_open_path(img))
    if isinstance(img, Image.Image):
        return _prepare_pil(img)
    if isinstance(img, np.ndarray):
        return _prepare_array(img)
    if isinstance(img, torch.Tensor):
        return _prepare_tensor(img)
    raise TypeError(
        "colorize() takes a path, a PIL.Image, a numpy array or a torch tensor, got "
        f"{type(img).__name__}"
    )


def _finish(p: _Prepared, ab: torch.Tensor) -> Any:
    """Rebuild the input's kind from its L and its (n,2,H,W) full-resolution ab."""
    if p.kind == "tensor":
        rgb = torch.stack([lab_to_rgb_chunked(p.L[i], ab[i]) for i in range(p.n)])
        if p.alpha is not None:
            rgb = torch.cat([rgb, p.alpha[:, None]], dim=1)
        if p.layout != "bchw":
            rgb = rgb[0]
        return rgb.to(device=p.device, dtype=p.dtype)
    rgb = lab_to_rgb_u8(p.L[0], ab[0])
    if p.alpha is not None:
        rgb = np.concatenate([rgb, p.alpha[..., None]], axis=2)
    if p.kind == "array":
        return rgb
    return Image.fromarray(rgb, mode="RGBA" if p.alpha is not None else "RGB")


# --------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _default_model(device: str) -> LoadedModel:
    return load_model(None, device=device)


def _resolve_model(model: ModelLike, device: str | torch.device) -> LoadedModel:
    if model is None:
        return _default_model(str(resolve_device(device)))
    if isinstance(model, LoadedModel):
        if str(device) != "auto":
            model.to(device)
        return model
    if isinstance(model, torch.nn.Module):
        loaded = LoadedModel(model.eval())
        if str(device) != "auto":
            loaded.to(device)
        return loaded
    if isinstance(model, str | os.PathLike):
        return load_model(model, device=str(resolve_device(device)))
    raise TypeError(
        "model must be None (the default model), a checkpoint path, a LoadedModel or a "
        f"SemColorNet, got {type(model).__name__}"
    )


def _check_int(value: Any, name: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
#: What :meth:`Colorizer.analyze` can add to the image: field of :class:`Colorization` ->
#: the network head it reads.
ANALYSIS_OUTPUTS: dict[str, str] = {
    "uncertainty": "dist", "scene_top5": "scene", "segmentation": "seg",
}  # fmt: skip


class Colorizer:
    """Colorize many images with one loaded model, in batches.

    Images may differ in size and kind: each is reduced to its luminance, resized to
    ``size`` x ``size`` for the network, and batched freely (``batch_size`` per forward
    pass); each image's ab is upsampled once, from the network's output resolution to its
    own size, and recombined with its own full-resolution L, one image at a time (memory
    stays bounded).

    Args:
        model: None (the default model shipped with semcolor, loaded once per device and
            cached), a checkpoint path, a :class:`semcolor.inference.LoadedModel` (moved to
            ``device`` unless it is "auto") or a ``SemColorNet``.
        device: "auto" (CUDA if available), "cpu", "cuda", "cuda:N". Only the network runs
            there.
        batch_size: images grouped per step; None = the device's default
            (:func:`semcolor.inference.default_batch_size`: on CPU 1 with PyTorch and 4
            with ONNX Runtime, measured fastest there; 8 on CUDA). On CPU the network
            itself sees at most :data:`semcolor.inference.CPU_NETWORK_BATCH` images per call
            whatever this is (per-image cost rises with the batch there: see the README's
            speed section).
        size: side of the square the network sees.
        temperature: annealed-mean temperature of the "dist" method (lower = more vivid);
            None = the model's own (calibrated, stored in its checkpoint). Ignored by "reg".
        method: "dist" (annealed mean of the distribution head) or "reg" (regression head);
            None = the model's first (``dist`` when it has that head, else ``reg``: the
            SCGAN and SpyncoGAN generators).
        head: deprecated spelling of ``method`` (``head="soft"`` means ``method="dist"``).
        precision: "auto" (default: bf16 where the device computes bfloat16 natively, e.g. a
            CPU with AVX-512 BF16 or AMX, else fp32; :func:`semcolor.hardware.inference_precision`),
            "fp32" or "bf16" (bfloat16 autocast around the network; PyTorch backend only).
            The precision in use is the attribute ``precision``; the README's speed section
            has the measurements (speed, and PSNR parity with fp32).
        backend: "torch" (default, PyTorch eager) or "onnxruntime" (the exported graph of the
            method in an ONNX Runtime CPU session, built once per model and cached:
            :func:`semcolor.inference.export.ort_network`; CPU only). :meth:`analyze` always runs
            the PyTorch network (it reads heads the exported graph does not have).

    Raises:
        ValueError: a bad argument (an unknown precision or backend: the message lists the
            valid ones), or a method whose head the model does not have.
        ImportError: backend="onnxruntime" without onnx / onnxruntime (the message names
            the extra, ``semcolor[onnx]``).
        FileNotFoundError: model=None but no default model is installed, or a missing path.
        semcolor.inference.CheckpointError: an unusable checkpoint.

    Example::

        colorizer = semcolor.Colorizer("last.ckpt", batch_size=16)
        outs = colorizer(["a.jpg", "b.png"])       # list -> list of PIL images
        out = colorizer.colorize(np_gray_uint8)    # one image -> (H,W,3) uint8
    """

    def __init__(
        self,
        model: ModelLike = None,
        device: str | torch.device = "auto",
        batch_size: int | None = None,
        *,
        size: int = 256,
        temperature: float | None = None,
        method: str | None = None,
        head: str | None = None,
        precision: str = "auto",
        backend: str = "torch",
    ) -> None:

        if batch_size is not None:
            batch_size = _check_int(batch_size, "batch_size", 1)
        self.size = _check_int(size, "size", 1)
        self.precision = check_choice(precision, "precision", PRECISION_CHOICES)
        self.backend = check_choice(backend, "backend", BACKENDS)
        if self.backend == "onnxruntime":
            require_onnx(runtime=True)  # once, up front, naming the extra
        if self.backend == "onnxruntime" and self.precision == "bf16":
            raise ValueError(
                f"backend='onnxruntime' runs the fp32 graph; precision={precision!r} is for "
                "backend='torch'"
            )
        if temperature is not None:
            check_temperature(temperature)
        if head is not None:
            warnings.warn("Colorizer(head=...) is deprecated; use method=...", FutureWarning,
                          stacklevel=2)  # fmt: skip
            method = head
        if method is not None and method not in (*METHODS, *METHOD_ALIASES):
            raise ValueError(f"method must be one of {list(METHODS)} or None, got {method!r}")
        self.model = _resolve_model(model, device)
        if self.backend == "onnxruntime" and self.device.type != "cpu":
            raise ValueError(
                f"backend='onnxruntime' runs on the CPU; got device {str(self.device)!r} "
                "(use device='cpu', or backend='torch')"
            )
        self.batch_size = (batch_size if batch_size is not None
                           else default_batch_size(self.device, self.backend))  # fmt: skip
        # "auto" becomes what runs here (ONNX Runtime runs the fp32 graph).
        self.precision = ("fp32" if self.backend == "onnxruntime"
                          else resolve_precision(self.precision, self.device))  # fmt: skip
        if method is None:
            if not self.model.methods:
                raise ValueError(f"{type(self.model.net).__name__} has no colour head")
            method = self.model.methods[0]
        self.method = canonical_method(method)
        self.temperature = resolve_temperature(self.model, temperature)
        if self.method not in self.model.methods:
            raise ValueError(
                f"this model has no head for method {self.method!r} (it offers "
                f"{list(self.model.methods)})"
            )

    @property
    def device(self) -> torch.device:
        return self.model.device

    def __repr__(self) -> str:
        return (
            f"Colorizer(model={self.model.path or type(self.model.net).__name__!s}, "
            f"device={self.device}, batch_size={self.batch_size}, size={self.size}, "
            f"temperature={self.temperature}, method={self.method!r}, "
            f"precision={self.precision!r}, backend={self.backend!r})"
        )

    def __call__(self, images: Any) -> Any:
        """A list or tuple of images -> a list of results; one image -> its result."""
        if isinstance(images, list | tuple):
            return self.colorize_batch(images)
        return self.colorize(images)

    def colorize(self, img: Any, hints: Any = None) -> Any:
        """Colorize one image (any kind of :func:`colorize`); returns the same kind.
        ``hints``: colour hints (see :func:`colorize`)."""
        p = _prepare(img)
        return self._run([p], [_hints_for(p, hints)])[0]

    def analyze(
        self,
        img: Any,
        hints: Any = None,
        *,
        outputs: Iterable[str] = tuple(ANALYSIS_OUTPUTS),
    ) -> Colorization:
        """Colorize one image and return what the model saw: see :class:`Colorization`.

        ``outputs``: which analysis fields to compute, any of :data:`ANALYSIS_OUTPUTS`
        ("uncertainty", "scene_top5", "segmentation"; default all). The network runs only the
        heads the method and these read; a field not asked for (or whose head the model
        lacks) is None.

        Raises:
            ValueError: an unknown output name (the message lists the valid ones), or as
                :meth:`colorize`.
        """
        outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        unknown = [o for o in outputs if o not in ANALYSIS_OUTPUTS]
        if unknown:
            raise ValueError(f"unknown analysis output(s) {unknown}; valid: "
                             f"{list(ANALYSIS_OUTPUTS)}")  # fmt: skip
        own = tuple(getattr(self.model.net, "heads", ()))
        extra = [ANALYSIS_OUTPUTS[o] for o in outputs if ANALYSIS_OUTPUTS[o] in own]
        heads = tuple(dict.fromkeys([*heads_for((self.method,)), *extra]))
        p = _prepare(img)
        h = _hints_for(p, hints)
        if p.n != 1:
            raise ValueError(f"analyze takes one image, got a batch of {p.n}")
        size_hw = tuple(p.L.shape[-2:])
        with torch.no_grad():
            out = network_outputs(self.model.net, self._network_input([p]).to(self.device),
                                  size=None, heads=heads,
                                  precision=self.precision)  # fmt: skip
            ab = decode_outputs(out, (self.method,), self.temperature)[self.method]
        ab = upsample_ab(ab.float().cpu(), size_hw)
        if h is not None:
            ab = _apply_hints(p, ab, h)
        unc = scene = seg = None
        if "uncertainty" in outputs and getattr(out, "ab_logits", None) is not None:
            e = entropy(out.ab_logits.float()).cpu()
            # bicubic: bilinear from the head's stride (8x and more at full resolution) put
            # all the curvature on the head's grid, which showed as faint blocks
            e = F.interpolate(e, size=size_hw, mode="bicubic", align_corners=False)
            unc = e[0, 0].clamp(0.0, 1.0).numpy().astype(np.float32)
        if "scene_top5" in outputs and getattr(out, "scene_logits", None) is not None:
            prob = torch.softmax(out.scene_logits.float(), dim=1)[0].cpu()
            top = torch.topk(prob, min(5, prob.numel()))
            scene = [(self.model.class_name("scene", int(i)), float(v))
                     for v, i in zip(top.values, top.indices, strict=True)]  # fmt: skip
        seg_names = None
        if "segmentation" in outputs and getattr(out, "seg_logits", None) is not None:
            lab = out.seg_logits.argmax(1, keepdim=True).float().cpu()
            seg = F.interpolate(lab, size=size_hw, mode="nearest-exact")[0, 0].long().numpy()
            seg_names = {int(k): self.model.class_name("seg", int(k)) for k in np.unique(seg)}
        return Colorization(_finish(p, ab.contiguous()), unc, scene, seg, self.method,
                            self.temperature, seg_names)  # fmt: skip

    def colorize_batch(self, images: Iterable[Any]) -> list[Any]:
        """Colorize several images (any kinds and sizes); returns a list in the same order."""
        return list(self.iter_colorize(images))

    def iter_colorize(self, images: Iterable[Any]) -> Iterator[Any]:
        """Lazily colorize an iterable of images, ``batch_size`` at a time, in order."""
        pending: list[_Prepared] = []
        for img in images:
            pending.append(_prepare(img))
            if sum(p.n for p in pending) >= self.batch_size:
                yield from self._run(pending)
                pending = []
        if pending:
            yield from self._run(pending)

    def _network_input(self, prepared: list[_Prepared]) -> torch.Tensor:
        """(sum n, 1, size, size) CPU L of the prepared images as the network sees them,
        resized exactly as :func:`~semcolor.inference.predict_ab` resizes (bilinear,
        antialiased)."""
        s = self.size
        return torch.cat([
            F.interpolate(p.L[:, None], size=(s, s), mode="bilinear", align_corners=False,
                          antialias=True)
            for p in prepared
        ])  # fmt: skip

    @torch.no_grad()
    def _predict_net(
        self, prepared: list[_Prepared], small: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(sum n, 2, h, w) float32 CPU ab of the prepared images at the network's output
        resolution (h, w); the network sees ``small``, their :meth:`_network_input` (computed
        here when not given)."""
        if small is None:
            small = self._network_input(prepared)
        step = self.network_batch
        if self.backend == "onnxruntime":
            ort = ort_network(self.model.net, self.size, self.method, self.temperature)
            return torch.cat([ort(normalize_l(small[i : i + step]))
                              for i in range(0, small.shape[0], step)])  # fmt: skip
        dev = self.device
        out = []
        for i in range(0, small.shape[0], step):
            ab = predict_ab(
                self.model.net,
                small[i : i + step].to(dev),
                size=None,
                out_size="network",
                methods=(self.method,),
                temperature=self.temperature,
                precision=self.precision,
            )[self.method]
            out.append(ab.float().cpu())
        return torch.cat(out)

    @property
    def network_batch(self) -> int:
        """Images per network call: ``batch_size``, at most
        :data:`semcolor.inference.CPU_NETWORK_BATCH` on CPU (measured fastest there)."""
        if self.backend == "onnxruntime":
            return min(self.batch_size, CPU_ORT_NETWORK_BATCH)
        if self.device.type == "cpu":
            return min(self.batch_size, CPU_NETWORK_BATCH)
        return self.batch_size

    def _run(self, prepared: list[_Prepared], hints: list | None = None) -> list[Any]:
        ab_net = self._predict_net(prepared)
        results, k = [], 0
        for i, p in enumerate(prepared):
            ab = upsample_ab(ab_net[k : k + p.n], tuple(p.L.shape[-2:]))  # the one upsampling
            k += p.n
            if hints is not None and hints[i] is not None:
                ab = _apply_hints(p, ab, hints[i])
            results.append(_finish(p, ab.contiguous()))
        return results


@dataclass(frozen=True)
class Colorization:
    """What :func:`analyze` / :meth:`Colorizer.analyze` return.

    Attributes:
        image: the colorized image, of the kind :func:`colorize` returns for the input.
        uncertainty: float32 (H,W) numpy array in [0, 1] at the image's size: the entropy of
            the distribution head's 313-bin distribution over log 313
            (:func:`semcolor.color.entropy`), upsampled bicubically; None for a model without
            that head.
        scene_top5: the scene head's five most likely classes as (class name, probability),
            most likely first; None without a scene head. Names come from the checkpoint
            (:attr:`semcolor.inference.LoadedModel.class_names`, e.g. Places365 categories);
            a class it does not name reads ``"class <index>"``.
        segmentation: int64 (H,W) numpy array at the image's size, the segmentation head's
            most likely class per pixel (upsampled nearest); None without that head.
        method: the decoding method used ("dist" or "reg").
        temperature: the annealed-mean temperature used (ignored by "reg").
        segment_names: {class index: name} of every class present in ``segmentation`` (as
            ``scene_top5``'s names); None without it.

    The three analysis fields are also None when not asked for (``analyze(outputs=...)``).
    :meth:`uncertainty_image` renders the uncertainty with a colour scale and its legend.
    """

    image: Any
    uncertainty: np.ndarray | None
    scene_top5: list[tuple[int, float]] | None
    segmentation: np.ndarray | None
    method: str
    temperature: float
    segment_names: dict[int, str] | None = None

    def uncertainty_image(self) -> Image.Image | None:
        """The uncertainty as a picture (see :func:`uncertainty_image`); None without it."""
        return None if self.uncertainty is None else uncertainty_image(self.uncertainty)


def uncertainty_image(uncertainty: np.ndarray) -> Image.Image:
    """An uncertainty map as an RGB picture: the map at its full resolution in a colour scale
    (:data:`semcolor.constants.UNCERTAINTY_COLORMAP`, 256 levels), and under it a legend
    strip: the scale with its values (:data:`semcolor.constants.UNCERTAINTY_TICKS`) and what
    they mean.

    Args:
        uncertainty: float (H,W) in [0, 1] (:attr:`Colorization.uncertainty`).

    Returns:
        PIL ``RGB`` image of width max(W, 480) and height H + the legend's; the map fills
        its top-left H x W pixels, one pixel per pixel.
    """
    # lazy: start-up cost, measured: matplotlib's colormaps add 0.13 s to importing the API
    # (2-core Xeon, after torch), and only uncertainty images need them
    from matplotlib import colormaps

    u = np.asarray(uncertainty, dtype=np.float32)
    if u.ndim != 2 or u.size == 0:
        raise ValueError(f"uncertainty must be a non-empty (H,W) array, got shape {u.shape}")
    lut = np.round(colormaps[C.UNCERTAINTY_COLORMAP](np.linspace(0, 1, 256))[:, :3] * 255)
    lut = lut.astype(np.uint8)
    index = np.round(np.clip(np.nan_to_num(u), 0.0, 1.0) * 255).astype(np.uint8)
    h, w = u.shape
    width = max(w, 480)
    strip = max(48, width // 30)  # the legend grows with big photos, to stay readable
    font = ImageFont.load_default(size=max(11, strip // 4))
    canvas = Image.new("RGB", (width, h + strip), (255, 255, 255))
    canvas.paste(Image.fromarray(lut[index]), (0, 0))
    draw = ImageDraw.Draw(canvas)
    pad = strip // 4
    x0, x1 = pad, pad + int((width - 2 * pad) * 0.55)
    y0, y1 = h + pad // 2, h + pad // 2 + strip // 3
    ramp = lut[np.round(np.linspace(0, 255, x1 - x0)).astype(int)]
    canvas.paste(Image.fromarray(np.repeat(ramp[None], y1 - y0, axis=0)), (x0, y0))
    for t in C.UNCERTAINTY_TICKS:
        x = x0 + round(t * (x1 - x0 - 1))
        draw.line([(x, y1), (x, y1 + pad // 2)], fill=(0, 0, 0))
        draw.text((x, y1 + pad // 2), f"{t:g}", fill=(0, 0, 0), font=font,
                  anchor="ma")  # fmt: skip
    draw.text((x1 + pad, (y0 + y1) // 2), "uncertainty: entropy / log 313\n"
              "0 one colour sure, 1 all equally likely", fill=(0, 0, 0), font=font,
              anchor="lm")  # fmt: skip
    return canvas


def _hints_for(p: _Prepared, hints: Any):
    """Parsed hints for one prepared input (None when there are none)."""
    if hints is None:
        return None
    if p.n != 1:
        raise ValueError(f"hints apply to one image; got a batch of {p.n} images")

    return parse_hints(hints, tuple(p.L.shape[-2:]))


def _apply_hints(p: _Prepared, ab: torch.Tensor, hints: Any) -> torch.Tensor:
    return apply_hints(p.L[0], ab, hints)


def colorize(
    img: Any,
    *,
    model: ModelLike = None,
    size: int = 256,
    temperature: float | None = None,
    method: str | None = None,
    device: str | torch.device = "auto",
    head: str | None = None,
    hints: Any = None,
    precision: str = "auto",
    backend: str = "torch",
) -> Any:
    """Colorize one image at its original resolution, keeping its luminance.

    Args:
        img: a path (``str``/``Path``), a ``PIL.Image`` (any mode: L, LA, RGB, RGBA, I;16,
            P, CMYK...), a numpy array ((H,W), (H,W,1), (H,W,3), (H,W,4); uint8, uint16 or
            float in [0,1]) or a torch tensor ((H,W), (C,H,W) or (B,C,H,W), C in 1/3/4; float
            in [0,1], uint8 or uint16). A colour image is treated as its luminance.
        model: None (the default model, cached per device), a checkpoint path, a
            ``LoadedModel`` or a ``SemColorNet``.
        size: side of the square the network sees (ab is predicted there, then upsampled).
        temperature: annealed-mean temperature of the "dist" method (lower = more vivid);
            None = the model's own (calibrated, stored in its checkpoint). Ignored by "reg".
        method: "dist" (distribution head, annealed mean) or "reg" (regression head); None =
            the model's first (dist when it has that head).
        device: where the network runs: "auto", "cpu", "cuda", "cuda:N".
        head: deprecated spelling of ``method``.
        hints: colour hints: a list of ``(x, y, colour)`` points (``x`` the pixel column,
            ``y`` the row, from the top-left corner: ``arr[y, x]``; colour ``'#rrggbb'`` or
            (r, g, b)) or a hint image of the image's size (RGBA: alpha > 0 marks hints; RGB:
            non-black pixels are). Hinted pixels take the hint's chroma, which spreads through
            regions of similar luminance and stops at strong edges; elsewhere the model's
            colour stays (Levin et al. 2004 on the model's ab,
            :mod:`semcolor.color.hints`). None (default): the model's output unchanged.
        precision: "auto" (default), "fp32" or "bf16" (see :class:`Colorizer`).
        backend: "torch" (default) or "onnxruntime" (CPU; see :class:`Colorizer`).

    Returns:
        The input's kind at the input's size: path or PIL -> ``PIL.Image`` (RGB, or RGBA
        keeping the input's alpha); array -> uint8 (H,W,3) (or (H,W,4) with alpha); tensor ->
        float tensor in [0,1] with 3 channels (4 with alpha), same layout and device.

    Raises:
        ValueError: an invalid image (empty, NaN, out-of-range floats, unsupported dtype or
            channel count, more pixels than ``semcolor.data.io.max_pixels()``; the message
            says how to raise the limit) or argument.
        TypeError: an unsupported kind of input.
        FileNotFoundError: a missing image path, or model=None with no default model.
        semcolor.data.io.BadImageError: an image file (or a lazily opened PIL image) that
            cannot be decoded, or a file over the pixel limit.
        semcolor.inference.CheckpointError: an unusable checkpoint.
    """
    colorizer = Colorizer(
        model, device=device, size=size, temperature=temperature, method=method, head=head,
        precision=precision, backend=backend,
    )  # fmt: skip
    return colorizer.colorize(img, hints=hints)


def analyze(
    img: Any,
    *,
    model: ModelLike = None,
    size: int = 256,
    temperature: float | None = None,
    method: str | None = None,
    device: str | torch.device = "auto",
    hints: Any = None,
    precision: str = "auto",
) -> Colorization:
    """Colorize one image and return the model's view of it: the image (as :func:`colorize`),
    the per-pixel uncertainty (entropy of the distribution head), the scene head's top-5 and
    the segmentation map, where the model has those heads (:class:`Colorization`).

    Arguments as :func:`colorize`. Raises as :func:`colorize`.
    """
    colorizer = Colorizer(model, device=device, size=size, temperature=temperature,
                          method=method, precision=precision)  # fmt: skip
    return colorizer.analyze(img, hints=hints)
