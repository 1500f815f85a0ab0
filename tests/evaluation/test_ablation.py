"""semcolor-ablate on synthetic data: two experiments x two seeds, a few steps each; the
aggregation is checked against a hand computation from the runs' own bench files, and a
rerun skips what is done."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from semcolor.cli import ablate as cli
from semcolor.evaluation import ablation
from tests.evaluation.test_bench import write_folder
from tests.lit.helpers import TINY_CLI

#: t(0.975, 1): the 95% two-sided quantile of Student's t with one degree of freedom.
T_975_DF1 = 12.706204736174707

TINY = TINY_CLI


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablate")
    write_folder(root / "photos", n=3)
    os.environ["SEMCOLOR_CACHE"] = str(root / "cache")
    train = "[" + ",".join(f"'{o}'" for o in TINY) + "]"  # quoted: items hold lists
    rc = cli.main([
        "experiments=[regsoft,reg]", "seeds=[0,1]", "budget.steps=2", f"train={train}",
        f"splits=[{{name: photos, dataset: folder, root: '{root / 'photos'}'}}]", "size=32",
        f"out={root / 'study'}", "title=A tiny study", "description=Two rows, two seeds.",
        "labels={reg: drops the dist head}", f"doc={root / 'docs' / 'page.md'}",
    ])  # fmt: skip
    assert rc == 0
    return root / "study"


def _per_image(path):
    with open(path, newline="") as fh:
        return {(r["image"], r["method"]): r for r in csv.DictReader(fh)}


def test_outputs_exist(study_dir):
    for name in ("ablation.csv", "ablation.json", "ablation.md", "ablation.png"):
        assert (study_dir / name).is_file(), name
    assert (study_dir / "sheets" / "regsoft_photos.png").is_file()
    md = (study_dir / "ablation.md").read_text()
    assert "| regsoft | dist |" in md and "reg − ref" in md
    assert md.count("| gray |") == 1  # the baseline once per split (one split here)


def test_aggregation_matches_a_hand_computation(study_dir):
    res = json.loads((study_dir / "ablation.json").read_text())
    rows = {(r["experiment"], r["method"], r["metric"]): r for r in res["rows"]}
    # Per run: the bench mean over images of the per-image PSNR; then over the two seeds.
    for exp, method in (("regsoft", "dist"), ("regsoft", "reg"), ("reg", "reg")):
        per_run = []
        for seed in (0, 1):
            pi = _per_image(study_dir / "runs" / exp / f"seed{seed}" / "bench" / "photos" /
                            "per_image.csv")  # fmt: skip
            per_run.append(np.mean([float(r["psnr"]) for (i, m), r in pi.items() if m == method]))
        mean, std = (per_run[0] + per_run[1]) / 2, abs(per_run[0] - per_run[1]) / math.sqrt(2)
        r = rows[(exp, method, "psnr")]
        assert r["n"] == 2
        assert r["mean"] == pytest.approx(mean, abs=1e-4)
        assert r["std"] == pytest.approx(std, abs=1e-4)
        half = T_975_DF1 * std / math.sqrt(2)
        assert r["ci_low"] == pytest.approx(mean - half, abs=1e-3)
        assert r["ci_high"] == pytest.approx(mean + half, abs=1e-3)

    # Paired difference reg - regsoft on the reg method: per seed the mean over the same
    # images of the per-image difference, then mean/std over seeds.
    per_seed = []
    for seed in (0, 1):
        a = _per_image(study_dir / "runs" / "reg" / f"seed{seed}" / "bench" / "photos" /
                       "per_image.csv")  # fmt: skip
        b = _per_image(study_dir / "runs" / "regsoft" / f"seed{seed}" / "bench" / "photos" /
                       "per_image.csv")  # fmt: skip
        imgs = sorted(i for (i, m) in a if m == "reg")
        per_seed.append(np.mean([float(a[(i, "reg")]["l2ab"]) - float(b[(i, "reg")]["l2ab"])
                                 for i in imgs]))  # fmt: skip
    (d,) = [d for d in res["differences"]
            if (d["experiment"], d["method"], d["metric"]) == ("reg", "reg", "l2ab")]  # fmt: skip
    assert d["reference"] == "regsoft" and d["n"] == 2
    assert d["mean"] == pytest.approx(np.mean(per_seed), abs=1e-4)
    assert d["std"] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-4)
    # reg has no dist head: no dist difference for it
    assert not [d for d in res["differences"] if d["method"] == "dist"]


def test_gains_over_gray_match_a_hand_computation(study_dir):
    """The gain over gray: per seed the mean over images of (method - the same run's gray),
    then the mean and std over seeds."""
    res = json.loads((study_dir / "ablation.json").read_text())
    per_seed = []
    for seed in (0, 1):
        pi = _per_image(study_dir / "runs" / "regsoft" / f"seed{seed}" / "bench" / "photos" /
                        "per_image.csv")  # fmt: skip
        imgs = sorted(i for (i, m) in pi if m == "reg")
        per_seed.append(np.mean([float(pi[(i, "reg")]["psnr"]) - float(pi[(i, "gray")]["psnr"])
                                 for i in imgs]))  # fmt: skip
    key = ("regsoft", "reg", "psnr")
    (g,) = [g for g in res["gains"] if (g["experiment"], g["method"], g["metric"]) == key]
    assert g["n"] == 2
    assert g["mean"] == pytest.approx(np.mean(per_seed), abs=1e-4)
    assert g["std"] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-4)
    assert not [g for g in res["gains"] if g["method"] == "gray"]


def test_cost_is_recorded_per_run_and_summed(study_dir):
    """Each run keeps its training invocations' wall and CPU seconds and its bench's; the
    aggregate sums them per run and the page has the cost table."""
    cost = json.loads((study_dir / "runs" / "reg" / "seed0" / "cost.json").read_text())
    (t,) = cost["train"]
    assert (t["step_from"], t["step_to"], t["exit"]) == (0, 2, 0)
    assert t["cpu_s"] > 0 and t["wall_s"] > 0
    done = json.loads((study_dir / "runs" / "reg" / "seed0" / "done.json").read_text())
    assert 0 < done["seconds"] <= t["wall_s"] + 1.0  # the same clock as the cost record
    assert len(cost["bench"]) == 1 and cost["bench"][0]["cpu_s"] > 0
    res = json.loads((study_dir / "ablation.json").read_text())
    (row,) = [c for c in res["cost"] if (c["experiment"], c["seed"]) == ("reg", 0)]
    assert row["train_cpu_s"] == pytest.approx(t["cpu_s"]) and row["steps"] == 2
    assert len(res["cost"]) == 4
    md = (study_dir / "ablation.md").read_text()
    assert "## Cost" in md and "| **all** | 4 |" in md


def test_page_has_the_title_description_verdict_and_goes_to_doc(study_dir):
    md = (study_dir / "ablation.md").read_text()
    assert md.startswith("# A tiny study\n\nTwo rows, two seeds.")
    assert "## Verdict" in md and "### Gain over gray" in md and "every run benched" in md
    assert "**reg**, drops the dist head, against regsoft (reg head): " in md
    assert "| reg | drops the dist head | reg |" in md
    assert "![PSNR against colourfulness on photos, one dot per run](ablation.png)" in md
    docs = study_dir.parent / "docs"
    assert (docs / "page.md").read_text() == md.replace("(ablation.png)", "(images/page.png)")
    assert (docs / "images" / "page.png").read_bytes() == (study_dir / "ablation.png").read_bytes()


def test_run_cost_counts_only_a_complete_chain_of_invocations(tmp_path):
    """Training cost is summed only when the recorded invocations chain from step 0 to the
    final step; a gap (an invocation killed without a record) or a run that predates
    cost.json gives None, with the last invocation's wall time kept apart."""
    d = tmp_path / "run"
    d.mkdir()
    (d / "done.json").write_text(json.dumps({"steps": 10, "seconds": 7.0}))
    assert ablation.run_cost(d)["train_cpu_s"] is None  # no cost.json
    assert ablation.run_cost(d)["train_wall_last_s"] == 7.0

    def record(*spans):
        (d / "cost.json").write_text(json.dumps({"train": [
            {"wall_s": 1.0, "cpu_s": 2.0, "step_from": a, "step_to": b, "exit": 0}
            for a, b in spans]}))  # fmt: skip
        return ablation.run_cost(d)

    c = record((0, 4), (4, 10))
    assert c["complete"] and (c["train_wall_s"], c["train_cpu_s"]) == (2.0, 4.0)
    assert not record((0, 4), (6, 10))["complete"]  # steps 4-6 ran without a record
    assert record((0, 4), (6, 10))["train_cpu_s"] is None
    assert not record((2, 10))["complete"]  # started before the record was kept
    assert not record((0, 8))["complete"]  # finished elsewhere


def _result(k, rows, gains=(), diffs=(), choose="val"):
    return {"study": {"choose_split": choose, "headline_metric": k, "reference": "a",
                      "labels": {}, "splits": [{"name": "val"}, {"name": "test"}]},
            "rows": rows, "gains": list(gains), "differences": list(diffs)}  # fmt: skip


def test_verdict_in_a_lower_is_better_metric_flips_the_words():
    """With l2ab as the headline metric, a negative difference is the gain and the best row
    is the lowest mean."""
    diffs = [{"split": "test", "experiment": "b", "method": "reg", "metric": "l2ab",
              **_interval(-0.5, -0.9, -0.1)}]  # fmt: skip
    rows = [{"split": "val", "experiment": e, "method": "reg", "metric": "l2ab", "n": 3,
             "mean": v} for e, v in (("a", 15.0), ("b", 14.0))]  # fmt: skip
    res = _result("l2ab", rows, diffs=diffs)
    lines = "\n".join(ablation._verdict_lines(res))
    assert "An interval below 0 is a gain, one above 0 a loss" in lines
    assert "**b** against a (reg head): better on test." in lines
    assert ablation.best_row(res)["experiment"] == "b"
    no_choice = "\n".join(ablation._verdict_lines(_result("l2ab", rows, diffs=diffs, choose=None)))
    assert "every split counts as a report split" in no_choice


def test_bad_labels_and_headline_metric_are_clean_errors(capsys):
    base = ["experiments=[regsoft]", "seeds=[0]", "budget.steps=1",
            "splits=[{name: t, dataset: folder, root: x}]"]  # fmt: skip
    assert cli.main([*base, "labels=[a,b]"]) == 2
    assert "labels must map experiment names to words" in capsys.readouterr().err
    assert cli.main([*base, "headline_metric=colorfulness"]) == 2
    assert "'colorfulness' is not one of" in capsys.readouterr().err


def _interval(mean, lo, hi, n=3):
    return {"n": n, "mean": mean, "std": 1.0, "ci_low": lo, "ci_high": hi}


@pytest.mark.parametrize(("r", "metric", "word"), [
    (_interval(0.5, 0.1, 0.9), "psnr", "better"),
    (_interval(-0.5, -0.9, -0.1), "psnr", "worse"),
    (_interval(0.1, -0.2, 0.4), "psnr", "no difference"),
    (_interval(-0.5, -0.9, -0.1), "l2ab", "better"),  # lower L2ab is better
    (_interval(0.5, 0.1, 0.9), "l2ab_norm", "worse"),
    ({"n": 1, "mean": 0.5, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}, "psnr",
     "one seed: no interval"),
])  # fmt: skip
def test_verdict_word(r, metric, word):
    assert ablation.verdict_word(r, metric) == word


def test_best_methods_are_chosen_per_row_on_the_choosing_split_only():
    rows = [{"split": sp, "experiment": e, "method": m, "metric": k, "n": 3, "mean": v}
            for sp, e, m, k, v in [("val", "a", "reg", "psnr", 22.0),
                                   ("val", "a", "dist", "psnr", 21.0),
                                   ("val", "a", "gray", "psnr", 30.0),
                                   ("test", "a", "dist", "psnr", 99.0),
                                   ("val", "b", "dist", "psnr", 20.0),
                                   ("val", "a", "reg", "l2ab", 15.0),
                                   ("val", "a", "dist", "l2ab", 14.0)]]  # fmt: skip
    assert ablation.best_methods(rows, "val", "psnr") == {"a": "reg", "b": "dist"}
    assert ablation.best_methods(rows, "val", "l2ab") == {"a": "dist"}  # lower is better
    assert ablation.best_methods(rows, "test", "psnr") == {"a": "dist"}


def test_rows_at_their_best_are_paired_against_the_reference_at_its_best(study_dir):
    """aggregate's "headline": each row's best method on the choosing split against the
    reference's best method, per seed the mean over the same images, then over seeds; the
    reference's own entry is against gray."""
    ran = json.loads((study_dir / "study.json").read_text())
    study = ablation.Study(**{**ran, "choose_split": "photos"})
    res = ablation.aggregate(study, study_dir)
    best = ablation.best_methods(res["rows"], "photos", "psnr")

    def per_seed_diff(a, b):
        out = []
        for seed in (0, 1):
            pa, pb = (_per_image(study_dir / "runs" / e / f"seed{seed}" / "bench" / "photos" /
                                 "per_image.csv") for e, _ in (a, b))  # fmt: skip
            imgs = sorted(i for (i, m) in pa if m == a[1])
            out.append(np.mean([float(pa[(i, a[1])]["psnr"]) - float(pb[(i, b[1])]["psnr"])
                                for i in imgs]))  # fmt: skip
        return out

    heads = {h["experiment"]: h for h in res["headline"]}
    assert set(heads) == {"regsoft", "reg"}
    assert heads["reg"]["method"] == "reg"
    assert heads["reg"]["against"] == ["regsoft", best["regsoft"]]
    want = per_seed_diff(("reg", "reg"), ("regsoft", best["regsoft"]))
    assert heads["reg"]["mean"] == pytest.approx(np.mean(want), abs=1e-4)
    assert heads["reg"]["std"] == pytest.approx(np.std(want, ddof=1), abs=1e-4)
    want = per_seed_diff(("regsoft", best["regsoft"]), ("regsoft", "gray"))
    assert heads["regsoft"]["against"] == ["regsoft", "gray"]
    assert heads["regsoft"]["mean"] == pytest.approx(np.mean(want), abs=1e-4)
    # No choosing split: no row is read out at its best.
    assert ablation.aggregate(ablation.Study(**ran), study_dir)["headline"] == []


def test_in_short_says_each_row_at_its_best_in_words_and_figures():
    """The short verdict: the reference against gray, the other rows against the reference's
    best head, on report splits only, one seed said as such."""
    def h(split, e, m, against, mean, lo, hi, n=3):
        return {"split": split, "experiment": e, "method": m, "against": against,
                "metric": "psnr", **_interval(mean, lo, hi, n)}  # fmt: skip

    headline = [h("val", "a", "reg", ["a", "gray"], 1.0, 0.9, 1.1),
                h("test", "a", "reg", ["a", "gray"], 0.7, 0.6, 0.8),
                h("test", "b", "dist", ["a", "reg"], -0.45, -0.8, -0.1),
                h("test2", "b", "dist", ["a", "reg"], 0.2, -0.1, 0.5),
                h("test", "c", "reg", ["a", "reg"], -0.1, math.nan, math.nan, n=1)]
    res = _result("psnr", rows=[])
    res["study"]["splits"] += [{"name": "test2"}]
    res["study"]["labels"] = {"b": "another network"}
    res["headline"] = headline
    text = "\n".join(ablation._verdict_lines(res))
    assert "### In short" in text and "### Every comparison, head by head" in text
    assert ("- **a** (reg head), the reference, against gray: beats gray on test "
            "(+0.70 [+0.60, +0.80] on test).") in text
    assert ("- **b** (dist head), another network, against a: worse on test; no difference "
            "on test2 (-0.45 [-0.80, -0.10] on test, +0.20 [-0.10, +0.50] on test2).") in text
    assert ("- **c** (reg head), against a: one seed: no interval on test "
            "(-0.10 (n=1) on test).") in text
    assert "on val" not in text.split("### Every comparison")[0].split("as below.")[1]
    res["headline"] = []
    assert "### In short" not in "\n".join(ablation._verdict_lines(res))


def test_best_row_is_chosen_on_the_choosing_split_only():
    rows = [{"split": sp, "experiment": e, "method": m, "metric": "psnr", "n": 3, "mean": v}
            for sp, e, m, v in [("val", "a", "reg", 22.0), ("val", "b", "reg", 22.5),
                                ("val", "a", "gray", 30.0), ("test", "a", "reg", 99.0)]]
    result = {"study": {"choose_split": "val", "headline_metric": "psnr"}, "rows": rows}
    best = ablation.best_row(result)
    assert (best["experiment"], best["method"]) == ("b", "reg")
    assert ablation.best_row({"study": {"choose_split": None}, "rows": rows}) is None


def test_page_keys_are_checked():
    split = [{"name": "t", "dataset": "folder", "root": "."}]
    with pytest.raises(ValueError, match="headline_metric 'bogus' is not one of"):
        ablation.Study(experiments=["a"], seeds=[0], steps=1, splits=split,
                       headline_metric="bogus")
    with pytest.raises(ValueError, match="choose_split 'v' is not among splits"):
        ablation.Study(experiments=["a"], seeds=[0], steps=1, splits=split, choose_split="v")
    with pytest.raises(ValueError, match="labels names"):
        ablation.Study(experiments=["a"], seeds=[0], steps=1, splits=split, labels={"b": "x"})


def test_rerun_skips_finished_runs_and_resumes_an_interrupted_one(study_dir, capsys):
    import shutil

    study, out = cli.load_study(None, [
        "experiments=[regsoft,reg]", "seeds=[0,1]", "budget.steps=2",
        "splits=[{name: photos, dataset: folder, root: x}]", f"out={study_dir}",
    ])  # fmt: skip
    logs: list[str] = []
    ablation.run_study(study, out, log=logs.append)
    assert logs == ["4 runs, 4 already done, 0 to go"]

    # Interrupted after training began: no done.json, no bench; the rerun resumes it from
    # last.ckpt (the command replays the stored overrides) instead of starting afresh.
    d = ablation.run_dir(study_dir, "reg", 1)
    (d / "done.json").unlink()
    bench = d / "bench"
    saved = bench.with_name("bench_saved")
    shutil.move(bench, saved)
    assert ablation.reached_budget(d, study)  # how --aggregate-only tells it is finished
    study.steps = 3
    assert not ablation.reached_budget(d, study)
    study.steps = 2
    cmd = ablation.train_command(study, out, "reg", 1)
    assert any(c.startswith("ckpt_path=") for c in cmd) and not any("+experiment" in c for c in cmd)
    study.splits[0].root = json.loads((saved / "photos" / "summary.json").read_text())["root"]
    ablation.run_study(study, out, log=logs.append)
    assert "[run 1/1] reg seed 1" in logs[-1]
    assert (d / "done.json").is_file() and (d / "bench" / "photos" / "summary.json").is_file()
    # The resumed invocation's cost is added to the first one's.
    train = json.loads((d / "cost.json").read_text())["train"]
    assert [(t["step_from"], t["step_to"]) for t in train] == [(0, 2), (2, 2)]
    assert ablation.run_cost(d)["train_cpu_s"] == pytest.approx(sum(t["cpu_s"] for t in train))


def test_bad_study_is_a_clean_error(capsys):
    assert cli.main(["experiments=[regsoft]", "seeds=[0]"]) == 2
    assert "budget.steps" in capsys.readouterr().err
    assert cli.main(["experiments=[a]", "seeds=[0]", "budget.steps=1", "splits=[]"]) == 2
    assert cli.main(["bogus=1"]) == 2
    assert "valid:" in capsys.readouterr().err


def test_experiment_train_adds_overrides_and_budgets_per_experiment(tmp_path):
    study, _ = cli.load_study(None, [
        "experiments=[regsoft,scgan]", "seeds=[0]", "budget.steps=300", "train=[logger=csv]",
        "experiment_train={scgan: [data.saliency_dir=/m, trainer.max_steps=450]}",
        f"splits=[{{name: t, dataset: folder, root: '{tmp_path}'}}]",
    ])  # fmt: skip
    assert ablation.steps_of(study, "regsoft") == 300 and ablation.steps_of(study, "scgan") == 450
    cmd = ablation.train_command(study, tmp_path, "scgan", 0)
    assert "data.saliency_dir=/m" in cmd and "trainer.max_steps=450" in cmd
    assert cmd.index("logger=csv") < cmd.index("data.saliency_dir=/m")  # own ones come after
    assert sum(a.startswith("trainer.max_steps=") for a in cmd) == 1
    ref = ablation.train_command(study, tmp_path, "regsoft", 0)
    assert "trainer.max_steps=300" in ref and "data.saliency_dir=/m" not in ref
    with pytest.raises(ValueError, match="not among experiments"):
        ablation.Study(experiments=["a"], seeds=[0], steps=1, splits=[{"name": "t",
                       "dataset": "folder", "root": "."}], experiment_overrides={"b": []})


def test_experiment_minutes_cap_single_experiments_and_compose(tmp_path):
    """Equal compute: a baseline's own wall-time cap reaches its command as a key Hydra
    accepts (the trainer config has no max_time), and only that experiment gets it."""
    from tests.lit.helpers import compose_train

    study, _ = cli.load_study(None, [
        "experiments=[regsoft,eccv16]", "seeds=[0]", "budget.steps=300",
        "budget.experiment_minutes={eccv16: 40}",
        f"splits=[{{name: t, dataset: folder, root: '{tmp_path}'}}]",
    ])  # fmt: skip
    assert ablation.minutes_of(study, "eccv16") == 40
    assert ablation.minutes_of(study, "regsoft") is None
    cmd = ablation.train_command(study, tmp_path, "eccv16", 0)
    cap = [a for a in cmd if "max_time" in a]
    assert cap == ["++trainer.max_time=00:00:40:00"]
    assert not any("max_time" in a for a in ablation.train_command(study, tmp_path, "regsoft", 0))
    cfg = compose_train([a for a in cmd[3:] if not a.startswith("hydra.")])
    assert cfg.trainer.max_time == "00:00:40:00"
    with pytest.raises(ValueError, match="experiment_max_minutes names"):
        ablation.Study(experiments=["a"], seeds=[0], steps=1, splits=[{"name": "t",
                       "dataset": "folder", "root": "."}], experiment_max_minutes={"b": 1})


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "studies")
                                        .glob("*.yaml")), ids=lambda p: p.name)  # fmt: skip
def test_every_shipped_study_file_loads(path, tmp_path):
    """The study files in studies/ parse into a Study whose experiments are +experiment
    configs, and each run's whole command line (the study's overrides and the experiment's
    own) composes; the reference is one of the experiments."""
    from semcolor.cli.ablate import load_study
    from tests.lit.helpers import compose_train

    study, _ = load_study(path, [])
    assert study.experiments and study.reference in study.experiments
    for e in study.experiments:
        cmd = ablation.train_command(study, tmp_path, e, 0)
        cfg = compose_train([a for a in cmd[3:] if not a.startswith("hydra.")])
        assert cfg.trainer.max_steps == ablation.steps_of(study, e)


def test_semantic_guidance_rows_4_and_5_differ_from_regsoft_in_one_setting_each(tmp_path):
    """Issue 22's rows 4 and 5: regsoft with data.aux_colour flipped, and regsoft with the
    encoder at the full learning rate; nothing else differs."""
    from semcolor.cli.ablate import load_study
    from tests.lit.helpers import compose_train

    study, _ = load_study(Path(__file__).resolve().parents[2] / "studies" /
                          "semantic_guidance.yaml", [])  # fmt: skip

    def cfg(e):
        cmd = ablation.train_command(study, tmp_path, e, 0)
        c = compose_train([a for a in cmd[3:] if not a.startswith(("hydra.", "+experiment"))]
                          + [f"+experiment={e}"])  # fmt: skip
        return OmegaConf.to_container(c, resolve=False)

    base, aux, full = cfg("regsoft"), cfg("regsoft_aux"), cfg("regsoft_fullenc")
    assert (base["data"]["aux_colour"], aux["data"]["aux_colour"]) == (False, True)
    assert (base["module"]["encoder_lr_mult"], full["module"]["encoder_lr_mult"]) == (0.1, 1.0)
    aux["data"]["aux_colour"] = False
    full["module"]["encoder_lr_mult"] = 0.1
    assert aux == base and full == base
