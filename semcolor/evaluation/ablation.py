"""Ablation studies: several experiments x seeds under one budget, each run trained by
``semcolor-train`` and benched with the bench's code on the same report splits, then
aggregated with intervals (``semcolor-ablate`` is the command line).

Layout of a study folder ``OUT``::

    OUT/study.yaml                              the study (what ran)
    OUT/runs/<experiment>/seed<k>/              an ordinary semcolor-train run folder
        checkpoints/last.ckpt, ..., done.json   (done.json: training finished)
        bench/<split>/summary.json, per_image.csv, sheet.png
    OUT/ablation.csv, ablation.json, ablation.md, ablation.png, sheets/<experiment>_<split>.png

Statistics (hand-written: a few lines of numpy and scipy's t quantiles):

- per experiment, method and metric: the mean over seeds of each run's bench mean, the sample
  standard deviation (ddof 1) and a 95% t interval of the mean, mean +- t(0.975, n-1) s/sqrt(n);
- paired differences against the reference experiment, per method both offer: for each seed
  the mean over images of (run metric - reference run metric) on the same images, then the
  mean, std and 95% t interval of those per-seed differences.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy import stats

from semcolor.data.bench_images import list_dataset_images
from semcolor.evaluation.evaluate import evaluate_images
from semcolor.evaluation.report import build_summary
from semcolor.evaluation.report import write_outputs as write_bench_outputs
from semcolor.inference.checkpoint import load_model

#: Metrics aggregated (bench summary keys; l2ab_norm is the L2ab of Nguyen-Quynh et al.'s
#: tables, ab / 110).
ABLATION_METRICS: tuple[str, ...] = ("psnr", "ssim", "l2ab", "l2ab_norm", "auc", "colorfulness")
#: Two-sided confidence level of the intervals.
CONFIDENCE = 0.95


@dataclass
class ReportSplit:
    """A bench split every run is scored on (a report split: never trained or tuned on)."""

    name: str
    dataset: str
    root: str
    split: str | None = None
    limit: int | None = None


@dataclass
class Study:
    """What an ablation runs.

    Attributes:
        experiments: ``+experiment=`` names, one row each.
        seeds: seeds run for every experiment (``seed=``).
        steps: the budget: optimizer steps per run (``trainer.max_steps``).
        reference: the experiment differences are taken against (default: the first).
        train_overrides: overrides given to every run (data, batch size, ...), the same for
            all experiments so that they train on equal terms.
        splits: report splits every run is benched on.
        size: bench side (the 256 protocol).
        max_minutes: optional wall-time cap per run (``trainer.max_time``); a run stopped by it
            is still benched, and its step count is recorded.
        experiment_overrides: extra overrides of single experiments, given after
            ``train_overrides``: data a system needs (SCGAN's saliency maps, SpyncoGAN's
            unpaired domains) or its own ``trainer.max_steps`` (an adversarial run counts the
            discriminator's optimizer steps too; see :func:`steps_of`).
        experiment_max_minutes: wall-time caps of single experiments (overriding
            ``max_minutes``): a baseline trained at equal compute gets the minutes the
            method's runs take, with a ``trainer.max_steps`` it cannot reach in them.
    """

    experiments: list[str]
    seeds: list[int]
    steps: int
    splits: list[ReportSplit]
    reference: str | None = None
    train_overrides: list[str] = field(default_factory=list)
    size: int = 256
    max_minutes: float | None = None
    experiment_overrides: dict[str, list[str]] = field(default_factory=dict)
    experiment_max_minutes: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.experiments:
            raise ValueError("experiments must list at least one +experiment name")
        if len(set(self.experiments)) != len(self.experiments):
            raise ValueError(f"experiments repeat a name: {self.experiments}")
        if not self.seeds:
            raise ValueError("seeds must list at least one seed")
        if self.steps < 1:
            raise ValueError(f"budget.steps must be >= 1, got {self.steps}")
        if not self.splits:
            raise ValueError("give at least one report split to bench on")
        self.reference = self.reference or self.experiments[0]
        if self.reference not in self.experiments:
            raise ValueError(
                f"reference {self.reference!r} is not among experiments {self.experiments}"
            )
        self.splits = [s if isinstance(s, ReportSplit) else ReportSplit(**s) for s in self.splits]
        for name, table in (("experiment_overrides", self.experiment_overrides),
                            ("experiment_max_minutes", self.experiment_max_minutes)):
            unknown = sorted(set(table) - set(self.experiments))
            if unknown:
                raise ValueError(
                    f"{name} names {unknown}, which are not among experiments "
                    f"{self.experiments}"
                )
        bad = {k: v for k, v in self.experiment_max_minutes.items() if not float(v) > 0}
        if bad:
            raise ValueError(f"experiment_max_minutes must be > 0, got {bad}")
        self.experiment_overrides = {
            str(k): [str(o) for o in v] for k, v in self.experiment_overrides.items()
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def steps_of(study: Study, experiment: str) -> int:
    """The ``trainer.max_steps`` of an experiment's runs: its own override, else the budget."""
    for o in study.experiment_overrides.get(experiment, []):
        if o.startswith("trainer.max_steps="):
            return int(o.split("=", 1)[1])
    return study.steps


def minutes_of(study: Study, experiment: str) -> float | None:
    """The wall-time cap of an experiment's runs: its own, else the study's, else None."""
    return study.experiment_max_minutes.get(experiment, study.max_minutes)


def run_dir(out: Path, experiment: str, seed: int) -> Path:
    return Path(out) / "runs" / experiment / f"seed{seed}"


def train_command(study: Study, out: Path, experiment: str, seed: int) -> list[str]:
    """The ``semcolor-train`` command line of one run (also what a cluster job runs)."""
    d = run_dir(out, experiment, seed).resolve()  # the run's cwd is its own folder
    cmd = [sys.executable, "-m", "semcolor.cli.train"]
    last = d / "checkpoints" / "last.ckpt"
    if last.is_file():  # an interrupted run: resume it (its stored command line is replayed)
        return [*cmd, f"ckpt_path={last}", f"hydra.run.dir={d}"]
    own = [o for o in study.experiment_overrides.get(experiment, [])
           if not o.startswith("trainer.max_steps=")]  # fmt: skip
    args = [f"+experiment={experiment}", f"seed={seed}", *study.train_overrides, *own,
            f"trainer.max_steps={steps_of(study, experiment)}", f"hydra.run.dir={d}"]  # fmt: skip
    cap = minutes_of(study, experiment)
    if cap:
        minutes = int(math.ceil(cap))
        args.append(f"++trainer.max_time=00:{minutes // 60:02d}:{minutes % 60:02d}:00")
    return [*cmd, *args]


def is_trained(d: Path) -> bool:
    return (d / "done.json").is_file()


def reached_budget(d: Path, study: Study, experiment: str | None = None) -> bool:
    """Whether the run's ``last.ckpt`` got to the study's step budget (how runs trained
    elsewhere, e.g. as cluster jobs, which write no done.json, are told finished)."""
    last = d / "checkpoints" / "last.ckpt"
    if not last.is_file():
        return False
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    steps = study.steps if experiment is None else steps_of(study, experiment)
    return int(ckpt.get("global_step", 0)) >= steps


def is_benched(d: Path, study: Study) -> bool:
    return all((d / "bench" / s.name / "summary.json").is_file() for s in study.splits)


def train_run(study: Study, out: Path, experiment: str, seed: int, log: Callable = print) -> None:
    """Train one run through ``semcolor-train`` (resuming it if interrupted) and mark it done.

    Raises:
        RuntimeError: the training command failed (its log is in the run folder).
    """
    d = run_dir(out, experiment, seed)
    d.mkdir(parents=True, exist_ok=True)
    cmd = train_command(study, out, experiment, seed)
    t0 = time.time()
    with open(d / "ablate_train.log", "a", encoding="utf-8") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        r = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=d, check=False)
    if r.returncode != 0:
        raise RuntimeError(
            f"training {experiment} seed {seed} failed (exit {r.returncode}); see "
            f"{d / 'ablate_train.log'}"
        )
    ckpt = torch.load(d / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    reached, budget = int(ckpt.get("global_step", 0)), steps_of(study, experiment)
    if reached < budget and not minutes_of(study, experiment):
        raise RuntimeError(
            f"training {experiment} seed {seed} ended at step {reached}, short of the budget "
            f"{budget} (its last.ckpt); see {d / 'ablate_train.log'}"
        )
    (d / "done.json").write_text(json.dumps({
        "experiment": experiment, "seed": seed, "steps": int(ckpt.get("global_step", 0)),
        "seconds": time.time() - t0, "command": cmd,
    }, indent=2))  # fmt: skip


def bench_run(study: Study, out: Path, experiment: str, seed: int) -> None:
    """Bench one trained run on every report split (the bench's code, its outputs)."""
    d = run_dir(out, experiment, seed)
    model = load_model(d / "checkpoints" / "last.ckpt")
    for s in study.splits:
        target = d / "bench" / s.name
        if (target / "summary.json").is_file():
            continue
        paths = list_dataset_images(s.dataset, s.root, s.split, None, s.limit)
        res = evaluate_images(paths, model, size=study.size, progress=False, sheet_rows=4)
        summary = build_summary(res, dataset=s.dataset, root=s.root, split=s.split, model=model,
                                temperature=res.temperature, notes=[])  # fmt: skip
        write_bench_outputs(res, summary, target)


def run_study(study: Study, out: Path, log: Callable[[str], None] = print) -> None:
    """Train and bench every (experiment, seed) not done yet, one after another, with a
    progress line (run k of n, ETA from this invocation's finished runs).

    Raises:
        RuntimeError: after all runs were tried, if some failed (listed).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(json.dumps(study.to_dict(), indent=2))
    # Seed-major: every experiment gets its first seed before any gets a second, so a study
    # cut short still compares all rows.
    runs = [(e, s) for s in study.seeds for e in study.experiments]
    todo = [(e, s) for e, s in runs if not is_benched(run_dir(out, e, s), study)]
    log(f"{len(runs)} runs, {len(runs) - len(todo)} already done, {len(todo)} to go")
    spent: list[float] = []
    failures: list[str] = []
    for k, (e, s) in enumerate(todo, 1):
        eta = ""
        if spent:
            left = (len(todo) - k + 1) * sum(spent) / len(spent)
            eta = f", ETA {int(left // 3600)}h{int(left % 3600 // 60):02d}m"
        log(f"[run {k}/{len(todo)}] {e} seed {s}{eta}")
        t0 = time.time()
        d = run_dir(out, e, s)
        try:
            if not is_trained(d):
                train_run(study, out, e, s, log)
            bench_run(study, out, e, s)
        except RuntimeError as err:  # one failed run does not stop the study
            log(f"  failed: {err}")
            failures.append(str(err))
            continue
        spent.append(time.time() - t0)
    if failures:
        raise RuntimeError(f"{len(failures)} run(s) failed: " + "; ".join(failures))


# ----------------------------------------------------------------------------- statistics
def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, float]:
    """Mean, sample std (ddof 1) and the t interval of the mean of ``values``.

    With one value the std and the interval are NaN (one run cannot tell its spread).
    """
    x = np.asarray(values, dtype=np.float64)
    n = int(x.size)
    mean = float(x.mean()) if n else float("nan")
    if n < 2:
        return {"n": n, "mean": mean, "std": float("nan"), "ci_low": float("nan"),
                "ci_high": float("nan")}  # fmt: skip
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def _read_per_image(path: Path) -> dict[tuple[str, str], dict[str, float]]:
    rows: dict[tuple[str, str], dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows[(r["image"], r["method"])] = {
                k: float(r[k]) for k in ABLATION_METRICS if k in r and r[k] not in ("", None)
            }
    return rows


def aggregate(study: Study, out: Path) -> dict[str, Any]:
    """Read every benched run's outputs and compute the study's statistics (module doc).

    Returns:
        {"study", "runs": [{experiment, seed, split, method, <metric>...}], "rows": [{split,
        experiment, method, metric, n, mean, std, ci_low, ci_high}], "differences": [{split,
        experiment, reference, method, metric, n, mean, std, ci_low, ci_high, per_seed}]}.

    Raises:
        FileNotFoundError: no run has been benched yet.
    """
    out = Path(out)
    runs: list[dict[str, Any]] = []
    per_image: dict[tuple[str, int, str], dict] = {}
    for e in study.experiments:
        for s in study.seeds:
            d = run_dir(out, e, s)
            if not is_benched(d, study):
                continue
            for sp in study.splits:
                b = d / "bench" / sp.name
                summary = json.loads((b / "summary.json").read_text())
                per_image[(e, s, sp.name)] = _read_per_image(b / "per_image.csv")
                for m, vals in summary["methods"].items():
                    runs.append({"experiment": e, "seed": s, "split": sp.name, "method": m,
                                 **{k: vals.get(k) for k in ABLATION_METRICS}})  # fmt: skip
    if not runs:
        raise FileNotFoundError(f"no benched run under {out / 'runs'}; run the study first")

    rows = []
    keys = sorted({(r["split"], r["experiment"], r["method"]) for r in runs},
                  key=lambda t: (t[0], study.experiments.index(t[1]), t[2]))  # fmt: skip
    for split, e, m in keys:
        sel = [r for r in runs if (r["split"], r["experiment"], r["method"]) == (split, e, m)]
        for k in ABLATION_METRICS:
            vals = [r[k] for r in sel if r[k] is not None]
            rows.append({"split": split, "experiment": e, "method": m, "metric": k,
                         **mean_interval(vals)})  # fmt: skip

    diffs = []
    ref = study.reference
    for split in [s.name for s in study.splits]:
        for e in study.experiments:
            if e == ref:
                continue
            methods = sorted({m for _, m in _keys_of(per_image, e, split)}
                             & {m for _, m in _keys_of(per_image, ref, split)})
            for m in methods:
                if m == "gray":
                    continue
                for k in ABLATION_METRICS:
                    per_seed = {}
                    for s in study.seeds:
                        a, b = per_image.get((e, s, split)), per_image.get((ref, s, split))
                        if a is None or b is None:
                            continue
                        images = sorted({i for (i, mm) in a if mm == m} &
                                        {i for (i, mm) in b if mm == m})  # fmt: skip
                        d = [a[(i, m)][k] - b[(i, m)][k] for i in images
                             if k in a[(i, m)] and k in b[(i, m)]]  # fmt: skip
                        if d:
                            per_seed[s] = float(np.mean(d))
                    if per_seed:
                        diffs.append({"split": split, "experiment": e, "reference": ref,
                                      "method": m, "metric": k,
                                      **mean_interval(list(per_seed.values())),
                                      "per_seed": per_seed})  # fmt: skip
    return {"study": study.to_dict(), "runs": runs, "rows": rows, "differences": diffs}


def _keys_of(per_image: dict, experiment: str, split: str) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for (e, _, sp), rows in per_image.items():
        if e == experiment and sp == split:
            keys |= set(rows)
    return keys


# ----------------------------------------------------------------------------- outputs
def _fmt(r: dict[str, float], digits: int = 3) -> str:
    if r["n"] < 2 or not math.isfinite(r["std"]):
        return f"{r['mean']:.{digits}f} (n={r['n']})"
    return (f"{r['mean']:.{digits}f} ± {r['std']:.{digits}f} "
            f"[{r['ci_low']:.{digits}f}, {r['ci_high']:.{digits}f}]")  # fmt: skip


def format_markdown(result: dict[str, Any]) -> str:
    """The study as Markdown: per split a table of mean ± std [95% interval] over seeds per
    experiment and method, then the paired differences against the reference."""
    study = result["study"]
    lines = [
        "# Ablation",
        "",
        f"Experiments {', '.join(study['experiments'])}; seeds {study['seeds']}; "
        f"{study['steps']} steps per run; reference {study['reference']}. Cells: mean ± "
        "std over seeds [95% t interval of the mean].",
    ]
    metrics = ABLATION_METRICS
    for split in [s["name"] for s in study["splits"]]:
        lines += ["", f"## {split}", "", "| experiment | method | " + " | ".join(metrics) + " |",
                  "|---|---|" + "---:|" * len(metrics)]  # fmt: skip
        rows = [r for r in result["rows"] if r["split"] == split]
        for e, m in dict.fromkeys((r["experiment"], r["method"]) for r in rows):
            if m == "gray" and e != study["reference"]:
                continue  # the same baseline in every run: shown once
            cells = {r["metric"]: r for r in rows if (r["experiment"], r["method"]) == (e, m)}
            label = "(baseline)" if m == "gray" else e
            lines.append(f"| {label} | {m} | " + " | ".join(
                _fmt(cells[k], 4 if k in ("ssim", "auc", "l2ab_norm") else 2) for k in metrics
            ) + " |")  # fmt: skip
        diffs = [d for d in result["differences"] if d["split"] == split]
        if diffs:
            lines += ["", f"Paired differences against {study['reference']} (same seeds, same "
                      "images; per-seed mean difference, then mean ± std [95% interval]):", "",
                      "| experiment | method | " + " | ".join(metrics) + " |",
                      "|---|---|" + "---:|" * len(metrics)]  # fmt: skip
            for e, m in dict.fromkeys((d["experiment"], d["method"]) for d in diffs):
                cells = {d["metric"]: d for d in diffs if (d["experiment"], d["method"]) == (e, m)}
                lines.append(f"| {e} − ref | {m} | " + " | ".join(
                    _fmt(cells[k], 4 if k in ("ssim", "auc", "l2ab_norm") else 2)
                    if k in cells else "—" for k in metrics
                ) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_outputs(result: dict[str, Any], out: Path) -> dict[str, Path]:
    """ablation.csv / .json / .md / .png and one sample sheet per experiment and split."""
    out = Path(out)
    files = {"json": out / "ablation.json", "csv": out / "ablation.csv",
             "md": out / "ablation.md", "png": out / "ablation.png"}  # fmt: skip
    files["json"].write_text(json.dumps(result, indent=2, default=float))
    with open(files["csv"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "split", "experiment", "reference", "method", "metric", "n",
                    "mean", "std", "ci_low", "ci_high"])  # fmt: skip
        for r in result["rows"]:
            w.writerow(["run_mean", r["split"], r["experiment"], "", r["method"], r["metric"],
                        r["n"], r["mean"], r["std"], r["ci_low"], r["ci_high"]])  # fmt: skip
        for d in result["differences"]:
            w.writerow(["paired_difference", d["split"], d["experiment"], d["reference"],
                        d["method"], d["metric"], d["n"], d["mean"], d["std"], d["ci_low"],
                        d["ci_high"]])  # fmt: skip
    files["md"].write_text(format_markdown(result))
    plot(result, files["png"])
    study = result["study"]
    sheets = out / "sheets"
    sheets.mkdir(exist_ok=True)
    for e in study["experiments"]:
        for sp in study["splits"]:
            for s in study["seeds"]:  # the first benched seed's sheet
                src = run_dir(out, e, s) / "bench" / sp["name"] / "sheet.png"
                if src.is_file():
                    shutil.copyfile(src, sheets / f"{e}_{sp['name']}.png")
                    break
    return files


def plot(result: dict[str, Any], path: Path) -> None:
    """PSNR against colourfulness: one small point per run, and per experiment and method the
    mean with 95% interval bars on both axes (first split)."""
    split = result["study"]["splits"][0]["name"]
    # A Figure of its own, not pyplot's: no GUI backend is ever chosen, whatever the display.
    fig = Figure(figsize=(7, 5), dpi=110)
    ax = fig.subplots()
    ref = result["study"]["reference"]
    groups = dict.fromkeys((r["experiment"], r["method"]) for r in result["runs"]
                           if r["split"] == split and (r["method"] != "gray" or
                                                       r["experiment"] == ref))  # fmt: skip
    for i, (e, m) in enumerate(groups):
        color = f"C{i % 10}"
        sel = [r for r in result["runs"] if (r["split"], r["experiment"], r["method"]) ==
               (split, e, m)]  # fmt: skip
        ax.scatter([r["colorfulness"] for r in sel], [r["psnr"] for r in sel], s=12,
                   color=color, alpha=0.5)  # fmt: skip
        cell = {r["metric"]: r for r in result["rows"]
                if (r["split"], r["experiment"], r["method"]) == (split, e, m)}  # fmt: skip
        px, py = cell["colorfulness"], cell["psnr"]

        def err(c):
            if not math.isfinite(c["std"]):
                return None
            return [[c["mean"] - c["ci_low"]], [c["ci_high"] - c["mean"]]]

        ax.errorbar([px["mean"]], [py["mean"]], xerr=err(px), yerr=err(py), fmt="o",
                    color=color, capsize=3,
                    label="gray (baseline)" if m == "gray" else f"{e} / {m}")  # fmt: skip
    ax.set_xlabel("colourfulness M3 (Hasler & Süsstrunk)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(f"{split}: one dot per run, mean ± 95% interval per experiment")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
