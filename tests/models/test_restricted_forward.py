"""SemColorNet's restricted forward (``forward(L, heads=...)``): the requested outputs are
bit-identical to the full forward's, and the work the other heads need is not done."""

from __future__ import annotations

import itertools

import pytest
import torch

from semcolor.models import HEAD_NAMES, SemColorNet, UNetDecoder, build_model

SMALL = (32, 16, 16, 8, 8)
FIELD = {"reg": "ab_reg", "dist": "ab_logits", "scene": "scene_logits", "seg": "seg_logits",
         "sal": "saliency_logits"}  # fmt: skip
SUBSETS = [("dist",), ("reg",), ("scene",), ("seg",), ("sal",), ("dist", "scene"),
           ("reg", "dist"), ("dist", "seg", "sal"), HEAD_NAMES]  # fmt: skip


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: more threads only oversubscribe a busy machine."""
    torch.set_num_threads(1)
    yield


def make(heads=HEAD_NAMES, **kw) -> SemColorNet:
    torch.manual_seed(0)
    kw.setdefault("decoder_channels", SMALL)
    return build_model(heads=heads, num_scene_classes=7, num_seg_classes=5, **kw)


def _randomize_bn(model: torch.nn.Module) -> None:
    """Non-trivial BatchNorm statistics, so that eval mode differs from the identity."""
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


@pytest.mark.parametrize("global_fusion", [False, True])
@pytest.mark.parametrize("dist_stride", [1, 4])
@pytest.mark.parametrize("shape", [(2, 1, 64, 64), (1, 1, 37, 53), (2, 1, 1, 5)],
                         ids=["64x64", "37x53", "1x5"])  # fmt: skip
def test_requested_outputs_are_bit_identical_to_the_full_forward(shape, dist_stride,
                                                                  global_fusion):  # fmt: skip
    model = make(dist_stride=dist_stride, global_fusion=global_fusion).eval()
    _randomize_bn(model)
    L = torch.rand(shape, generator=torch.Generator().manual_seed(2)) - 0.5
    with torch.no_grad():
        full = model(L)
        for heads in SUBSETS:
            out = model(L, heads=heads)
            for name in HEAD_NAMES:
                got, want = getattr(out, FIELD[name]), getattr(full, FIELD[name])
                if name in heads:
                    assert got is not None and torch.equal(got, want), (heads, name)
                else:
                    assert got is None, (heads, name)


def test_heads_none_and_all_heads_are_the_full_forward():
    model = make(("reg", "dist", "seg"), dist_stride=4).eval()
    L = torch.rand(1, 1, 40, 40) - 0.5
    with torch.no_grad():
        a, b, c = model(L), model(L, heads=None), model(L, heads=["seg", "dist", "reg"])
    for name in ("ab_reg", "ab_logits", "seg_logits"):
        assert torch.equal(getattr(a, name), getattr(b, name))
        assert torch.equal(getattr(a, name), getattr(c, name))
    assert model.select_heads(["seg", "reg"]) == ("reg", "seg")  # HEAD_NAMES order


def _count_calls(model: SemColorNet) -> dict[str, int]:
    """Forward-hook call counters on every decoder block (by stride) and every head."""
    calls: dict[str, int] = {}

    def hook(name):
        def fn(*_):
            calls[name] = calls.get(name, 0) + 1

        return fn

    for block, stride in zip(model.decoder.blocks, model.decoder.strides, strict=True):
        calls[f"block{stride}"] = 0
        block.register_forward_hook(hook(f"block{stride}"))
    for name in HEAD_NAMES:
        head = getattr(model, f"{name}_head")
        if head is not None:
            calls[name] = 0
            head.register_forward_hook(hook(name))
    return calls


@pytest.mark.parametrize(
    ("heads", "blocks_run", "heads_run"),
    [
        (("dist",), [16, 8, 4], ["dist"]),
        (("scene",), [], ["scene"]),
        (("dist", "scene"), [16, 8, 4], ["dist", "scene"]),
        (("reg",), [16, 8, 4, 2, 1], ["reg"]),
        (("seg",), [16, 8, 4, 2, 1], ["seg"]),
        (None, [16, 8, 4, 2, 1], list(HEAD_NAMES)),
    ],
)
def test_restricted_forward_skips_the_work_of_the_other_heads(heads, blocks_run, heads_run):
    model = make(dist_stride=4).eval()
    calls = _count_calls(model)
    with torch.no_grad():
        model(torch.rand(1, 1, 64, 64) - 0.5, heads=heads)
    for stride in model.decoder.strides:
        assert calls[f"block{stride}"] == (1 if stride in blocks_run else 0), stride
    for name in HEAD_NAMES:
        assert calls[name] == (1 if name in heads_run else 0), name
    assert model.decoder_stop_stride(heads) == (min(blocks_run) if blocks_run else None)


def test_dist_at_stride_one_needs_the_whole_decoder():
    model = make(("reg", "dist"), dist_stride=1).eval()
    calls = _count_calls(model)
    with torch.no_grad():
        model(torch.rand(1, 1, 32, 32) - 0.5, heads=("dist",))
    assert all(calls[f"block{s}"] == 1 for s in model.decoder.strides) and calls["reg"] == 0


def test_training_forward_runs_every_enabled_head():
    model = make(("reg", "dist", "scene", "seg"), dist_stride=4).train()
    calls = _count_calls(model)
    out = model(torch.rand(2, 1, 64, 64) - 0.5)
    assert all(v == 1 for v in calls.values()), calls
    assert sorted(out.as_dict()) == ["ab_logits", "ab_reg", "scene_logits", "seg_logits"]
    sum(t.square().mean() for t in out.as_dict().values()).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_restricted_forward_backward_reaches_only_the_used_parameters():
    model = make(("reg", "dist"), dist_stride=4).train()
    model(torch.rand(2, 1, 64, 64) - 0.5, heads=("dist",)).ab_logits.square().mean().backward()
    unused = {n.split(".")[0] + (f".{n.split('.')[2]}" if n.startswith("decoder.") else "")
              for n, p in model.named_parameters() if p.grad is None}  # fmt: skip
    assert unused == {"reg_head", "decoder.3", "decoder.4"}  # stride-2 and stride-1 blocks


@pytest.mark.parametrize(
    ("heads", "match"),
    [
        (("colour",), r"unknown head.*colour.*valid heads: \['reg', 'dist', 'scene', 'seg', "
                      r"'sal'\]"),
        (("seg",), r"not enabled.*its heads: \['reg', 'dist'\]"),
        ("dist", "non-empty list of head names from \\['reg', 'dist'\\]"),
        ((), "non-empty list"),
    ],
)  # fmt: skip
def test_bad_head_requests_list_the_valid_names(heads, match):
    model = make(("reg", "dist")).eval()
    with pytest.raises(ValueError, match=match):
        model(torch.zeros(1, 1, 32, 32), heads=heads)


def test_decoder_stop_stride():
    enc = [1, 8, 8, 16, 16, 32]
    dec = UNetDecoder(enc, [32, 16, 8, 8, 4]).eval()
    gen = torch.Generator().manual_seed(0)
    feats = [torch.rand(1, c, 64 // 2**i, 64 // 2**i, generator=gen)
             for i, c in enumerate(enc)]  # fmt: skip
    with torch.no_grad():
        full = dec(feats)
        for k, stride in enumerate(dec.strides):
            part = dec(feats, stop_stride=stride)
            assert len(part) == k + 1
            assert all(torch.equal(a, b) for a, b in zip(part, full, strict=False))
    with pytest.raises(ValueError, match=r"stop_stride must be one of \[16, 8, 4, 2, 1\]"):
        dec(feats, stop_stride=3)


def test_torch_export_of_a_restricted_forward():
    model = make(("reg", "dist"), dist_stride=4).eval()
    L = torch.rand(1, 1, 64, 64) - 0.5
    exported = torch.export.export(model, (L,), {"heads": ("dist",)}).module()
    out = exported(L, heads=("dist",))
    assert out.ab_reg is None
    torch.testing.assert_close(out.ab_logits, model(L).ab_logits)


@pytest.mark.parametrize("heads", list(itertools.combinations(("reg", "dist", "scene"), 2)))
def test_unet_plain_restricted(heads):
    torch.manual_seed(0)
    model = SemColorNet("unet_plain", decoder_channels=[16, 16, 8, 8], dist_stride=8,
                        num_scene_classes=3, heads=("reg", "dist", "scene")).eval()  # fmt: skip
    L = torch.rand(1, 1, 35, 33) - 0.5
    with torch.no_grad():
        full, part = model(L), model(L, heads=heads)
    for name in heads:
        assert torch.equal(getattr(part, FIELD[name]), getattr(full, FIELD[name]))
