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
  mean, std and 95% t interval of those per-seed differences;
- gains over gray, per experiment and method: the same, against the gray baseline of the same
  run (L channel kept, ab = 0) on the same images;
- each row read out at its best: per experiment the method with the best mean headline metric
  on the choosing split, paired against the reference's best method in the same way (a
  baseline with another head is then compared with what the reference does best, not with
  the reference's weaker head);
- a verdict in words per comparison and split (:func:`verdict_word`): the interval above 0
  (better), below (worse) or holding 0 ("no difference"); one seed gives no interval;
- cost: per run the training's wall and CPU seconds (user + system of the ``semcolor-train``
  process, summed over its invocations, ``cost.json``) and the bench's.
"""

from __future__ import annotations

import csv
import json
import math
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
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
#: Metrics where lower is better (the verdict's sign).
LOWER_IS_BETTER: frozenset[str] = frozenset({"l2ab", "l2ab_norm"})
#: Metrics a verdict can be given in: each has a better direction (colourfulness has none:
#: more is not better, closer to the ground truth's is).
HEADLINE_METRICS: tuple[str, ...] = ("psnr", "ssim", "l2ab", "l2ab_norm", "auc")
SECONDS_PER_HOUR = 3600.0


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
        title: the page's heading (default "Ablation").
        description: Markdown put under the heading: the question, the setup, what the rows
            are (the generated tables and verdict follow it).
        labels: a few words per experiment for the verdict ("adds the scene head").
        headline_metric: the metric the verdict is given in (one of HEADLINE_METRICS).
        choose_split: the split the best row is chosen on (a choosing split); the others are
            report splits. None: no choice is made.
        doc: a second path the page is written to (e.g. docs/ablation.md), so the
            documentation is the command's output.
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
    title: str = "Ablation"
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    headline_metric: str = "psnr"
    choose_split: str | None = None
    doc: str | None = None

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
                            ("experiment_max_minutes", self.experiment_max_minutes),
                            ("labels", self.labels)):
            unknown = sorted(set(table) - set(self.experiments))
            if unknown:
                raise ValueError(
                    f"{name} names {unknown}, which are not among experiments "
                    f"{self.experiments}"
                )
        if self.headline_metric not in HEADLINE_METRICS:
            raise ValueError(
                f"headline_metric {self.headline_metric!r} is not one of {list(HEADLINE_METRICS)}"
            )
        names = [s.name for s in self.splits]
        if self.choose_split is not None and self.choose_split not in names:
            raise ValueError(f"choose_split {self.choose_split!r} is not among splits {names}")
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
    steps = study.steps if experiment is None else steps_of(study, experiment)
    return last.is_file() and _global_step(last) >= steps


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
    last = d / "checkpoints" / "last.ckpt"
    step_from = _global_step(last)
    t0, cpu0 = time.monotonic(), _children_cpu_seconds()
    exit_status, reached = None, step_from
    try:
        with open(d / "ablate_train.log", "a", encoding="utf-8") as fh:
            fh.write("$ " + " ".join(cmd) + "\n")
            fh.flush()
            r = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=d, check=False)
            exit_status = r.returncode
    finally:  # recorded whatever the outcome (Ctrl-C included): its CPU time counts too
        reached = _global_step(last)
        _record_cost(d, "train", {"wall_s": time.monotonic() - t0,
                                  "cpu_s": _children_cpu_seconds() - cpu0,
                                  "step_from": step_from, "step_to": reached,
                                  "exit": exit_status})  # fmt: skip
    if r.returncode != 0:
        raise RuntimeError(
            f"training {experiment} seed {seed} failed (exit {r.returncode}); see "
            f"{d / 'ablate_train.log'}"
        )
    budget = steps_of(study, experiment)
    if reached < budget and not minutes_of(study, experiment):
        raise RuntimeError(
            f"training {experiment} seed {seed} ended at step {reached}, short of the budget "
            f"{budget} (its last.ckpt); see {d / 'ablate_train.log'}"
        )
    (d / "done.json").write_text(json.dumps({
        "experiment": experiment, "seed": seed, "steps": reached,
        "seconds": time.monotonic() - t0, "command": cmd,
    }, indent=2))  # fmt: skip


def _children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children (the training runs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _self_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _global_step(ckpt: Path) -> int:
    if not ckpt.is_file():
        return 0
    return int(torch.load(ckpt, map_location="cpu", weights_only=True).get("global_step", 0))


def _record_cost(d: Path, kind: str, entry: dict[str, Any]) -> None:
    """Append one invocation's cost to ``d/cost.json`` ({"train": [...], "bench": [...]})."""
    path = d / "cost.json"
    cost = json.loads(path.read_text()) if path.is_file() else {}
    cost.setdefault(kind, []).append(entry)
    path.write_text(json.dumps(cost, indent=2))


def run_cost(d: Path) -> dict[str, Any]:
    """A run's cost: training wall and CPU seconds summed over its invocations (cost.json),
    the bench's, and the steps reached.

    The training figures are given only when the record is complete: its invocations chain
    from step 0 (each starts where the previous one stopped) to the run's final step
    (done.json, else last.ckpt). Otherwise (a run trained before cost.json was kept, one
    killed without a record, one finished elsewhere) ``train_wall_s`` and ``train_cpu_s`` are
    None and ``train_wall_last_s`` is done.json's wall seconds of its last invocation.
    """
    path = d / "cost.json"
    cost = json.loads(path.read_text()) if path.is_file() else {}
    done = json.loads((d / "done.json").read_text()) if is_trained(d) else {}
    train, bench = cost.get("train", []), cost.get("bench", [])
    steps = done["steps"] if "steps" in done else _global_step(d / "checkpoints" / "last.ckpt")
    complete = (bool(train) and train[0]["step_from"] == 0 and train[-1]["step_to"] == steps
                and all(b["step_from"] == a["step_to"] for a, b in pairwise(train)))  # fmt: skip
    return {
        "steps": steps,
        "complete": complete,
        "train_wall_s": sum(t["wall_s"] for t in train) if complete else None,
        "train_cpu_s": sum(t["cpu_s"] for t in train) if complete else None,
        "train_wall_last_s": done.get("seconds"),
        "bench_wall_s": sum(b["wall_s"] for b in bench) if bench else None,
        "bench_cpu_s": sum(b["cpu_s"] for b in bench) if bench else None,
    }


def bench_run(study: Study, out: Path, experiment: str, seed: int) -> None:
    """Bench one trained run on every report split (the bench's code, its outputs)."""
    d = run_dir(out, experiment, seed)
    if is_benched(d, study):
        return
    t0, cpu0 = time.monotonic(), _self_cpu_seconds()
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
    _record_cost(d, "bench", {"wall_s": time.monotonic() - t0,
                              "cpu_s": _self_cpu_seconds() - cpu0})  # fmt: skip


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
        experiment, reference, method, metric, n, mean, std, ci_low, ci_high, per_seed}],
        "gains": [{split, experiment, method, metric, n, mean, ..., per_seed}] (against the
        same run's gray), "cost": [{experiment, seed, steps, train_wall_s, train_cpu_s,
        bench_wall_s, bench_cpu_s}]}.

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
                    per_seed = _paired(per_image, study.seeds, split, (e, m), (ref, m), k)
                    if per_seed:
                        diffs.append({"split": split, "experiment": e, "reference": ref,
                                      "method": m, "metric": k,
                                      **mean_interval(list(per_seed.values())),
                                      "per_seed": per_seed})  # fmt: skip
    gains = []
    for split in [s.name for s in study.splits]:
        for e in study.experiments:
            for m in sorted({m for _, m in _keys_of(per_image, e, split)} - {"gray"}):
                for k in ABLATION_METRICS:
                    per_seed = _paired(per_image, study.seeds, split, (e, m), (e, "gray"), k)
                    if per_seed:
                        gains.append({"split": split, "experiment": e, "method": m,
                                      "metric": k, **mean_interval(list(per_seed.values())),
                                      "per_seed": per_seed})  # fmt: skip
    headline = _best_against_best(study, rows, per_image)
    cost = [{"experiment": e, "seed": s, **run_cost(run_dir(out, e, s))}
            for e in study.experiments for s in study.seeds
            if is_benched(run_dir(out, e, s), study)]  # fmt: skip
    return {"study": study.to_dict(), "runs": runs, "rows": rows, "differences": diffs,
            "gains": gains, "headline": headline, "cost": cost}


def better_sign(metric: str) -> float:
    """+1 for a metric where higher is better, -1 for one where lower is (LOWER_IS_BETTER):
    ``better_sign(m) * value`` is larger for the better value, the one rule of "best"."""
    return -1.0 if metric in LOWER_IS_BETTER else 1.0


def best_methods(rows: Sequence[dict[str, Any]], split: str | None,
                 metric: str) -> dict[str, str]:
    """Per experiment, its method (gray excluded) with the best mean ``metric`` over seeds on
    ``split``: how the row is read out at its best, chosen on the choosing split only."""
    sign = better_sign(metric)
    best: dict[str, tuple[float, str]] = {}
    for r in rows:
        if (r["split"] != split or r["metric"] != metric or r["method"] == "gray"
                or r["n"] < 1 or not math.isfinite(r["mean"])):
            continue
        if r["experiment"] not in best or sign * r["mean"] > best[r["experiment"]][0]:
            best[r["experiment"]] = (sign * r["mean"], r["method"])
    return {e: m for e, (_, m) in best.items()}


def _best_against_best(study: Study, rows: Sequence[dict[str, Any]],
                       per_image: dict) -> list[dict[str, Any]]:
    """Each experiment's best method against the reference's best (:func:`best_methods` on
    the choosing split), paired per seed on every split, in the headline metric; the
    reference's own entry is its best method's gain over gray. Empty without a choosing
    split."""
    k = study.headline_metric
    best = best_methods(rows, study.choose_split, k)
    ref = study.reference
    if study.choose_split is None or ref not in best:
        return []
    entries = []
    for split in [s.name for s in study.splits]:
        for e in study.experiments:
            if e not in best:
                continue
            other = (e, "gray") if e == ref else (ref, best[ref])
            per_seed = _paired(per_image, study.seeds, split, (e, best[e]), other, k)
            if per_seed:
                entries.append({"split": split, "experiment": e, "method": best[e],
                                "against": list(other), "metric": k,
                                **mean_interval(list(per_seed.values())),
                                "per_seed": per_seed})  # fmt: skip
    return entries


def _paired(per_image: dict, seeds: Sequence[int], split: str, a: tuple[str, str],
            b: tuple[str, str], metric: str) -> dict[int, float]:
    """Per seed, the mean over the images both have of (a's metric - b's metric); ``a`` and
    ``b`` are (experiment, method) pairs. Seeds where either run is missing are left out."""
    per_seed = {}
    for s in seeds:
        ra, rb = per_image.get((a[0], s, split)), per_image.get((b[0], s, split))
        if ra is None or rb is None:
            continue
        images = sorted({i for (i, mm) in ra if mm == a[1]} & {i for (i, mm) in rb if mm == b[1]})
        d = [ra[(i, a[1])][metric] - rb[(i, b[1])][metric] for i in images
             if metric in ra[(i, a[1])] and metric in rb[(i, b[1])]]  # fmt: skip
        if d:
            per_seed[s] = float(np.mean(d))
    return per_seed


def verdict_word(r: dict[str, float], metric: str, better: str = "better",
                 worse: str = "worse") -> str:
    """The verdict of one paired difference in words: ``better`` when its 95% interval lies
    above 0 (below, for a lower-is-better metric), ``worse`` when on the other side,
    "no difference" when it holds 0, and "one seed: no interval" with a single seed."""
    if r["n"] < 2 or not math.isfinite(r["ci_low"]):
        return "one seed: no interval"
    lo, hi = r["ci_low"], r["ci_high"]
    if better_sign(metric) < 0:
        lo, hi = -hi, -lo
    if lo > 0:
        return better
    if hi < 0:
        return worse
    return "no difference"


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


def _signed(r: dict[str, float], digits: int) -> str:
    if r["n"] < 2 or not math.isfinite(r["std"]):
        return f"{r['mean']:+.{digits}f} (n={r['n']})"
    return f"{r['mean']:+.{digits}f} [{r['ci_low']:+.{digits}f}, {r['ci_high']:+.{digits}f}]"


def _digits(metric: str) -> int:
    return 4 if metric in ("ssim", "auc", "l2ab_norm") else 2


def best_row(result: dict[str, Any]) -> dict[str, Any] | None:
    """The best (experiment, method) on the study's choosing split by its headline metric
    (mean over seeds; gray excluded), or None when the study names no choosing split."""
    study = result["study"]
    split, k = study.get("choose_split"), study.get("headline_metric", "psnr")
    if split is None:
        return None
    # Each experiment at its best method (one rule for "best", best_methods'), then the best.
    best = best_methods(result["rows"], split, k)
    cands = [r for r in result["rows"] if r["split"] == split and r["metric"] == k
             and best.get(r["experiment"]) == r["method"]]  # fmt: skip
    if not cands:
        return None
    return max(cands, key=lambda r: better_sign(k) * r["mean"])


def _verdict_lines(result: dict[str, Any]) -> list[str]:
    study = result["study"]
    k = study.get("headline_metric", "psnr")
    ref, labels = study["reference"], study.get("labels") or {}
    splits = [s["name"] for s in study["splits"]]
    choose = study.get("choose_split")
    report = [sp for sp in splits if sp != choose]
    head = [f"{sp} (choosing)" if sp == choose else sp for sp in splits]

    def table(entries, first_cols, first_cols_of, better, worse):
        lines = ["| " + " | ".join(first_cols + head) + " |",
                 "|" + "---|" * len(first_cols) + "---:|" * len(splits)]  # fmt: skip
        for key in dict.fromkeys((d["experiment"], d["method"]) for d in entries):
            cells = {d["split"]: d for d in entries if (d["experiment"], d["method"]) == key}
            row = [f"{_signed(cells[sp], _digits(k))}: {verdict_word(cells[sp], k, better, worse)}"
                   if sp in cells else "—" for sp in splits]  # fmt: skip
            lines.append("| " + " | ".join(first_cols_of(key) + row) + " |")
        return lines

    def words(entries, key, better, worse):
        got = {d["split"]: verdict_word(d, k, better, worse) for d in entries
               if (d["experiment"], d["method"]) == key and d["split"] in report}  # fmt: skip
        return _said(got)

    lower = k in LOWER_IS_BETTER
    if choose is None:
        roles = "No split is named for choosing: every split counts as a report split here."
    elif not report:
        roles = (f"{choose} is the only split, and it is for choosing: the sentences below, "
                 "which speak of report splits, are left out; the tables have it.")  # fmt: skip
    else:
        roles = (f"{choose} is for choosing (the best row is picked there); "
                 f"{', '.join(report)} report (never trained or tuned on).")  # fmt: skip
    lines = [
        "## Verdict", "",
        f"In {k} ({'lower' if lower else 'higher'} is better), from paired "
        f"{CONFIDENCE:.0%} intervals over seeds: per seed the mean over the same images of the "
        "difference, then a t interval over the seeds. An interval "
        f"{'below' if lower else 'above'} 0 is a gain, one {'above' if lower else 'below'} 0 a "
        "loss, one holding 0 is \"no difference\"; one seed gives no interval. " + roles,
        "",
    ]
    short = _in_short_lines(result, report)
    gains = [g for g in result.get("gains", []) if g["metric"] == k]
    diffs = [d for d in result["differences"] if d["metric"] == k]
    if short:
        lines += [*short, "### Every comparison, head by head", ""]
    sentences = []
    for e, m in dict.fromkeys((g["experiment"], g["method"]) for g in gains):
        w = words(gains, (e, m), "beats gray", "below gray")
        if w:
            sentences.append(f"- **{e}** ({m} head) against gray: {w}.")
    for e, m in dict.fromkeys((d["experiment"], d["method"]) for d in diffs):
        what = f", {labels[e]}," if e in labels else ""
        w = words(diffs, (e, m), "better", "worse")
        if w:
            sentences.append(f"- **{e}**{what} against {ref} ({m} head): {w}.")
    lines += sentences
    best = best_row(result)
    if best is not None:
        lines += ["", f"Best row on {choose} (the choosing split), by mean {k} over seeds: "
                  f"**{best['experiment']}** with its {best['method']} head, "
                  f"{best['mean']:.{_digits(k)}f} (n={best['n']} seeds)."]  # fmt: skip

    lines += ["", f"### Gain over gray (the same run's L with ab = 0), {k}", ""]
    lines += table(gains, ["experiment", "method"], lambda key: list(key), "beats gray",
                   "below gray")  # fmt: skip
    if diffs:
        lines += ["", f"### Against {ref}, {k}", ""]
        lines += table(diffs, ["experiment", "what it changes", "method"],
                       lambda key: [key[0], labels.get(key[0], ""), key[1]], "better", "worse")
    return lines


def _said(got: dict[str, str]) -> str:
    """Verdict words per split in one phrase: "worse on every report split" when they agree,
    else "worse on a; no difference on b"; "" for none."""
    if not got:
        return ""
    if len(set(got.values())) == 1:
        w = next(iter(got.values()))
        return f"{w} on {'every report split' if len(got) > 1 else next(iter(got))}"
    return "; ".join(f"{w} on {sp}" for sp, w in got.items())


def _in_short_lines(result: dict[str, Any], report: Sequence[str]) -> list[str]:
    """The verdict in a few sentences: each row at its best decoding (result["headline"])
    against the reference at its best, on the report splits, with the figures."""
    entries = [h for h in result.get("headline", []) if h["split"] in report]
    if not entries:
        return []
    study = result["study"]
    k, ref, labels = study.get("headline_metric", "psnr"), study["reference"], study.get(
        "labels") or {}  # fmt: skip
    ref_method = next((h["method"] for h in entries if h["experiment"] == ref), None)
    lines = ["### In short", "",
             f"Each row read out by its best decoding on {study.get('choose_split')} (mean "
             f"{k} over seeds), on the report splits: the reference against gray, every other "
             f"row against the reference's best ({ref}, {ref_method} head), paired over seeds "
             "as below.", ""]  # fmt: skip
    for e in dict.fromkeys(h["experiment"] for h in entries):
        cells = {h["split"]: h for h in entries if h["experiment"] == e}
        if e == ref:
            better, worse, lead = "beats gray", "below gray", "the reference, against gray"
        else:
            better, worse = "better", "worse"
            lead = f"{labels[e]}, against {ref}" if e in labels else f"against {ref}"
        said = _said({sp: verdict_word(cells[sp], k, better, worse) for sp in cells})
        figures = ", ".join(f"{_signed(cells[sp], _digits(k))} on {sp}" for sp in cells)
        method = next(iter(cells.values()))["method"]
        lines.append(f"- **{e}** ({method} head), {lead}: {said} ({figures}).")
    return lines + [""]


def _cost_lines(result: dict[str, Any]) -> list[str]:
    cost = result.get("cost") or []
    if not cost:
        return []
    lines = ["## Cost", "",
             "Per experiment, summed over its benched runs. CPU hours are user + system time of "
             "the training process (all its threads), recorded per invocation in each run's "
             "cost.json; runs without a complete record are counted apart (below the table).",
             "", "| experiment | runs | steps per run | training wall h | training CPU h | "
             "bench CPU h |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip

    def h(values):
        vals = [v for v in values if v is not None]
        if not vals:
            return "\u2014"
        txt = f"{sum(vals) / SECONDS_PER_HOUR:.2f}"
        return txt if len(vals) == len(values) else f"{txt} ({len(vals)} of {len(values)} runs)"

    for e in dict.fromkeys(c["experiment"] for c in cost):
        sel = [c for c in cost if c["experiment"] == e]
        steps = sorted({c["steps"] for c in sel if c["steps"] is not None})
        lines.append(f"| {e} | {len(sel)} | {', '.join(str(x) for x in steps)} | "
                     f"{h([c['train_wall_s'] for c in sel])} | "
                     f"{h([c['train_cpu_s'] for c in sel])} | "
                     f"{h([c['bench_cpu_s'] for c in sel])} |")  # fmt: skip
    lines.append(f"| **all** | {len(cost)} | | {h([c['train_wall_s'] for c in cost])} | "
                 f"{h([c['train_cpu_s'] for c in cost])} | "
                 f"{h([c['bench_cpu_s'] for c in cost])} |")  # fmt: skip
    partial = [c for c in cost if not c.get("complete")]
    if partial:
        lines += ["", "Without a complete training record (trained before cost.json was kept, "
                  "or interrupted without one; the wall time is that of the last invocation, "
                  "which includes any pauses): " + "; ".join(
                      f"{c['experiment']} seed {c['seed']}"
                      + (f" {c['train_wall_last_s'] / SECONDS_PER_HOUR:.2f} h"
                         if c.get("train_wall_last_s") is not None else "")
                      for c in partial) + "."]  # fmt: skip
    return lines


def format_markdown(result: dict[str, Any], plot_path: str | None = None) -> str:
    """The study's page in Markdown: its title and description, the verdict (words and the
    paired intervals against gray and the reference), per split a table of mean ± std [95%
    interval] over seeds per experiment and method with the paired differences against the
    reference, and the cost. ``plot_path``: where the page finds :func:`plot`'s figure
    (relative to the page), shown under the verdict; None shows none."""
    study = result["study"]
    lines = [f"# {study.get('title') or 'Ablation'}", ""]
    if study.get("description"):
        lines += [study["description"].strip(), ""]
    benched = len({(r["experiment"], r["seed"]) for r in result["runs"]})
    planned = len(study["experiments"]) * len(study["seeds"])
    status = ("every run benched" if benched == planned else
              f"**{benched} of {planned} runs benched so far**: the rest are to come, and "
              "cells with fewer seeds say so (n=)")  # fmt: skip
    lines += [
        f"Experiments {', '.join(study['experiments'])}; seeds {study['seeds']}; "
        f"{study['steps']} steps per run; reference {study['reference']}; {status}. "
        "Generated by semcolor-ablate from the runs' bench files.",
        "",
    ]
    lines += _verdict_lines(result)
    if plot_path:
        first = study["splits"][0]["name"]
        lines += ["", f"![PSNR against colourfulness on {first}, one dot per run]({plot_path})"]
    lines += ["", "## Results", "", "Cells: mean ± std over seeds [95% t interval of the mean]."]
    metrics = ABLATION_METRICS
    for split in [s["name"] for s in study["splits"]]:
        role = " (choosing split)" if split == study.get("choose_split") else ""
        lines += ["", f"### {split}{role}", "",
                  "| experiment | method | " + " | ".join(metrics) + " |",
                  "|---|---|" + "---:|" * len(metrics)]  # fmt: skip
        rows = [r for r in result["rows"] if r["split"] == split]
        for e, m in dict.fromkeys((r["experiment"], r["method"]) for r in rows):
            if m == "gray" and e != study["reference"]:
                continue  # the same baseline in every run: shown once
            cells = {r["metric"]: r for r in rows if (r["experiment"], r["method"]) == (e, m)}
            label = "(baseline)" if m == "gray" else e
            lines.append(f"| {label} | {m} | " + " | ".join(
                _fmt(cells[k], _digits(k)) for k in metrics) + " |")  # fmt: skip
        diffs = [d for d in result["differences"] if d["split"] == split]
        if diffs:
            lines += ["", f"Paired differences against {study['reference']} (same seeds, same "
                      "images; per-seed mean difference, then mean ± std [95% interval]):", "",
                      "| experiment | method | " + " | ".join(metrics) + " |",
                      "|---|---|" + "---:|" * len(metrics)]  # fmt: skip
            for e, m in dict.fromkeys((d["experiment"], d["method"]) for d in diffs):
                cells = {d["metric"]: d for d in diffs if (d["experiment"], d["method"]) == (e, m)}
                lines.append(f"| {e} − ref | {m} | " + " | ".join(
                    _fmt(cells[k], _digits(k)) if k in cells else "—" for k in metrics
                ) + " |")  # fmt: skip
    cost = _cost_lines(result)
    if cost:
        lines += ["", *cost]
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
    plot(result, files["png"])
    files["md"].write_text(format_markdown(result, plot_path=files["png"].name))
    doc = result["study"].get("doc")
    if doc:  # the documentation page is this output, not a hand copy of it
        doc = Path(doc)
        image = doc.parent / "images" / f"{doc.stem}.png"
        image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files["png"], image)
        doc.write_text(format_markdown(result, plot_path=f"images/{image.name}"))
        files["doc"], files["doc_png"] = doc, image
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
        # 20 distinct colours, then a new marker: a study's rows x methods pass 10
        color, marker = colormaps["tab20"](i % 20), "os^Dv"[i // 20 % 5]
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

        ax.errorbar([px["mean"]], [py["mean"]], xerr=err(px), yerr=err(py), fmt=marker,
                    color=color, capsize=3,
                    label="gray (baseline)" if m == "gray" else f"{e} / {m}")  # fmt: skip
    ax.set_xlabel("colourfulness M3 (Hasler & Süsstrunk)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(f"{split}: one dot per run, mean ± 95% interval per experiment")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
