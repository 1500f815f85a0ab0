"""SemColorNet: head combinations, shapes, padding/cropping, configuration errors."""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from semcolor import constants as C
from semcolor.models import DEFAULT_HEADS, HEAD_NAMES, ColorizerOutput, SemColorNet, build_model

SMALL = (32, 16, 16, 8, 8)  # decoder widths for fast tests (last = 8 channels)
N_SCENE, N_SEG = 7, 5
# Every combination of the paper's four heads, plus SCGAN's generator and all five.
COMBOS = [c for r in range(1, 5) for c in itertools.combinations(DEFAULT_HEADS, r)]
COMBOS += [("reg", "sal"), HEAD_NAMES]
FIELD = {"reg": "ab_reg", "dist": "ab_logits", "scene": "scene_logits", "seg": "seg_logits",
         "sal": "saliency_logits"}


def make(heads=DEFAULT_HEADS, **kw) -> SemColorNet:
    torch.manual_seed(0)
    kw.setdefault("decoder_channels", SMALL)
    kw.setdefault("num_scene_classes", N_SCENE)
    kw.setdefault("num_seg_classes", N_SEG)
    return build_model(heads=heads, **kw)


def expected_shapes(b: int, h: int, w: int, s: int, sal: bool = False) -> dict[str, tuple]:
    shapes = {
        "ab_reg": (b, 2, h, w),
        "ab_logits": (b, C.NUM_AB_BINS, math.ceil(h / s), math.ceil(w / s)),
        "scene_logits": (b, N_SCENE),
        "seg_logits": (b, N_SEG, h, w),
        "saliency_logits": (b, 1, h, w),
    }
    if not sal:
        del shapes["saliency_logits"]
    return shapes


@pytest.mark.parametrize("dist_stride", [1, 4])
@pytest.mark.parametrize("heads", COMBOS, ids=["+".join(c) for c in COMBOS])
def test_every_head_combination_forward_backward(heads, dist_stride):
    model = make(heads, dist_stride=dist_stride).train()
    for h, w in [(64, 64), (70, 90)]:
        model.zero_grad(set_to_none=True)
        L = (torch.rand(2, 1, h, w) - 0.5).requires_grad_()
        out = model(L)
        assert isinstance(out, ColorizerOutput)
        shapes = expected_shapes(2, h, w, dist_stride, sal=True)
        for name in HEAD_NAMES:
            t = getattr(out, FIELD[name])
            if name in heads:
                assert t is not None and t.shape == shapes[FIELD[name]], name
                assert t.dtype == torch.float32 and torch.isfinite(t).all()
            else:
                assert t is None, name
        if out.ab_reg is not None:
            assert out.ab_reg.abs().max() <= C.AB_SCALE
        loss = sum(t.float().square().mean() for t in out.as_dict().values())
        loss.backward()
        # Every parameter is used (no dead decoder blocks) and the gradient reaches the input.
        no_grad = [n for n, p in model.named_parameters() if p.grad is None]
        assert no_grad == []
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())
        assert L.grad is not None and L.grad.abs().sum() > 0


def _head_param_count(name: str, width: int = SMALL[-1], bottleneck: int = 512) -> int:
    return {
        "reg": width * 2 * 9 + 2,
        "dist": width * C.NUM_AB_BINS + C.NUM_AB_BINS,
        "scene": bottleneck * C.SCENE_HIDDEN + C.SCENE_HIDDEN + C.SCENE_HIDDEN * N_SCENE + N_SCENE,
        "seg": width * N_SEG + N_SEG,
        "sal": width + 1,
    }[name]


def _n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("off", HEAD_NAMES)
def test_disabled_head_creates_no_parameters(off):
    full = make(HEAD_NAMES)
    part = make(tuple(h for h in HEAD_NAMES if h != off))
    attr = f"{off}_head"
    assert getattr(part, attr) is None and getattr(full, attr) is not None
    assert not any(k.startswith(attr + ".") for k in part.state_dict())
    assert _n_params(full) - _n_params(part) == _head_param_count(off)
    assert _n_params(getattr(full, attr)) == _head_param_count(off)
    assert getattr(part.eval()(torch.zeros(1, 1, 32, 32)), FIELD[off]) is None


def test_scene_only_builds_no_decoder():
    model = make(("scene",))
    assert model.decoder is None and model.output_strides == {}
    assert not any(k.startswith("decoder.") for k in model.state_dict())


def test_coarse_dist_only_skips_fine_decoder_blocks():
    model = make(("dist",), dist_stride=4)
    assert model.decoder.strides == [16, 8, 4]
    assert model.decoder.out_channels == list(SMALL[:3])
    assert model.dist_head.conv.in_channels == SMALL[2]
    assert model.output_strides == {"dist": 4}
    assert make(dist_stride=4).output_strides == {"reg": 1, "dist": 4, "seg": 1}


def test_regression_head_is_tanh_scaled_ab():
    model = make(("reg",)).eval()
    with torch.no_grad():
        model.reg_head.conv.weight.zero_()
        model.reg_head.conv.bias.copy_(torch.tensor([3.0, -0.5]))
        ab = model(torch.rand(1, 1, 40, 40) - 0.5).ab_reg
    want = C.AB_SCALE * torch.tanh(torch.tensor([3.0, -0.5])).view(1, 2, 1, 1)
    torch.testing.assert_close(ab, want.expand(1, 2, 40, 40))


def test_outputs_are_top_left_crops_of_the_padded_input():
    model = make(dist_stride=4).eval()
    L = torch.rand(2, 1, 70, 90) - 0.5
    padded = F.pad(L, (0, 96 - 90, 0, 96 - 70), mode="replicate")
    with torch.no_grad():
        out, ref = model(L), model(padded)
    torch.testing.assert_close(out.ab_reg, ref.ab_reg[..., :70, :90])
    torch.testing.assert_close(out.seg_logits, ref.seg_logits[..., :70, :90])
    torch.testing.assert_close(out.ab_logits, ref.ab_logits[..., :18, :23])
    torch.testing.assert_close(out.scene_logits, ref.scene_logits)
    assert model.dist_output_size(70, 90) == (18, 23)


def test_samples_in_a_batch_are_independent_in_eval_mode():
    model = make(dist_stride=4).eval()
    L = torch.rand(3, 1, 64, 64) - 0.5
    with torch.no_grad():
        batch, single = model(L), model(L[1:2])
    for name, t in single.as_dict().items():
        torch.testing.assert_close(getattr(batch, name)[1:2], t, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 1, 1, 5), (1, 1, 33, 2)])
def test_tiny_inputs_are_padded(shape):
    model = make(HEAD_NAMES, dist_stride=4).eval()
    with torch.no_grad():
        out = model(torch.rand(shape) - 0.5)
    b, _, h, w = shape
    for name, want in expected_shapes(b, h, w, 4, sal=True).items():
        assert getattr(out, name).shape == want


@pytest.mark.parametrize(
    "bad",
    [
        torch.zeros(1, 3, 64, 64),
        torch.zeros(1, 64, 64),
        torch.zeros(64, 64),
        torch.zeros(1, 1, 0, 8),
        torch.zeros(1, 1, 64, 64, dtype=torch.uint8),
        [[0.0]],
    ],
    ids=["rgb", "no-batch", "2d", "empty", "uint8", "list"],
)
def test_bad_input_raises_value_error(bad):
    model = make(("reg",))
    with pytest.raises(ValueError, match=r"\(B,1,H,W\)|floating"):
        model(bad)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"heads": ()}, "at least one head"),
        ({"heads": ("reg", "colour")}, r"unknown head.*colour"),
        ({"heads": "reg"}, "list of head names"),
        ({"dist_stride": 3}, r"dist_stride must be one of \[1, 2, 4, 8, 16\]"),
        ({"dist_stride": 32}, "dist_stride"),
        ({"decoder_channels": (16, 8)}, "one width per decoder stage"),
        ({"num_seg_classes": 0}, "num_seg_classes.*leave it out of heads"),
        ({"num_scene_classes": 0}, "num_scene_classes"),
        ({"heads": ("scene",), "decoder_channels": (8,)}, "decoder_channels"),
        ({"encoder_weights": 3}, "encoder_weights"),
    ],
)
def test_invalid_configuration_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_disabled_head_ignores_its_class_count():
    model = make(("reg", "dist"), num_seg_classes=0, num_scene_classes=0)
    assert model.heads == ("reg", "dist")


def test_hydra_style_plain_arguments():
    # Hydra passes lists (ListConfig) rather than tuples; order of heads does not matter.
    model = build_model(
        encoder="resnet18",
        encoder_weights=None,
        num_scene_classes=3,
        num_seg_classes=4,
        dist_stride=2,
        decoder_channels=[16, 16, 8, 8, 8],
        heads=["seg", "reg", "dist"],
    )
    assert isinstance(model, SemColorNet)
    assert model.heads == ("reg", "dist", "seg")
    out = model.eval()(torch.zeros(1, 1, 50, 50))
    assert out.ab_logits.shape == (1, C.NUM_AB_BINS, 25, 25)
    assert out.seg_logits.shape == (1, 4, 50, 50) and out.scene_logits is None


def test_build_model_signature_matches_the_class():
    fn = inspect.signature(build_model).parameters
    cls = inspect.signature(SemColorNet.__init__).parameters
    assert list(fn) == [p for p in cls if p != "self"]
    assert all(fn[n].default == cls[n].default for n in fn)
    assert fn["dist_stride"].default == 1 and fn["encoder"].default == "resnet18"
    assert fn["encoder_weights"].default is None


def test_default_heads_and_class_counts():
    model = build_model(decoder_channels=SMALL)
    assert model.heads == DEFAULT_HEADS and model.sal_head is None and model.fusion is None
    assert model.scene_head.fc1.out_features == C.SCENE_HIDDEN == 1024
    assert model.scene_head.fc2.out_features == 365
    assert model.seg_head.conv.out_channels == 183
    assert model.dist_head.conv.out_channels == 313
    assert model.input_multiple == 32


def test_output_dataclass_fields():
    names = [f.name for f in dataclasses.fields(ColorizerOutput)]
    assert names == ["ab_reg", "ab_logits", "scene_logits", "seg_logits", "saliency_logits",
                     "rgb_pyramid"]
    out = ColorizerOutput(ab_reg=torch.zeros(1))
    assert list(out.as_dict()) == ["ab_reg"] and out.seg_logits is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.ab_reg = None


def test_unet_plain():
    torch.manual_seed(0)
    model = build_model(
        "unet_plain", num_scene_classes=N_SCENE, num_seg_classes=N_SEG, dist_stride=8
    ).train()
    enc = model.encoder
    assert enc.out_channels == [64, 128, 256, 512, 1024] and model.input_multiple == 16
    cin = 1
    for block, c in zip(enc.blocks, [64, 128, 256, 512, 1024], strict=True):
        convs = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
        assert [tuple(m.weight.shape) for m in convs] == [(c, cin, 3, 3), (c, c, 3, 3)]
        assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in block.modules()) == 2
        cin = c
    assert model.decoder.out_channels == [512, 256, 128, 64]
    assert model.scene_head.fc1.in_features == 1024
    with pytest.raises(ValueError, match=r"\[1, 2, 4, 8\]"):
        build_model("unet_plain", dist_stride=16)
    for h, w in [(64, 64), (70, 90)]:
        model.zero_grad(set_to_none=True)
        out = model(torch.rand(2, 1, h, w) - 0.5)
        for name, want in expected_shapes(2, h, w, 8).items():
            assert getattr(out, name).shape == want
        sum(t.square().mean() for t in out.as_dict().values()).backward()
        assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("encoder", ["mobilenet_v2", "efficientnet-b0", "tu-convnext_atto"])
def test_other_encoders(encoder):
    # tu-convnext_atto is transformer-style: smp gives it an empty stride-2 feature map.
    model = make(encoder=encoder, dist_stride=4).eval()
    assert model.input_multiple == 32
    with torch.no_grad():
        out = model(torch.rand(1, 1, 70, 90) - 0.5)
    for name, want in expected_shapes(1, 70, 90, 4).items():
        assert getattr(out, name).shape == want


def test_torch_export_handles_the_output_dataclass():
    model = make(("reg", "dist"), dist_stride=4).eval()
    L = torch.rand(1, 1, 64, 64) - 0.5
    exported = torch.export.export(model, (L,)).module()
    out, ref = exported(L), model(L)
    assert isinstance(out, ColorizerOutput) and out.scene_logits is None
    torch.testing.assert_close(out.ab_reg, ref.ab_reg)
    torch.testing.assert_close(out.ab_logits, ref.ab_logits)


def test_global_fusion_changes_the_bottleneck_and_round_trips():
    plain = make(("reg", "sal"))
    fused = make(("reg", "sal"), global_fusion=True)
    assert plain.fusion is None and fused.fusion is not None
    assert fused.init_kwargs["global_fusion"] is True
    rebuilt = SemColorNet(**fused.init_kwargs)
    rebuilt.load_state_dict(fused.state_dict())
    L = torch.rand(2, 1, 64, 64) - 0.5
    fused.eval(), rebuilt.eval()
    assert torch.equal(fused(L).saliency_logits, rebuilt(L).saliency_logits)
    # the global feature reaches every position: changing one corner changes the far corner
    L2 = L.clone()
    L2[:, :, :8, :8] = 0.5
    far = (fused(L).ab_reg - fused(L2).ab_reg)[..., -8:, -8:].abs().max()
    assert far > 0


def test_as_dict_lists_pyramid_levels():
    out = ColorizerOutput(ab_reg=torch.zeros(1), rgb_pyramid=(torch.zeros(2), torch.zeros(3)))
    assert list(out.as_dict()) == ["ab_reg", "rgb_pyramid.0", "rgb_pyramid.1"]
