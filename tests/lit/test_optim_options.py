"""Training options chosen by the machine or for a pretrained encoder: trainer.precision=auto,
module.memory_format, module.encoder_lr_mult / freeze_encoder_steps / freeze_encoder_bn."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from semcolor import hardware
from semcolor.cli.train import build, train
from tests.lit.helpers import compose_train, tiny_overrides


def _cfg(tmp_path, *extra):
    over = [o for o in tiny_overrides(tmp_path) if not o.startswith("trainer.precision")]
    return compose_train(["+experiment=regsoft", *over, *extra])


@pytest.mark.parametrize(
    ("cpu", "want"), [(("avx512_bf16",), "bf16-mixed"), (("avx2",), "32-true")]
)
def test_precision_auto_resolves_from_the_cpu(tmp_path, monkeypatch, caplog, cpu, want):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(cpu))
    cfg = _cfg(tmp_path)
    assert cfg.trainer.precision == "auto"
    with caplog.at_level("INFO", logger="semcolor.train"):
        _, module, trainer = build(cfg)
    assert trainer.precision == want
    assert module.run_config["trainer"]["precision"] == want  # checkpoints store the choice
    assert f"trainer.precision=auto -> {want}" in caplog.text


def test_explicit_precision_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    _, _, trainer = build(_cfg(tmp_path, "trainer.precision=32-true"))
    assert trainer.precision == "32-true"


def test_channels_last_and_encoder_groups_train(tmp_path):
    cfg = _cfg(tmp_path, "trainer.precision=32-true", "trainer.max_steps=2",
               "trainer.limit_val_batches=0", "module.encoder_lr_mult=0.1",
               "module.memory_format=auto")  # fmt: skip
    trainer = train(cfg)
    module = trainer.lightning_module
    w = next(p for p in module.net.encoder.parameters() if p.dim() == 4)
    assert w.is_contiguous(memory_format=torch.channels_last)
    groups = {g["name"]: g for g in trainer.optimizers[0].param_groups}
    assert set(groups) == {"encoder", "rest"}
    base = cfg.optimizer.lr
    # Both groups follow the schedule from their own start: the encoder stays at 0.1x.
    assert groups["encoder"]["initial_lr"] == pytest.approx(0.1 * base)
    assert groups["rest"]["initial_lr"] == pytest.approx(base)
    assert groups["encoder"]["lr"] == pytest.approx(0.1 * groups["rest"]["lr"])
    n_enc = sum(1 for _ in module.net.encoder.parameters())
    assert len(groups["encoder"]["params"]) == n_enc
    assert n_enc + len(groups["rest"]["params"]) == sum(1 for _ in module.parameters())


def test_frozen_start_and_frozen_bn(tmp_path):
    cfg = _cfg(tmp_path, "trainer.precision=32-true", "trainer.max_steps=2",
               "trainer.limit_val_batches=0", "module.freeze_encoder_steps=1",
               "module.freeze_encoder_bn=true", "trainer.gradient_clip_val=null")  # fmt: skip
    dm, module, trainer = build(cfg)
    enc0 = {k: v.clone() for k, v in module.net.encoder.state_dict().items()}
    dec0 = {k: v.clone() for k, v in module.net.decoder.state_dict().items()}
    seen = []

    class Rec(pl.Callback):
        def on_train_batch_end(self, tr, pl_module, *a):
            enc = pl_module.net.encoder.state_dict()
            seen.append({
                "weights_moved": any(not torch.equal(enc[k], enc0[k]) for k in enc
                                     if "running" not in k and "num_batches" not in k),
                "bn_moved": any(not torch.equal(enc[k], enc0[k]) for k in enc
                                if "running" in k),
            })  # fmt: skip

    trainer.callbacks.append(Rec())
    trainer.fit(module, datamodule=dm)
    assert seen[0] == {"weights_moved": False, "bn_moved": False}  # step 1: frozen
    assert seen[1] == {"weights_moved": True, "bn_moved": False}  # then trains, BN kept
    dec = module.net.decoder.state_dict()
    assert any(not torch.equal(dec[k], dec0[k]) for k in dec)


def test_bad_values_are_refused(tmp_path):
    for bad, msg in (("module.encoder_lr_mult=-1", "encoder_lr_mult must be >= 0"),
                     ("module.memory_format=nhwc", "unknown memory_format 'nhwc'"),
                     ("module.freeze_encoder_steps=-2", "freeze_encoder_steps must be >= 0")):
        with pytest.raises(ValueError, match=msg):
            build(_cfg(tmp_path, bad))
