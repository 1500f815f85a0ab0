"""What the machine can do fast: native bfloat16 and the memory format, chosen at run time.

Training (``trainer.precision=auto``, ``module.memory_format=auto``) and inference
(``precision="auto"`` of :class:`semcolor.Colorizer`) follow one rule, decided here:

* **bf16 only where it is native.** On CPU that is AVX-512 BF16 or AMX (``avx512_bf16`` /
  ``amx_bf16`` in ``/proc/cpuinfo``); without them PyTorch emulates bfloat16 and a training
  step of the default model ran 12x *slower* (AVX2 EPYC, docs/default_model.md), while on a
  Xeon with AMX it ran 1.56x faster (README, "Training speed"). On CUDA: compute
  capability 8.0 (Ampere) or newer, where ``torch.cuda.is_bf16_supported()`` is true.
* **channels_last on CPU**, where it was faster on both CPUs measured (training step 1.19x
  on AVX2, 1.36x with AMX); on CUDA together with bf16 (tensor cores read NHWC).

Every choice comes with its reason, which the callers log. :func:`resolve_device` says which
device ``"auto"`` is.

It sits in the package root, below every room, because training (:mod:`semcolor.lit`),
inference (:mod:`semcolor.inference`), evaluation and data labelling all choose from it; it
imports nothing of semcolor.
"""

from __future__ import annotations

import functools
import resource
import sys
from dataclasses import dataclass

import torch

#: CPU flags (Linux ``/proc/cpuinfo``) that give PyTorch native bfloat16 kernels (oneDNN).
CPU_BF16_FLAGS: tuple[str, ...] = ("avx512_bf16", "amx_bf16")
#: Requested values that mean "decide from the machine".
AUTO = "auto"


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where there is none, e.g. macOS)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def describe_cpu() -> str:
    """One line naming the CPU and its bf16-relevant flags (for benchmark and log headers)."""
    name = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            name = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                        "?")  # fmt: skip
    except OSError:
        pass
    have = sorted(f for f in cpu_flags() if f in (*CPU_BF16_FLAGS, "avx512f", "avx2", "amx_tile"))
    return f"{name}; flags: {' '.join(have) or 'none of avx2/avx512f/avx512_bf16/amx'}"


@dataclass(frozen=True)
class Choice:
    """A decision and why it was taken (``reason`` is for the log)."""

    value: str
    reason: str


def native_bf16(device: str | torch.device) -> Choice:
    """Whether ``device`` computes bfloat16 natively: ``value`` "yes" or "no", and why."""
    dev = torch.device(device)
    if dev.type == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False):
            return Choice("yes", f"{torch.cuda.get_device_name(dev)} supports bf16")
        return Choice("no", "this CUDA device has no native bf16 (needs compute capability 8.0+)")
    if dev.type != "cpu":
        return Choice("no", f"no bf16 rule for device type {dev.type!r}")
    have = [f for f in CPU_BF16_FLAGS if f in cpu_flags()]
    if have:
        return Choice("yes", f"the CPU has {', '.join(have)}")
    if not cpu_flags():
        return Choice("no", "the CPU flags cannot be read (no /proc/cpuinfo)")
    return Choice(
        "no", "the CPU has neither avx512_bf16 nor amx_bf16: bf16 would be emulated (12x "
        "slower measured on AVX2)",
    )  # fmt: skip


def _explicit(requested: str, valid: tuple[str, ...], name: str) -> Choice | None:
    if requested == AUTO:
        return None
    if requested not in valid:
        raise ValueError(f"unknown {name} {requested!r}; valid: {[AUTO, *valid]}")
    return Choice(requested, "set explicitly")


#: Lightning precision values :func:`training_precision` picks between.
TRAIN_BF16, TRAIN_FP32 = "bf16-mixed", "32-true"


def training_precision(requested: str, device: str | torch.device) -> Choice:
    """``trainer.precision``: "auto" -> "bf16-mixed" where bf16 is native, else "32-true";
    any other value is Lightning's and passes through unchanged."""
    if str(requested) != AUTO:
        return Choice(str(requested), "set explicitly")
    bf16 = native_bf16(device)
    return Choice(TRAIN_BF16 if bf16.value == "yes" else TRAIN_FP32, bf16.reason)


#: Inference precisions (:data:`semcolor.inference.PRECISIONS` without "auto").
INFER_FP32, INFER_BF16 = "fp32", "bf16"


def inference_precision(requested: str, device: str | torch.device) -> Choice:
    """Inference precision: "auto" -> "bf16" where bf16 is native, else "fp32"."""
    chosen = _explicit(requested, (INFER_FP32, INFER_BF16), "precision")
    if chosen is not None:
        return chosen
    bf16 = native_bf16(device)
    return Choice(INFER_BF16 if bf16.value == "yes" else INFER_FP32, bf16.reason)


#: ``memory_format`` values.
MEMORY_FORMATS: tuple[str, ...] = ("channels_last", "contiguous")


def memory_format(requested: str, device: str | torch.device, bf16: bool) -> Choice:
    """"auto" -> "channels_last" on CPU (faster on every CPU measured), and on CUDA with
    bf16 (tensor cores); "contiguous" otherwise."""
    chosen = _explicit(requested, MEMORY_FORMATS, "memory_format")
    if chosen is not None:
        return chosen
    dev = torch.device(device)
    if dev.type == "cpu":
        return Choice("channels_last", "CPU: channels_last was faster on every CPU measured")
    if dev.type == "cuda" and bf16:
        return Choice("channels_last", "CUDA with bf16: tensor cores read NHWC")
    return Choice("contiguous", f"{dev.type} without bf16")


def torch_memory_format(name: str) -> torch.memory_format:
    """``torch.channels_last`` or ``torch.contiguous_format`` for a :data:`MEMORY_FORMATS`."""
    return torch.channels_last if name == "channels_last" else torch.contiguous_format


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" -> cuda if available else cpu; anything torch accepts otherwise."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
    return dev


def peak_memory_mb(device: torch.device) -> tuple[float, str]:
    """Peak memory so far, in MiB, and what was measured: the CUDA caching allocator's peak on a
    GPU (``cuda_max_allocated``), the process's peak resident set on CPU
    (``process_peak_rss``)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_allocated"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (2**20 if sys.platform == "darwin" else 2**10), "process_peak_rss"


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA), so that a timer reads the work's end; a no-op
    on CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
