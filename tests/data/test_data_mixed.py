"""MixedDataset: weighted drawing, label-space checks, index rewriting, collation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from data_helpers import check_sample, make_camvid, make_folder, make_tiny
from PIL import Image
from torch.utils.data import DataLoader

from semcolor.data.base import SampleOptions
from semcolor.data.datasets import CamVid, ImageFolder, TinyImageNet
from semcolor.data.mixed import MixedDataset


@pytest.fixture
def members(tmp_path):
    tiny = TinyImageNet(
        str(make_tiny(tmp_path / "tiny")),
        options=SampleOptions(crop_size=16, num_scene_classes=200, num_seg_classes=11),
    )
    cam = CamVid(
        str(make_camvid(tmp_path / "cam", n=2, splits=("train",))),
        options=SampleOptions(crop_size=16, num_scene_classes=200, num_seg_classes=11),
    )
    folder = ImageFolder(
        str(make_folder(tmp_path / "f", n=3)),
        options=SampleOptions(crop_size=16, num_scene_classes=200, num_seg_classes=11),
    )
    return tiny, cam, folder


def test_mixed_samples_and_collation(members):
    tiny, cam, folder = members
    mix = MixedDataset([tiny, cam, folder], weights=[0.5, 0.3, 0.2])
    assert len(mix) == 6 + 2 + 3 and mix.num_scene_classes == 200 and mix.num_seg_classes == 11
    s = mix[0]
    check_sample(s, 16, 200, index=0)
    assert bool(s["has_scene"]) and not bool(s["has_seg"])
    s = mix[7]
    check_sample(s, 16, 200, index=7)
    assert not bool(s["has_scene"]) and bool(s["has_seg"])
    assert mix.paths[7] == cam.paths[1]
    s = mix[10]
    check_sample(s, 16, 200, index=10)
    assert not bool(s["has_scene"]) and not bool(s["has_seg"])
    assert mix.locate(8) == (2, 0) and mix.locate(-1) == (2, 2)
    batch = next(iter(DataLoader(mix, batch_size=11, sampler=range(11))))
    assert batch["scene"].shape == (11, 200) and batch["seg"].shape == (11, 16, 16)
    assert batch["has_scene"].tolist() == [True] * 6 + [False] * 5
    assert batch["has_seg"].tolist() == [False] * 6 + [True] * 2 + [False] * 3


def test_sampler_draws_with_weights(members):
    mix = MixedDataset(list(members), weights=[5, 3, 2], num_samples=20000, seed=0)
    draws = torch.tensor(list(mix.sampler()))
    assert len(draws) == 20000
    which = torch.bucketize(draws, torch.tensor(mix.offsets[1:]), right=True)
    frac = torch.bincount(which, minlength=3).double() / len(draws)
    torch.testing.assert_close(
        frac, torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64), atol=0.015, rtol=0
    )
    # within a dataset, indices are uniform: CamVid's two images about 15% each
    cam = torch.bincount(draws[which == 1] - mix.offsets[1], minlength=2).double()
    assert (cam / len(draws) - 0.15).abs().max() < 0.015
    again = torch.tensor(list(MixedDataset(list(members), [5, 3, 2], 20000, seed=0).sampler()))
    assert torch.equal(draws, again)


def test_default_weights_are_proportional_to_size(members):
    mix = MixedDataset(list(members))
    torch.testing.assert_close(torch.tensor(mix.weights), torch.tensor([6 / 11, 2 / 11, 3 / 11]))
    w = mix.sample_weights()
    assert w.shape == (11,) and abs(float(w.sum()) - 1) < 1e-12
    assert len(list(mix.sampler(torch.Generator().manual_seed(1)))) == 11


def test_mixed_rejects_inconsistent_members(tmp_path, members):
    tiny, cam, folder = members
    other_crop = ImageFolder(
        str(make_folder(tmp_path / "g", n=1)),
        options=SampleOptions(crop_size=24, num_scene_classes=200, num_seg_classes=11),
    )
    with pytest.raises(ValueError, match="crop_size"):
        MixedDataset([tiny, other_crop], [1, 1])
    no_pad = CamVid(
        str(make_camvid(tmp_path / "c2", n=1, splits=("train",))),
        options=SampleOptions(crop_size=16),
    )
    with pytest.raises(ValueError, match="num_scene_classes"):
        MixedDataset([tiny, no_pad], [1, 1])
    with pytest.raises(ValueError, match="weights"):
        MixedDataset([tiny, cam], [1])
    with pytest.raises(ValueError, match="weights"):
        MixedDataset([tiny, cam], [1, -1])
    with pytest.raises(ValueError, match="at least one"):
        MixedDataset([], [])


def test_mixed_reports_member_skips(tmp_path, members):
    tiny, cam, folder = members
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.jpg").write_bytes(b"")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "bad" / "b.png")
    bad = ImageFolder(
        str(tmp_path / "bad"),
        options=SampleOptions(crop_size=16, num_scene_classes=200, num_seg_classes=11),
    )
    mix = MixedDataset([tiny, bad], [1, 1])
    s = mix[6]
    assert int(s["index"]) == 7 and mix.paths[7].endswith("b.png")
    assert [p.rsplit("/", 1)[1] for p, _ in mix.skipped] == ["a.jpg"]
