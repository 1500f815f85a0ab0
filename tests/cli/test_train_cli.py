"""semcolor-train as a user runs it: a user error is one clean message and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys


def _run(tmp_path, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEMCOLOR_CACHE": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "semcolor.cli.train", *args, f"hydra.run.dir={tmp_path}/run"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip


def test_missing_dataset_is_one_clean_message_with_the_layout(tmp_path):
    r = _run(tmp_path, "+experiment=regsoft", "data=camvid", f"paths.data_root={tmp_path}/no")
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "HYDRA_FULL_ERROR" not in r.stderr
    assert "semcolor-train: error: CamVid: root directory" in r.stderr
    assert "Expected layout:\n<root>/" in r.stderr  # real line breaks, not literal \n


def test_head_without_labels_is_one_clean_message(tmp_path):
    r = _run(tmp_path, "+experiment=segclassregsoft", "data=folder", "data.root=/x")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "the 'scene' head is enabled but data=folder" in r.stderr
