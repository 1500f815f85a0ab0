"""The model-free benchmark scripts run and write what they say (timings are never checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
