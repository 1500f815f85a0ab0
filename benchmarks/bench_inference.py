"""Inference cost of the network: the full forward vs the restricted forwards the inference
path runs (only what a decoding method reads), on CPU.

Rows (one batch of random L per row, float32, eval mode, ``torch.inference_mode()``):

- ``<model> full``: ``net(x)``, every head (what inference ran before it computed only what
  is asked; what training runs).
- ``<model> dist-only`` / ``reg-only``: :func:`semcolor.inference.run_network` with the heads
  of ``method="dist"`` / ``"reg"`` (:func:`semcolor.inference.heads_for`): the decoder stops
  at the finest stride the head reads and the other heads do not run.
- ``<model> predict_ab dist``: the user-facing call, :func:`semcolor.inference.predict_ab`
  (normalisation, network, annealed mean, no resize since the input is already S x S).
- ``<model> predict_ab dist bf16``: the same under ``precision="bf16"`` (bfloat16 autocast
  around the network, ``--precisions``).
- ``<model> predict_ab dist onnxruntime``: the exported dist-only graph
  (:class:`semcolor.inference.export.OrtNetwork`, what ``Colorizer(backend="onnxruntime")`` runs:
  network, annealed mean) in an ONNX Runtime CPU session on the same threads (``--backends``); its
  GFLOP are those of the PyTorch row (the counter cannot see inside ONNX Runtime).
- ``ECCV16 full``: Zhang et al.'s network (:class:`semcolor.models.ECCV16Net`, random
  weights; speed does not depend on the weights).

The model is the packaged default model when it is installed, else a randomly initialised
network of its architecture (the script says which). Each row is timed ``--repeats`` times
after ``--warmup`` untimed calls, round-robin (one call of every row per round) so that load
from other processes hits every row alike; reported: the median ms per image, the spread
(min, quartiles, max) and the paired ratio full / dist-only (median over rounds of the ratio
within a round) next to the issue's 1.8x target. GFLOP per image are counted once with
``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls; 1 multiply-add = 2
FLOP), and GFLOP/s = that / median time. The roofline is this machine's FP32 matmul rate: a
``--mm-side`` square ``torch.mm`` on the same threads.

Rows for every batch size of ``--batches`` (ECCV16 at the first only: it is slow). Timings
are printed, never checked. ``--markdown FILE`` also writes the table as Markdown, with the
command and machine load, which is what the README's speed section holds
(``benchmarks/speed_report.sh`` regenerates it).

    python benchmarks/bench_inference.py [--threads 2] [--size 256] [--batches 1 2 4 8]
        [--repeats 30] [--warmup 3] [--precisions fp32 bf16] [--backends torch onnxruntime]
        [--markdown FILE]
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

#: The issue's target: method="dist" at least this much faster than the full forward.
TARGET_SPEEDUP = 1.8
#: Architecture of the packaged default model, used with random weights when it is missing.
DEFAULT_ARCH = dict(
    encoder="tu-efficientnet_lite0",
    input_norm=[0.5, 0.5],
    decoder_channels=[128, 64, 48, 32, 16],
    dist_stride=4,
    num_scene_classes=200,
    num_seg_classes=11,
)
#: Side of the square matmul whose rate is the roofline.
MM_SIDE = 2048
#: The restricted forwards: row suffix -> decoding method.
RESTRICTED = {"dist-only": "dist", "reg-only": "reg"}


@dataclass(frozen=True)
class Case:
    """One row: ``fn()`` processes one batch of ``batch`` images.

    Attributes:
        name: the row's label.
        fn: the call that is timed (and whose FLOPs are counted).
        batch: images per call.
        group: rows with the same group are compared with its "full" row.
    """

    name: str
    fn: Callable[[], Any]
    batch: int
    group: str = ""
    #: a call whose FLOPs stand for this one's (ONNX Runtime rows); None = ``fn`` itself
    flop_fn: Callable[[], Any] | None = None


def default_model() -> tuple[nn.Module, str]:
    """The packaged default model's network (eval mode, CPU), or one of its architecture with
    random weights when it is not installed; and which of the two."""
    from semcolor.inference import DEFAULT_MODEL, load_model
    from semcolor.models import SemColorNet

    if DEFAULT_MODEL.is_file():
        return load_model(None, device="cpu").net, f"default model ({DEFAULT_MODEL.name})"
    torch.manual_seed(0)
    net = SemColorNet(**DEFAULT_ARCH).eval()
    return net, "random weights, default architecture (no default model installed)"


def network_cases(
    net: nn.Module,
    label: str,
    x: torch.Tensor,
    precisions: Sequence[str] = ("fp32",),
    backends: Sequence[str] = ("torch",),
) -> list[Case]:
    """The full forward of ``net`` on x ((B,1,S,S) ``normalize_l`` values); for a network
    whose forward takes ``heads=`` also the restricted forwards of the methods it offers and
    ``predict_ab`` for "dist" when it has that head, plus that ``predict_ab`` row under each
    other precision (bf16) and backend (onnxruntime) asked for."""
    from semcolor.inference import heads_for, predict_ab, run_network

    b = int(x.shape[0])
    cases = [Case(f"{label} full", lambda: net(x), b, label)]
    if "heads" not in inspect.signature(net.forward).parameters:
        return cases  # it always runs in full (ECCV16Net, IizukaNet, PyramidColorizer)
    own = tuple(getattr(net, "heads", ()))
    for suffix, method in RESTRICTED.items():
        heads = heads_for((method,))
        if all(h in own for h in heads):
            cases.append(Case(f"{label} {suffix}", lambda h=heads: run_network(net, x, h), b,
                              label))  # fmt: skip
    if "dist" in own:
        L = (x * 100.0 + 50.0).contiguous()  # back to L in [0, 100]
        ref = lambda: predict_ab(net, L, size=None, out_size="network", methods=("dist",))  # noqa: E731
        cases.append(Case(f"{label} predict_ab dist", ref, b, label))
        for p in precisions:
            if p != "fp32":
                cases.append(Case(
                    f"{label} predict_ab dist {p}",
                    lambda p=p: predict_ab(net, L, size=None, out_size="network",
                                           methods=("dist",), precision=p),
                    b, label,
                ))  # fmt: skip
        if "onnxruntime" in backends:
            from semcolor.inference.export import ort_network

            ort = ort_network(net, int(x.shape[-1]), "dist", 0.38)
            xc = x.contiguous()
            cases.append(Case(f"{label} predict_ab dist onnxruntime", lambda: ort(xc), b, label,
                              flop_fn=ref))  # fmt: skip
    return cases


def build_cases(
    models: dict[str, nn.Module],
    size: int,
    batches: Sequence[int],
    seed: int = 0,
    precisions: Sequence[str] = ("fp32",),
    backends: Sequence[str] = ("torch",),
    first_batch_only: Sequence[str] = (),
    precisions_first_batch_only: bool = False,
) -> list[Case]:
    """Every row: for each batch size, :func:`network_cases` of each model on one random
    (B,1,size,size) float32 input in [-0.5, 0.5]; the models named in ``first_batch_only``
    only at the first batch size, and with ``precisions_first_batch_only`` the non-fp32
    rows too (bf16 is slow where the CPU has no bf16 instructions)."""
    gen = torch.Generator().manual_seed(seed)
    cases: list[Case] = []
    for i, b in enumerate(batches):
        x = torch.rand(int(b), 1, int(size), int(size), generator=gen) - 0.5
        for label, net in models.items():
            if i > 0 and label in first_batch_only:
                continue
            precs = ("fp32",) if i > 0 and precisions_first_batch_only else precisions
            cases += network_cases(net, f"{label} b{b}" if len(batches) > 1 else label, x,
                                   precs, backends)  # fmt: skip
    return cases


def gflop(fn: Callable[[], Any]) -> float:
    """GFLOP of one call of ``fn`` (convolutions and matmuls, as FlopCounterMode counts)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        fn()
    return counter.get_total_flops() / 1e9


def time_cases(cases: Sequence[Case], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per call of each case, ``repeats`` rounds after ``warmup`` untimed rounds; in
    each round every case runs once, in order (round-robin)."""
    times: dict[str, list[float]] = {c.name: [] for c in cases}
    with torch.inference_mode():
        for _ in range(max(0, warmup)):
            for c in cases:
                c.fn()
        for _ in range(repeats):
            for c in cases:
                t = time.perf_counter()
                c.fn()
                times[c.name].append(time.perf_counter() - t)
    return times


def matmul_gflops(side: int = MM_SIDE, repeats: int = 5) -> float:
    """This machine's FP32 ``torch.mm`` rate in GFLOP/s (best of ``repeats``), the roofline."""
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(side, side, generator=gen)
    b = torch.rand(side, side, generator=gen)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2.0 * side**3 / best / 1e9


def summarize(cases: Sequence[Case], times: dict[str, list[float]]) -> list[dict[str, Any]]:
    """One row per case: name, batch, repeats, ms per image (median, min, quartiles, max),
    GFLOP per image and GFLOP/s at the median."""
    rows = []
    for c in cases:
        t = sorted(times[c.name])
        q = statistics.quantiles(t, n=4) if len(t) > 1 else [t[0]] * 3
        per = 1e3 / c.batch
        flop = gflop(c.flop_fn or c.fn) / c.batch
        med = statistics.median(t)
        rows.append({
            "name": c.name, "group": c.group, "batch": c.batch, "repeats": len(t),
            "ms_median": med * per, "ms_min": t[0] * per, "ms_q1": q[0] * per,
            "ms_q3": q[2] * per, "ms_max": t[-1] * per,
            "gflop": flop, "gflops": flop * c.batch / med if med > 0 else float("nan"),
        })  # fmt: skip
    return rows


def paired_speedup(times: dict[str, list[float]], full: str, other: str) -> float:
    """Median over rounds of time(full) / time(other) within the same round."""
    return statistics.median(a / b for a, b in zip(times[full], times[other], strict=True))


def report(rows: list[dict[str, Any]], times: dict[str, list[float]], roofline: float) -> str:
    """The printed table plus, per model group, full / restricted speed-ups (dist-only against
    :data:`TARGET_SPEEDUP`)."""
    lines = [
        f"{'row':40s} {'ms/img':>8s}  {'spread: min [q1-q3] max':>28s} {'GFLOP/img':>9s} "
        f"{'GFLOP/s':>8s} {'% roof':>6s}"
    ]
    for r in rows:
        spread = f"{r['ms_min']:.1f} [{r['ms_q1']:.1f}-{r['ms_q3']:.1f}] {r['ms_max']:.1f}"
        lines.append(
            f"{r['name']:40s} {r['ms_median']:8.2f}  {spread:>28s} {r['gflop']:9.3f} "
            f"{r['gflops']:8.1f} {100 * r['gflops'] / roofline:5.1f}%"
        )
    lines.append(f"roofline: FP32 torch.mm {roofline:.1f} GFLOP/s")
    by_name = {r["name"]: r for r in rows}
    for group in dict.fromkeys(r["group"] for r in rows):
        full = f"{group} full"
        for suffix in RESTRICTED:
            other = f"{group} {suffix}"
            if full not in by_name or other not in by_name:
                continue
            ratio = by_name[full]["ms_median"] / by_name[other]["ms_median"]
            paired = paired_speedup(times, full, other)
            line = (f"{group}: full / {suffix} = {ratio:.2f}x (ratio of medians), "
                    f"{paired:.2f}x (median paired ratio)")  # fmt: skip
            if suffix == "dist-only":
                verdict = "meets" if min(ratio, paired) >= TARGET_SPEEDUP else "misses"
                line += f"; target {TARGET_SPEEDUP}x: {verdict}"
            lines.append(line)
    return "\n".join(lines)


def markdown(rows: list[dict[str, Any]], roofline: float, header: str) -> str:
    """The table as Markdown (what the README's speed section holds)."""
    lines = [header, "",
             "| row | ms / image (median) | spread min [q1-q3] max | GFLOP / image | GFLOP/s "
             "| % of roofline |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        spread = f"{r['ms_min']:.1f} [{r['ms_q1']:.1f}-{r['ms_q3']:.1f}] {r['ms_max']:.1f}"
        lines.append(f"| {r['name']} | {r['ms_median']:.1f} | {spread} | {r['gflop']:.3f} | "
                     f"{r['gflops']:.1f} | {100 * r['gflops'] / roofline:.1f}% |")  # fmt: skip
    lines.append(f"| roofline: FP32 `torch.mm` {MM_SIDE}² | | | | {roofline:.1f} | 100% |")
    return "\n".join(lines) + "\n"


README_BEGIN = "<!-- bench_inference:begin (generated: benchmarks/speed_report.sh) -->"
README_END = "<!-- bench_inference:end -->"


def update_readme(path: str, table: str, begin: str = README_BEGIN,
                  end: str = README_END) -> None:
    """Replace the text between the markers ``begin`` and ``end`` in ``path`` (default:
    :data:`README_BEGIN`, :data:`README_END`).

    Raises:
        ValueError: the markers are missing.
    """
    from pathlib import Path

    text = Path(path).read_text()
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"{path} has no {begin!r} ... {end!r} block")
    Path(path).write_text(text[: i + len(begin)] + "\n" + table + text[j:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--size", type=int, default=256, help="input height = width")
    ap.add_argument("--batches", type=int, nargs="+", default=[1], help="batch sizes")
    ap.add_argument("--repeats", type=int, default=30, help="timed rounds")
    ap.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    ap.add_argument("--mm-side", type=int, default=MM_SIDE, help="roofline matmul side")
    ap.add_argument("--no-eccv16", action="store_true", help="leave out the ECCV16 row")
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"],
                    choices=["fp32", "bf16"], help="predict_ab rows per precision")
    ap.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"],
                    choices=["torch", "onnxruntime"], help="predict_ab rows per backend")
    ap.add_argument("--all-batches-bf16", action="store_true",
                    help="bf16 rows at every batch size (default: at the first only)")
    ap.add_argument("--markdown", default=None, help="also write the table as Markdown here")
    ap.add_argument("--update-readme", default=None, metavar="README",
                    help="replace the README's block between the bench_inference markers "
                    "with the Markdown table")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from semcolor.models import ECCV16Net

    net, which = default_model()
    models: dict[str, nn.Module] = {"semcolor": net}
    if not args.no_eccv16:
        torch.manual_seed(0)
        models["ECCV16"] = ECCV16Net().eval()
    cases = build_cases(models, args.size, args.batches, precisions=args.precisions,
                        backends=args.backends, first_batch_only=("ECCV16",),
                        precisions_first_batch_only=not args.all_batches_bf16)  # fmt: skip
    times = time_cases(cases, args.repeats, args.warmup)
    roofline = matmul_gflops(args.mm_side)
    rows = summarize(cases, times)
    import os
    import platform

    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    header = (
        f"semcolor: {which}; torch {torch.__version__}, CPU ({platform.processor() or '?'}, "
        f"{os.cpu_count()} cores), {torch.get_num_threads()} threads, float32 unless the row "
        f"says bf16, input (B,1,{args.size},{args.size}); median of {args.repeats} "
        f"round-robin rounds after {args.warmup} warm-up rounds; load average at the end "
        f"(1/5/15 min): {load}"
    )
    print(header)
    print(report(rows, times, roofline))
    if args.markdown:
        from pathlib import Path

        cmd = "python benchmarks/bench_inference.py " + " ".join(argv or sys.argv[1:])
        Path(args.markdown).write_text(markdown(rows, roofline, f"`{cmd}`: {header}."))
    if args.update_readme:
        cmd = "python benchmarks/bench_inference.py " + " ".join(argv or sys.argv[1:])
        update_readme(args.update_readme, markdown(rows, roofline, f"`{cmd}`: {header}."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
