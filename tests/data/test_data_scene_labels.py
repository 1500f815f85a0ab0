"""labels.npz soft scene labels: format round trip, validation, use by datasets."""

from __future__ import annotations

import numpy as np
import pytest
from data_helpers import check_sample, make_folder, make_tiny

from semcolor.data.base import SampleOptions
from semcolor.data.datasets import ImageFolder, TinyImageNet
from semcolor.data.scene_labels import (
    load_scene_labels,
    save_scene_labels,
    soft_scene_vector,
)


def test_round_trip(tmp_path):
    names = ["a/x.jpg", "./b.png", "c\\d.jpg"]
    idx = np.array([[0, 1, 2, 3, 4], [9, 8, 7, 6, 5], [1, 1, 2, 3, 4]])
    prob = np.array([[0.5, 0.2, 0.1, 0.1, 0.1], [0.9, 0.02, 0.02, 0.02, 0.02], [1, 1, 1, 1, 0]])
    p = tmp_path / "labels.npz"
    save_scene_labels(p, names, idx, prob)
    table = load_scene_labels(p)
    assert sorted(table) == ["a/x.jpg", "b.png", "c/d.jpg"]
    i, q = table["b.png"]
    assert i.dtype == np.int64 and q.dtype == np.float32 and i.shape == (5,) == q.shape
    np.testing.assert_array_equal(i, idx[1])
    np.testing.assert_allclose(q, prob[1], rtol=1e-6)
    with np.load(p, allow_pickle=False) as z:  # readable without pickle
        assert z["names"].dtype.kind == "U"


def test_empty_file_round_trip(tmp_path):
    p = tmp_path / "empty.npz"
    save_scene_labels(p, [], np.zeros((0, 5), np.int64), np.zeros((0, 5)))
    assert load_scene_labels(p) == {}


@pytest.mark.parametrize(
    "names,idx,prob,match",
    [
        (["a", "b"], np.zeros((2, 5), int), np.full((1, 5), 0.2), "shape"),
        (["a"], np.full((1, 5), -1), np.full((1, 5), 0.2), "negative"),
        (["a"], np.zeros((1, 5), int), np.full((1, 5), -0.2), "non-negative"),
        (["a"], np.zeros((1, 5), int), np.zeros((1, 5)), "all-zero"),
        (["a", "a"], np.zeros((2, 5), int), np.full((2, 5), 0.2), "duplicate"),
        (["a"], np.zeros((1, 5)) + 0.5, np.full((1, 5), 0.2), "integers"),
    ],
)
def test_save_validates(tmp_path, names, idx, prob, match):
    with pytest.raises(ValueError, match=match):
        save_scene_labels(tmp_path / "x.npz", names, idx, prob)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_scene_labels(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, names=np.array(["a"]), idx=np.zeros((1, 5), np.int64))
    with pytest.raises(ValueError, match="prob"):
        load_scene_labels(bad)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError):
        load_scene_labels(junk)


def test_soft_vector_renormalised():
    v = soft_scene_vector(np.array([3, 1, 0, 2, 4]), np.array([0.4, 0.2, 0.1, 0.05, 0.05]), 7)
    assert v.dtype == np.float32 and v.shape == (7,)
    np.testing.assert_allclose(v.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(v[3], 0.4 / 0.8, rtol=1e-6)
    assert v[5] == 0 and v[6] == 0
    with pytest.raises(ValueError, match="out of range"):
        soft_scene_vector(np.array([7]), np.array([1.0]), 7)


def test_dataset_uses_soft_labels_instead_of_hard(tmp_path):
    root = make_tiny(tmp_path / "tiny")
    ds0 = TinyImageNet(str(root), options=SampleOptions(crop_size=16))
    names = [ds0.relpath(i) for i in range(len(ds0) - 1)]  # last image left out
    assert names[0] == "train/n01/images/n01_0.JPEG"
    idx = np.tile(np.array([[5, 2, 0, 1, 3]]), (len(names), 1))
    prob = np.tile(np.array([[0.3, 0.3, 0.1, 0.1, 0.2]]), (len(names), 1))
    p = tmp_path / "labels.npz"
    save_scene_labels(p, names, idx, prob)
    ds = TinyImageNet(
        str(root), options=SampleOptions(crop_size=16, num_scene_classes=10, scene_labels=str(p))
    )
    s = ds[0]
    check_sample(s, 16, 10, index=0)
    assert bool(s["has_scene"])
    np.testing.assert_allclose(
        s["scene"].numpy(), [0.1, 0.1, 0.3, 0.2, 0, 0.3, 0, 0, 0, 0], rtol=1e-5, atol=1e-7
    )
    last = ds[len(ds) - 1]
    assert not bool(last["has_scene"]) and float(last["scene"].sum()) == 0
    with pytest.raises(ValueError, match="num_scene_classes"):
        TinyImageNet(
            str(root), options=SampleOptions(crop_size=16, num_scene_classes=5, scene_labels=str(p))
        )


def test_colour_only_dataset_with_soft_labels(tmp_path):
    root = make_folder(tmp_path / "f", n=2)
    ds0 = ImageFolder(str(root), options=SampleOptions(crop_size=16))
    p = tmp_path / "l.npz"
    save_scene_labels(p, [ds0.relpath(0), ds0.relpath(1)], [[1] * 5, [2] * 5], [[0.2] * 5] * 2)
    with pytest.raises(ValueError, match="num_scene_classes"):
        ImageFolder(str(root), options=SampleOptions(scene_labels=str(p)))
    ds = ImageFolder(
        str(root), options=SampleOptions(crop_size=16, num_scene_classes=365, scene_labels=str(p))
    )
    s = ds[1]
    check_sample(s, 16, 365, index=1)
    assert bool(s["has_scene"]) and float(s["scene"][2]) == pytest.approx(1.0)
    other = tmp_path / "other.npz"
    save_scene_labels(other, ["nothing/here.jpg"], [[1] * 5], [[0.2] * 5])
    with pytest.raises(ValueError, match="relative to the dataset root"):
        ImageFolder(
            str(root), options=SampleOptions(num_scene_classes=365, scene_labels=str(other))
        )
