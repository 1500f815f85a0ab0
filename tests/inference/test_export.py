"""ONNX export: ONNX Runtime agrees with PyTorch (max abs ab difference <= 1e-3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import semcolor
from semcolor.cli import export as export_cli
from semcolor.color import normalize_l
from semcolor.inference import load_model, predict_ab
from semcolor.inference.export import export_onnx
from tests.inference.test_inference import tiny_net, write_ckpt

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

S = 64


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from more threads, and on a busy machine torch's OpenMP
    threads can make each forward pass 10-100x slower (oversubscription)."""
    torch.set_num_threads(1)
    yield


def _run(path, L: torch.Tensor) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"L": normalize_l(L).numpy()}), strict=True))


def test_onnx_matches_pytorch_with_dynamic_batch(tmp_path):
    model = load_model(write_ckpt(tmp_path / "m.ckpt", tiny_net()))
    path = semcolor.export_onnx(model, tmp_path / "out" / "m.onnx", size=S, temperature=0.3)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["size"] == str(S) and meta["semcolor_version"] == semcolor.__version__
    L = torch.rand(3, 1, S, S, generator=torch.Generator().manual_seed(1)) * 100  # batch 3
    got = _run(path, L)
    ref = predict_ab(model.net, L, size=None, methods=("dist", "reg"), temperature=0.3)
    assert set(got) == {"ab_dist", "ab_reg"}
    for name, method in (("ab_dist", "dist"), ("ab_reg", "reg")):
        assert got[name].shape == (3, 2, S, S)
        assert np.abs(got[name] - ref[method].numpy()).max() <= 1e-3, name
    assert np.abs(got["ab_dist"]).max() > 1.0  # non-trivial output


def test_single_head_models(tmp_path):
    net = tiny_net(heads=("dist",))
    path = export_onnx(net, tmp_path / "soft.onnx", size=32)
    L = torch.rand(1, 1, 32, 32) * 100
    got = _run(path, L)
    assert list(got) == ["ab_dist"]
    ref = predict_ab(net, L, size=None)["dist"].numpy()
    assert np.abs(got["ab_dist"] - ref).max() <= 1e-3
    with pytest.raises(ValueError, match="neither"):
        export_onnx(tiny_net(heads=("scene",)), tmp_path / "x.onnx", size=32)
    with pytest.raises(ValueError, match="opset"):
        export_onnx(net, tmp_path / "x.onnx", size=32, opset=11)
    with pytest.raises(ValueError, match="size"):
        export_onnx(net, tmp_path / "x.onnx", size=0)


def test_export_cli(tmp_path, capsys, monkeypatch):
    ckpt = write_ckpt(tmp_path / "m.ckpt", tiny_net(heads=("reg",)))
    out = tmp_path / "m.onnx"
    assert export_cli.main(["--onnx", str(out), "--ckpt", str(ckpt), "--size", "32"]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and "ab_reg: max |ONNX Runtime - PyTorch|" in text
    # the check can fail: a tolerance below the float32 noise of the graph
    monkeypatch.setattr(export_cli, "CHECK_TOLERANCE", -1.0)
    assert export_cli.main(["--onnx", str(out), "--ckpt", str(ckpt), "--size", "32"]) == 1
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"nope")
    assert export_cli.main(["--onnx", str(out), "--ckpt", str(bad)]) == 2


def _n_convs(path) -> int:
    return sum(n.op_type == "Conv" for n in onnx.load(str(path)).graph.node)


@pytest.mark.parametrize("method", ["dist", "reg"])
def test_single_output_graph_of_a_four_head_model(tmp_path, method):
    """``outputs=(method,)``: one output, equal to predict_ab's, from a graph without the other
    heads (and, for dist at stride 4, without the stride-2 and stride-1 decoder blocks)."""
    net = tiny_net()  # reg, dist, scene, seg; dist_stride=4
    both = export_onnx(net, tmp_path / "both.onnx", size=S, temperature=0.3)
    one = export_onnx(net, tmp_path / f"{method}.onnx", size=S, temperature=0.3,
                      outputs=(method,))  # fmt: skip
    L = torch.rand(2, 1, S, S, generator=torch.Generator().manual_seed(3)) * 100
    got = _run(one, L)
    assert list(got) == [f"ab_{method}"]
    ref = predict_ab(net, L, size=None, methods=(method,), temperature=0.3)[method].numpy()
    assert got[f"ab_{method}"].shape == (2, 2, S, S)
    assert np.abs(got[f"ab_{method}"] - ref).max() <= 1e-3
    assert np.abs(got[f"ab_{method}"] - _run(both, L)[f"ab_{method}"]).max() <= 1e-4
    # dist-only drops the stride-2 and stride-1 decoder blocks (2 convs each) and the reg
    # conv; reg-only the dist conv and the annealed mean's 1x1 conv over the bins
    assert _n_convs(both) - _n_convs(one) == (5 if method == "dist" else 2)
    meta = {p.key: p.value for p in onnx.load(str(one)).metadata_props}
    assert meta["outputs"].startswith(f"ab_{method}:")


def test_outputs_errors_list_the_valid_names(tmp_path):
    with pytest.raises(ValueError, match=r"unknown method 'seg'; valid: \['dist', 'reg'\]"):
        export_onnx(tiny_net(), tmp_path / "x.onnx", size=32, outputs=("seg",))
    with pytest.raises(ValueError, match=r"no head for output\(s\) \['reg'\]; it offers \['dist"):
        export_onnx(tiny_net(heads=("dist",)), tmp_path / "x.onnx", size=32, outputs=("reg",))
    with pytest.raises(ValueError, match="non-empty list"):
        export_onnx(tiny_net(), tmp_path / "x.onnx", size=32, outputs=())


def test_export_cli_outputs(tmp_path, capsys):
    from semcolor.inference.export import OUTPUT_NAMES

    assert export_cli.EXPORT_OUTPUTS == tuple(OUTPUT_NAMES)
    ckpt = write_ckpt(tmp_path / "m.ckpt", tiny_net())
    out = tmp_path / "dist.onnx"
    argv = ["--onnx", str(out), "--ckpt", str(ckpt), "--size", "32", "--outputs", "dist"]
    assert export_cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "ab_dist: max |ONNX Runtime - PyTorch|" in text and "ab_reg" not in text
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["ab_dist"]
    with pytest.raises(SystemExit):
        export_cli.main(["--onnx", str(out), "--ckpt", str(ckpt), "--outputs", "seg"])


def test_unupsampled_graph_gives_the_head_resolution(tmp_path):
    net = tiny_net()
    L = torch.rand(2, 1, S, S) * 100
    path = export_onnx(net, tmp_path / "n.onnx", size=S, outputs=("dist",), upsample=False)
    got = _run(path, L)["ab_dist"]
    ref = predict_ab(net, L, size=None, out_size="network", methods=("dist",))["dist"]
    assert got.shape == tuple(ref.shape) == (2, 2, S // 4, S // 4)
    assert np.abs(got - ref.numpy()).max() <= 1e-3


def test_ort_network_is_cached_and_matches_predict_ab():
    from semcolor.inference.export import OrtNetwork, ort_network

    net = tiny_net()
    a = ort_network(net, S, "reg", 0.38)
    assert isinstance(a, OrtNetwork) and ort_network(net, S, "reg", 0.38) is a
    assert ort_network(net, S, "reg", 0.5) is not a
    L = torch.rand(3, 1, S, S) * 100
    ref = predict_ab(net, L, size=None, out_size="network", methods=("reg",))["reg"]
    assert (a(normalize_l(L)) - ref).abs().max() <= 1e-3
    with pytest.raises(ValueError, match="takes"):
        a(torch.zeros(1, 1, S + 1, S + 1))
