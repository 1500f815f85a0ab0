"""Fine-tuning (``module.init_from``): the run starts from a checkpoint's weights, the shipped
default model included, with fresh optimizer state and step count."""

from __future__ import annotations

import pytest
import torch

from semcolor.cli.train import build, train
from semcolor.inference import DEFAULT_MODEL
from tests.lit.helpers import compose_train, tiny_overrides


def _cfg(tmp_path, *extra):
    return compose_train([
        "+experiment=segclassregsoft", *tiny_overrides(tmp_path), "trainer.limit_val_batches=0",
        *extra,
    ])  # fmt: skip


def _net_state(ckpt) -> dict[str, torch.Tensor]:
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    if not any(k.startswith("net.") for k in state):  # a slim export (the shipped model)
        return dict(state)
    return {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}


def test_init_from_starts_from_the_checkpoint_weights_with_fresh_optimizer(tmp_path):
    first = train(_cfg(tmp_path / "a", "trainer.max_steps=3"))
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    assert first.global_step == 3
    source = _net_state(ckpt)

    dm, module, trainer = build(_cfg(tmp_path / "b", f"module.init_from={ckpt}"))
    start = module.net.state_dict()
    assert set(start) == set(source)
    for k, v in source.items():
        assert torch.equal(start[k], v), k
    # A fresh seed-built network differs, so the equality above is the copy's doing.
    _, fresh_module, _ = build(_cfg(tmp_path / "c", "seed=7"))
    k = next(k for k, v in source.items() if v.is_floating_point() and v.numel() > 100)
    assert not torch.equal(fresh_module.net.state_dict()[k], source[k])

    tuned = train(_cfg(tmp_path / "b2", f"module.init_from={ckpt}", "trainer.max_steps=2"))
    assert tuned.global_step == 2  # the step count starts afresh, not at 3
    opt = tuned.optimizers[0].state_dict()
    assert int(opt["state"][0]["step"]) == 2  # so does the optimizer's


def test_a_head_sized_differently_starts_fresh_and_the_body_is_copied(tmp_path):
    train(_cfg(tmp_path / "a", "trainer.max_steps=1"))
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    source = _net_state(ckpt)
    _, module, _ = build(_cfg(tmp_path / "b", f"module.init_from={ckpt}",
                              "data.num_scene_classes=7"))
    state = module.net.state_dict()
    scene_out = [k for k in state if k.startswith("scene_head.") and
                 state[k].shape != source[k].shape]  # fmt: skip
    assert scene_out  # the classifier's last layer changed size
    for k, v in state.items():
        if not k.startswith("scene_head."):
            assert torch.equal(v, source[k]), k


def test_init_from_a_different_body_names_the_overrides_that_fix_it(tmp_path):
    train(_cfg(tmp_path / "a", "trainer.max_steps=1"))
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    with pytest.raises(ValueError, match=r"model\.decoder_channels=\[32,16,16,8,8\]"):
        build(_cfg(tmp_path / "b", f"module.init_from={ckpt}",
                   "model.decoder_channels=[64,32,16,8,8]"))  # fmt: skip


@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="no default model shipped")
def test_init_from_default_loads_the_shipped_model(tmp_path):
    cfg = compose_train([
        "+experiment=regsoft", "model=efficientnet_lite0", "model.encoder_weights=null",
        "model.input_norm=[0.5,0.5]",  # what encoder_weights=imagenet implies
        "module.init_from=default", *tiny_overrides(tmp_path),
        "model.decoder_channels=[128,64,48,32,16]",  # tiny_overrides narrows it
    ])  # fmt: skip
    _, module, _ = build(cfg)
    shipped = _net_state(DEFAULT_MODEL)
    state = module.net.state_dict()
    assert set(state) <= set(shipped)
    for k, v in state.items():
        assert torch.equal(v, shipped[k].to(v.dtype)), k
