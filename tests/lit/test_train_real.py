"""A few real training steps on the shared data (data=mixed): photos + Tiny ImageNet + CamVid.

Skipped when ``../shared`` is absent. Tiny settings (32x32 crops, batch 4, 3 steps, one
validation batch of imagen1k val) so that it stays a smoke test of the real loaders, labels
and heads end to end rather than a training run.
"""

from __future__ import annotations

import csv

import pytest
import torch

from semcolor.cli.train import train
from tests.lit.helpers import compose_train

pytestmark = pytest.mark.shared


def _overrides(data_root, tmp_path) -> list[str]:
    return [
        "+experiment=segclassregsoft",
        "data=mixed",
        f"paths.data_root={data_root}",
        f"paths.output_dir={tmp_path}",
        f"paths.cache_dir={tmp_path}/cache",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=1",
        "trainer.max_steps=3",
        "trainer.max_epochs=-1",
        "++trainer.val_check_interval=3",  # the mix's epoch is long: validate at step 3
        "trainer.limit_val_batches=1",
        "callbacks.model_checkpoint.every_n_train_steps=3",
        "model.decoder_channels=[32,16,16,8,8]",
        "data.crop_size=32",
        "data.batch_size=4",
        "data.num_workers=0",
        "data.prior_images=16",
        "logger=csv",
    ]


def test_three_steps_on_the_real_mix(shared_dir, tmp_path):
    data_root = shared_dir / "data"
    for sub in ("tiny-imagenet-200", "camvid", "bsds500", "imagenette", "imagen1k"):
        if not (data_root / sub).is_dir():
            pytest.skip(f"{data_root / sub} not available")
    torch.manual_seed(0)
    cfg = compose_train(_overrides(data_root, tmp_path))
    assert cfg.model.num_scene_classes == 200 and cfg.model.num_seg_classes == 11
    trainer = train(cfg)

    assert trainer.global_step == 3
    ckpt_dir = tmp_path / "checkpoints"
    assert (ckpt_dir / "last.ckpt").is_file()
    assert (ckpt_dir / "step0000003.ckpt").is_file()
    ckpt = torch.load(ckpt_dir / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 3
    assert ckpt["semcolor"]["model"]["num_scene_classes"] == 200
    # The rebalancing prior was estimated from the real training images and cached.
    assert len(list((tmp_path / "cache").glob("prior_mixed_*.npy"))) == 1
    # Every loss term was logged and finite; validation ran on imagen1k val (bench metrics).
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["train/loss"])
    for term in ("dist", "reg", "scene", "seg"):
        assert torch.isfinite(metrics[f"train/{term}"]), term
    assert "val/loss" in metrics and torch.isfinite(metrics["val/loss"])
    assert metrics["val/gray_psnr"] > 15 and torch.isfinite(metrics["val/dist_psnr"])
    rows = list(csv.DictReader(open(tmp_path / "csv" / "metrics.csv")))
    assert any(r.get("train/loss") for r in rows)
