"""semcolor-train as a user runs it: a user error is one clean message and exit status 2."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

from tests.lit.helpers import TINY_CLI


def _run(tmp_path, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEMCOLOR_CACHE": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "semcolor.cli.train", *args, f"hydra.run.dir={tmp_path}/run"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip


def test_missing_dataset_is_one_clean_message_with_the_layout(tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)  # e.g. a run being resumed
    r = _run(tmp_path, "+experiment=regsoft", "data=camvid", f"paths.data_root={tmp_path}/no")
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "HYDRA_FULL_ERROR" not in r.stderr
    assert "semcolor-train: error: 1 data folder(s) of data=camvid are missing" in r.stderr
    assert f"CamVid  {tmp_path}/no/camvid  (data.train.root)" in r.stderr
    assert "CamVid:\n<root>/" in r.stderr  # the layout, with real line breaks
    # a run folder holding more than what this launch made is kept
    assert (tmp_path / "run" / "checkpoints").is_dir() and (tmp_path / "run" / ".hydra").is_dir()


def _launch_in(cwd, *args):
    """semcolor-train from ``cwd`` with Hydra's default run folder (outputs/<date>/<time>)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEMCOLOR_CACHE": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "semcolor.cli.train", *args],
                          capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)  # fmt: skip


def test_every_missing_folder_of_a_mix_at_once_and_no_run_folder_left(tmp_path):
    data = tmp_path / "data"
    (data / "imagen1k").mkdir(parents=True)  # one of the mix's folders is there
    r = _launch_in(tmp_path, "+experiment=segclassregsoft", "data=mixed",
                   f"paths.data_root={data}")  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "4 data folder(s) of data=mixed are missing" in r.stderr
    for name in ("imagenette", "bsds500", "tiny-imagenet-200", "camvid"):
        assert f"{data}/{name}" in r.stderr, name
    assert f"{data}/imagen1k " not in r.stderr
    assert "TinyImageNet:\n<root>/wnids.txt" in r.stderr
    assert not (tmp_path / "outputs").exists()  # no empty outputs/<date>/<time>/ left


def test_empty_data_root_is_named():
    from semcolor.cli.train import check_data_folders, remove_empty_run_folder
    from tests.lit.helpers import compose_train

    with pytest.raises(ValueError, match=r"^paths.data_root is empty, and data=mixed") as e:
        check_data_folders(compose_train(["data=mixed", "paths.data_root="]))
    assert "/imagenette" not in str(e.value)
    check_data_folders(compose_train(["data=synthetic", "paths.data_root="]))  # not read
    remove_empty_run_folder()  # outside a Hydra job: nothing to do


TINY = TINY_CLI


def test_resume_with_ckpt_path_alone_continues_the_same_run(tmp_path):
    import torch

    first = _run(tmp_path, "+experiment=regsoft", *TINY, "trainer.max_steps=2",
                 "trainer.log_every_n_steps=1")  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    meta = torch.load(last, weights_only=True)["semcolor"]
    assert "+experiment=regsoft" in meta["overrides"]

    # Only the checkpoint and a longer budget: the stored command line supplies the rest
    # (the regsoft heads, the tiny data), the run folder is the same one.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEMCOLOR_CACHE": str(tmp_path / "cache")}
    again = subprocess.run(
        [sys.executable, "-m", "semcolor.cli.train", f"ckpt_path={last}", "trainer.max_steps=4"],
        capture_output=True, text=True, env=env, cwd=tmp_path / "run", timeout=300,
    )  # fmt: skip
    out = again.stdout + again.stderr
    assert again.returncode == 0, out[-3000:]
    assert "changed from its stored config" in out
    assert "trainer.max_steps: 2 -> 4" in out
    resumed = torch.load(last, weights_only=True)
    assert resumed["global_step"] == 4  # continued the same run's last.ckpt
    assert resumed["semcolor"]["config"]["model"]["heads"] == ["reg", "dist"]
    assert resumed["semcolor"]["config"]["paths"]["output_dir"] == str(tmp_path / "run")

    # The CSV log holds the whole run, each step once; a resume with nothing left to train
    # (Lightning's CSVLogger deleted the file then) keeps it.
    metrics = tmp_path / "run" / "csv" / "metrics.csv"

    def train_steps() -> list[int]:
        with open(metrics, newline="") as f:
            return [int(r["step"]) for r in csv.DictReader(f) if r.get("train/loss")]

    assert train_steps() == [0, 1, 2, 3]
    idle = subprocess.run(
        [sys.executable, "-m", "semcolor.cli.train", f"ckpt_path={last}", "trainer.max_steps=4"],
        capture_output=True, text=True, env=env, cwd=tmp_path / "run", timeout=300,
    )  # fmt: skip
    assert idle.returncode == 0, (idle.stdout + idle.stderr)[-3000:]
    assert train_steps() == [0, 1, 2, 3]


def test_training_output_keeps_our_warnings_and_ends_with_the_run(tmp_path):
    """No Lightning advert, no other libraries' deprecation warnings, no log_every_n_steps
    advice (2 batches < 10); semcolor's own deprecation warning stays; the last line names
    the run folder and its last checkpoint."""
    r = _run(tmp_path, "+experiment=regsoft", *TINY, "trainer.max_steps=2", "loss.w_soft=1.0")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    for noise in ("Tip:", "litlogger", "set_vital", "LeafSpec", "log_every_n_steps",
                  "weights_only", "exists and is not empty"):  # fmt: skip
        assert noise not in out, noise
    assert "loss.w_soft is deprecated; write loss.w_dist=1.0" in out
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert r.stdout.strip().splitlines()[-1] == (
        f"semcolor-train: done at step 2: run folder {tmp_path / 'run'}; last checkpoint {last}"
    )
    assert last.is_file()


def test_resume_from_a_slim_export_says_to_use_init_from(tmp_path):
    from semcolor.inference import DEFAULT_MODEL

    r = _run(tmp_path, f"ckpt_path={DEFAULT_MODEL}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "module.init_from=" in r.stderr


def test_resume_argv_replays_stored_overrides_and_the_users_win(tmp_path):
    import torch

    from semcolor.cli.train import config_differences, resume_argv

    run = tmp_path / "my run"
    (run / "checkpoints").mkdir(parents=True)
    ckpt = run / "checkpoints" / "last.ckpt"
    stored = ["+experiment=regsoft", "data.batch_size=4", "ckpt_path=old.ckpt", "seed=1"]
    torch.save({"semcolor": {"config": {}, "overrides": stored}, "optimizer_states": []}, ckpt)
    argv = resume_argv([f"ckpt_path={ckpt}", "data.batch_size=8"])
    assert argv[:2] == ["+experiment=regsoft", "seed=1"]  # stored, minus repeated/ckpt_path
    assert argv[2:4] == [f"ckpt_path={ckpt}", "data.batch_size=8"]
    assert argv[4] == f"hydra.run.dir='{run}'"  # quoted: the path has a space
    assert resume_argv(["+experiment=soft"]) == ["+experiment=soft"]  # no resume: unchanged
    assert config_differences({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}, "d": 0}) == [
        "a.c: 2 -> 3", "d: '<absent>' -> 0"
    ]  # fmt: skip


def test_a_crafted_checkpoint_cannot_make_a_resume_run_code(tmp_path, caplog):
    """A checkpoint is data. Its stored command line is replayed only where an override
    cannot name code: no _target_/_args_/_partial_ keys, no dict values (a whole node with a
    _target_), no interpolations, no hydra.*, group selections only of the package's configs.
    Each dropped override is named with the reason."""
    import logging

    import torch
    from omegaconf import OmegaConf

    from semcolor.cli.train import resume_argv
    from tests.lit.helpers import compose_train

    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    code = [
        "+callbacks.pwn={_target_:builtins.exec,_args_:['import os']}",  # a whole node
        "callbacks.model_checkpoint._target_=builtins.exec",
        "+callbacks.x._target_=builtins.exec",
        "+callbacks.x._args_=['import os']",
        "module._partial_=true",
        "+trainer.plugins=[{_target_:builtins.exec}]",
        "+logger.y='${oc.create:{_target_:builtins.exec}}'",
        "hydra.callbacks.z._target_=builtins.exec",
        "hydra/launcher=basic",
        "data=../../../tmp/evil",  # a group selection outside the package
        "+experiment=not_a_packaged_config",
    ]
    safe = ["+experiment=regsoft", "data=camvid", "data.batch_size=4", "~logger",
            "+trainer.profiler=simple", "data.crop_size=[64,64]"]  # fmt: skip
    torch.save({"semcolor": {"config": {}, "overrides": [*safe, *code]},
                "optimizer_states": []}, ckpt)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="semcolor.train"):
        argv = resume_argv([f"ckpt_path={ckpt}"])
    assert argv[: len(safe)] == safe
    assert argv[len(safe):] == [f"ckpt_path={ckpt}", f"hydra.run.dir={tmp_path / 'run'}"]
    assert f"{len(code)} stored override(s) not replayed" in caplog.text
    for o in code:
        assert o in caplog.text
    # what Hydra composes from the replayed command line instantiates only packaged targets
    cfg = OmegaConf.to_container(compose_train([a for a in argv if not a.startswith("hydra.")]))
    targets = []

    def walk(node):
        if isinstance(node, dict):
            targets.extend(v for k, v in node.items() if k == "_target_")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(cfg)
    assert targets and all(t.split(".")[0] in ("semcolor", "pytorch_lightning", "torch")
                           for t in targets), targets  # fmt: skip
