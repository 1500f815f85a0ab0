"""The shared inference path: safe checkpoint loading and L -> ab prediction."""

from __future__ import annotations

import pytest
import torch

import semcolor
from semcolor.inference import (
    CheckpointError,
    colorize_lab,
    load_model,
    predict_ab,
    save_slim_checkpoint,
    upsample_ab,
)
from semcolor.lit.module import checkpoint_meta
from semcolor.models import SemColorNet


def tiny_net(heads=("reg", "dist", "scene", "seg")) -> SemColorNet:
    torch.manual_seed(0)
    return SemColorNet(
        encoder="resnet18", decoder_channels=[32, 16, 16, 8, 8], dist_stride=4,
        num_scene_classes=5, num_seg_classes=3, heads=list(heads),
    ).eval()  # fmt: skip


def write_ckpt(path, net, version=None, **extra):
    meta = checkpoint_meta(net, None, {"model": {"encoder": "resnet18"}})
    if version:
        meta["version"] = version
    state = {"net." + k: v for k, v in net.state_dict().items()}
    torch.save({"semcolor": meta, "state_dict": state, "global_step": 7, **extra}, path)
    return path


def test_load_model_round_trip_and_slim_export(tmp_path):
    net = tiny_net()
    model = load_model(write_ckpt(tmp_path / "a.ckpt", net))
    assert model.methods == ("dist", "reg") and model.version == semcolor.__version__
    L = torch.rand(2, 1, 40, 50) * 100
    a = predict_ab(net, L, size=64, methods=("dist", "reg"))
    b = predict_ab(model.net, L, size=64, methods=("dist", "reg"))
    assert torch.equal(a["dist"], b["dist"]) and torch.equal(a["reg"], b["reg"])
    slim = save_slim_checkpoint(tmp_path / "a.ckpt", tmp_path / "slim.ckpt")
    assert slim.stat().st_size < (tmp_path / "a.ckpt").stat().st_size
    c = predict_ab(load_model(slim).net, L, size=64, methods=("dist",))
    assert (c["dist"] - a["dist"]).abs().max() < 1.0  # fp16 weights: close, not equal


def test_predict_ab_shapes_and_luminance_kept():
    net = tiny_net()
    L = torch.rand(1, 1, 37, 91) * 100
    out = predict_ab(net, L, size=64, methods=("dist", "reg"))
    assert out["dist"].shape == out["reg"].shape == (1, 2, 37, 91)
    rgb = colorize_lab(net, L, size=64)
    assert rgb.shape == (1, 3, 37, 91) and 0 <= rgb.min() and rgb.max() <= 1
    # Lower temperature: more vivid (larger mean chroma) on the same logits.
    cold = predict_ab(net, L, size=64, temperature=0.1)["dist"].norm(dim=1).mean()
    warm = predict_ab(net, L, size=64, temperature=1.0)["dist"].norm(dim=1).mean()
    assert cold > warm


def test_predict_ab_errors():
    net = tiny_net(heads=("dist",))
    with pytest.raises(ValueError, match="no head for"):
        predict_ab(net, torch.zeros(1, 1, 8, 8), methods=("reg",))
    with pytest.raises(ValueError, match="unknown method"):
        predict_ab(net, torch.zeros(1, 1, 8, 8), methods=("mode",))
    with pytest.raises(ValueError, match=r"\(B,1,H,W\)"):
        predict_ab(net, torch.zeros(1, 3, 8, 8))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"not a zip at all", "weights-only"),
        (None, "not a semcolor checkpoint"),
    ],
)
def test_load_model_rejects_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.ckpt"
    if content is None:
        torch.save({"state_dict": {}}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load_model(path)


def test_load_model_rejects_pickled_code_and_other_versions(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"semcolor": {"model": {}}, "state_dict": {}, "x": Evil()}, tmp_path / "evil.ckpt")
    with pytest.raises(CheckpointError, match="weights-only"):
        load_model(tmp_path / "evil.ckpt")
    write_ckpt(tmp_path / "old.ckpt", tiny_net(), version="99.0.0")
    with pytest.raises(CheckpointError, match="incompatible"):
        load_model(tmp_path / "old.ckpt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.ckpt")


def test_truncated_checkpoint(tmp_path):
    good = write_ckpt(tmp_path / "good.ckpt", tiny_net())
    data = good.read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "cut.ckpt")


def test_network_resolution_output_and_single_upsampling_step():
    net = tiny_net()
    L = torch.rand(2, 1, 45, 70) * 100
    full = predict_ab(net, L, size=64, methods=("dist", "reg"))
    raw = predict_ab(net, L, size=64, methods=("dist", "reg"), out_size="network")
    assert raw["dist"].shape[-2:] == (16, 16) and raw["reg"].shape[-2:] == (64, 64)
    for m in ("dist", "reg"):
        assert torch.equal(upsample_ab(raw[m], (45, 70)), full[m])
    assert upsample_ab(full["reg"], (45, 70)) is full["reg"]
    with pytest.raises(ValueError):
        upsample_ab(torch.zeros(1, 3, 4, 4), (8, 8))
