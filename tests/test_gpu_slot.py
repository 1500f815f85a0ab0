"""benchmarks/gpu_slot.py's guard: a step past its limit is stopped (SIGTERM, then SIGKILL
with its children), no step starts without time, and the summary names what failed."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def slot():
    spec = importlib.util.spec_from_file_location("gpu_slot", REPO / "benchmarks" / "gpu_slot.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop(spec.name, None)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended (nobody may reap it in a container)


CHILD = """
import signal, subprocess, sys, time
grand = subprocess.Popen(["sleep", "60"])
open(sys.argv[1], "w").write(str(grand.pid))
if sys.argv[2] == "term":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))  # as semcolor-train does
else:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(60)
"""


@pytest.mark.parametrize("on_term, rc", [("term", 143), ("ignore", -9)])
def test_a_step_past_its_limit_is_stopped_with_its_children(slot, tmp_path, monkeypatch,
                                                            on_term, rc):  # fmt: skip
    monkeypatch.setattr(slot, "MIN_STEP_S", 0.5)
    pidfile = tmp_path / "grandchild.pid"
    t = time.monotonic()
    step = slot.run_step("s", [sys.executable, "-c", CHILD, str(pidfile), on_term], timeout=1.5,
                         log_path=tmp_path / "s.log", grace_s=1.0)  # fmt: skip
    assert time.monotonic() - t < 8
    assert step.status == "timeout" and step.rc == rc
    grandchild = int(pidfile.read_text())
    for _ in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.05)
    assert not _alive(grandchild)
    assert "time limit 2 s" in (tmp_path / "s.log").read_text()


def test_steps_without_time_are_skipped_and_failures_named(slot, tmp_path, monkeypatch):
    monkeypatch.setattr(slot, "MIN_STEP_S", 1)
    run = slot.Slot(tmp_path, budget_s=slot.COLLECT_RESERVE_S + 30)
    ok = run.run("ok", [sys.executable, "-c", "print('fine')"], cap_s=20)
    bad = run.run("bad", [sys.executable, "-c", "raise SystemExit(3)"], cap_s=20)
    late = run.run("late", [sys.executable, "-c", "print('never')"], cap_s=20, reserve_s=60)
    assert (ok.status, bad.status, bad.rc, late.status) == ("ok", "failed", 3, "skipped")
    assert "left before the deadline" in late.note and not (tmp_path / "late.log").exists()
    args = argparse.Namespace(cpu_smoke=True, pack=tmp_path, budget_s=60, return_dir=tmp_path / "r")
    assert slot.finish(run, args, python=sys.executable) == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed_or_timed_out"] == ["bad"]
    md = (tmp_path / "summary.md").read_text()
    assert "| bad | **failed** |" in md and "| late | **skipped** |" in md
    returned = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert returned == ["results.tar.gz", "summary.json", "summary.md"]
