"""Paired comparison of semcolor-bench runs on the same images.

Each entry is ``LABEL=BENCH_DIR:METHOD`` (a folder written by ``semcolor-bench --out``, and
one of its methods: dist, reg, gray). Per metric, every entry's mean over the images all
entries share, and its paired difference against the reference (the first entry, or
``--reference LABEL``) with a 95% t interval over images (the ablation study's
:func:`semcolor.evaluation.ablation.mean_interval`). An interval that excludes 0 is a difference on
this split; one that holds 0 is not.

    python benchmarks/compare_benches.py gray=bench/h1_test:gray h1=bench/h1_test:reg \
        shipped=bench/shipped_test:reg --metrics psnr,ssim,colorfulness,cast_b
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from semcolor.evaluation.ablation import mean_interval


def read_method(folder: Path, method: str) -> dict[str, dict[str, float]]:
    """image -> {metric: value} of ``method`` in ``folder/per_image.csv``."""
    path = folder / "per_image.csv"
    if not path.is_file():
        sys.exit(f"compare_benches: {path} does not exist (run semcolor-bench --out {folder})")
    rows: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["method"] == method:
                skip = ("image", "method")
                rows[r["image"]] = {k: float(v) for k, v in r.items()
                                    if k not in skip and v not in ("", None)}  # fmt: skip
    if not rows:
        sys.exit(f"compare_benches: no rows of method {method!r} in {path}")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("entries", nargs="+", help="LABEL=BENCH_DIR:METHOD, the reference first")
    ap.add_argument("--reference", default=None, help="label of the reference (default: first)")
    ap.add_argument("--metrics", default="psnr,ssim,l2ab,colorfulness,cast_a,cast_b")
    args = ap.parse_args(argv)
    runs: dict[str, dict[str, dict[str, float]]] = {}
    for e in args.entries:
        label, sep, rest = e.partition("=")
        folder, sep2, method = rest.rpartition(":")
        if not (sep and sep2 and label and folder and method):
            ap.error(f"entry {e!r}: expected LABEL=BENCH_DIR:METHOD")
        runs[label] = read_method(Path(folder), method)
    ref = args.reference or next(iter(runs))
    if ref not in runs:
        ap.error(f"--reference {ref!r} is not one of {list(runs)}")
    images = sorted(set.intersection(*(set(r) for r in runs.values())))
    print(f"{len(images)} images shared by {len(runs)} entries; reference: {ref}")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    print(f"{'metric':>12} | {'entry':>12} | {'mean':>8} | paired difference - {ref} [95% CI]")
    for m in metrics:
        base = np.array([runs[ref][i].get(m, np.nan) for i in images])
        for label, run in runs.items():
            x = np.array([run[i].get(m, np.nan) for i in images])
            ok = np.isfinite(x) & np.isfinite(base)
            line = f"{m:>12} | {label:>12} | {np.mean(x[ok]):8.3f} |"
            if label != ref:
                d = mean_interval(x[ok] - base[ok])
                line += f" {d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
