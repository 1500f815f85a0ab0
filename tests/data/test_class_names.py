"""Class names: read from label lists, carried by datasets and mixes, stored in labels files."""

from __future__ import annotations

import numpy as np
import pytest

from semcolor.data.base import SampleOptions
from semcolor.data.class_names import (
    check_class_names,
    class_name,
    dataset_class_names,
    read_class_names,
    wordnet_names,
)
from semcolor.data.datasets import CamVid, CocoStuff, Places365, TinyImageNet
from semcolor.data.mixed import MixedDataset
from semcolor.data.scene_labels import save_scene_labels, scene_label_class_names
from tests.data.data_helpers import make_camvid, make_coco_png, make_tiny, save_image

OPTS = SampleOptions(crop_size=16)


def test_read_class_names_formats(tmp_path):
    places = tmp_path / "categories_places365.txt"
    places.write_text("/a/airfield 0\n/a/arena/hockey 2\n/a/alley 1\n")
    assert read_class_names(places) == ["airfield", "alley", "arena/hockey"]
    coco = tmp_path / "labels.txt"
    coco.write_text("0: unlabeled\n1: person\n2: traffic light\n")
    assert read_class_names(coco) == ["unlabeled", "person", "traffic light"]
    plain = tmp_path / "classes.txt"
    plain.write_text("# CamVid\nSky\nBuilding\n\n")
    assert read_class_names(plain) == ["Sky", "Building"]
    gap = tmp_path / "gap.txt"
    gap.write_text("/a/x 0\n/b/y 2\n")
    with pytest.raises(ValueError, match="0..1"):
        read_class_names(gap)
    with pytest.raises(FileNotFoundError, match="class names file"):
        read_class_names(tmp_path / "absent.txt")


def test_wordnet_names_are_short_and_unique(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("n1\tgoldfish, Carassius auratus\nn2\tcrane\nn3\tcrane, derrick\n")
    assert wordnet_names(["n1", "n2", "n3", "n9"], words) == [
        "goldfish", "crane", "crane, derrick", "n9"]  # fmt: skip


def test_datasets_carry_their_names(tmp_path):
    tiny = make_tiny(tmp_path / "tiny")
    (tiny / "words.txt").write_text("n01\tgoldfish, Carassius auratus\nn02\tbullfrog\n"
                                    "n03\ttailed frog, bell toad\n")  # fmt: skip
    t = TinyImageNet(str(tiny), "train", options=OPTS)
    assert t.scene_names == ["goldfish", "bullfrog", "tailed frog"] and t.seg_names == []
    cam = CamVid(str(make_camvid(tmp_path / "camvid", n=1, splits=("train",))), "train",
                 options=OPTS)  # fmt: skip
    assert cam.seg_names[:3] == ["Sky", "Building", "Pole"] and len(cam.seg_names) == 11
    coco = make_coco_png(tmp_path / "coco", "train", n=1)
    assert CocoStuff(str(coco), "train", options=OPTS).seg_names == []  # no labels.txt
    (coco / "labels.txt").write_text("0: unlabeled\n" + "".join(f"{i}: c{i}\n"
                                                               for i in range(1, 183)))
    assert CocoStuff(str(coco), "train", options=OPTS).seg_names[:2] == ["unlabeled", "c1"]
    places = tmp_path / "places"
    save_image(places / "places365_standard" / "train" / "a" / "airfield" / "1.jpg")
    (places / "categories_places365.txt").write_text("/a/airfield 0\n/b/beach 1\n")
    assert Places365(str(places), "train", options=OPTS).scene_names == ["airfield", "beach"]
    # no labels wanted: no names either
    t0 = TinyImageNet(str(tiny), "train", options=SampleOptions(crop_size=16, num_scene_classes=0))
    assert t0.scene_names == []


def test_a_mix_takes_each_heads_names_from_the_member_that_has_them(tmp_path):
    tiny = make_tiny(tmp_path / "tiny")
    (tiny / "words.txt").write_text("n01\ta\nn02\tb\nn03\tc\n")
    opts = SampleOptions(crop_size=16, num_scene_classes=5, num_seg_classes=11)
    cam = CamVid(str(make_camvid(tmp_path / "camvid", n=1, splits=("train",))), "train",
                 options=opts)  # fmt: skip
    mix = MixedDataset([cam, TinyImageNet(str(tiny), "train", options=opts)], [0.5, 0.5])
    names = dataset_class_names(mix)
    assert names["scene"] == ["a", "b", "c"] and names["seg"][0] == "Sky"
    # a padded space (5 scene classes) names its first three; unnamed ones read "class k"
    fit = check_class_names(names, {"scene": 5, "seg": 11})
    assert class_name(fit, "scene", 1) == "b" and class_name(fit, "scene", 4) == "class 4"
    assert check_class_names(names, {"seg": 11}) == {"seg": names["seg"]}  # no scene head
    assert check_class_names(names, {"scene": 2, "seg": 11}).keys() == {"seg"}  # too many


def test_scene_labels_file_stores_class_names(tmp_path):
    path = tmp_path / "l.npz"
    save_scene_labels(path, ["a.jpg"], np.array([[1, 0]]), np.ones((1, 2), np.float32), 3,
                      class_names=["beach", "coast", "lighthouse"])  # fmt: skip
    assert scene_label_class_names(path) == ["beach", "coast", "lighthouse"]
    with pytest.raises(ValueError, match="one name per class"):
        save_scene_labels(path, ["a.jpg"], np.array([[1]]), np.ones((1, 1), np.float32), 3,
                          class_names=["beach"])  # fmt: skip
    old = tmp_path / "old.npz"
    save_scene_labels(old, ["a.jpg"], np.array([[1]]), np.ones((1, 1), np.float32), 3)
    assert scene_label_class_names(old) == []
