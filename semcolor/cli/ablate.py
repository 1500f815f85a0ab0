"""``semcolor-ablate``: an ablation study in one command (see :mod:`semcolor.evaluation.ablation`).

    semcolor-ablate experiments=[regsoft,classregsoft,segclassregsoft] seeds=[0,1,2] \\
        budget.steps=300 'train=[data=mixed,paths.data_root=/data]' \\
        'splits=[{name: bsds500_test, dataset: folder, root: /data/bsds500/test}]' out=ablation
    semcolor-ablate --study studies/thesis_ablation.yaml [key=value ...]
    semcolor-ablate --study FILE --aggregate-only     # read the run folders (e.g. a cluster's)

Every run is an ordinary ``semcolor-train`` run in ``OUT/runs/<experiment>/seed<k>``,
benched with the bench's code on the report splits. Rerunning skips finished runs and
resumes interrupted ones from their ``last.ckpt``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from semcolor.cli._help import parser as help_parser

PROG = "semcolor-ablate"
#: Keys of a study file / the command line (values are OmegaConf syntax).
STUDY_KEYS = ("experiments", "seeds", "budget", "reference", "train", "experiment_train",
              "splits", "size", "out", "title", "description", "labels", "headline_metric",
              "choose_split", "doc")


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        PROG,
        "Train several experiments x seeds under one budget through semcolor-train, bench "
        "every run on the same report splits, and aggregate: mean ± std and 95% intervals "
        "per experiment, paired differences against a reference, a plot and sample sheets.",
        "Keys (key=value, OmegaConf syntax, after or instead of --study): experiments=[...] "
        "(+experiment names), seeds=[...], budget.steps=N, budget.minutes=M (optional cap), "
        "reference=NAME (default: the first experiment), train=[overrides for every run], "
        "experiment_train={NAME: [overrides of that experiment's runs]}, "
        "splits=[{name,dataset,root,split,limit}], size=256, out=DIR; for the page: title=..., "
        "description=... (Markdown), labels={NAME: what it changes}, headline_metric=psnr, "
        "choose_split=NAME (the best row is chosen there), doc=PATH (a copy of the page, "
        "e.g. docs/ablation.md, relative to the current folder). Exit status: 0 done, "
        "1 a run failed (the others are kept; rerun to retry), 2 bad study.",
    )
    ap.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="study keys (see below)")
    ap.add_argument("--study", type=Path, default=None,
                    help="YAML study file (default: none, the keys come from the command line)")
    ap.add_argument("--aggregate-only", action="store_true",
                    help="train nothing: bench the runs that reached the budget and are not "
                    "benched yet, then aggregate")
    return ap


def load_study(study_file: Path | None, overrides: list[str]):
    """(Study, out folder) from a study file and ``key=value`` overrides.

    Raises:
        ValueError: an unknown key, a missing one, or a bad value.
    """
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from omegaconf import OmegaConf

    from semcolor.evaluation.ablation import Study

    cfg = OmegaConf.create({})
    if study_file is not None:
        if not study_file.is_file():
            raise ValueError(f"--study {study_file} does not exist")
        cfg = OmegaConf.load(study_file)
    if overrides:
        bad = [o for o in overrides if "=" not in o]
        if bad:
            raise ValueError(f"expected key=value, got {bad}")
        try:
            dot = OmegaConf.from_dotlist([o.lstrip("+") for o in overrides])
        except Exception as e:  # YAML syntax: say which and how to quote
            raise ValueError(
                f"cannot parse {overrides}: {e}. Quote list items that hold lists, e.g. "
                "train=['model.decoder_channels=[32,16]']"
            ) from e
        cfg = OmegaConf.merge(cfg, dot)
    unknown = sorted(set(cfg) - set(STUDY_KEYS))
    if unknown:
        raise ValueError(f"unknown study key(s) {unknown}; valid: {list(STUDY_KEYS)}")
    d = OmegaConf.to_container(cfg, resolve=True)
    budget = d.get("budget") or {}
    missing = [k for k in ("experiments", "seeds", "splits") if k not in d]
    missing += [] if "steps" in budget else ["budget.steps"]
    if missing:
        raise ValueError(
            f"the study needs {missing} (e.g. experiments=[regsoft,classregsoft] seeds=[0,1] "
            "budget.steps=300 'splits=[{name: test, dataset: folder, root: DIR}]')"
        )
    labels = d.get("labels") or {}
    if not isinstance(labels, dict):
        raise ValueError("labels must map experiment names to words, e.g. "
                         f"'labels={{regsoft_aux: more colour data}}', got {labels!r}")  # fmt: skip
    study = Study(
        experiments=[str(e) for e in d["experiments"]],
        seeds=[int(s) for s in d["seeds"]],
        steps=int(budget["steps"]),
        max_minutes=budget.get("minutes"),
        splits=list(d["splits"]),
        reference=d.get("reference"),
        train_overrides=[str(o) for o in d.get("train") or []],
        experiment_overrides=dict(d.get("experiment_train") or {}),
        experiment_max_minutes={str(k): float(v) for k, v in
                                (budget.get("experiment_minutes") or {}).items()},
        size=int(d.get("size", 256)),
        title=str(d.get("title") or "Ablation"),
        description=str(d.get("description") or ""),
        labels={str(k): str(v) for k, v in labels.items()},
        headline_metric=str(d.get("headline_metric") or "psnr"),
        choose_split=d.get("choose_split"),
        doc=str(Path(d["doc"]).expanduser()) if d.get("doc") else None,
    )
    return study, Path(d.get("out") or "ablation")


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help in 0.1 s, not 5 s
    # (the ablation module loads torch, SciPy's stats and Matplotlib)
    from semcolor.evaluation import ablation

    try:
        study, out = load_study(args.study, args.overrides)
    except (ValueError, TypeError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    failed = False
    if args.aggregate_only:
        for e in study.experiments:
            for s in study.seeds:
                d = ablation.run_dir(out, e, s)
                if ablation.is_trained(d) or ablation.reached_budget(d, study, e):
                    ablation.bench_run(study, out, e, s)
                elif (d / "checkpoints" / "last.ckpt").is_file():
                    print(f"{PROG}: note: {e} seed {s} has not reached "
                          f"{ablation.steps_of(study, e)} steps; "
                          "left out (rerun without --aggregate-only to finish it)")  # fmt: skip
    else:
        try:
            ablation.run_study(study, out, log=lambda m: print(m, flush=True))
        except RuntimeError as e:
            print(f"{PROG}: error: {e}", file=sys.stderr)
            failed = True
    try:
        result = ablation.aggregate(study, out)
    except FileNotFoundError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    files = ablation.write_outputs(result, out)
    print(ablation.format_markdown(result))
    print("wrote " + ", ".join(str(f) for f in files.values()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
