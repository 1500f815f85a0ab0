"""The bench's speed mode (``semcolor-bench --speed``): images/s and latency of the one inference
path, at each batch size, precision and backend asked for.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import semcolor
from semcolor.data.bench_images import DEFAULT_SIZE, BenchError
from semcolor.hardware import peak_memory_mb, resolve_device, synchronize
from semcolor.inference.checkpoint import LoadedModel, resolve_temperature
from semcolor.inference.predict import canonical_method, colorize_lab, predict_ab
from semcolor.models import SemColorNet

#: Architecture timed by speed mode when there is no checkpoint at all: the default
#: recipe's (conf/experiment/default_model.yaml: conf/model/efficientnet_lite0.yaml with the
#: regression and distribution heads), with random weights (speed does not depend on them).
DEFAULT_SPEED_ARCH: dict[str, Any] = {
    "encoder": "tu-efficientnet_lite0",
    "input_norm": [0.5, 0.5],
    "decoder_channels": [128, 64, 48, 32, 16],
    "dist_stride": 4,
    "heads": ["reg", "dist"],
}


# ============================================================================ speed mode
def default_speed_model() -> Any:
    """A random-weight :class:`~semcolor.inference.LoadedModel` of
    :data:`DEFAULT_SPEED_ARCH` (for timing only)."""
    net = SemColorNet(**DEFAULT_SPEED_ARCH).eval()
    return LoadedModel(net, path=None, config={"note": "random weights, timing only"})


def _time_call(
    fn: Callable[[], Any],
    device: torch.device,
    warmup: int,
    iters: int | None,
    min_time_s: float,
    max_iters: int,
) -> list[float]:
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
        if iters is not None:
            if len(times) >= iters:
                break
        elif len(times) >= max_iters or (
            len(times) >= 3 and time.perf_counter() - start >= min_time_s
        ):
            break
    return times


def speed_benchmark(
    model: Any,
    *,
    devices: Sequence[str | torch.device] = ("cpu",),
    batches: Sequence[int] = (1, 8, 32),
    size: int = DEFAULT_SIZE,
    fullres: tuple[int, int] | None = (4000, 3000),
    method: str | None = None,
    temperature: float | None = None,
    warmup: int = 1,
    iters: int | None = None,
    min_time_s: float = 2.0,
    max_iters: int = 20,
    progress: bool = True,
) -> dict[str, Any]:
    """Inference latency and throughput.

    For each device: ``predict_ab`` at ``size`` x ``size`` for each batch size, and the full
    colorize path (:func:`~semcolor.inference.colorize_lab`: L resized to ``size``, network,
    ab upsampled to the input, Lab -> RGB) on one ``fullres`` = (width, height) L image
    (default 4000x3000, 12 megapixels). Inputs are random L in [0, 100] (timing does not
    depend on content). Each case runs ``warmup`` untimed calls, then ``iters`` timed calls
    (None: at least 3, until ``min_time_s`` or ``max_iters``); latency = median.

    Returns:
        {"results": [{"device", "case" ("batch"/"fullres"), "batch", "input" "BxHxW",
        "latency_ms", "ms_per_image", "images_per_s", "iters", "peak_memory_mb",
        "peak_memory_kind"}, ...], plus context (model, method, size, threads, ...)}.
    """
    temperature = resolve_temperature(model, temperature)
    method = canonical_method(method) if method else (model.methods[0] if model.methods else None)
    if method is None:
        raise BenchError("the model has no colour head (neither 'dist' nor 'reg')")
    home = model.device
    results: list[dict[str, Any]] = []
    gen = torch.Generator().manual_seed(0)
    for dev_name in devices:
        dev = resolve_device(dev_name)
        model.to(dev)
        cases: list[tuple[str, int, tuple[int, int]]] = [
            ("batch", b, (size, size)) for b in batches
        ]
        if fullres is not None:
            cases.append(("fullres", 1, (fullres[1], fullres[0])))
        for case, b, (h, w) in cases:
            L = (torch.rand(b, 1, h, w, generator=gen) * 100.0).to(dev)
            if case == "batch":

                def fn(L=L):
                    return predict_ab(model.net, L, size=size, methods=(method,),
                                      temperature=temperature)  # fmt: skip
            else:

                def fn(L=L):
                    return colorize_lab(model.net, L, size=size, method=method,
                                        temperature=temperature)  # fmt: skip

            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
            times = _time_call(fn, dev, warmup, iters, min_time_s, max_iters)
            lat = float(np.median(times))
            peak, kind = peak_memory_mb(dev)
            row = {
                "device": str(dev), "case": case, "batch": b, "input": f"{b}x{h}x{w}",
                "latency_ms": 1000 * lat, "latency_ms_mean": 1000 * float(np.mean(times)),
                "ms_per_image": 1000 * lat / b, "images_per_s": b / lat,
                "iters": len(times), "peak_memory_mb": peak, "peak_memory_kind": kind,
            }  # fmt: skip
            results.append(row)
            if progress:
                print(f"  {row['device']} {case} {row['input']}: {row['latency_ms']:.1f} ms",
                      file=sys.stderr)  # fmt: skip
            del L
    model.to(home)
    return {
        "semcolor_version": semcolor.__version__,
        "model": {
            "path": model.path,
            "version": model.version,
            "arch": dict(getattr(model.net, "init_kwargs", {})),
        },  # fmt: skip
        "method": method,
        "temperature": temperature,
        "size": size,
        "fullres": list(fullres) if fullres is not None else None,
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "results": results,
    }


def format_speed_table(speed: dict[str, Any]) -> str:
    """Markdown table of :func:`speed_benchmark`'s result."""
    lines = ["| device | case | input (BxHxW) | latency ms | ms/image | images/s | peak MB |",
             "|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for r in speed["results"]:
        lines.append(
            f"| {r['device']} | {r['case']} | {r['input']} | {r['latency_ms']:.1f} | "
            f"{r['ms_per_image']:.1f} | {r['images_per_s']:.2f} | {r['peak_memory_mb']:.0f} |"
        )
    return "\n".join(lines)
