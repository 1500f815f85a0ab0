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
from tests.color.test_bins import peaked_logits


def tiny_net(heads=("reg", "dist", "scene", "seg")) -> SemColorNet:
    torch.manual_seed(0)
    return SemColorNet(
        encoder="resnet18", decoder_channels=[32, 16, 16, 8, 8], dist_stride=4,
        num_scene_classes=5, num_seg_classes=3, heads=list(heads),
    ).eval()  # fmt: skip


#: Names for tiny_net's classes (5 scene, 3 seg), as a trained checkpoint stores them.
TINY_CLASS_NAMES = {"scene": ["beach", "forest", "kitchen", "street", "sky"],
                    "seg": ["Sky", "Road", "Tree"]}  # fmt: skip


def write_ckpt(path, net, version=None, class_names=None, **extra):
    meta = checkpoint_meta(net, None, {"model": {"encoder": "resnet18"}})
    if version:
        meta["version"] = version
    if class_names:
        meta["class_names"] = class_names
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


# -- compute only what is asked ----------------------------------------------------------------


class _RecordHeads:
    """Wraps ``net.forward`` (an instance attribute, so ``net(...)`` goes through it) and
    records the ``heads=`` of every call (None for a full forward)."""

    def __init__(self, net):
        self.calls: list = []
        self._forward = net.forward
        net.forward = self

    def __call__(self, L, heads=None):
        self.calls.append(None if heads is None else tuple(heads))
        return self._forward(L, heads=heads)


@pytest.mark.parametrize(("methods", "heads"), [(("dist",), ("dist",)), (("reg",), ("reg",)),
                                                 (("reg", "dist"), ("reg", "dist"))])  # fmt: skip
def test_predict_ab_runs_only_the_heads_its_methods_read(methods, heads):
    from semcolor.color import normalize_l
    from semcolor.inference import decode_outputs

    net = tiny_net()
    L = torch.rand(2, 1, 45, 70) * 100
    # the reference: decoding of the full forward, as before the restriction
    x = torch.nn.functional.interpolate(L, size=(64, 64), mode="bilinear",
                                        align_corners=False, antialias=True)  # fmt: skip
    with torch.no_grad():
        ref = decode_outputs(net(normalize_l(x)), methods, 0.3, (45, 70))
    rec = _RecordHeads(net)
    got = predict_ab(net, L, size=64, methods=methods, temperature=0.3)
    assert rec.calls == [heads]
    for m in methods:
        assert torch.equal(got[m], ref[m]), m


def test_heads_for_and_run_network():
    from semcolor.inference import heads_for, run_network
    from semcolor.models import ECCV16Net

    assert heads_for(("dist",)) == ("dist",)
    assert heads_for(["reg", "dist", "reg"]) == ("reg", "dist")
    with pytest.warns(FutureWarning):
        assert heads_for(("soft",)) == ("dist",)
    with pytest.raises(ValueError, match=r"unknown method 'mode'; valid: \['dist', 'reg'\]"):
        heads_for(("mode",))
    with pytest.raises(ValueError, match="list of names"):
        heads_for("dist")
    net = tiny_net()
    x = torch.rand(1, 1, 32, 32) - 0.5
    with torch.no_grad():
        out = run_network(net, x, ("dist",))
        assert out.ab_reg is None and out.seg_logits is None and out.ab_logits is not None
        with pytest.raises(ValueError, match=r"no head \['sal'\].*its heads"):
            run_network(net, x, ("sal",))
        # a network whose forward takes no heads= runs in full
        eccv = ECCV16Net().eval()
        assert torch.equal(run_network(eccv, x, ("dist",)).ab_logits, eccv(x).ab_logits)


def test_baselines_and_the_gan_generator_keep_working():
    from semcolor.models import ECCV16Net, IizukaNet, PyramidColorizer

    torch.manual_seed(0)
    L = torch.rand(1, 1, 40, 30) * 100
    for net, method in ((ECCV16Net(), "dist"), (IizukaNet(heads=["reg"]), "reg"),
                        (PyramidColorizer(width=8, pyramid_levels=1), "reg")):  # fmt: skip
        ab = predict_ab(net.eval(), L, size=32, methods=(method,))[method]
        assert ab.shape == (1, 2, 40, 30) and torch.isfinite(ab).all()


def test_decode_outputs_says_which_head_was_not_computed():
    from semcolor.inference import decode_outputs
    from semcolor.models import ColorizerOutput

    with pytest.raises(ValueError, match=r"'reg' head.*heads_for"):
        decode_outputs(ColorizerOutput(ab_logits=torch.zeros(1, 313, 2, 2)), ("reg",))


def test_analyze_asks_only_for_what_it_returns():
    import numpy as np

    net = tiny_net()
    rec = _RecordHeads(net)
    c = semcolor.Colorizer(net, device="cpu", size=32, method="reg")
    img = np.full((20, 30), 120, np.uint8)
    full = c.analyze(img)
    assert rec.calls[-1] == ("reg", "dist", "scene", "seg")
    assert full.uncertainty is not None and full.scene_top5 and full.segmentation is not None
    only = c.analyze(img, outputs=("uncertainty",))
    assert rec.calls[-1] == ("reg", "dist")
    assert only.scene_top5 is None and only.segmentation is None
    assert np.array_equal(only.uncertainty, full.uncertainty)
    assert np.array_equal(np.asarray(only.image), np.asarray(full.image))
    bare = c.analyze(img, outputs=())
    assert rec.calls[-1] == ("reg",) and bare.uncertainty is None
    with pytest.raises(ValueError, match=r"unknown analysis output.*valid: \['uncertainty'"):
        c.analyze(img, outputs=("depth",))
    # colorize runs the method's head only
    c.colorize(img)
    assert rec.calls[-1] == ("reg",)


def test_annealed_mean_per_image_matches_the_batched_one():
    from semcolor.color import annealed_mean
    from semcolor.inference import annealed_mean_per_image

    torch.manual_seed(1)
    logits = torch.randn(3, 313, 5, 7) * 4.0
    for t in (0.1, 0.38, 1.0):
        ref = annealed_mean(logits, t)
        got = annealed_mean_per_image(logits, t)
        assert got.shape == ref.shape == (3, 2, 5, 7)
        assert (got - ref).abs().max() < 1e-3
    with pytest.raises(ValueError, match="temperature"):
        annealed_mean_per_image(logits, 0.0)
    with pytest.raises(ValueError):
        annealed_mean_per_image(logits[:, :300], 0.38)


def test_annealed_mean_per_image_computes_no_denormals(monkeypatch):
    # Logits 40 apart at T = 0.1 put exp's exponent at -400: a denormal (or zero) in float32,
    # which x86 CPUs compute by microcode assists, 7x slower decoding on a real model.
    from semcolor import constants as C
    from semcolor.color import annealed_mean
    from semcolor.inference import annealed_mean_per_image

    seen = []
    real_exp = torch.exp

    def spy(x, *args, **kwargs):
        out = real_exp(x, *args, **kwargs)
        seen.append((float(x.min()), bool(((out > 0) & (out < torch.finfo(out.dtype).tiny)).any())))
        return out

    logits = peaked_logits()
    monkeypatch.setattr(torch, "exp", spy)
    got = annealed_mean_per_image(logits, 0.1)
    monkeypatch.undo()
    assert seen and all(lo >= C.EXP_ARG_MIN and not denormal for lo, denormal in seen)
    assert (got - annealed_mean(logits.double(), 0.1).float()).abs().max() < 1e-4


def test_predict_ab_precision_option():
    net = tiny_net()
    L = torch.rand(2, 1, 40, 40) * 100
    fp32 = predict_ab(net, L, size=32, methods=("dist", "reg"))
    bf16 = predict_ab(net, L, size=32, methods=("dist", "reg"), precision="bf16")
    for m in ("dist", "reg"):
        assert bf16[m].dtype == torch.float32 and bf16[m].shape == fp32[m].shape
        assert torch.isfinite(bf16[m]).all()
        assert 0 < (bf16[m] - fp32[m]).abs().max() < 10.0  # bf16 ran, and is close
    valid = r"unknown precision 'fp16'; valid: \['auto', 'fp32', 'bf16'\]"
    with pytest.raises(ValueError, match=valid):
        predict_ab(net, L, size=32, precision="fp16")


def test_default_batch_size_by_device():
    from semcolor.inference import CPU_NETWORK_BATCH, CUDA_BATCH_SIZE, default_batch_size

    assert default_batch_size("cpu") == CPU_NETWORK_BATCH >= 1
    assert default_batch_size(torch.device("cuda", 0)) == CUDA_BATCH_SIZE
    from semcolor.inference import CPU_ORT_NETWORK_BATCH

    assert default_batch_size("cpu", "onnxruntime") == CPU_ORT_NETWORK_BATCH
