"""One name per concept: the distribution head's method is "dist", its loss weight w_dist,
the scene term w_scene. The old spellings still work, with a FutureWarning, and mean the same."""

from __future__ import annotations

import pytest
import torch

from semcolor import inference as inf
from semcolor.losses import MultiTaskLoss
from semcolor.models import SemColorNet


def _net():
    torch.manual_seed(0)
    return SemColorNet(encoder="resnet18", decoder_channels=[16, 8, 8, 8, 8], heads=["reg", "dist"],
                       num_scene_classes=0, num_seg_classes=0).eval()  # fmt: skip


def test_method_soft_is_dist_with_a_warning():
    net, L = _net(), torch.rand(1, 1, 32, 32) * 100
    new = inf.predict_ab(net, L, size=32, methods=("dist",))["dist"]
    with pytest.warns(FutureWarning, match="'soft' is deprecated; call it 'dist'"):
        old = inf.predict_ab(net, L, size=32, methods=("soft",))["soft"]  # keyed as asked
    assert torch.equal(new, old)
    with pytest.raises(ValueError, match=r"valid: \['dist', 'reg'\]"):
        inf.canonical_method("annealed")


def test_api_head_argument_is_method_with_a_warning():
    import numpy as np

    import semcolor

    model = inf.LoadedModel(_net())
    img = (np.random.default_rng(0).random((24, 24)) * 255).astype(np.uint8)
    new = semcolor.colorize(img, model=model, size=32, method="dist")
    with pytest.warns(FutureWarning, match=r"head=\.\.\.\) is deprecated"):
        old = semcolor.colorize(img, model=model, size=32, head="soft")
    assert np.array_equal(new, old)


def test_loss_w_soft_and_w_clas_are_w_dist_and_w_scene_with_a_warning():
    with pytest.warns(FutureWarning, match=r"loss.w_soft is deprecated; write loss.w_dist=0.3"):
        old = MultiTaskLoss(w_soft=0.3, w_clas=0.02)
    new = MultiTaskLoss(w_dist=0.3, w_scene=0.02)
    assert (old.w_dist, old.w_scene) == (new.w_dist, new.w_scene) == (0.3, 0.02)


def test_loss_alias_on_the_command_line_composes(tmp_path):
    from hydra.utils import instantiate

    from tests.lit.helpers import compose_train

    cfg = compose_train(["loss.w_soft=0.25", f"paths.output_dir={tmp_path}"])
    with pytest.warns(FutureWarning):
        loss = instantiate(cfg.loss)
    assert loss.w_dist == 0.25
