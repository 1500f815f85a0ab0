"""Heads and decoder in isolation."""

from __future__ import annotations

import pytest
import torch

from semcolor import constants as C
from semcolor.models import (
    DistributionHead,
    RegressionHead,
    SceneHead,
    SegmentationHead,
    UNetDecoder,
)


def test_head_output_shapes_and_ranges():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 7) * 100
    ab = RegressionHead(8)(x)
    assert ab.shape == (2, 2, 5, 7) and ab.abs().max() <= C.AB_SCALE
    assert ab.abs().max() > 0.5 * C.AB_SCALE  # large inputs saturate the tanh
    assert DistributionHead(8)(x).shape == (2, 313, 5, 7)
    assert SegmentationHead(8, 11)(x).shape == (2, 11, 5, 7)
    assert SceneHead(8, 4)(x).shape == (2, 4)


def test_scene_head_layout_and_global_pooling():
    head = SceneHead(16, 365, dropout=0.5).eval()
    assert (head.fc1.in_features, head.fc1.out_features) == (16, 1024)
    assert (head.fc2.in_features, head.fc2.out_features) == (1024, 365)
    assert head.dropout.p == 0.5
    x = torch.randn(1, 16, 4, 4)
    perm = x.flatten(2)[..., torch.randperm(16)].view(1, 16, 4, 4)
    torch.testing.assert_close(head(x), head(perm))  # only the spatial mean matters
    with pytest.raises(ValueError, match="dropout"):
        SceneHead(16, 3, dropout=1.0)


def test_decoder_strides_and_empty_skips():
    enc = [1, 0, 8, 16, 32, 64]  # stride-2 map empty, as for transformer-style timm models
    dec = UNetDecoder(enc, [32, 16, 8, 8, 4])
    assert dec.strides == [16, 8, 4, 2, 1] and dec.out_channels == [32, 16, 8, 8, 4]
    assert dec.blocks[3].conv1[0].in_channels == 8  # no skip channels at stride 2
    feats = [torch.randn(1, c, 64 >> i, 64 >> i) for i, c in enumerate(enc)]
    out = dec(feats)
    assert [tuple(t.shape) for t in out] == [
        (1, 32, 4, 4), (1, 16, 8, 8), (1, 8, 16, 16), (1, 8, 32, 32), (1, 4, 64, 64)
    ]  # fmt: skip
    coarse = UNetDecoder(enc, [32, 16, 8, 8, 4], min_stride=4)
    assert coarse.strides == [16, 8, 4] and len(coarse.blocks) == 3
    with pytest.raises(ValueError, match="one width per decoder stage"):
        UNetDecoder(enc, [8, 8])
    with pytest.raises(ValueError, match="min_stride"):
        UNetDecoder(enc, [32, 16, 8, 8, 4], min_stride=32)
