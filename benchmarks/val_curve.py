"""A training run's validation curve (issue 22: "keep the validation curve on imagen1k/val; it is
what tells when more steps stop helping"), from the run's CSV log.

    python benchmarks/val_curve.py RUN [--batch 16] [--png docs/images/default_model_val_curve.png]

``RUN`` is a ``semcolor-train`` run folder (``hydra.run.dir``; its ``csv/metrics.csv`` is read,
and the batch size from ``.hydra/config.yaml`` when ``--batch`` is not given) or a
``metrics.csv`` itself. Validation logs the bench's metrics per decoding (``val/<method>_<key>``,
the same code as ``semcolor-bench``); this prints a Markdown table per validation step: crops
seen, PSNR of gray, reg and dist, the regression head's gain over gray, dist's colourfulness M3
and its b cast, then the step with the best regression PSNR and the gain of the last quarter of
the run (last validation minus the one nearest 75% of the steps), the figure that says whether
more steps still help. ``--png`` draws PSNR against crops. Rows logged twice for one step (a
resumed run validating again) keep the last.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import yaml
from matplotlib.figure import Figure

#: Columns read per validation row: (table heading, metrics.csv column).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("gray PSNR", "val/gray_psnr"),
    ("reg PSNR", "val/reg_psnr"),
    ("dist PSNR", "val/dist_psnr"),
    ("dist M3", "val/dist_colorfulness"),
    ("dist b cast", "val/dist_cast_b"),
)


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def read_curve(metrics_csv: Path) -> list[dict[str, float]]:
    """Validation rows of a Lightning CSV log: one dict per validation (``step``: training steps
    done, and the COLUMNS' metric names), sorted by step; a step logged twice keeps its last
    row."""
    with open(metrics_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "val/gray_psnr" not in rows[0]:
        raise SystemExit(f"{metrics_csv}: no validation columns (val/gray_psnr); was the run "
                         "trained with validation (trainer.limit_val_batches > 0)?")
    by_step: dict[int, dict[str, float]] = {}
    for row in rows:
        if row.get("val/gray_psnr", "") == "":
            continue
        # Lightning logs a validation at the 0-based index of the last training step: +1 gives
        # the steps done (a run validated every 750 steps logs 749, 1499, ...).
        step = int(float(row["step"])) + 1
        by_step[step] = {"step": float(step), **{c: _number(row.get(c)) for _, c in COLUMNS}}
    return [by_step[s] for s in sorted(by_step)]


def batch_size_of(run: Path) -> int | None:
    """``data.batch_size`` from a run folder's Hydra config, or None when it has none."""
    cfg = run / ".hydra" / "config.yaml"
    if not cfg.is_file():
        return None
    return int(yaml.safe_load(cfg.read_text())["data"]["batch_size"])


def last_quarter_gain(curve: list[dict[str, float]], key: str = "val/reg_psnr") -> float:
    """``key`` at the last validation minus at the validation nearest 75% of the last step."""
    last = curve[-1]
    target = 0.75 * last["step"]
    earlier = min(curve, key=lambda r: abs(r["step"] - target))
    return last[key] - earlier[key]


def markdown(curve: list[dict[str, float]], batch: int | None) -> str:
    head = ["step", "crops"] + [h for h, _ in COLUMNS[:3]] + ["reg − gray"] + [
        h for h, _ in COLUMNS[3:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in curve:
        step = int(r["step"])
        cells = [f"{step:,}", f"{step * batch:,}" if batch else "?"]
        cells += [f"{r[c]:.2f}" for _, c in COLUMNS[:3]]
        cells.append(f"{r['val/reg_psnr'] - r['val/gray_psnr']:+.2f}")
        cells += [f"{r['val/dist_colorfulness']:.2f}", f"{r['val/dist_cast_b']:+.2f}"]
        lines.append("| " + " | ".join(cells).replace("nan", "–") + " |")
    best = max(curve, key=lambda r: r["val/reg_psnr"])
    lines += ["", f"Best regression PSNR at step {int(best['step']):,} "
              f"({best['val/reg_psnr']:.2f} dB); last quarter of the run (last validation − the "
              f"one nearest 75% of the steps): {last_quarter_gain(curve):+.3f} dB."]
    return "\n".join(lines)


def plot(curve: list[dict[str, float]], batch: int | None, png: Path) -> None:
    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    ax = fig.subplots()
    x = [r["step"] * (batch or 1) for r in curve]
    for label, col, style in (("gray", "val/gray_psnr", ":"), ("reg", "val/reg_psnr", "-"),
                              ("dist", "val/dist_psnr", "--")):
        ax.plot(x, [r[col] for r in curve], style, marker="o", markersize=3, label=label)
    ax.set_xlabel("crops seen" if batch else "step")
    ax.set_ylabel("PSNR, dB (validation)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="run folder (hydra.run.dir) or its metrics.csv")
    ap.add_argument("--batch", type=int, default=None,
                    help="crops per step (default: data.batch_size of RUN/.hydra/config.yaml)")
    ap.add_argument("--png", type=Path, default=None, help="also draw the curve here")
    args = ap.parse_args(argv)
    metrics = args.run if args.run.suffix == ".csv" else args.run / "csv" / "metrics.csv"
    if not metrics.is_file():
        print(f"error: {metrics} not found: pass a semcolor-train run folder (with "
              "csv/metrics.csv: logger=csv or the default logger) or a metrics.csv",
              file=sys.stderr)
        return 2
    batch = args.batch or (batch_size_of(args.run) if args.run.is_dir() else None)
    curve = read_curve(metrics)
    if not curve:
        print(f"error: {metrics} has no validation row yet", file=sys.stderr)
        return 2
    print(markdown(curve, batch))
    if args.png:
        plot(curve, batch, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
