"""data=unpaired: two domains, never paired; no colour of a gray-domain image is returned."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semcolor.data.base import SampleOptions, in_holdout
from semcolor.data.unpaired import UNPAIRED_KEYS, UnpairedDataset, unpaired_folders


def _write(folder, colours, size=16):
    folder.mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(colours):
        Image.fromarray(np.full((size, size, 3), c, np.uint8)).save(folder / f"im{i:02d}.png")
    return folder


def test_domains_come_from_their_own_folders(tmp_path):
    gray = _write(tmp_path / "gray", [(200, 40, 40)] * 3)  # red photos, used as gray only
    colour = _write(tmp_path / "colour", [(30, 60, 220)] * 2)  # blue photos
    ds = unpaired_folders(str(gray), str(colour), options=SampleOptions(crop_size=16))
    assert len(ds) == 3
    for i in range(len(ds)):
        s = ds[i]
        assert tuple(s) == UNPAIRED_KEYS and "ab" not in s
        assert s["L"].shape == (1, 16, 16) and s["real_rgb"].shape == (3, 16, 16)
        # the colour-domain image is blue; nothing red (the gray image's own colour) appears
        mean = s["real_rgb"].mean((1, 2))
        assert torch.allclose(mean, torch.tensor([30, 60, 220]) / 255.0, atol=2e-3)
        assert 0 <= int(s["real_index"]) < 2


def test_one_folder_splits_in_disjoint_halves(tmp_path):
    folder = _write(tmp_path / "photos", [(i * 9, 100, 200 - i * 9) for i in range(20)])
    ds = unpaired_folders(str(folder), None, options=SampleOptions(crop_size=16))
    gray, colour = set(ds.gray.paths), set(ds.colour.paths)
    assert gray and colour and not gray & colour
    assert len(gray) + len(colour) == 20
    for p in colour:
        assert in_holdout(p.split("/")[-1], 0.5)
    same = unpaired_folders(str(folder), str(folder), options=SampleOptions(crop_size=16))
    assert set(same.gray.paths) == gray


def test_colour_domain_gives_d_only_colourful_images(tmp_path):
    # 1 colour photo among 3 gray ones: a uniform draw would pick a gray one 3/4 of the time
    colour = _write(tmp_path / "colour", [(90, 90, 90), (30, 60, 220), (140, 140, 140),
                                          (200, 200, 200)])  # fmt: skip
    gray = _write(tmp_path / "gray", [(200, 40, 40)] * 2)
    ds = unpaired_folders(str(gray), str(colour), options=SampleOptions(crop_size=16))
    torch.manual_seed(0)
    drawn = [ds[i % 2] for i in range(12)]
    assert {int(s["real_index"]) for s in drawn} == {1}
    for s in drawn:
        assert torch.allclose(s["real_rgb"].mean((1, 2)), torch.tensor([30, 60, 220]) / 255.0,
                              atol=2e-3)  # fmt: skip


def test_colour_domain_without_colour_is_an_error(tmp_path):
    colour = _write(tmp_path / "colour", [(90, 90, 90), (140, 140, 140)])
    gray = _write(tmp_path / "gray", [(200, 40, 40)])
    ds = unpaired_folders(str(gray), str(colour), options=SampleOptions(crop_size=16))
    with pytest.raises(ValueError, match="colourless.*data.colour_root"):
        ds[0]


def test_empty_domain_is_an_error(tmp_path):
    class Empty(torch.utils.data.Dataset):
        def __len__(self):
            return 0

    with pytest.raises(ValueError, match="both domains"):
        UnpairedDataset(Empty(), Empty())
