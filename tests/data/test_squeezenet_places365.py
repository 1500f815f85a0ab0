"""The Lasagne SqueezeNet-Places365 port: the converter inverts Lasagne's layout exactly
(BatchNorm as inv_std, flipped kernels), and the real file labels obvious scenes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from semcolor.data import pseudo_labels as pl
from semcolor.models.squeezenet_places365 import LASAGNE_BN_EPS, SqueezeNetPlaces365
from semcolor.weights import WeightsFileError, lasagne_squeezenet_state_dict
from tests.data.data_helpers import shared_path


def _to_lasagne(net: SqueezeNetPlaces365) -> list[np.ndarray]:
    """The inverse of the converter, written from the file description: per conv+BN
    W (flipped), b, beta, gamma, mean, inv_std; conv10 W, b last."""
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    out = []
    for c, bn in zip(convs[:-1], bns, strict=True):
        out += [c.weight.detach().numpy()[:, :, ::-1, ::-1].copy(), c.bias.detach().numpy(),
                bn.bias.detach().numpy(), bn.weight.detach().numpy(), bn.running_mean.numpy(),
                (1.0 / np.sqrt(bn.running_var.numpy() + LASAGNE_BN_EPS)).astype(np.float32)]
    out += [convs[-1].weight.detach().numpy()[:, :, ::-1, ::-1].copy(),
            convs[-1].bias.detach().numpy()]  # fmt: skip
    return out


def test_converter_round_trips_a_network(tmp_path):
    torch.manual_seed(0)
    net = SqueezeNetPlaces365(num_classes=7).eval()
    for m in net.modules():  # non-trivial running statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    arrays = _to_lasagne(net)
    assert len(arrays) == 6 * 25 + 2
    path = tmp_path / "net.params"
    path.write_bytes(pickle.dumps(arrays, protocol=2))
    sd = lasagne_squeezenet_state_dict(path)
    copy = SqueezeNetPlaces365(num_classes=7).eval()
    copy.load_state_dict(sd, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(net(x), copy(x), atol=1e-4)
    # The classifier path of semcolor-label-scenes takes the file by its suffix.
    model, name = pl.load_classifier("squeezenet_places365", path, num_classes=7)
    assert name == "squeezenet_places365"
    evil = tmp_path / "evil.params"
    evil.write_bytes(pickle.dumps(torch.nn.Linear(2, 2)))
    with pytest.raises(WeightsFileError, match="refusing to unpickle|not a Lasagne"):
        lasagne_squeezenet_state_dict(evil)


def test_real_file_labels_obvious_scenes():
    weights = shared_path("weights", "squeezenet_places365.params")
    cats = [ln.split()[0] for ln in
            open(shared_path("places365", "categories_places365.txt"))]  # fmt: skip
    model, name = pl.load_classifier(None, weights)
    assert name == "squeezenet_places365"
    from semcolor.data.io import load_rgb

    expect = {"kodim21.png": "/l/lighthouse", "kodim20.png": "/a/airfield",
              "kodim12.png": "/b/beach"}  # fmt: skip
    x = torch.stack([pl.preprocess(load_rgb(shared_path("kodak24", f))) for f in expect])
    with torch.no_grad():
        top1 = model(x).argmax(1).tolist()
    assert [cats[i] for i in top1] == list(expect.values())
