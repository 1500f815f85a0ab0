"""Configs compose, training runs on CPU, resumes exactly, and survives NaN losses."""

from __future__ import annotations

import pytest
import torch

from semcolor.cli.train import build, train
from tests.lit.helpers import EXPERIMENTS, compose_train, tiny_overrides


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_instantiates(tmp_path, experiment):
    cfg = compose_train([f"+experiment={experiment}", *tiny_overrides(tmp_path)])
    dm, module, trainer = build(cfg)
    heads = {"soft": ("dist",), "reg": ("reg",), "regsoft": ("reg", "dist"),
             "classregsoft": ("reg", "dist", "scene"),
             "segclassregsoft": ("reg", "dist", "scene", "seg")}[experiment]  # fmt: skip
    assert module.net.heads == heads
    batch = next(iter(dm.train_dataloader()))
    res = module.criterion(module(batch["L"]), batch)
    expected_terms = {"dist": "dist", "reg": "reg", "scene": "scene", "seg": "seg"}
    assert set(res.terms) == {expected_terms[h] for h in heads}


@pytest.mark.parametrize(
    "override",
    ["model=unet_plain", "scheduler=cosine", "scheduler=cyclic", "scheduler=none",
     "optimizer=adam", "model=mobilenet_v2", "trainer=ddp", "trainer=gpu"],
)  # fmt: skip
def test_config_options_compose(tmp_path, override):
    cfg = compose_train([override, *tiny_overrides(tmp_path)])
    assert cfg.model.num_scene_classes == cfg.data.num_scene_classes
    if override == "scheduler=cyclic":
        assert cfg.module.scheduler_interval == "step"


def test_fast_dev_run_cpu(tmp_path):
    cfg = compose_train(["+experiment=segclassregsoft", "+trainer.fast_dev_run=true",
                         *tiny_overrides(tmp_path)])  # fmt: skip
    trainer = train(cfg)
    assert trainer.global_step == 1
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    # The prior was estimated from the training data and cached for the next run, under a
    # name keyed by what determines it.
    cached = list((tmp_path / "cache").glob("prior_synthetic_*.npy"))
    assert len(cached) == 1
    assert trainer.lightning_module.prior_key[:16] in cached[0].name


def _run(tmp_path, max_steps: int, every: int, ckpt_path=None, extra=()):
    cfg = compose_train([
        "+experiment=segclassregsoft", *tiny_overrides(tmp_path),
        f"trainer.max_steps={max_steps}", "trainer.limit_val_batches=0",
        f"callbacks.model_checkpoint.every_n_train_steps={every}",
        "scheduler=cyclic", "scheduler.step_size_up=3",
        *( [f"ckpt_path={ckpt_path}"] if ckpt_path else [] ), *extra,
    ])  # fmt: skip
    return train(cfg)


def test_resume_continues_global_step_optimizer_and_schedule(tmp_path):
    first = _run(tmp_path, max_steps=4, every=2)
    ckpt_dir = tmp_path / "checkpoints"
    assert first.global_step == 4 and (ckpt_dir / "last.ckpt").is_file()
    assert (ckpt_dir / "step0000002.ckpt").is_file()
    state4 = torch.load(ckpt_dir / "last.ckpt", weights_only=True)
    # Resume from the step-2 checkpoint and run to step 4 again: same place, same state.
    resumed = _run(
        tmp_path / "again", max_steps=4, every=100, ckpt_path=ckpt_dir / "step0000002.ckpt"
    )
    assert resumed.global_step == 4
    sched_a = state4["lr_schedulers"][0]
    sched_b = resumed.lr_scheduler_configs[0].scheduler.state_dict()
    assert sched_a["last_epoch"] == sched_b["last_epoch"] == 4
    opt_b = resumed.optimizers[0].state_dict()
    assert opt_b["state"][0]["step"] == state4["optimizer_states"][0]["state"][0]["step"]


def test_checkpoint_is_weights_only_and_self_contained(tmp_path):
    _run(tmp_path, max_steps=2, every=2)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    meta = ckpt["semcolor"]
    assert meta["arch"] == "SemColorNet" and meta["version"]
    assert meta["ab_bins"].shape == (313, 2)
    assert meta["prior"]["weights"].shape == (313,)
    assert len(meta["prior_key"]) == 40  # sha1 of what determined the prior
    assert meta["temperature"] == pytest.approx(0.38)
    assert meta["config"]["model"]["encoder"] == "resnet18"
    # The network is rebuilt from the checkpoint alone.
    from semcolor.models import SemColorNet

    net = SemColorNet(**meta["model"])
    state = {k[4:]: v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    net.load_state_dict(state)
    out = net.eval()(torch.zeros(1, 1, 32, 32))
    assert out.ab_logits.shape[1] == 313


def test_nan_losses_are_skipped_then_stop_training(tmp_path, monkeypatch):
    from semcolor.lit import NonFiniteLossError
    from semcolor.losses import MultiTaskLoss

    real = MultiTaskLoss.forward
    calls = {"n": 0}

    def flaky(self, out, batch):
        calls["n"] += 1
        res = real(self, out, batch)
        if calls["n"] in (2, 3) or calls["n"] >= 6:  # two isolated NaNs, then NaN forever
            res.total = res.total * float("nan")
        return res

    monkeypatch.setattr(MultiTaskLoss, "forward", flaky)
    with pytest.raises(NonFiniteLossError, match="3 non-finite losses in a row"):
        _run(tmp_path, max_steps=50, every=1, extra=["module.max_nan_in_a_row=3"])
    ckpt_dir = tmp_path / "checkpoints"
    # A skipped batch still counts as a step (Lightning), but no update happens: the weights
    # in the last checkpoint, written after two skips, are finite and loadable.
    ckpt = torch.load(ckpt_dir / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 7
    assert ckpt["semcolor"]["nan_skipped"] == 4
    assert all(
        torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point()
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["model.foo=1"], ["'model.foo'", "encoder", "heads", "+model.foo="]),
        (["lossy.w=1", "loss.w_seg=0.5"], ["'lossy'", "<root>", "loss", "trainer"]),
        (["loss.w_seg=0.5", "model.encoder=resnet34"], None),
    ],
)
def test_unknown_config_keys_list_valid_ones(argv, expected):
    from semcolor.cli.train import _explain_unknown_key

    msg = _explain_unknown_key(argv)
    if expected is None:
        assert msg is None
    else:
        assert all(e in msg for e in expected), msg


def test_missing_resume_checkpoint_is_named(tmp_path):
    cfg = compose_train([*tiny_overrides(tmp_path), f"ckpt_path={tmp_path}/nope.ckpt"])
    with pytest.raises(FileNotFoundError, match="nope.ckpt does not exist"):
        build(cfg)


@pytest.mark.parametrize(
    "data,head", [("camvid", "scene"), ("folder", "scene"), ("tinyimagenet", "seg"),
                  ("cocostuff", "scene"), ("div2k", "scene")],
)  # fmt: skip
def test_heads_without_labels_fail_fast_with_the_fixes(tmp_path, data, head):
    """Before any data is scanned (the data root does not even exist), the error names the
    head, the dataset and the fixes."""
    cfg = compose_train(["+experiment=segclassregsoft", f"data={data}",
                         f"paths.data_root={tmp_path}/nowhere", f"paths.output_dir={tmp_path}",
                         "++data.train.root=/nowhere"])  # fmt: skip
    with pytest.raises(ValueError, match=rf"the '{head}' head is enabled but data={data}") as e:
        build(cfg)
    assert "model.heads=[" in str(e.value) and "data=mixed" in str(e.value)


def test_thesis_recipe_cocostuff_with_scene_pseudo_labels_trains_all_four_heads(tmp_path):
    """semcolor-label-scenes output + data=cocostuff data.scene_labels=FILE: the scene head
    is sized by the file's class count (no hand-set num_scene_classes) and all four terms
    train."""
    import numpy as np

    from semcolor.data.scene_labels import save_scene_labels
    from tests.data.data_helpers import make_coco_png

    root = make_coco_png(tmp_path / "data" / "cocostuff", "train", n=4)
    make_coco_png(root, "val", n=2)
    names = [f"train2017/{i + 1:012d}.jpg" for i in range(4)]
    idx = np.array([[0, 3, 5, 6, 1]] * 4)
    prob = np.full((4, 5), 0.2, np.float32)
    labels = tmp_path / "labels.npz"
    scenes = ["airfield", "beach", "coast", "desert", "forest", "harbor", "islet"]
    save_scene_labels(labels, names, idx, prob, num_classes=7, class_names=scenes)
    (root / "labels.txt").write_text("0: unlabeled\n" + "".join(f"{i}: stuff{i}\n"
                                                               for i in range(1, 183)))
    cfg = compose_train([
        "+experiment=segclassregsoft", "data=cocostuff", f"paths.data_root={tmp_path}/data",
        f"data.scene_labels={labels}", "+trainer.fast_dev_run=true",
        f"paths.output_dir={tmp_path}/run", f"paths.cache_dir={tmp_path}/cache",
        "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "logger=csv",
        "model.decoder_channels=[32,16,16,8,8]", "data.crop_size=32", "data.batch_size=2",
        "data.num_workers=0", "data.prior_images=2",
    ])  # fmt: skip
    dm, module, _ = build(cfg)
    assert module.net.init_kwargs["num_scene_classes"] == 7 and dm.num_scene_classes == 7
    assert bool(dm.train_set[0]["has_scene"])
    trainer = train(cfg)
    for term in ("dist", "reg", "scene", "seg"):
        assert torch.isfinite(trainer.callback_metrics[f"train/{term}"]), term
    # The names of the labels file and of COCO-Stuff's labels.txt reach the checkpoint
    # (weights-only) and what inference shows.
    from semcolor.inference import load_model
    from semcolor.inference.api import Colorizer

    trainer.save_checkpoint(tmp_path / "named.ckpt")
    names = torch.load(tmp_path / "named.ckpt", weights_only=True)["semcolor"]["class_names"]
    assert names["scene"] == scenes and names["seg"][:2] == ["unlabeled", "stuff1"]
    model = load_model(tmp_path / "named.ckpt")
    assert model.class_name("scene", 6) == "islet" and model.class_name("seg", 182) == "stuff182"
    a = Colorizer(model, device="cpu", size=32).analyze(np.zeros((20, 20), np.uint8))
    assert {n for n, _ in a.scene_top5} <= set(scenes)
    assert set(a.segment_names.values()) <= set(names["seg"])


def test_scene_label_count_mismatch_is_explained(tmp_path):
    import numpy as np

    from semcolor.cli.train import resolve_scene_classes
    from semcolor.data.scene_labels import save_scene_labels

    labels = tmp_path / "l.npz"
    save_scene_labels(labels, ["a.jpg"], np.array([[1]]), np.ones((1, 1), np.float32), 365)
    cfg = compose_train(["data=folder", "data.root=/x", f"data.scene_labels={labels}",
                         "data.num_scene_classes=10"])  # fmt: skip
    with pytest.raises(ValueError, match="data.num_scene_classes=365 to train"):
        resolve_scene_classes(cfg)


def test_checkpoint_retention_is_bounded(tmp_path):
    _run(tmp_path, max_steps=5, every=1)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("step*.ckpt"))
    assert kept == ["step0000003.ckpt", "step0000004.ckpt", "step0000005.ckpt"]
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


def test_sync_batchnorm_is_on_exactly_for_ddp_on_gpus(monkeypatch):
    from omegaconf import OmegaConf

    from semcolor.cli import train as train_cli

    def cfg(**kw):
        return OmegaConf.create({"accelerator": "gpu", "strategy": "auto",
                                 "sync_batchnorm": None, **kw})  # fmt: skip

    monkeypatch.setattr(train_cli, "_uses_gpu", lambda acc: acc == "gpu")
    assert train_cli.resolve_sync_batchnorm(cfg(strategy="ddp")) is True
    assert train_cli.resolve_sync_batchnorm(cfg()) is False  # one process
    assert train_cli.resolve_sync_batchnorm(cfg(accelerator="cpu", strategy="ddp")) is False
    assert train_cli.resolve_sync_batchnorm(cfg(accelerator="cpu", sync_batchnorm=True)) is False
    assert train_cli.resolve_sync_batchnorm(cfg(sync_batchnorm=False, strategy="ddp")) is False


def test_last_ckpt_is_the_final_step_off_the_checkpoint_interval(tmp_path):
    # 3 steps, a checkpoint every 2: Lightning alone leaves last.ckpt at step 2.
    _run(tmp_path, max_steps=3, every=2)
    ckpts = tmp_path / "checkpoints"
    last = torch.load(ckpts / "last.ckpt", map_location="cpu", weights_only=True)
    assert last["global_step"] == 3
    assert torch.load(ckpts / "step0000002.ckpt", map_location="cpu",
                      weights_only=True)["global_step"] == 2  # fmt: skip


def test_ckpt_path_auto_resumes_the_newest_valid_checkpoint_or_starts_fresh(tmp_path, caplog):
    from semcolor.cli.train import newest_checkpoint

    assert newest_checkpoint(tmp_path / "nothing") is None
    with caplog.at_level("INFO", logger="semcolor.train"):
        first = _run(tmp_path, max_steps=4, every=2, ckpt_path="auto")  # empty: fresh
    assert first.global_step == 4 and "starting afresh" in caplog.text
    ckpts = tmp_path / "checkpoints"
    assert newest_checkpoint(ckpts).name in ("last.ckpt", "step0000004.ckpt")  # step 4, not 2
    (ckpts / "last.ckpt").write_bytes(b"a checkpoint killed mid-write")
    (ckpts / "step0000004.ckpt").unlink()
    assert newest_checkpoint(ckpts).name == "step0000002.ckpt"  # the corrupt one is skipped
    caplog.clear()
    with caplog.at_level("INFO", logger="semcolor.train"):
        resumed = _run(tmp_path, max_steps=5, every=100, ckpt_path="auto")
    assert "resuming from" in caplog.text and "step0000002.ckpt" in caplog.text
    assert resumed.global_step == 5
    sched = resumed.lr_scheduler_configs[0].scheduler.state_dict()
    assert sched["last_epoch"] == 5
