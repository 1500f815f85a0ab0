"""Paths CI does not run: CUDA mixed precision (``-m gpu``) and torch.compile (``-m slow``)."""

from __future__ import annotations

import pytest
import torch

from semcolor.cli.train import train
from tests.lit.helpers import compose_train, tiny_overrides


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_bf16_fast_dev_run(tmp_path):
    cfg = compose_train(["+experiment=segclassregsoft", *tiny_overrides(tmp_path),
                         "trainer=gpu", "trainer.accelerator=gpu",
                         "+trainer.fast_dev_run=true"])  # fmt: skip
    trainer = train(cfg)
    assert trainer.global_step == 1
    assert torch.isfinite(trainer.callback_metrics["train/loss"])


@pytest.mark.slow
def test_torch_compile_option_trains_and_keeps_state_dict_names(tmp_path):
    cfg = compose_train(["+experiment=regsoft", *tiny_overrides(tmp_path),
                         "module.compile=true", "trainer.max_steps=2",
                         "trainer.limit_val_batches=0"])  # fmt: skip
    trainer = train(cfg)
    assert trainer.global_step == 2
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert all(not k.startswith("net._orig_mod") for k in ckpt["state_dict"])
