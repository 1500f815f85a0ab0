"""Start-up time of the command-line tools and of ``import semcolor``, against a baseline install.

Each row is a fresh process, timed from spawn to exit (median of ``--rounds``, the two
installs interleaved round by round, taking turns to go first, so that a busy machine slows
both alike):

- ``semcolor-<tool> --help`` for each console script (the cost a user pays to read the help;
  the tools import torch only after parsing, which is why their heavy imports are lazy);
- ``python -c "import semcolor"`` (the package root: lazy, no torch);
- ``python -c "import semcolor.inference.api"`` / the old ``semcolor.api`` (what the first
  ``semcolor.colorize`` call pays before loading a model).

``--importtime N`` adds, per install, the mean over N runs of ``python -X importtime`` of the
cumulative import time of ``semcolor.cli.colorize`` (what ``semcolor-colorize`` imports before
parsing): the same question without the process start-up's noise.

The baseline is another environment's Python with semcolor installed (e.g. a worktree of an
earlier commit with its own ``.venv``: ``git worktree add /tmp/before <commit>``, a venv there
and ``pip install --no-deps -e .``). Without ``--baseline`` only this install is timed.

    python benchmarks/bench_startup.py --baseline /tmp/before/.venv/bin/python --rounds 7

Prints a Markdown table: seconds per row for each install and the ratio this/baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from semcolor import hardware

#: Console scripts timed with --help (pyproject.toml [project.scripts]); semcolor-colorize is
#: the one the layout issue names, the rest show the same for every tool.
TOOLS = ("colorize", "bench", "train", "calibrate", "export", "ablate", "prior", "pack", "shard",
         "label-scenes", "label-saliency", "prepare-photos", "app")  # fmt: skip

#: Imports the API module at its new path, or at its old one in an install from before 0.3.0.
API_IMPORT = ("import importlib, importlib.util as u; n = 'semcolor.inference.api'; "
              "importlib.import_module(n if u.find_spec(n) else 'semcolor.api')")  # fmt: skip


def rows(python: str, tools: list[str]) -> dict[str, list[str]]:
    """Label -> command for one install."""
    bin_dir = Path(python).parent
    out = {f"semcolor-{t} --help": [str(bin_dir / f"semcolor-{t}"), "--help"] for t in tools}
    out["import semcolor"] = [python, "-c", "import semcolor"]
    out["import the API"] = [python, "-W", "ignore", "-c", API_IMPORT]
    return out


def time_once(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False)  # fmt: skip
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-500:]}")
    return dt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", help="Python of the install to compare with")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per row (default 5)")
    ap.add_argument("--tools", nargs="*", default=list(TOOLS),
                    help=f"console scripts to time (default: all: {' '.join(TOOLS)})")
    ap.add_argument("--importtime", type=int, default=0, metavar="N",
                    help="also time importing semcolor.cli.colorize in-process, N runs")
    args = ap.parse_args(argv)
    installs = {"this": rows(sys.executable, args.tools)}
    if args.baseline:
        installs["baseline"] = rows(args.baseline, args.tools)
    labels = list(installs["this"])
    times: dict[str, dict[str, list[float]]] = {k: {lab: [] for lab in labels} for k in installs}
    for cmds in installs.values():  # warm the file cache once, untimed
        for lab in labels:
            time_once(cmds[lab])
    order = list(installs)
    for r in range(args.rounds):
        for lab in labels:
            # the installs take turns going first: the first of a pair ran measurably slower
            for name in (order if r % 2 == 0 else order[::-1]):
                times[name][lab].append(time_once(installs[name][lab]))
    print(f"CPU: {hardware.describe_cpu()}; load {os.getloadavg()[0]:.2f}; median of "
          f"{args.rounds} rounds, interleaved")  # fmt: skip
    head = "| command | this (s) |" + (" baseline (s) | this / baseline |" if args.baseline else "")
    print(head)
    print("|---|---:|" + ("---:|---:|" if args.baseline else ""))
    for lab in labels:
        this = statistics.median(times["this"][lab])
        line = f"| `{lab}` | {this:.3f} |"
        if args.baseline:
            base = statistics.median(times["baseline"][lab])
            line += f" {base:.3f} | {this / base:.2f}x |"
        print(line)
    if args.importtime:
        pythons = {"this": sys.executable}
        if args.baseline:
            pythons["baseline"] = args.baseline
        runs: dict[str, list[float]] = {k: [] for k in pythons}
        for r in range(args.importtime):  # alternating which goes first, as above
            for k in (list(pythons) if r % 2 == 0 else list(pythons)[::-1]):
                runs[k].append(import_ms(pythons[k], CLI_MODULE))
        means = {k: statistics.mean(v) for k, v in runs.items()}
        print(f"\nimport of {CLI_MODULE}, cumulative (python -X importtime, mean of "
              f"{args.importtime}): " + ", ".join(f"{k} {v:.2f} ms" for k, v in means.items()))
    return 0


#: The module the in-process timing imports.
CLI_MODULE = "semcolor.cli.colorize"


def import_ms(python: str, module: str) -> float:
    """Cumulative import time of ``module`` in a fresh ``python -X importtime``, in ms."""
    r = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"],
                       capture_output=True, text=True, check=True)  # fmt: skip
    for line in r.stderr.splitlines():
        parts = [x.strip() for x in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000.0
    raise SystemExit(f"no importtime line for {module} from {python}")


if __name__ == "__main__":
    raise SystemExit(main())
