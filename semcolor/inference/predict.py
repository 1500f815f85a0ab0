"""Running the network: L -> ab -> RGB, the one path every caller takes (checkpoints are
loaded by :mod:`semcolor.inference.checkpoint`).

``semcolor.colorize``, ``semcolor-colorize`` and ``semcolor-bench`` all call
:func:`predict_ab` / :func:`colorize_lab`, so a number in a benchmark table is what a user
gets. Protocol (Zhang et al.): L is resized to ``size`` x ``size``, the network predicts ab
there (at its heads' own resolution), ab is upsampled bilinearly in one step
(:func:`upsample_ab`) to the input's resolution and recombined with the full-resolution L,
which is kept exactly.

The network computes only what is asked (:func:`run_network`): a decoding method reads one
head (:func:`heads_for`), and a :class:`semcolor.models.SemColorNet` then runs only that head
and its decoder only down to the stride that head reads; the result is bit-identical to the
full forward's. Architectures whose ``forward`` takes no ``heads=`` (the baselines, the GAN
generator) run in full.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F

from semcolor import constants as C
from semcolor.color import ab_bins_tensor, lab_to_rgb, normalize_l
from semcolor.color._checks import check_logits
from semcolor.color.decode import annealed_exponent
from semcolor.hardware import inference_precision

#: Decoding methods, named after the head they read: "dist" = annealed mean of the
#: distribution head (Zhang et al.), "reg" = the regression head.
METHODS = ("dist", "reg")
#: The head each decoding method reads.
HEAD_OF = {"dist": "dist", "reg": "reg"}
#: Deprecated spellings still accepted (semcolor 0.1 called the annealed mean "soft").
METHOD_ALIASES = {"soft": "dist"}
#: Numeric precisions of the network call: "fp32" (float32, the reference) or "bf16"
#: (``torch.autocast`` to bfloat16 around the network; the decoding stays float32).
PRECISIONS = ("fp32", "bf16")
#: What callers may ask for: a precision, or "auto" = bf16 where the device computes it
#: natively, else fp32 (:func:`semcolor.hardware.inference_precision`, the rule training
#: follows too).
PRECISION_CHOICES = ("auto", *PRECISIONS)
#: Backends that run the network: "torch" (PyTorch eager) or "onnxruntime" (the graph of
#: :func:`semcolor.inference.export.export_onnx` in an ONNX Runtime CPU session;
#: :class:`~semcolor.inference.export.OrtNetwork`).
BACKENDS = ("torch", "onnxruntime")
#: Images per network call on CPU with PyTorch. Measured (bench_inference.py, 2 threads,
#: shipped model, 256x256, load ~3 on 2 cores; README speed section): predict_ab dist 97.0 /
#: 105.6 / 127.6 ms per image at batch 1 / 4 / 8 (second run, load ~2.5: 72.8 / 103.2 / 117.0;
#: ONNX Runtime 73.5 / 63.5 / 73.3) (bench_colorize, Colorizer end to end, uncapped
#: before this: 13.3 / 8.8 / 6.7 images/s at 1 / 8 / 32 in the issue).
#: per-image cost rises with the batch once the activations (6.3 MB per image at stride 2,
#: 5.1 MB of 313-bin logits at stride 4) outgrow the 32 MB L3 cache, so on CPU the network
#: runs on at most this many images at a time whatever ``batch_size`` is (a larger batch only
#: groups the preparation/recombination work), and it is the CPU default batch size.
CPU_NETWORK_BATCH = 1
#: The same for backend="onnxruntime": its per-image time falls to batch 4 and is flat after
#: (bench_inference, 2 threads, load ~3 on 2 cores: 81.9 / 65.8 / 66.2 ms per image at batch
#: 1 / 4 / 8, against PyTorch's 97.0 / 105.6 / 127.6 in the same run).
CPU_ORT_NETWORK_BATCH = 4
#: Default batch size of :class:`semcolor.Colorizer` on CUDA (no CUDA measurement here: a
#: GPU is fed better by larger batches; 8 is the previous default).
CUDA_BATCH_SIZE = 8


def default_batch_size(device: str | torch.device, backend: str = "torch") -> int:
    """``Colorizer``'s default images per forward pass on ``device``: on CPU the measured
    fastest, ``CPU_NETWORK_BATCH`` (PyTorch) or ``CPU_ORT_NETWORK_BATCH`` (ONNX Runtime);
    ``CUDA_BATCH_SIZE`` elsewhere."""
    if torch.device(device).type != "cpu":
        return CUDA_BATCH_SIZE
    return CPU_ORT_NETWORK_BATCH if backend == "onnxruntime" else CPU_NETWORK_BATCH


def check_choice(value: Any, name: str, valid: Sequence[str]) -> str:
    """``value`` if it is one of ``valid``, else ValueError listing them."""
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid: {list(valid)}")
    return value


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """A :data:`PRECISION_CHOICES` value as the precision that runs on ``device``."""
    check_choice(precision, "precision", PRECISION_CHOICES)
    return inference_precision(precision, device).value


def autocast_for(precision: str, device: torch.device | str):
    """The context the network runs in at ``precision``: nothing for "fp32", bfloat16
    ``torch.autocast`` on the device's type for "bf16" ("auto": :func:`resolve_precision`)."""
    precision = resolve_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def canonical_method(name: str) -> str:
    """A decoding method's name, old spellings mapped (with a FutureWarning).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    if name in METHOD_ALIASES:
        new = METHOD_ALIASES[name]
        warnings.warn(f"method {name!r} is deprecated; call it {new!r}", FutureWarning,
                      stacklevel=3)  # fmt: skip
        return new
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; valid: {list(METHODS)}")
    return name


def heads_for(methods: Sequence[str]) -> tuple[str, ...]:
    """The network heads the decoding methods read, once each, in the methods' order
    (``("dist",)`` for "dist" or its alias "soft", ``("reg",)`` for "reg").

    Raises:
        ValueError: an unknown method (the message lists the valid ones).
    """
    if isinstance(methods, str):
        raise ValueError(f"methods must be a list of names from {list(METHODS)}, got {methods!r}")
    return tuple(dict.fromkeys(HEAD_OF[canonical_method(m)] for m in methods))


@functools.cache
def _takes_heads(cls: type) -> bool:
    """Whether ``cls.forward`` accepts ``heads=`` (SemColorNet's restricted forward)."""
    try:
        return "heads" in inspect.signature(cls.forward).parameters
    except (TypeError, ValueError):
        return False


def run_network(net: torch.nn.Module, x: torch.Tensor, heads: Sequence[str] | None = None) -> Any:
    """The one call of the network on the inference path.

    Args:
        net: a SemColorNet (or any network returning a ``ColorizerOutput``), any mode.
        x: (B,1,H,W) ``normalize_l`` values in [-0.5, 0.5], in the network's dtype and on its
            device.
        heads: the heads whose outputs are needed, a subset of ``net.heads``; None = all.
            A network whose ``forward`` takes ``heads=`` computes only those (the other
            fields of its output are None); any other runs in full.

    Returns:
        The network's :class:`semcolor.models.ColorizerOutput`; the requested fields are
        bit-identical to those of ``net(x)``.

    Raises:
        ValueError: ``heads`` names a head the network does not have (listing its heads).
    """
    if heads is None:
        return net(x)
    heads = tuple(heads)
    own = tuple(getattr(net, "heads", ()))
    absent = [h for h in heads if h not in own]
    if absent:
        raise ValueError(f"this model has no head {absent} (its heads: {list(own)})")
    if _takes_heads(type(getattr(net, "_orig_mod", net))):  # _orig_mod: torch.compile
        return net(x, heads=heads)
    return net(x)


def _check_L(L: torch.Tensor) -> None:
    if not isinstance(L, torch.Tensor) or L.ndim != 4 or L.shape[1] != 1:
        shape = tuple(L.shape) if isinstance(L, torch.Tensor) else type(L).__name__
        raise ValueError(f"L must be a (B,1,H,W) tensor in [0,100], got {shape}")
    if not L.is_floating_point():
        raise ValueError(f"L must be a floating tensor, got {L.dtype}")
    if L.shape[-1] < 1 or L.shape[-2] < 1:
        raise ValueError(f"L must not be empty, got {tuple(L.shape)}")


def upsample_ab(ab: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """The one ab upsampling of the inference path: bilinear, ``align_corners=False``.

    Args:
        ab: (B,2,h,w) float ab in Lab units (e.g. at a head's output resolution), any device.
        size_hw: the target (H, W).

    Returns:
        (B,2,H,W) ab of the same dtype and device (``ab`` itself when already that size).

    Raises:
        ValueError: ``ab`` is not a floating (B,2,h,w) tensor.
    """
    if not isinstance(ab, torch.Tensor) or ab.ndim != 4 or ab.shape[1] != 2:
        shape = tuple(ab.shape) if isinstance(ab, torch.Tensor) else type(ab).__name__
        raise ValueError(f"ab must be a (B,2,h,w) tensor, got {shape}")
    if not ab.is_floating_point():
        raise ValueError(f"ab must be a floating tensor, got {ab.dtype}")
    size_hw = (int(size_hw[0]), int(size_hw[1]))
    if tuple(ab.shape[-2:]) == size_hw:
        return ab
    return F.interpolate(ab, size=size_hw, mode="bilinear", align_corners=False)


@torch.no_grad()
def predict_ab(
    net: torch.nn.Module,
    L: torch.Tensor,
    *,
    size: int | None = 256,
    out_size: tuple[int, int] | Literal["network"] | None = None,
    methods: tuple[str, ...] = ("dist",),
    temperature: float = C.ANNEALED_MEAN_T,
    precision: str = "fp32",
) -> dict[str, torch.Tensor]:
    """Predict ab for a batch of luminance images.

    Args:
        net: a SemColorNet (eval mode).
        L: (B,1,H,W) float L in [0,100], on the network's device.
        size: the network sees L resized to (size, size) (bilinear, antialiased); None =
            at the input resolution.
        out_size: where the ab comes back: None = the input's (H, W) (the default); an
            explicit (H', W'); or "network" = each head's own output resolution (e.g.
            size / dist_stride for "dist"; heads may differ), for callers that upsample
            later with :func:`upsample_ab`. Upsampling is always the single bilinear step
            of :func:`upsample_ab`, from the head's resolution.
        methods: any of "dist" (annealed mean of the distribution head) and "reg"
            (regression head); the deprecated "soft" means "dist".
        temperature: annealed-mean temperature T > 0 (lower = more vivid).
        precision: "fp32", "bf16" (bfloat16 autocast around the network only) or "auto"
            (:data:`PRECISION_CHOICES`).

    Returns:
        {method: (B,2,H,W) float32 ab in Lab units at ``out_size``}, on L's device.
    """
    _check_L(L)
    check_choice(precision, "precision", PRECISION_CHOICES)
    asked = tuple(methods)
    methods = tuple(canonical_method(m) for m in asked)
    heads = getattr(net, "heads", ())
    missing = [m for m in methods if HEAD_OF[m] not in heads]
    if missing:
        raise ValueError(
            f"this model has no head for {missing} (its heads: {list(heads)}); "
            f"use one of {[m for m in METHODS if HEAD_OF[m] in heads]}"
        )
    h, w = L.shape[-2:]
    if out_size is None:
        target: tuple[int, int] | None = (h, w)
    elif isinstance(out_size, str) and out_size == "network":
        target = None
    elif (
        isinstance(out_size, tuple | list)
        and len(out_size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in out_size)
    ):
        target = (int(out_size[0]), int(out_size[1]))
    else:
        raise ValueError(
            f"out_size must be None (the input's size), 'network' or (H, W), got {out_size!r}"
        )
    out = network_outputs(net, L, size, heads=heads_for(methods), precision=precision)
    ab = decode_outputs(out, methods, temperature, target)
    return {a: ab[m] for a, m in zip(asked, methods, strict=True)}  # keyed as asked


@torch.no_grad()
def network_outputs(
    net: torch.nn.Module,
    L: torch.Tensor,
    size: int | None = 256,
    *,
    heads: Sequence[str] | None = None,
    precision: str = "fp32",
) -> Any:
    """The network's raw outputs for L as :func:`predict_ab` feeds it: L (B,1,H,W) in [0,100]
    resized to (size, size) (bilinear, antialiased; None = as it is), normalised, in the
    network's dtype. For callers that decode the same outputs several ways (temperature
    calibration) or read other heads (``Colorizer.analyze``).

    ``heads``: compute only these (e.g. ``heads_for(("dist",))``; see :func:`run_network`);
    None = every head of the network. ``precision``: "fp32" or "bf16" (autocast; the outputs
    may then be bfloat16). Returns its :class:`semcolor.models.ColorizerOutput`.
    """
    x = L.float()
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)  # fmt: skip
    dtype = next(net.parameters()).dtype
    with autocast_for(precision, x.device):
        return run_network(net, normalize_l(x).to(dtype), heads)


def decode_outputs(
    out: Any,
    methods: tuple[str, ...] = ("dist",),
    temperature: float = C.ANNEALED_MEAN_T,
    size_hw: tuple[int, int] | None = None,
) -> dict[str, torch.Tensor]:
    """Point estimates of ab from network outputs (also what training validation uses).

    Args:
        out: a :class:`semcolor.models.ColorizerOutput`.
        methods: "dist" (annealed mean of ``ab_logits``) and/or "reg" (``ab_reg``).
        temperature: annealed-mean temperature T > 0.
        size_hw: upsample each result to (H, W) with :func:`upsample_ab`; None = leave it at
            the head's resolution.

    Returns:
        {method: (B,2,h,w) float32 ab in Lab units}.

    Raises:
        ValueError: an unknown method, or outputs without the field a method reads.
    """
    result = {}
    for m in methods:
        head = HEAD_OF[canonical_method(m)]
        raw = out.ab_logits if head == "dist" else out.ab_reg
        if raw is None:
            raise ValueError(
                f"method {m!r} reads the {head!r} head, which these outputs lack (not "
                f"computed: ask network_outputs for heads_for({list(methods)}))"
            )
        ab = annealed_mean_per_image(raw.float(), temperature) if head == "dist" else raw.float()
        result[m] = ab if size_hw is None else upsample_ab(ab, size_hw)
    return result


def annealed_mean_per_image(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """:func:`semcolor.color.annealed_mean` computed one image at a time, as a matmul.

    Same result as ``annealed_mean(logits, T)`` up to float rounding (|difference| < 1e-3 Lab
    units): per image, ``e = exp((z - max z) / T)`` over the bins, ``ab = (bins^T e) / sum e``.
    Why: the batched form builds three batch-sized 313-channel temporaries (logits / T, the
    softmax, the einsum's permuted copy; 5 MB per 64x64 image each) and runs the softmax
    along the strided channel axis. At batch 8 that is 40 MB per temporary, past the 32 MB L3
    of the benchmark CPU, and the decoding then cost more per image than at batch 1
    (profiled with torch.profiler: ``_softmax`` + the permute ``copy_`` + ``div`` were a quarter
    of ``predict_ab`` at batch 8). One image at a time keeps them cache-sized, the channel
    reduction becomes one (2 x 313) @ (313 x HW) matmul, and there is no permuted copy.

    Args:
        logits: (B,313,H,W) float logits over ``AB_BINS``.
        temperature: T > 0.

    Returns:
        (B,2,H,W) ab in Lab units, the logits' dtype and device.

    Raises:
        ValueError: logits of another shape, NaN logits, or T <= 0.
    """
    check_logits(logits, C.NUM_AB_BINS)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    b, q, h, w = logits.shape
    bins_t = ab_bins_tensor(logits.device, logits.dtype).t().contiguous()  # (2, 313)
    out = logits.new_empty(b, 2, h, w)
    for i in range(b):
        e = torch.exp(annealed_exponent(logits[i].reshape(q, h * w), float(temperature), dim=0))
        out[i] = (torch.mm(bins_t, e) / e.sum(dim=0, keepdim=True)).view(2, h, w)
    return out


def colorize_lab(
    net: torch.nn.Module,
    L: torch.Tensor,
    *,
    size: int | None = 256,
    method: str = "dist",
    temperature: float = C.ANNEALED_MEAN_T,
) -> torch.Tensor:
    """(B,1,H,W) L in [0,100] -> (B,3,H,W) sRGB in [0,1], L kept exactly (before gamut
    clipping), ab from :func:`predict_ab`."""
    ab = predict_ab(net, L, size=size, methods=(method,), temperature=temperature)[method]
    return lab_to_rgb(torch.cat([L.float(), ab], dim=1))
