"""SampleOptions.cache_mb: decoded, resized images served from a bounded cache give exactly
the samples of the uncached path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semcolor.data.base import DecodeCache, SampleOptions
from semcolor.data.datasets import CamVid, ImageFolder
from semcolor.data.transforms import PairTransform
from tests.data.data_helpers import make_camvid, make_folder


@pytest.mark.parametrize("train", [True, False])
def test_cached_samples_are_bit_identical(tmp_path, train):
    root = make_folder(tmp_path / "f", n=4, h=50, w=70)
    opts = SampleOptions(crop_size=16, resize=24, train=train)
    plain = ImageFolder(str(root), options=opts)
    cached = ImageFolder(str(root), options=opts.replace(cache_mb=1))
    for _ in range(2):  # the second pass is served from the cache
        for i in range(len(plain)):
            torch.manual_seed(i)
            a = plain[i]
            torch.manual_seed(i)
            b = cached[i]
            assert all(torch.equal(a[k], b[k]) for k in a), i
    assert cached.cache.hits == len(plain) and cached.cache.misses == len(plain)


def test_cached_label_maps_follow_the_image(tmp_path):
    root = make_camvid(tmp_path / "c", n=2, splits=("train",))
    opts = SampleOptions(crop_size=16, resize=20)
    plain, cached = CamVid(str(root), options=opts), CamVid(str(root), options=opts.replace(
        cache_mb=1))  # fmt: skip
    for _ in range(2):
        torch.manual_seed(0)
        a = plain[1]
        torch.manual_seed(0)
        b = cached[1]
        assert torch.equal(a["seg"], b["seg"]) and torch.equal(a["ab"], b["ab"])


def test_cache_stays_within_its_bound_and_evicts_least_recent():
    c = DecodeCache(max_bytes=3 * 100)
    arr = np.zeros(100, np.uint8)
    for i in range(3):
        c.put(i, arr.copy(), None, True)
    assert c.get(0) is not None  # 0 is now the most recent
    c.put(3, arr.copy(), None, True)
    assert len(c) == 3 and c.nbytes == 300
    assert c.get(1) is None and c.get(0) is not None  # 1 was the least recent
    c.put(9, np.zeros(1000, np.uint8), None, True)  # larger than the whole cache: not kept
    assert c.get(9) is None and c.nbytes == 300


def test_cache_only_where_the_resize_is_fixed(tmp_path):
    root = make_folder(tmp_path / "f", n=2)
    rand = ImageFolder(str(root), options=SampleOptions(crop_size=16, scale_min=0.8,
                                                          cache_mb=1))  # fmt: skip
    assert rand.cache is None
    assert PairTransform(16, train=True, resize=20, scale_min=0.8).fixed_resize() is None
    assert PairTransform(16, train=True, resize=20).fixed_resize() == 20
    with pytest.raises(ValueError, match="cache_mb must be >= 0"):
        SampleOptions(cache_mb=-1)
