"""The model-free benchmark scripts run and write what they say (timings are never checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def test_bench_quantisation_writes_its_sheet(tmp_path):
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_quantisation.py"), "--out",
         str(tmp_path), "--size", "32"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        assert name in r.stdout
    assert Image.open(tmp_path / "quantisation_sheet.png").size == (3 * 32, 4 * 32)


def test_bench_inference_functions_on_a_tiny_model(monkeypatch):
    import importlib.util

    import torch

    from tests.inference.test_inference import tiny_net

    spec = importlib.util.spec_from_file_location(
        "bench_inference", REPO / "benchmarks" / "bench_inference.py"
    )
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look it up there
    spec.loader.exec_module(bench)
    torch.set_num_threads(1)
    cases = bench.build_cases({"tiny": tiny_net()}, size=32, batches=[1, 2])
    names = [c.name for c in cases]
    assert names[:4] == ["tiny b1 full", "tiny b1 dist-only", "tiny b1 reg-only",
                         "tiny b1 predict_ab dist"]  # fmt: skip
    times = bench.time_cases(cases, repeats=2, warmup=1)
    assert all(len(t) == 2 for t in times.values())
    rows = bench.summarize(cases, times)
    flop = {r["name"]: r["gflop"] for r in rows}
    assert 0 < flop["tiny b1 dist-only"] < flop["tiny b1 reg-only"] < flop["tiny b1 full"]
    assert flop["tiny b2 full"] == flop["tiny b1 full"]  # per image
    text = bench.report(rows, times, bench.matmul_gflops(side=64, repeats=1))
    assert "tiny b1: full / dist-only" in text and f"target {bench.TARGET_SPEEDUP}x" in text
    assert "roofline" in text


def test_bench_inference_precision_backend_rows_and_markdown(monkeypatch, tmp_path):
    import importlib.util

    import pytest
    import torch

    from tests.inference.test_inference import tiny_net

    pytest.importorskip("onnxruntime")
    spec = importlib.util.spec_from_file_location(
        "bench_inference", REPO / "benchmarks" / "bench_inference.py"
    )
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)
    spec.loader.exec_module(bench)
    torch.set_num_threads(1)
    from semcolor.models import ECCV16Net

    cases = bench.build_cases({"tiny": tiny_net(), "E": ECCV16Net().eval()}, size=32,
                              batches=[1, 2], precisions=["fp32", "bf16"],
                              backends=["torch", "onnxruntime"], first_batch_only=["E"])
    names = [c.name for c in cases]
    assert "tiny b2 predict_ab dist bf16" in names
    assert "tiny b1 predict_ab dist onnxruntime" in names
    assert "E b1 full" in names and "E b2 full" not in names
    times = bench.time_cases(cases, repeats=1, warmup=0)
    rows = bench.summarize(cases, times)
    flop = {r["name"]: r["gflop"] for r in rows}
    assert flop["tiny b1 predict_ab dist onnxruntime"] == flop["tiny b1 predict_ab dist"] > 0
    md = bench.markdown(rows, 100.0, "header")
    assert md.startswith("header") and "| tiny b1 predict_ab dist onnxruntime |" in md
    assert "roofline" in md


@pytest.mark.slow
def test_bench_train_e2e_prints_every_row(tmp_path):
    """bench_train.py --e2e on the tiny synthetic setup: the real loop, the four pure-step
    modes and the validation/start-up shares are all printed (figures are not checked)."""
    from tests.lit.helpers import TINY_CLI

    over = [o for o in TINY_CLI if not o.startswith(("trainer.limit_val", "trainer.precision"))]
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_train.py"), "--e2e", "--steps", "3",
         "--warmup", "2", "--pure-batches", "2", "--", "+experiment=regsoft",
         f"paths.cache_dir={tmp_path}", *over],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    for row in ("pure step, fp32", "pure step, bf16-mixed + channels_last",
                "end to end (semcolor-train loop)", "validation passes", "CPU:"):
        assert row in r.stdout, r.stdout


def test_bench_hints_quality_measures_fill_and_leak():
    """bench_hints --quality's measure on a photo with a known answer: a textured gray disc on
    a bright ground; the trial's region is the disc, the previous method leaves a dot there
    and the shipped one fills it, neither crossing the strong edge."""
    import importlib.util

    import numpy as np
    import torch

    spec = importlib.util.spec_from_file_location("bench_hints",
                                                  REPO / "benchmarks" / "bench_hints.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from semcolor import constants as C

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:80, :100]
    disc = (xx - 40) ** 2 + (yy - 40) ** 2 <= 30**2
    L = np.where(disc, 50.0, 85.0) + rng.uniform(-10, 10, (80, 100))
    ab = torch.zeros(1, 2, 80, 100)
    region = bench.draw_trial(L, np.random.default_rng(1))[2]
    assert region.mean() > 0.01
    x, y = 40, 40
    from scipy.ndimage import gaussian_filter
    from skimage.segmentation import flood

    region = flood(gaussian_filter(L, 1.0), (y, x), tolerance=bench.REGION_TOLERANCE)
    assert (region & ~disc).sum() == 0 and region.sum() > 0.5 * disc.sum()
    before = bench.hint_quality(L, ab, x, y, region, *bench.PREVIOUS)
    now = bench.hint_quality(L, ab, x, y, region, C.HINT_PRIOR_LAMBDA, C.HINT_SIGMA_L,
                             C.HINT_REGION_TOLERANCE_L, C.HINT_REGION_PULL)  # fmt: skip
    assert before[0] < 0.3 and now[0] > 0.95  # fill: a dot before, the region now
    assert before[1] < 0.01 and now[1] < 0.01  # leak across the edge


def test_compare_benches_pairs_images_and_gives_the_difference(tmp_path, capsys):
    """The paired difference is over the images both runs share, in the entry's order."""
    import csv
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "compare_benches", REPO / "benchmarks" / "compare_benches.py"
    )
    cmp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cmp)
    for name, rows in {
        "a": [("x.png", "gray", 20.0), ("y.png", "gray", 22.0), ("z.png", "gray", 30.0),
              ("x.png", "reg", 21.0), ("y.png", "reg", 24.0), ("z.png", "reg", 33.0)],
        "b": [("x.png", "reg", 21.5), ("y.png", "reg", 22.5)],  # z.png missing
    }.items():  # fmt: skip
        (tmp_path / name).mkdir()
        with open(tmp_path / name / "per_image.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["image", "method", "psnr"])
            w.writerows(rows)
    assert cmp.main([f"gray={tmp_path / 'a'}:gray", f"reg={tmp_path / 'a'}:reg",
                     f"b={tmp_path / 'b'}:reg", "--metrics", "psnr"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "2 images shared by 3 entries; reference: gray" in out
    reg = next(line for line in out.splitlines() if "|          reg |" in line)
    b = next(line for line in out.splitlines() if "|            b |" in line)
    assert "22.500 | +1.500 [" in reg  # (1 + 2) / 2
    assert "22.000 | +1.000 [" in b  # (1.5 + 0.5) / 2
    with pytest.raises(SystemExit, match="no rows of method 'dist'"):
        cmp.main([f"gray={tmp_path / 'a'}:dist"])


def test_bench_startup_times_every_console_script_and_reads_importtime():
    """bench_startup.py's rows are the package's console scripts, and its in-process figure
    is parsed from python -X importtime (no timing is checked)."""
    import importlib.util

    import tomllib

    spec = importlib.util.spec_from_file_location(
        "bench_startup", REPO / "benchmarks" / "bench_startup.py")  # fmt: skip
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert {f"semcolor-{t}" for t in bench.TOOLS} == set(scripts)
    cmds = bench.rows(sys.executable, ["colorize"])
    assert cmds["semcolor-colorize --help"][-1] == "--help"
    assert bench.import_ms(sys.executable, "json") > 0
    r = subprocess.run([sys.executable, "-c", bench.API_IMPORT], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def _load_script(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


#: (image, method, psnr, colorfulness, cast_b) of a synthetic two-image bench folder.
SYNTHETIC_BENCH_ROWS = [
    ("x.png", "gray", 20.0, 0.0, -9.0), ("y.png", "gray", 22.0, 0.0, -9.0),
    ("x.png", "dist", 19.5, 38.0, 3.0), ("y.png", "dist", 22.1, 42.0, 3.0),
    ("x.png", "reg", 21.0, 20.0, -1.0), ("y.png", "reg", 23.4, 20.0, -1.0),
]  # fmt: skip


def _write_bench(folder, rows, decoding=None, full_res=False):
    """A semcolor-bench --out folder: per_image.csv of ``rows`` and its summary.json (means;
    SSIM, L2ab and AuC derived from PSNR so that each cell can be checked)."""
    import csv
    import json

    folder.mkdir(parents=True)
    with open(folder / "per_image.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "method", "psnr", "colorfulness", "cast_b"])
        w.writerows(rows)
    names = list(dict.fromkeys(r[1] for r in rows))

    def mean(m, i):
        return float(np.mean([r[i] for r in rows if r[1] == m]))

    methods = {m: {"psnr": mean(m, 2), "colorfulness": mean(m, 3), "cast_a": 0.5,
                   "cast_b": mean(m, 4), "ssim": mean(m, 2) / 100, "l2ab": 40 - mean(m, 2),
                   "auc": mean(m, 2) / 50} for m in names}  # fmt: skip
    summary = {"n_images": len({r[0] for r in rows}), "methods": methods, "full_res": full_res,
               "gt": {"colorfulness": 50.0}}  # fmt: skip
    if decoding:
        summary["decoding"] = decoding
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_default_model_targets_reads_the_bench_and_says_what_missed(tmp_path):
    """The targets table from a synthetic bench folder: the best method is the highest PSNR,
    gains are paired over images against gray, and each miss says by how much; the latency
    row compares two checkpoints through semcolor.colorize."""
    from tests.inference.test_inference import tiny_net, write_ckpt

    tg = _load_script("default_model_targets")
    folder = tmp_path / "bench" / "s"
    _write_bench(folder, SYNTHETIC_BENCH_ROWS)
    f = tg.split_figures(folder, "dist")
    assert f["best_method"] == "reg" and f["best_gain"]["mean"] == pytest.approx(1.2)
    assert f["default_gain"]["mean"] == pytest.approx(-0.2)
    assert f["default_cf_ratio"] == pytest.approx(0.8)
    latency = {"new": {"median_ms": 11.0}, "baseline": {"median_ms": 10.0}}
    table = tg.targets_table({"s": f}, latency)
    assert "reg +1.20 dB [" in table and "]: met" in table
    assert "dist -0.20 dB [" in table and "**missed by 0.200 dB**" in table
    assert "80.0%: **missed by 5.0 points**" in table
    assert "+3.00: **missed by 1.00**" in table
    assert "| 11.0 | 10.0 | 1.100× | met |" in table
    with pytest.raises(SystemExit, match="no 'bogus' rows"):
        tg.split_figures(folder, "bogus")

    a = write_ckpt(tmp_path / "a.ckpt", tiny_net())
    b = write_ckpt(tmp_path / "b.ckpt", tiny_net())
    lat = tg.colorize_latency({"new": str(a), "baseline": str(b)}, rounds=2, calls=1)
    assert set(lat) == {"new", "baseline"}
    assert all(len(v["rounds_ms"]) == 2 and v["median_ms"] > 0 for v in lat.values())


def test_default_model_tables_prints_every_cell_from_the_bench_folders(tmp_path, capsys):
    """The README table from synthetic bench folders: gray and each decoding with its paired
    gain over gray, the bench's decoding name, the best PSNR in bold, M3 as a share of the
    ground truths', the previous model on one line; a missing folder says what to run."""
    dt = _load_script("default_model_tables")
    bench = tmp_path / "report"
    names = {"gray": "ab = 0", "dist": "annealed mean, T = 0.38", "reg": "regression"}
    _write_bench(bench / "imagen1k_test", SYNTHETIC_BENCH_ROWS, decoding=names)
    old_rows = [(i, m, p - 0.5, c, b) for i, m, p, c, b in SYNTHETIC_BENCH_ROWS if m != "gray"]
    old_rows += [r for r in SYNTHETIC_BENCH_ROWS if r[1] == "gray"]
    _write_bench(bench / "old_imagen1k_test", old_rows,
                 decoding={"dist": "mean, T = 1", "reg": "regression"})
    _write_bench(bench / "kodak24", SYNTHETIC_BENCH_ROWS[:2] + SYNTHETIC_BENCH_ROWS[4:],
                 full_res=True)
    assert dt.main(["--bench", str(bench), "--splits", "imagen1k_test,kodak24",
                    "--out", str(tmp_path / "t.md")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert (tmp_path / "t.md").read_text() == out
    lines = out.splitlines()
    assert lines[2] == ("| imagen1k test | 2 | gray | 21.00 |  | 0.210 | 19.00 | 0.420 | "
                        "0.00 (50.00) |")
    assert lines[3].startswith("| | | dist (annealed mean, T = 0.38) | 20.80 | -0.20 [")
    assert lines[3].endswith("| 0.208 | 19.20 | 0.416 | 40.00 (80%) |")
    assert lines[4].startswith("| | | reg | **22.20** | +1.20 [")
    assert lines[5] == ("| | | previous model, dist (mean, T = 1) / reg | 20.30 / 21.70 | -0.70 / "
                        "+0.70 | 0.203 / 0.217 | 19.70 / 18.30 | 0.406 / 0.434 | 40.00 / 20.00 |")
    assert lines[6].startswith("| Kodak24 (full res.) | 2 | gray | 21.00 |")
    assert len(lines) == 8  # no previous-model line without old_kodak24
    with pytest.raises(SystemExit, match="bsds500_test/summary.json does not exist"):
        dt.main(["--bench", str(bench), "--splits", "bsds500_test"])


def test_val_curve_reads_validation_rows_and_says_if_more_steps_help(tmp_path, capsys):
    """The validation curve from a Lightning CSV log: training rows skipped, a step validated
    twice (a resume) keeps its last row, steps are counted from Lightning's 0-based index,
    crops come from the run's batch size, and the last-quarter gain is last − nearest 75%."""
    import csv

    vc = _load_script("val_curve")
    run = tmp_path / "run"
    (run / "csv").mkdir(parents=True)
    (run / ".hydra").mkdir()
    (run / ".hydra" / "config.yaml").write_text("data:\n  batch_size: 16\n")
    cols = ["step", "train/loss"] + [c for _, c in vc.COLUMNS]
    val = {999: (21.0, 21.5, 20.0), 1999: (21.0, 21.9, 20.4), 2999: (21.0, 22.0, 20.6),
           3999: (21.0, 22.1, 20.5)}  # fmt: skip
    with open(run / "csv" / "metrics.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        w.writerow([500, 3.0] + [""] * 5)
        for step, (g, r, d) in val.items():
            w.writerow([step, ""] + [g, r - 1.0 if step == 2999 else r, d, 40.0, 2.5])
        w.writerow([2999, ""] + [21.0, 22.0, 20.6, 40.0, 2.5])  # validated again on resume
    assert vc.main([str(run), "--png", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "| 1,000 | 16,000 | 21.00 | 21.50 | 20.00 | +0.50 | 40.00 | +2.50 |" in out
    assert "| 3,000 | 48,000 | 21.00 | 22.00 |" in out and out.count("| 3,000 |") == 1
    assert "Best regression PSNR at step 4,000 (22.10 dB)" in out
    assert "+0.100 dB" in out  # 22.1 at step 4,000 − 22.0 at step 3,000
    assert (tmp_path / "c.png").stat().st_size > 0

    (run / "csv" / "metrics.csv").write_text("step,train/loss\n1,2.0\n")
    with pytest.raises(SystemExit, match="no validation columns"):
        vc.main([str(run)])
    assert vc.main([str(tmp_path / "nowhere")]) == 2
