"""The default model against its targets (issue 22, section 3), from the report script's bench
folders and one latency measurement of ``semcolor.colorize`` in this run.

    python benchmarks/default_model_targets.py --bench bench/default_model \\
        --ckpt bench/default_model/semcolor_default.ckpt --baseline-ckpt old.ckpt \\
        [--splits imagen1k_test,bsds500_test,kodak24] [--rounds 7] [--out targets.md]

``--bench`` is what ``benchmarks/default_model_report.sh`` wrote (``OUT``): per split a
``semcolor-bench --out`` folder with ``per_image.csv`` and ``summary.json``, gray in the same
run. Per split:

* **best decoding** (the model's method with the highest mean PSNR): its paired gain over gray,
  per image on the same images, with a 95% t interval over images; target >= +1.0 dB;
* **the default decoding** (what ``method=None`` gives: the checkpoint's first method, dist
  when it has that head): gain over gray, target >= 0, and its colourfulness M3 as a share
  of the ground truths' mean M3, target 85-115%;
* **colour cast**: the default decoding's mean b bias (signed mean b of prediction minus
  truth, per image, averaged), target within +-2 Lab units.

**Latency**: ``semcolor.colorize`` end to end on a 256 x 256 uint8 RGB array (the array in,
the colour array out), the new model against the baseline model (``--baseline-ckpt``, e.g.
the previous default model from git), loaded once each, taking turns round by round so both
see the same machine state; the median over rounds of each round's mean ms per call. Target:
new / baseline <= 1.1. The CPU line (flags) and the load average go with the figures.

Prints a Markdown table (met, or missed and by how much) and writes it with a JSON of the
figures when ``--out`` is given. It gates nothing: the figures are for the documentation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import semcolor
from semcolor.evaluation.ablation import mean_interval
from semcolor.hardware import describe_cpu
from semcolor.inference.checkpoint import load_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_benches import read_method  # noqa: E402 (a sibling script, not a package)

#: Issue 22, section 3.
BEST_GAIN_DB = 1.0
DEFAULT_GAIN_DB = 0.0
CF_BAND = (0.85, 1.15)
CAST_B_MAX = 2.0
LATENCY_RATIO_MAX = 1.1
LATENCY_SIZE = 256
DEFAULT_SPLITS = ("imagen1k_test", "bsds500_test", "kodak24")
#: Latency: rounds (models taking turns) and colorize calls per model and round.
DEFAULT_ROUNDS, DEFAULT_CALLS = 7, 5


def paired_gain(folder: Path, method: str, metric: str = "psnr") -> dict[str, float]:
    """Mean over the images both have of (method - gray), with a 95% t interval over images."""
    a, g = read_method(folder, method), read_method(folder, "gray")
    images = sorted(set(a) & set(g))
    return mean_interval([a[i][metric] - g[i][metric] for i in images])


def split_figures(folder: Path, default_method: str) -> dict[str, object]:
    """The target figures of one split's bench folder."""
    summary = json.loads((folder / "summary.json").read_text())
    methods = [m for m in summary["methods"] if m != "gray"]
    if default_method not in methods:
        raise SystemExit(f"default_model_targets: {folder} has no {default_method!r} rows "
                         f"(methods: {methods}); bench the checkpoint given by --ckpt")  # fmt: skip
    best = max(methods, key=lambda m: summary["methods"][m]["psnr"])
    gt_cf = summary["gt"]["colorfulness"]
    d = summary["methods"][default_method]
    return {
        "n_images": summary["n_images"],
        "gray_psnr": summary["methods"]["gray"]["psnr"],
        "best_method": best,
        "best_gain": paired_gain(folder, best),
        "default_method": default_method,
        "default_gain": paired_gain(folder, default_method),
        "default_cf_ratio": d["colorfulness"] / gt_cf,
        "default_cast_a": d["cast_a"],
        "default_cast_b": d["cast_b"],
    }


def colorize_latency(ckpts: dict[str, str], rounds: int, calls: int) -> dict[str, dict]:
    """ms per ``semcolor.colorize`` call on a 256² uint8 RGB array, each model in turn."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (LATENCY_SIZE, LATENCY_SIZE, 3), dtype=np.uint8)
    models = {k: load_model(v, device="cpu") for k, v in ckpts.items()}
    for m in models.values():  # warm-up: first-call allocations and kernels
        semcolor.colorize(img, model=m, device="cpu")
    per_round: dict[str, list[float]] = {k: [] for k in models}
    for r in range(rounds):
        order = list(models) if r % 2 == 0 else list(models)[::-1]
        for k in order:
            t0 = time.perf_counter()
            for _ in range(calls):
                semcolor.colorize(img, model=models[k], device="cpu")
            per_round[k].append((time.perf_counter() - t0) / calls * 1000)
    return {k: {"median_ms": statistics.median(v), "rounds_ms": v} for k, v in per_round.items()}


def _verdict(ok: bool, miss: str) -> str:
    return "met" if ok else f"**missed by {miss}**"


def targets_table(figs: dict[str, dict], latency: dict[str, dict] | None) -> str:
    """The Markdown table of the targets, one column per split."""
    splits = list(figs)
    lines = ["| target | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]

    def row(name, cell):
        lines.append(f"| {name} | " + " | ".join(cell(figs[s]) for s in splits) + " |")

    def gain_cell(g, target):
        miss = f"{target - g['mean']:.3f} dB"
        return (f"{g['mean']:+.2f} dB [{g['ci_low']:+.2f}, {g['ci_high']:+.2f}]: "
                f"{_verdict(g['mean'] >= target, miss)}")  # fmt: skip

    row(f"best decoding ≥ gray + {BEST_GAIN_DB:.1f} dB",
        lambda f: f"{f['best_method']} " + gain_cell(f["best_gain"], BEST_GAIN_DB))
    row("default decoding ≥ gray",
        lambda f: f"{f['default_method']} " + gain_cell(f["default_gain"], DEFAULT_GAIN_DB))

    def cf_cell(f):
        r, (lo, hi) = f["default_cf_ratio"], CF_BAND
        miss = f"{(lo - r) * 100:.1f} points" if r < lo else f"{(r - hi) * 100:.1f} points"
        return f"{r * 100:.1f}%: {_verdict(lo <= r <= hi, miss)}"

    row(f"default decoding M3 {CF_BAND[0]:.0%}–{CF_BAND[1]:.0%} of GT", cf_cell)

    def cast_cell(f):
        b = f["default_cast_b"]
        return f"{b:+.2f}: " + _verdict(abs(b) <= CAST_B_MAX, f"{abs(b) - CAST_B_MAX:.2f}")

    row(f"default decoding's mean b bias within ±{CAST_B_MAX:.0f}", cast_cell)
    if latency:
        new, base = latency["new"]["median_ms"], latency["baseline"]["median_ms"]
        ratio = new / base
        verdict = _verdict(ratio <= LATENCY_RATIO_MAX, f"{ratio - LATENCY_RATIO_MAX:.3f}×")
        lines += ["", f"| colorize at {LATENCY_SIZE}², end to end | new | baseline | ratio | "
                  f"target ≤ {LATENCY_RATIO_MAX}× |", "|---|---:|---:|---:|---|",
                  f"| ms per call (median of rounds) | {new:.1f} | {base:.1f} | {ratio:.3f}× | "
                  f"{verdict} |"]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", type=Path, required=True, help="the report script's OUT folder")
    ap.add_argument("--ckpt", required=True, help="the new default model's checkpoint")
    ap.add_argument("--baseline-ckpt", default=None,
                    help="the model the latency is compared with (e.g. the previous default)")
    ap.add_argument("--splits", default=",".join(DEFAULT_SPLITS))
    ap.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    ap.add_argument("--calls", type=int, default=DEFAULT_CALLS,
                    help="colorize calls per model and round")
    ap.add_argument("--out", type=Path, default=None,
                    help="write the table (.md) and figures (.json)")
    args = ap.parse_args(argv)

    new = load_model(args.ckpt, device="cpu")
    default_method = new.methods[0]  # what method=None decodes (semcolor.colorize)
    figs = {}
    for s in [s for s in args.splits.split(",") if s]:
        folder = args.bench / s
        if not (folder / "summary.json").is_file():
            ap.error(f"{folder / 'summary.json'} does not exist: run "
                     "benchmarks/default_model_report.sh first (or give --splits)")  # fmt: skip
        figs[s] = split_figures(folder, default_method)
    latency = None
    if args.baseline_ckpt:
        latency = colorize_latency({"new": args.ckpt, "baseline": args.baseline_ckpt},
                                   args.rounds, args.calls)  # fmt: skip
    header = (f"CPU: {describe_cpu()}; load average {os.getloadavg()[0]:.2f}; torch threads "
              f"{torch.get_num_threads()}")
    table = targets_table(figs, latency)
    print(header + "\n\n" + table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(header + "\n\n" + table)
        args.out.with_suffix(".json").write_text(json.dumps(
            {"cpu": header, "splits": figs, "latency": latency}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
