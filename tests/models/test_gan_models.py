"""The adversarial systems' networks: pyramid generator, PatchGAN, VGG16 features."""

from __future__ import annotations

import pytest
import torch
import torchvision

from semcolor.color import rgb_to_lab
from semcolor.models import PatchDiscriminator, PyramidColorizer, VGG16Features


@pytest.mark.parametrize("levels", [1, 3])
@pytest.mark.parametrize("hw", [(32, 32), (37, 50)])
def test_pyramid_colorizer_shapes_and_ab(levels, hw):
    torch.manual_seed(0)
    g = PyramidColorizer("resnet18", width=8, pyramid_levels=levels).eval()
    h, w = hw
    out = g(torch.rand(2, 1, h, w) - 0.5)
    assert len(out.rgb_pyramid) == levels
    for i, level in enumerate(out.rgb_pyramid):
        assert level.shape == (2, 3, -(-h // 2**i), -(-w // 2**i))
        assert 0 <= level.min() and level.max() <= 1
    # ab_reg is the ab of the full-resolution level (what the API recombines with L)
    assert torch.allclose(out.ab_reg, rgb_to_lab(out.rgb_pyramid[0])[:, 1:], atol=1e-4)
    assert g.heads == ("reg",)
    rebuilt = PyramidColorizer(**g.init_kwargs)
    rebuilt.load_state_dict(g.state_dict())


def test_pyramid_levels_are_checked():
    with pytest.raises(ValueError, match=r"\[1, 3\]"):
        PyramidColorizer(pyramid_levels=2)


def test_pyramid_levels_read_constant_width_features():
    g = PyramidColorizer("resnet18", width=16)
    assert set(g.decoder.out_channels) == {16}
    assert all(h.in_channels == 16 for h in g.rgb_heads)


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_patch_discriminator_scores_patches(norm):
    d = PatchDiscriminator(3, base=8, norm=norm)
    assert d(torch.rand(2, 3, 64, 64)).shape == (2, 1, 6, 6)
    with pytest.raises(ValueError, match="instance"):
        PatchDiscriminator(norm="spectral")


def test_vgg16_features_from_a_local_file(tmp_path):
    torch.manual_seed(0)
    ref = torchvision.models.vgg16(weights=None).features[:9]  # up to relu2_2
    sd = {f"features.{k}": v for k, v in ref.state_dict().items()}
    sd["classifier.0.weight"] = torch.zeros(1)  # ignored
    path = tmp_path / "vgg16.pth"
    torch.save(sd, path)
    vgg = VGG16Features(str(path), ("relu1_2", "relu2_2"))
    x = torch.rand(1, 3, 32, 32)
    f1, f2 = vgg(x)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(f2, ref.eval()((x - mean) / std), atol=1e-5)
    assert f1.shape == (1, 64, 32, 32) and f2.shape == (1, 128, 16, 16)
    assert not any(p.requires_grad for p in vgg.parameters())
    assert not vgg.train().training  # stays frozen in eval mode


def test_vgg16_conv3_3_is_scgans_layer_and_not_overwritten_by_its_relu(tmp_path):
    # SCGAN's perceptual layer: the last of vgg16.features[:15], conv3_3 before its ReLU.
    # Tapped with relu3_3, the conv output must survive the (in-place in torchvision) ReLU.
    torch.manual_seed(0)
    ref = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])[:16].eval()
    path = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in ref.state_dict().items()}, path)
    vgg = VGG16Features(str(path), ("conv3_3", "relu3_3"))
    x = torch.rand(1, 3, 16, 16)
    conv, relu = vgg(x)
    with torch.no_grad():
        expect = ref[:15]((x - vgg.mean) / vgg.std)
    assert torch.allclose(conv, expect, atol=1e-5) and (conv < 0).any()
    assert torch.equal(relu, conv.clamp_min(0))


def test_vgg16_features_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="download.pytorch.org"):
        VGG16Features(str(tmp_path / "missing.pth"))
    with pytest.raises(ValueError, match="relu2_2"):
        VGG16Features(str(tmp_path / "missing.pth"), ("conv9",))
    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3, 3, 3)}, bad)
    with pytest.raises(ValueError, match="not torchvision VGG16"):
        VGG16Features(str(bad))
