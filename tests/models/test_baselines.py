"""The baselines (Zhang et al.'s ECCV16 network, Iizuka et al.'s network) under SemColorNet's
contract: shapes at odd sizes, parameter counts from the papers' layer tables, a
``fast_dev_run`` through the trainer, and the shared inference path through a checkpoint."""

from __future__ import annotations

import pytest
import torch

from semcolor import constants as C
from semcolor.models import ECCV16Net, IizukaNet


def conv(cin, cout, k=3):
    return cin * cout * k * k + cout


def bn(c):
    return 2 * c


def test_eccv16_shapes_and_parameter_count():
    net = ECCV16Net().eval()
    out = net(torch.rand(2, 1, 37, 50) - 0.5)
    assert out.ab_logits.shape == (2, C.NUM_AB_BINS, 10, 13)  # ceil(37/4), ceil(50/4)
    assert out.ab_reg is None and out.scene_logits is None and out.seg_logits is None
    # Zhang et al., Fig. 2: conv1 64x2, conv2 128x2, conv3 256x3, conv4-7 512x3, conv8 a 4x4
    # deconv + 256x2, a 1x1 to 313; BatchNorm closing blocks 1-7.
    blocks = [(1, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3),
              (512, 512, 3), (512, 512, 3)]  # fmt: skip
    expected = sum(conv(a, b) + (n - 1) * conv(b, b) + bn(b) for a, b, n in blocks)
    expected += 512 * 256 * 16 + 256 + 2 * conv(256, 256) + conv(256, C.NUM_AB_BINS, 1)
    assert sum(p.numel() for p in net.parameters()) == expected == 32_235_385


def test_iizuka_shapes_and_parameter_count():
    net = IizukaNet(num_scene_classes=10).eval()
    out = net(torch.rand(2, 1, 37, 50) - 0.5)
    assert out.ab_reg.shape == (2, 2, 37, 50) and out.scene_logits.shape == (2, 10)
    assert float(out.ab_reg.abs().max()) <= C.AB_SCALE
    assert out.ab_logits is None

    def cbr(a, b):
        return conv(a, b) + bn(b)

    # Iizuka et al., Table 1 (every conv 3x3 with BatchNorm).
    low = cbr(1, 64) + cbr(64, 128) + cbr(128, 128) + cbr(128, 256) + cbr(256, 256) + cbr(256, 512)
    mid = cbr(512, 512) + cbr(512, 256)
    glob = 4 * cbr(512, 512) + (7 * 7 * 512 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 256 + 256)
    fusion = conv(512, 256, 1)
    color = cbr(256, 128) + cbr(128, 64) + cbr(64, 64) + cbr(64, 32) + conv(32, 2)
    classify = (512 * 256 + 256) + (256 * 10 + 10)
    expected = low + mid + glob + fusion + color + classify
    assert sum(p.numel() for p in net.parameters()) == expected
    with pytest.raises(ValueError, match="num_scene_classes"):
        IizukaNet(heads=["reg", "scene"], num_scene_classes=0)
    assert IizukaNet(heads=["reg"]).scene_head is None


@pytest.mark.parametrize("experiment", ["eccv16", "iizuka"])
def test_baseline_trains_with_fast_dev_run_and_serves_inference(tmp_path, experiment):
    from semcolor.cli.train import train
    from semcolor.inference import load_model, predict_ab
    from tests.lit.helpers import compose_train

    over = [o for o in __import__("tests.lit.helpers", fromlist=["x"]).tiny_overrides(tmp_path)
            if not o.startswith("model.decoder_channels")]  # fmt: skip
    cfg = compose_train([f"+experiment={experiment}", *over, "trainer.max_steps=1",
                         "trainer.limit_val_batches=1"])  # fmt: skip
    trainer = train(cfg)
    assert trainer.global_step == 1
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    model = load_model(tmp_path / "checkpoints" / "last.ckpt")
    method = "dist" if experiment == "eccv16" else "reg"
    assert model.methods == (method,)
    ab = predict_ab(model.net, torch.rand(1, 1, 40, 30) * 100, size=32, methods=(method,))
    assert ab[method].shape == (1, 2, 40, 30)
