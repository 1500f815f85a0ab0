"""Encoder construction and strict loading of local weights (never a download)."""

from __future__ import annotations

import pytest
import timm
import torch
import torchvision

from semcolor.models import available_encoders, build_model, create_encoder, read_state_dict

SMALL = (32, 16, 16, 8, 8)


def _rgb_resnet18() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return torchvision.models.resnet18(weights=None).state_dict()  # 3-channel, with fc


def test_local_weights_round_trip_nested_and_prefixed(tmp_path):
    sd = _rgb_resnet18()
    path = tmp_path / "resnet18_rgb.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 3}, path)

    model = build_model("resnet18", encoder_weights=str(path), decoder_channels=SMALL)
    enc = model.encoder
    assert enc.conv1.weight.shape == (64, 1, 7, 7)
    torch.testing.assert_close(enc.conv1.weight, sd["conv1.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(enc.layer3[1].conv2.weight, sd["layer3.1.conv2.weight"])
    torch.testing.assert_close(enc.layer4[1].bn2.running_var, sd["layer4.1.bn2.running_var"])
    # A randomly initialised model does not match: the weights really came from the file.
    fresh = build_model("resnet18", decoder_channels=SMALL).encoder
    assert not torch.allclose(fresh.layer3[1].conv2.weight, sd["layer3.1.conv2.weight"])


def test_local_weights_from_smp_rgb_encoder_nested_under_model(tmp_path):
    from segmentation_models_pytorch.encoders import get_encoder

    torch.manual_seed(2)
    rgb = get_encoder("resnet18", in_channels=3, weights=None)
    sd = rgb.state_dict()
    path = tmp_path / "enc.pt"
    torch.save({"model": sd}, path)
    enc = create_encoder("resnet18", weights=path)
    torch.testing.assert_close(enc.conv1.weight, sd["conv1.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(enc.layer1[0].bn1.bias, sd["layer1.0.bn1.bias"])


def test_local_weights_for_timm_encoder(tmp_path):
    torch.manual_seed(3)
    sd = timm.create_model("resnet18", pretrained=False).state_dict()
    path = tmp_path / "timm_resnet18.pth"
    torch.save(sd, path)
    enc = create_encoder("tu-resnet18", weights=path)
    torch.testing.assert_close(enc.model.conv1.weight, sd["conv1.weight"].sum(1, keepdim=True))
    torch.testing.assert_close(enc.model.layer2[1].conv1.weight, sd["layer2.1.conv1.weight"])


def test_own_state_dict_round_trip_safetensors_and_unet_plain(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(4)
    src = create_encoder("unet_plain")
    path = tmp_path / "plain.safetensors"
    save_file(src.state_dict(), str(path))
    dst = create_encoder("unet_plain", weights=path)
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_missing_weights_file_raises_file_not_found(tmp_path):
    path = tmp_path / "nope" / "resnet18.pth"
    with pytest.raises(FileNotFoundError, match=r"nope.*resnet18\.pth.*state_dict"):
        build_model("resnet18", encoder_weights=str(path))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda sd: sd.pop("layer2.0.bn1.running_mean"), r"1 missing key.*layer2\.0\.bn1"),
        (lambda sd: sd.update({"layer9.conv.weight": torch.zeros(1)}), r"unexpected.*layer9"),
        (
            lambda sd: sd.update({"layer1.0.conv1.weight": torch.zeros(64, 64, 5, 5)}),
            r"shape mismatch.*layer1\.0\.conv1\.weight",
        ),
    ],
    ids=["missing", "unexpected", "shape"],
)
def test_weights_that_do_not_fit_are_rejected(tmp_path, edit, match):
    sd = _rgb_resnet18()
    edit(sd)
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    with pytest.raises(ValueError, match=match):
        create_encoder("resnet18", weights=path)


def test_weights_of_another_architecture_are_rejected(tmp_path):
    path = tmp_path / "mbv2.pth"
    torch.save(torchvision.models.mobilenet_v2(weights=None).state_dict(), path)
    with pytest.raises(ValueError, match=r"does not fit encoder 'resnet18'.*missing.*unexpected"):
        create_encoder("resnet18", weights=path)


def test_file_without_state_dict_is_rejected(tmp_path):
    path = tmp_path / "junk.pth"
    torch.save({"epoch": 3, "lr": 0.1}, path)
    with pytest.raises(ValueError, match="does not hold a state_dict"):
        read_state_dict(path)


@pytest.mark.parametrize(
    ("name", "listed"),
    [("resnet19", "resnet18"), ("foo", "mobilenet_v2"), ("tu-convnext_tinny", "tu-convnext_tiny")],
)
def test_unknown_encoder_lists_valid_names(name, listed):
    with pytest.raises(ValueError, match=f"Unknown encoder '{name}'") as info:
        build_model(name)
    assert listed in str(info.value)
    if not name.startswith("tu-"):
        assert "unet_plain" in str(info.value) and "tu-<timm model name>" in str(info.value)


def test_available_encoders():
    names = available_encoders()
    assert names[0] == "unet_plain"
    assert {"resnet18", "resnet34", "mobilenet_v2", "efficientnet-b0"} <= set(names)


def test_encoders_are_built_without_any_download(monkeypatch):
    import segmentation_models_pytorch.encoders as smp_encoders
    import timm.models._builder as timm_builder

    def forbidden(*args, **kwargs):
        raise AssertionError("attempted to download weights")

    monkeypatch.setattr(smp_encoders, "hf_hub_download", forbidden)
    monkeypatch.setattr(timm_builder, "load_pretrained", forbidden)
    for name in ["resnet18", "tu-resnet18"]:
        enc = create_encoder(name)
        assert enc.out_channels[0] == 1
