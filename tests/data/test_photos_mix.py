"""data=photos: the default model's mix, its aux_colour switch, SampleOptions.colour and
options_with."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from semcolor.data.base import SampleOptions, options_with
from semcolor.data.datasets import CamVid, ImageFolder
from tests.data.data_helpers import make_camvid, make_data_root, make_folder
from tests.lit.helpers import compose_train


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return make_data_root(tmp_path_factory.mktemp("data"))


def _mix(data_root, tmp_path, *extra):
    cfg = compose_train(["data=photos", f"paths.data_root={data_root}",
                         f"paths.output_dir={tmp_path}", *extra])  # fmt: skip
    return instantiate(cfg.data, _convert_="all").train_set


@pytest.mark.parametrize("aux", [False, True])
def test_photos_mix_members_labels_and_switch(data_root, tmp_path, aux):
    mix = _mix(data_root, tmp_path, f"data.aux_colour={str(aux).lower()}")
    names = [type(d).__name__ for d in mix.datasets]
    assert names == ["ImageFolder"] * 5 + ["CamVid", "ImageFolder"]
    assert all(d.train for d in mix.datasets)  # BSDS500's "val" folder trains: random crops
    tiny_w = mix.weights[-1]
    assert (tiny_w > 0) == aux  # Tiny ImageNet is drawn only when it trains colour
    assert mix.num_scene_classes == 365 and mix.num_seg_classes == 11
    photo = mix[0]  # imagenette2: colour and a Places365 pseudo-label, no segmentation
    assert bool(photo["colorful"]) and bool(photo["has_scene"]) and not bool(photo["has_seg"])
    assert torch.isclose(photo["scene"].sum(), torch.tensor(1.0))
    cam = mix[mix.offsets[5]]
    assert bool(cam["has_seg"]) and not bool(cam["has_scene"])
    assert bool(cam["colorful"]) == aux  # CamVid trains colour only with the switch
    tiny = mix[mix.offsets[6]]
    assert not bool(tiny["has_scene"])  # its wnid classes are not Places365 scenes


def test_colour_false_marks_samples_not_colourful(tmp_path):
    root = make_folder(tmp_path / "f", n=2)
    on = ImageFolder(str(root), options=SampleOptions(crop_size=16))
    off = ImageFolder(str(root), options=options_with(on.options, colour=False))
    assert bool(on[0]["colorful"]) and not bool(off[0]["colorful"])
    cam = CamVid(str(make_camvid(tmp_path / "c", n=1, splits=("train",))),
                 options=SampleOptions(crop_size=16, colour=False))  # fmt: skip
    s = cam[0]
    assert bool(s["has_seg"]) and not bool(s["colorful"])


def test_options_with_names_valid_fields():
    with pytest.raises(TypeError, match="no field \\['colours'\\]; valid:"):
        options_with(SampleOptions(), colours=False)


def test_pick_resolver_needs_a_boolean(data_root, tmp_path):
    with pytest.raises(Exception, match="semcolor.pick needs true or false"):
        _mix(data_root, tmp_path, "data.aux_colour=maybe")
