"""DDP with 2 CPU processes (gloo) through the real ``semcolor-train`` entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.lit.helpers import tiny_overrides

REPO = Path(__file__).resolve().parents[2]


def test_ddp_two_cpu_processes(tmp_path):
    marks = tmp_path / "marks"
    cmd = [
        sys.executable, "-m", "semcolor.cli.train", "+experiment=segclassregsoft",
        *tiny_overrides(tmp_path),
        "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
        "trainer.max_steps=3", "trainer.limit_val_batches=0",
        "callbacks.model_checkpoint.every_n_train_steps=3",
        f"hydra.run.dir={tmp_path}",
        "+callbacks.rank_marker._target_=tests.lit.helpers.RankMarker",
        f"+callbacks.rank_marker.out_dir={marks}",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", PL_DISABLE_FORK="1")
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = [json.loads((marks / f"rank{r}.json").read_text()) for r in (0, 1)]
    for r in ranks:
        assert r["world_size"] == 2 and r["global_step"] == 3 and r["batches"] == 3
    ckpts = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert ckpts == ["last.ckpt", "step0000003.ckpt"]  # written once, by rank 0
