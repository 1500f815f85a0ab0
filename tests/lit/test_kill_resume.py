"""Killed at any moment, resumed exactly: a real ``semcolor-train`` under SIGKILL and SIGTERM.

The kill test SIGKILLs a tiny CPU run at seeded random moments — during start-up, between
steps, and inside a checkpoint write (a test writer makes writes slow; the test waits for
the temporary file to appear, then kills) — and resumes it each time with
``ckpt_path=auto``. After every kill each checkpoint file left must load, and the next run
must start from the newest of them; the last run must reach the final step with a loadable
``last.ckpt`` and no temporary file left. The SIGTERM test checks that pre-emption saves the
step reached, exits with ``PREEMPTED_EXIT_CODE`` within a bound, and resumes from it.

The hooks below (``SlowCheckpointIO``, ``StepProbe``) are loaded by the subprocess through
Hydra overrides (``+trainer.plugins=...``, ``+callbacks.probe=...``); nothing in semcolor
knows about them.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch

from semcolor.lit.callbacks import PREEMPTED_EXIT_CODE
from semcolor.lit.checkpoint_io import TEMP_GLOB, AtomicCheckpointIO
from tests.lit.helpers import TINY_CLI

REPO = Path(__file__).resolve().parents[2]
HOOKS = "tests.lit.test_kill_resume"
#: A tiny run: a 150k-parameter timm test encoder (2 MB checkpoints), 32x32 synthetic
#: images, 4 batches an epoch, no validation.
RUN_ARGS = [
    *(a for a in TINY_CLI if not a.startswith("data.train.num_samples=")),
    "+experiment=regsoft", "model.encoder=tu-test_efficientnet", "data.train.num_samples=16",
]  # fmt: skip
#: Writes of SlowCheckpointIO: pieces of this size, this long apart (~0.3 s a checkpoint).
SLOW_CHUNK_BYTES = 128 * 1024
SLOW_CHUNK_DELAY_S = 0.02
#: How long one semcolor-train may take to reach a step or to finish (start-up is ~10-15 s
#: on a busy 2-core machine).
STEP_TIMEOUT_S = 90
#: A run told to stop by SIGTERM must exit within this (it finishes one batch and saves).
SIGTERM_EXIT_BOUND_S = 30
POLL_S = 0.002
#: The override that makes a run write its checkpoints slowly.
SLOW_WRITES = f"+trainer.plugins=[{{_target_:{HOOKS}.SlowCheckpointIO}}]"


class SlowCheckpointIO(AtomicCheckpointIO):
    """The production atomic writer, writing its bytes in small, slow, flushed pieces, so that
    a kill can land inside a write (a real 1 GB checkpoint on NFS takes seconds)."""

    def __init__(self, chunk_bytes: int = SLOW_CHUNK_BYTES, delay_s: float = SLOW_CHUNK_DELAY_S):
        super().__init__()
        self.chunk_bytes, self.delay_s = chunk_bytes, delay_s

    def dump(self, checkpoint, file) -> None:
        buf = BytesIO()
        torch.save(checkpoint, buf)
        data = buf.getbuffer()
        for i in range(0, len(data), self.chunk_bytes):
            file.write(data[i : i + self.chunk_bytes])
            file.flush()
            time.sleep(self.delay_s)


class StepProbe(pl.Callback):
    """Appends ``start N`` (the global step a run starts from, after any resume) and
    ``step N`` (after each batch) to a file the test reads while the run goes on."""

    def __init__(self, path: str, step_delay_s: float = 0.0):
        self.path, self.step_delay_s = path, step_delay_s

    def _write(self, line: str) -> None:
        with open(self.path, "a") as f:
            f.write(line + "\n")

    def on_train_start(self, trainer, pl_module) -> None:
        self._write(f"start {trainer.global_step}")

    def on_train_batch_end(self, trainer, *args, **kwargs) -> None:
        self._write(f"step {trainer.global_step}")
        time.sleep(self.step_delay_s)


def _probe(path: Path) -> tuple[int | None, int | None]:
    """(start step, last step) a StepProbe file reports so far (None: not yet)."""
    start = last = None
    for line in path.read_text().splitlines() if path.is_file() else []:
        kind, _, n = line.partition(" ")
        if kind == "start" and n.isdigit():
            start = int(n)
        elif kind == "step" and n.isdigit():
            last = int(n)
    return start, last


def _start(tmp_path: Path, round_: int, max_steps: int, every: int, extra=()):
    probe = tmp_path / f"probe{round_}.txt"
    log = open(tmp_path / f"log{round_}.txt", "w")  # noqa: SIM115 - closed by the caller
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])  # the hooks here
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEMCOLOR_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": path}  # fmt: skip
    args = [
        *RUN_ARGS, f"trainer.max_steps={max_steps}", "trainer.max_epochs=-1",
        f"callbacks.model_checkpoint.every_n_train_steps={every}",
        f"+callbacks.probe._target_={HOOKS}.StepProbe", f"+callbacks.probe.path={probe}",
        f"hydra.run.dir={tmp_path}/run", "ckpt_path=auto", *extra,
    ]  # fmt: skip
    cmd = [sys.executable, "-m", "semcolor.cli.train", *args]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    return proc, probe, log


def _wait_for(cond, proc, what: str, timeout: float = STEP_TIMEOUT_S):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if proc.poll() is not None:
            raise AssertionError(f"semcolor-train exited ({proc.returncode}) before {what}")
        time.sleep(POLL_S)
    proc.kill()
    raise AssertionError(f"timed out waiting for {what}")


def _wait_for_step(proc, probe: Path, step: int) -> None:
    _wait_for(lambda: (_probe(probe)[1] or 0) >= step, proc, f"step {step}")


def _wait_for_write(proc, folder: Path, old: set[str]) -> None:
    """Until a checkpoint write of this run is under way (a partial file not among ``old``)."""
    _wait_for(lambda: _partial(folder) - old, proc, "a checkpoint write")


def _checkpoint_steps(folder: Path) -> dict[str, int]:
    """Global step of every checkpoint a resume may pick; each must load (never torn)."""
    steps = {}
    for p in sorted([*folder.glob("last*.ckpt"), *folder.glob("step*.ckpt")]):
        ck = torch.load(p, map_location="cpu", weights_only=True)  # raises if half-written
        assert "optimizer_states" in ck, p
        steps[p.name] = int(ck["global_step"])
    return steps


def _log(tmp_path: Path, round_: int) -> str:
    return (tmp_path / f"log{round_}.txt").read_text()


def _log_tail(tmp_path: Path, round_: int) -> str:
    return _log(tmp_path, round_)[-3000:]


def _close(proc, log) -> None:
    """After a failed assertion too: no run outlives its test."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    log.close()


def _partial(folder: Path) -> set[str]:
    return {p.name for p in folder.glob(TEMP_GLOB)}


#: (kill plan, max_steps, checkpoint interval). A plan entry is how one run is killed:
#: "startup" (a random moment in its first seconds: imports, data, prior), "step" (a random
#: moment between steps) or "write" (inside a checkpoint write).
PLANS = [
    pytest.param(("write",), 8, 2, id="1-kill"),
    pytest.param(("startup", "write", "step", "write", "step"), 14, 2, id="5-kills",
                 marks=pytest.mark.slow),
]  # fmt: skip


@pytest.mark.parametrize(("plan", "max_steps", "every"), PLANS)
def test_sigkill_at_random_moments_resumes_from_the_newest_complete_checkpoint(
    tmp_path, plan, max_steps, every
):
    rng = random.Random(1234)
    ckpts = tmp_path / "run" / "checkpoints"
    expected_start, mid_write = 0, 0
    for round_, mode in enumerate(plan):
        partial_before = _partial(ckpts)  # a killed run's, until the next run's first write
        proc, probe, log = _start(tmp_path, round_, max_steps, every, extra=[SLOW_WRITES])
        try:
            if mode == "startup":
                time.sleep(rng.uniform(1.0, 6.0))
            else:
                _wait_for_step(proc, probe, 1)
                start = _probe(probe)[0]
                assert start == expected_start, _log_tail(tmp_path, round_)
                # after the first checkpoint, so that there is one to resume from
                target = max(start + rng.randint(1, every + 1), every + 1)
                target = min(target, max_steps - every - 1)
                _wait_for_step(proc, probe, target)
                if mode == "write":
                    _wait_for_write(proc, ckpts, partial_before)
                    time.sleep(rng.uniform(0, 0.1))
                else:
                    time.sleep(rng.uniform(0, 0.5))
            assert proc.poll() is None, f"round {round_} ended before its kill"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            _close(proc, log)
        landed = bool(_partial(ckpts) - partial_before)  # this run's write, cut short
        mid_write += landed
        steps = _checkpoint_steps(ckpts) if ckpts.is_dir() else {}
        expected_start = max(steps.values(), default=0)
        print(f"kill {round_} ({mode}): {'inside a write, ' if landed else ''}complete "
              f"checkpoints {steps}")  # fmt: skip

    assert mid_write >= 1, "no kill landed inside a checkpoint write"
    final = len(plan)
    proc, probe, log = _start(tmp_path, final, max_steps, every)
    try:
        rc = proc.wait(timeout=STEP_TIMEOUT_S + 60)
    finally:
        _close(proc, log)
    assert rc == 0, _log_tail(tmp_path, final)
    assert _probe(probe) == (expected_start, max_steps), _log_tail(tmp_path, final)
    assert torch.load(ckpts / "last.ckpt", map_location="cpu",
                      weights_only=True)["global_step"] == max_steps  # fmt: skip
    assert not list(ckpts.glob(TEMP_GLOB)), "partial files of killed writes were not removed"


def test_sigterm_saves_the_step_reached_exits_and_resumes(tmp_path):
    max_steps = 12
    # No periodic checkpoint before the signal: whatever is there was saved on SIGTERM.
    proc, probe, log = _start(tmp_path, 0, max_steps, 100,
                              extra=["+callbacks.probe.step_delay_s=0.2"])  # fmt: skip
    try:
        _wait_for_step(proc, probe, 3)
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        rc = proc.wait(timeout=SIGTERM_EXIT_BOUND_S)
        took = time.monotonic() - t0
    finally:
        _close(proc, log)
    out = _log(tmp_path, 0)
    assert rc == PREEMPTED_EXIT_CODE, out[-3000:]
    reached = _probe(probe)[1]
    assert reached < max_steps and took < SIGTERM_EXIT_BOUND_S
    assert f"SIGTERM: saved step {reached} to " in out and "Traceback" not in out
    ckpts = tmp_path / "run" / "checkpoints"
    assert _checkpoint_steps(ckpts) == {"last.ckpt": reached}

    proc, probe, log = _start(tmp_path, 1, max_steps, 100)
    try:
        rc = proc.wait(timeout=STEP_TIMEOUT_S + 60)
    finally:
        _close(proc, log)
    assert rc == 0, _log_tail(tmp_path, 1)
    assert _probe(probe) == (reached, max_steps)
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["global_step"] == max_steps


def test_checkpoints_are_written_beside_their_target_fsynced_and_renamed(tmp_path, monkeypatch):
    """Why the plugin exists: Lightning's writer stages in $TMPDIR (a copy, not a rename,
    across file systems); ours stages in the checkpoint's folder, fsyncs, os.replace()s."""
    import tempfile

    from pytorch_lightning.plugins.io import TorchCheckpointIO

    staged = []
    real_mkstemp = tempfile.mkstemp

    def spy_mkstemp(*args, **kwargs):
        staged.append(real_mkstemp(*args, **kwargs))
        return staged[-1]

    monkeypatch.setattr(tempfile, "mkstemp", spy_mkstemp)
    TorchCheckpointIO().save_checkpoint({"a": 1}, tmp_path / "lightning.ckpt")
    assert staged and Path(staged[0][1]).parent == Path(tempfile.gettempdir())

    calls = []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace",
                        lambda a, b: calls.append(("replace", Path(a).parent, Path(b).name))
                        or real_replace(a, b))  # fmt: skip
    (tmp_path / ".semcolor-partial-1-dead.tmp").write_bytes(b"left by a killed run")
    AtomicCheckpointIO().save_checkpoint({"a": 2}, tmp_path / "last.ckpt")
    assert calls[:2] == ["fsync", ("replace", tmp_path, "last.ckpt")]  # file fsync'd, renamed
    assert torch.load(tmp_path / "last.ckpt", weights_only=True) == {"a": 2}
    assert not list(tmp_path.glob(TEMP_GLOB))  # the stale partial file is gone


def test_auto_resume_skips_partial_files_and_takes_lightnings_slurm_checkpoint(tmp_path):
    from semcolor.cli.train import resolve_auto_ckpt
    from tests.lit.helpers import compose_train

    def ckpt(path: Path, step: int) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"global_step": step, "optimizer_states": []}, path)
        return path

    cfg = compose_train([f"paths.output_dir={tmp_path}", "ckpt_path=auto"])
    ckpt(tmp_path / "checkpoints" / "last.ckpt", 4)
    ckpt(tmp_path / "checkpoints" / ".semcolor-partial-1-dead.tmp", 9)  # complete, yet no name
    resolve_auto_ckpt(cfg)
    assert Path(cfg.ckpt_path).name == "last.ckpt"
    hpc = ckpt(tmp_path / "hpc_ckpt_2.ckpt", 6)  # saved by Lightning on SLURM's requeue signal
    cfg.ckpt_path = "auto"
    resolve_auto_ckpt(cfg)
    assert Path(cfg.ckpt_path) == hpc


# ---------------------------------------------------------------------- SIGTERM under DDP
_DDP_SIGTERM = r"""
import sys
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException
from semcolor.lit.callbacks import PREEMPTED_EXIT_CODE, SaveOnSigterm
from tests.lit.test_kill_resume import RankProbe

out = sys.argv[1]


class Net(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 1)

    def training_step(self, batch, i):
        return self.lin(batch).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


data = torch.utils.data.DataLoader(torch.randn(2000, 4), batch_size=2)
trainer = pl.Trainer(
    accelerator="cpu", devices=2, strategy="ddp", max_steps=1000, logger=False,
    enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
    default_root_dir=out, callbacks=[SaveOnSigterm(), RankProbe(out, 0.05)],
)
try:
    trainer.fit(Net(), data)
except SIGTERMException:
    sys.exit(PREEMPTED_EXIT_CODE)
"""


class RankProbe(pl.Callback):
    """Each rank appends ``pid P``, ``step N`` (after each batch) and ``stopped EXC N`` (on
    an exception) to ``<out_dir>/rank<R>.txt``."""

    def __init__(self, out_dir: str, step_delay_s: float = 0.0):
        self.out_dir, self.step_delay_s = out_dir, step_delay_s

    def _write(self, trainer, line: str) -> None:
        with open(os.path.join(self.out_dir, f"rank{trainer.global_rank}.txt"), "a") as f:
            f.write(line + "\n")

    def on_train_start(self, trainer, pl_module) -> None:
        self._write(trainer, f"pid {os.getpid()}")

    def on_train_batch_end(self, trainer, *args, **kwargs) -> None:
        self._write(trainer, f"step {trainer.global_step}")
        time.sleep(self.step_delay_s)

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._write(trainer, f"stopped {type(exception).__name__} {trainer.global_step}")


def _ddp_probe(path: Path) -> dict[str, Any]:
    """pid, last step and the stop line a rank's probe file holds so far."""
    info: dict[str, Any] = {"pid": None, "step": 0, "stopped": None}
    for line in path.read_text().splitlines() if path.is_file() else []:
        kind, _, rest = line.partition(" ")
        if kind == "pid":
            info["pid"] = int(rest)
        elif kind == "step":
            info["step"] = int(rest)
        elif kind == "stopped":
            info["stopped"] = rest
    return info


@pytest.mark.parametrize("signalled", [1, pytest.param(0, marks=pytest.mark.slow)])
def test_sigterm_to_one_ddp_rank_stops_every_rank_at_the_same_saved_step(tmp_path, signalled):
    """Two gloo processes (as torchrun starts them); SIGTERM reaches one rank only. Every rank
    must agree, save once, stop at the same step and exit 143; last.ckpt holds that step.
    (Lightning's own notifier broadcast from inside the signal handler: the ranks' collectives
    fell out of step and the run hung or stopped one rank.)"""
    script = tmp_path / "ddp_sigterm.py"
    script.write_text(_DDP_SIGTERM)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs, logs = [], []
    for rank in (0, 1):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
               "NODE_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
               "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}  # fmt: skip
        logs.append(open(tmp_path / f"log{rank}.txt", "w"))  # noqa: SIM115 - closed below
        procs.append(subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env,
                                      stdout=logs[-1], stderr=subprocess.STDOUT))  # fmt: skip
    probes = [tmp_path / f"rank{r}.txt" for r in (0, 1)]
    try:
        end = time.monotonic() + STEP_TIMEOUT_S
        while min(_ddp_probe(p)["step"] for p in probes) < 3:
            assert all(p.poll() is None for p in procs), "a rank exited before step 3"
            assert time.monotonic() < end, "no step 3 in time"
            time.sleep(POLL_S)
        os.kill(_ddp_probe(probes[signalled])["pid"], signal.SIGTERM)
        codes = [p.wait(timeout=SIGTERM_EXIT_BOUND_S) for p in procs]
    finally:
        for p, f in zip(procs, logs, strict=True):
            if p.poll() is None:
                p.kill()
                p.wait()
            f.close()
    out = "\n".join((tmp_path / f"log{r}.txt").read_text()[-1500:] for r in (0, 1))
    assert codes == [PREEMPTED_EXIT_CODE] * 2, out
    ranks = [_ddp_probe(p) for p in probes]
    step = ranks[0]["step"]
    assert [r["step"] for r in ranks] == [step, step], out  # the same last batch
    assert [r["stopped"] for r in ranks] == [f"SIGTERMException {step}"] * 2, out
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == step


@pytest.mark.slow
def test_sigterm_to_a_ddp_semcolor_train_saves_once_and_stops_both_ranks(tmp_path):
    """The real entry point with Lightning's own launcher (``trainer=ddp``, 2 CPU processes):
    SIGTERM to the command's process (rank 0) reaches rank 1 through the launcher; both stop
    at the same step, last.ckpt holds it, the command exits 143."""
    marks = tmp_path / "ranks"
    marks.mkdir()
    proc, _, log = _start(tmp_path, 0, 200, 100, extra=[
        "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
        f"+callbacks.ranks._target_={HOOKS}.RankProbe", f"+callbacks.ranks.out_dir={marks}",
        "+callbacks.ranks.step_delay_s=0.2",
    ])  # fmt: skip
    probes = [marks / f"rank{r}.txt" for r in (0, 1)]
    try:
        _wait_for(lambda: min(_ddp_probe(p)["step"] for p in probes) >= 3, proc,
                  "step 3 on both ranks", timeout=STEP_TIMEOUT_S + 60)  # fmt: skip
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=SIGTERM_EXIT_BOUND_S)
    finally:
        _close(proc, log)
    out = _log(tmp_path, 0)
    assert rc == PREEMPTED_EXIT_CODE, out[-3000:]
    ranks = [_ddp_probe(p) for p in probes]
    step = ranks[0]["step"]
    assert [r["stopped"] for r in ranks] == [f"SIGTERMException {step}"] * 2, out[-3000:]
    assert f"SIGTERM: saved step {step} to " in out
    assert _checkpoint_steps(tmp_path / "run" / "checkpoints") == {"last.ckpt": step}
