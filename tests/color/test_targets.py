"""Distribution-head targets at stride s: exact cell distributions, Zhang's subsampling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from semcolor.color import AB_BINS, soft_encode, soft_encode_sparse
from semcolor.color.targets import (
    DIST_TARGET_MODES,
    cell_centres,
    cell_distributions,
    distribution_targets,
)


def _ab(b=2, h=16, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, 2, h, w, generator=g) - 0.5) * 120


def test_cell_equals_mean_of_dense_encodings():
    ab = _ab()
    got = cell_distributions(ab, 4)
    ref = F.avg_pool2d(soft_encode(ab), 4)  # the dense reference, small enough here
    assert got.shape == (2, 313, 4, 3)
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(got.sum(1), torch.ones(2, 4, 3))


def test_cell_border_cells_average_only_their_pixels():
    ab = _ab(1, 10, 7)  # ceil(10/4)=3, ceil(7/4)=2: partial cells at the border
    got = cell_distributions(ab, 4)
    dense = soft_encode(ab)
    for i, (y0, y1) in enumerate(((0, 4), (4, 8), (8, 10))):
        for j, (x0, x1) in enumerate(((0, 4), (4, 7))):
            ref = dense[0, :, y0:y1, x0:x1].mean((1, 2))
            torch.testing.assert_close(got[0, :, i, j], ref, atol=1e-6, rtol=1e-5)


def test_cell_keeps_both_colours_of_an_edge_where_area_mixes_them():
    # A 4x4 cell, half saturated red-ish, half green-ish: the exact target has mass at both
    # colours; the area-averaged target is a desaturated mixture near neutral.
    ab = torch.zeros(1, 2, 4, 4)
    ab[0, :, :, :2] = torch.tensor([60.0, 40.0]).view(2, 1, 1)
    ab[0, :, :, 2:] = torch.tensor([-60.0, 40.0]).view(2, 1, 1)
    bins = torch.tensor(AB_BINS, dtype=torch.float32)
    cell = distribution_targets(ab, (1, 1), "cell").dense[0, :, 0, 0]
    area = distribution_targets(ab, (1, 1), "area")
    near_red = (bins - torch.tensor([60.0, 40.0])).norm(dim=1) < 15
    near_green = (bins - torch.tensor([-60.0, 40.0])).norm(dim=1) < 15
    assert cell[near_red].sum() > 0.45 and cell[near_green].sum() > 0.45
    area_bins = bins[area.idx[0, :, 0, 0]]
    assert area_bins[:, 0].abs().max() <= 20  # a is averaged away: a ~ 0


def test_subsample_encodes_each_cells_centre_where_upsampling_puts_it():
    """The head's value of a cell is upsampled (bilinear, align_corners=False) as the cell
    centre's: "subsample" must take ab there, not at the top-left pixel (1.5 px off at s=4)."""
    ab = _ab()  # 16 x 12 at stride 4: full cells, centre between pixels 1 and 2 (and 5, 6...)
    t = distribution_targets(ab, (4, 3), "subsample")
    centre = F.avg_pool2d(ab[..., 1:, 1:], 2, stride=4)  # mean of each cell's central 2x2
    idx, wts = soft_encode_sparse(centre)
    assert torch.equal(t.idx, idx)
    torch.testing.assert_close(t.wts, wts)
    # an odd stride takes the centre pixel itself; a partial border cell its own centre
    ab = _ab(1, 7, 8)  # s=3: rows 0-2, 3-5, 6; columns 0-2, 3-5, 6-7
    got = cell_centres(ab, 3)
    rows = ab[..., [1, 4, 6], :]
    want = torch.stack([rows[..., 1], rows[..., 4], (rows[..., 6] + rows[..., 7]) / 2], -1)
    torch.testing.assert_close(got, want)


def test_subsample_targets_line_up_with_the_upsampled_output():
    """A smooth horizontal ramp of b: the stride-4 targets' values, upsampled as the model's
    output is, land on the ramp (within the encoding's error); the top-left pixel would sit
    1.5 px (1.5 ramp steps) early everywhere."""
    from semcolor.color import mean
    from semcolor.inference import upsample_ab

    ab = torch.zeros(1, 2, 8, 32)
    ab[0, 1] = torch.arange(32.0) * 2 - 30  # b from -30 to 32, 2 per pixel
    t = distribution_targets(ab, (2, 8), "subsample")
    dense = torch.zeros(1, 313, 2, 8).scatter_add_(1, t.idx, t.wts)
    up = upsample_ab(mean(torch.log(dense.clamp_min(1e-12))), (8, 32))
    err = (up[0, 1, :, 4:-4] - ab[0, 1, :, 4:-4]).abs().mean()  # away from the clamped borders
    assert err < 1.0, f"mean |b error| {err:.2f} (top-left sampling gives about 3)"


def test_stride_one_is_plain_soft_encoding_for_every_mode():
    ab = _ab(1, 8, 8)
    idx, wts = soft_encode_sparse(ab)
    for mode in DIST_TARGET_MODES:
        t = distribution_targets(ab, (8, 8), mode)
        assert t.dense is None and torch.equal(t.idx, idx)


def test_cross_entropy_and_histogram_agree_with_dense_forms():
    ab = _ab()
    logp = torch.log_softmax(torch.randn(2, 313, 4, 3), 1)
    for mode in DIST_TARGET_MODES:
        t = distribution_targets(ab, (4, 3), mode)
        dense = (
            t.dense
            if t.dense is not None
            else torch.zeros(2, 313, 4, 3).scatter_add_(1, t.idx, t.wts)
        )
        torch.testing.assert_close(t.cross_entropy(logp), -(dense * logp).sum(1))
        mask = torch.tensor([True, False])
        torch.testing.assert_close(t.histogram(mask), dense[:1].sum((0, 2, 3)).double())
        if mode != "cell":  # one encoded pixel per cell: its nearest bin comes first
            assert torch.equal(t.top_bin(), t.idx[:, 0])
            assert torch.equal(t.wts.argmax(1), torch.zeros_like(t.idx[:, 0]))
        else:
            assert torch.equal(t.top_bin(), dense.argmax(1))


def test_bad_mode_and_size_are_explained():
    with pytest.raises(ValueError, match="cell"):
        distribution_targets(_ab(), (4, 3), "nearest")
    with pytest.raises(ValueError, match="integer stride"):
        distribution_targets(_ab(1, 16, 16), (5, 3), "cell")


def test_small_odd_sizes_use_the_power_of_two_stride():
    """A 9x9 input under a stride-4 head has 3x3 cells of 4, 4 and 1 pixels (not 3x3 cells
    of stride 3)."""
    ab = _ab(1, 9, 9)
    t = distribution_targets(ab, (3, 3), "cell")
    torch.testing.assert_close(t.dense, cell_distributions(ab, 4))
    torch.testing.assert_close(distribution_targets(ab, (3, 3), "cell", stride=4).dense, t.dense)
    with pytest.raises(ValueError, match="integer stride"):
        distribution_targets(ab, (3, 3), "cell", stride=2)
