"""Every dataset layout, label mappings, label spaces and layout errors, on tiny trees."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from data_helpers import (
    camvid_label,
    check_sample,
    make_camvid,
    make_coco_png,
    make_folder,
    make_tiny,
    save_image,
)
from PIL import Image
from pycocotools import mask as mask_utils
from torch.utils.data import DataLoader

from semcolor import constants as C
from semcolor.data.base import SampleOptions
from semcolor.data.datasets import (
    DIV2K,
    CamVid,
    CocoStuff,
    ImageFolder,
    ImageNet,
    Places365,
    TinyImageNet,
    cocostuff_index_to_png,
    cocostuff_png_to_index,
    write_cocostuff_pngs,
)

IGN = C.IGNORE_INDEX


# ============================================================================ CamVid
@pytest.mark.parametrize("list_style", ["segnet", "relative", "none"])
def test_camvid_layouts_and_label_mapping(tmp_path, list_style):
    root = make_camvid(tmp_path / "camvid", list_style=list_style)
    for split in ("train", "val", "test"):
        ds = CamVid(str(root), split=split, options=SampleOptions(crop_size=30, train=False))
        assert len(ds) == 3 and ds.num_seg_classes == 11 and ds.num_scene_classes == 0
        assert all(p.endswith(".jpg") for p in ds.paths)
        assert ds.train is False
        s = ds[1]
        check_sample(s, 30, 0, index=1)
        assert bool(s["has_seg"]) and not bool(s["has_scene"])
        # eval: no resize (shorter side 30 = crop), center crop columns 5..34
        expected = camvid_label().astype(np.int64)[:, 5:35]
        expected[expected == 11] = IGN
        np.testing.assert_array_equal(s["seg"].numpy(), expected)
        assert int(s["seg"][0, 0]) == 0 and int(s["seg"][10, 5]) == 3
        assert int(s["seg"][10, 20]) == IGN
    assert CamVid(str(root)).train is True


def test_camvid_collates(tmp_path):
    root = make_camvid(tmp_path / "camvid", n=4, splits=("train",))
    ds = CamVid(str(root), options=SampleOptions(crop_size=24))
    batch = next(iter(DataLoader(ds, batch_size=4, shuffle=False)))
    assert batch["L"].shape == (4, 1, 24, 24) and batch["seg"].shape == (4, 24, 24)
    assert batch["index"].tolist() == [0, 1, 2, 3]
    assert batch["scene"].shape == (4, 0)


def test_camvid_label_spaces(tmp_path):
    root = make_camvid(tmp_path / "camvid", n=2, splits=("train",))
    ds = CamVid(
        str(root), options=SampleOptions(crop_size=24, num_scene_classes=200, num_seg_classes=20)
    )
    s = ds[0]
    check_sample(s, 24, 200)
    assert not bool(s["has_scene"]) and bool(s["has_seg"]) and int(s["seg"].max()) <= 10
    off = CamVid(str(root), options=SampleOptions(crop_size=24, num_seg_classes=0))
    s = off[0]
    assert not bool(s["has_seg"]) and bool((s["seg"] == IGN).all())
    with pytest.raises(ValueError, match="smaller than"):
        CamVid(str(root), options=SampleOptions(num_seg_classes=5))


# ============================================================================ COCO-Stuff
def test_cocostuff_png_value_mapping():
    raw = np.array([[0, 1, 181, 255]])
    np.testing.assert_array_equal(cocostuff_png_to_index(raw), [[1, 2, 182, 0]])
    np.testing.assert_array_equal(cocostuff_index_to_png(np.array([[1, 2, 182, 0]])), raw)
    from semcolor.data.io import BadLabelError

    with pytest.raises(BadLabelError, match="200"):
        cocostuff_png_to_index(np.array([[200]]))


def test_cocostuff_png_layout(tmp_path):
    root = make_coco_png(tmp_path / "coco", "train")
    make_coco_png(root, "val", n=1)
    ds = CocoStuff(str(root), split="train", options=SampleOptions(crop_size=30, train=False))
    assert len(ds) == 2 and ds.labels == "png" and ds.num_seg_classes == 183
    s = ds[0]
    check_sample(s, 30, 0, index=0)
    assert bool(s["has_seg"])
    assert int(s["seg"][0, 0]) == 1 and int(s["seg"][15, 0]) == 182 and int(s["seg"][25, 0]) == IGN
    assert len(CocoStuff(str(root), split="val")) == 1
    nolab = CocoStuff(str(root), split="train", labels="none", options=SampleOptions(crop_size=30))
    assert not bool(nolab[0]["has_seg"])


def _rle(mask: np.ndarray) -> dict:
    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": r["size"], "counts": r["counts"].decode("ascii")}


def make_coco_json(root, h=30, w=40):
    """One image: stuff 'sky-other' (157) top half via RLE, stuff 'other' (183) bottom half,
    a person (1) polygon and a crowd car (3, uncompressed RLE) in the bottom half."""
    save_image(root / "train2017" / "000000000001.jpg", h=h, w=w, quality=95)
    images = [{"id": 1, "file_name": "000000000001.jpg", "height": h, "width": w}]
    top = np.zeros((h, w), bool)
    top[: h // 2] = True
    stuff = {
        "images": images,
        "categories": [{"id": 157, "name": "sky-other"}, {"id": 183, "name": "other"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 157,
                "iscrowd": 0,
                "segmentation": _rle(top),
                "area": float(top.sum()),
                "bbox": [0, 0, w, h // 2],
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 183,
                "iscrowd": 0,
                "segmentation": _rle(~top),
                "area": float((~top).sum()),
                "bbox": [0, h // 2, w, h // 2],
            },
        ],
    }
    car = np.zeros((h, w), np.uint8)
    car[20:28, 25:35] = 1
    # uncompressed RLE: column-major run lengths starting with zeros
    flat = car.flatten(order="F")
    runs, cur, count = [], 0, 0
    for v in flat:
        if v == cur:
            count += 1
        else:
            runs.append(count)
            cur, count = v, 1
    runs.append(count)
    instances = {
        "images": images,
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        "annotations": [
            {
                "id": 10,
                "image_id": 1,
                "category_id": 1,
                "iscrowd": 0,
                "segmentation": [[2.0, 17.0, 12.0, 17.0, 12.0, 27.0, 2.0, 27.0]],
                "area": 100.0,
                "bbox": [2, 17, 10, 10],
            },
            {
                "id": 11,
                "image_id": 1,
                "category_id": 3,
                "iscrowd": 1,
                "segmentation": {"size": [h, w], "counts": runs},
                "area": 80.0,
                "bbox": [25, 20, 10, 8],
            },
        ],
    }
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "stuff_train2017.json").write_text(json.dumps(stuff))
    (root / "annotations" / "instances_train2017.json").write_text(json.dumps(instances))
    return root


def test_cocostuff_json_and_png_agree(tmp_path):
    root = make_coco_json(tmp_path / "coco")
    js = CocoStuff(str(root), split="train", options=SampleOptions(crop_size=30, train=False))
    assert js.labels == "json" and len(js) == 1
    _, seg = js.load_arrays(0)
    assert seg[3, 20] == 157  # stuff RLE
    assert seg[22, 6] == 1  # person polygon on top of "other"
    assert seg[24, 30] == 3  # crowd car (uncompressed RLE)
    assert seg[20, 20] == IGN  # stuff "other" (183) -> unlabeled
    assert set(np.unique(seg).tolist()) == {157, 1, 3, IGN}
    check_sample(js[0], 30, 0, index=0)

    assert write_cocostuff_pngs(str(root), "train") == 1
    raw = np.asarray(Image.open(root / "stuffthingmaps_trainval2017/train2017/000000000001.png"))
    assert raw[3, 20] == 156 and raw[22, 6] == 0 and raw[24, 30] == 2 and raw[20, 20] == 255
    png = CocoStuff(
        str(root), split="train", options=SampleOptions(crop_size=30, train=False)
    )  # auto -> png now
    assert png.labels == "png"
    _, seg_png = png.load_arrays(0)
    np.testing.assert_array_equal(seg_png, seg)
    torch.testing.assert_close(png[0]["seg"], js[0]["seg"])


def test_cocostuff_missing_labels_is_an_error(tmp_path):
    root = tmp_path / "coco"
    save_image(root / "train2017" / "a.jpg")
    with pytest.raises(FileNotFoundError, match="stuffthingmaps"):
        CocoStuff(str(root))
    assert len(CocoStuff(str(root), labels="none")) == 1
    with pytest.raises(FileNotFoundError, match="train2017"):
        CocoStuff(str(tmp_path / "elsewhere"))


# ============================================================================ Places365
CATS = "/a/airfield 0\n/a/arena/hockey 1\n/b/bakery/shop 2\n/c/canyon 3\n"


def test_places365_folders(tmp_path):
    root = tmp_path / "places"
    root.mkdir()
    (root / "categories_places365.txt").write_text(CATS)
    base = root / "places365_standard"
    save_image(base / "train" / "airfield" / "1.jpg")
    save_image(base / "train" / "arena-hockey" / "1.jpg")
    save_image(base / "train" / "bakery" / "shop" / "1.jpg")
    save_image(base / "train" / "canyon" / "2.jpg")
    save_image(base / "val" / "canyon" / "1.jpg")
    ds = Places365(str(root), options=SampleOptions(crop_size=24))
    assert ds.classes[1] == "/a/arena/hockey" and ds.num_scene_classes == 4
    labels = {p.split("train/")[1]: r.scene for p, r in zip(ds.paths, ds.records, strict=True)}
    assert labels == {
        "airfield/1.jpg": 0,
        "arena-hockey/1.jpg": 1,
        "bakery/shop/1.jpg": 2,
        "canyon/2.jpg": 3,
    }
    s = ds[1]
    check_sample(s, 24, 4, index=1)
    assert bool(s["has_scene"]) and int(s["scene"].argmax()) == 1
    val = Places365(str(root), split="val", options=SampleOptions(crop_size=24))
    assert len(val) == 1 and not val.train and int(val[0]["scene"].argmax()) == 3
    padded = Places365(str(root), options=SampleOptions(crop_size=24, num_scene_classes=365))
    assert padded[0]["scene"].shape == (365,)

    save_image(base / "train" / "not_a_category" / "1.jpg")
    with pytest.raises(ValueError, match="not_a_category"):
        Places365(str(root))


def test_places365_folders_without_categories_file(tmp_path):
    root = tmp_path / "places"
    save_image(root / "train" / "b" / "1.jpg")
    save_image(root / "train" / "a" / "1.jpg")
    ds = Places365(str(root), options=SampleOptions(crop_size=24))
    assert ds.classes == ["a", "b"] and [r.scene for r in ds.records] == [0, 1]


def test_places365_list_files(tmp_path):
    root = tmp_path / "places"
    root.mkdir()
    (root / "categories_places365.txt").write_text(CATS)
    (root / "places365_train_standard.txt").write_text(
        "/a/airfield/00000001.jpg 0\n/a/arena/hockey/00000001.jpg 1\n"
    )
    save_image(root / "data_256" / "a" / "airfield" / "00000001.jpg")
    save_image(root / "data_256" / "a" / "arena" / "hockey" / "00000001.jpg")
    (root / "places365_val.txt").write_text("Places365_val_00000001.jpg 2\n")
    save_image(root / "val_256" / "Places365_val_00000001.jpg")
    ds = Places365(str(root), options=SampleOptions(crop_size=24))
    assert [r.scene for r in ds.records] == [0, 1]
    assert ds.paths[1].endswith("data_256/a/arena/hockey/00000001.jpg")
    assert int(ds[1]["scene"].argmax()) == 1
    val = Places365(str(root), split="val", options=SampleOptions(crop_size=24))
    assert val.records[0].scene == 2 and int(val[0]["scene"].argmax()) == 2
    (root / "places365_val.txt").write_text("missing.jpg 2\n")
    with pytest.raises(FileNotFoundError, match="image_dir"):
        Places365(str(root), split="val")


# ============================================================================ ImageNet
def test_imagenet_folders_and_lists(tmp_path):
    root = tmp_path / "imagenet"
    save_image(root / "train" / "n002" / "a.JPEG")
    save_image(root / "train" / "n001" / "b.JPEG")
    save_image(root / "train" / "n001" / "c.jpeg")
    save_image(root / "val" / "n002" / "v.JPEG")
    ds = ImageNet(str(root), options=SampleOptions(crop_size=24))
    assert ds.classes == ["n001", "n002"] and len(ds) == 3
    assert [r.scene for r in ds.records] == [0, 0, 1]
    check_sample(ds[2], 24, 2, index=2)
    val = ImageNet(str(root), split="val", options=SampleOptions(crop_size=24))
    assert val.records[0].scene == 1 and not val.train

    save_image(root / "flat" / "w.JPEG")
    (root / "ctest.txt").write_text(
        "val/n002/v.JPEG\ntrain/n001/b.JPEG 1\nflat/w.JPEG n001\n# comment\nflat/w.JPEG\n"
    )
    lst = ImageNet(
        str(root), split="val", image_list="ctest.txt", options=SampleOptions(crop_size=24)
    )
    assert [r.scene for r in lst.records] == [1, 1, 0, None]
    s = lst[3]
    check_sample(s, 24, 2, index=3)
    assert not bool(s["has_scene"])
    (root / "bad.txt").write_text("flat/w.JPEG n999\n")
    with pytest.raises(ValueError, match="n999"):
        ImageNet(str(root), image_list="bad.txt")
    (root / "LOC_synset_mapping.txt").write_text("n002 goldfish\nn001 tench\n")
    assert ImageNet(str(root)).classes == ["n002", "n001"]


# ============================================================================ DIV2K
def test_div2k(tmp_path):
    root = tmp_path / "div2k"
    for i in (1, 2):
        save_image(root / "DIV2K_train_HR" / f"{i:04d}.png", seed=i)
    save_image(root / "DIV2K_valid_HR" / "0801.png")
    ds = DIV2K(str(root), options=SampleOptions(crop_size=24))
    assert len(ds) == 2 and ds.paths[0].endswith("0001.png")
    s = ds[0]
    check_sample(s, 24, 0)
    assert not bool(s["has_seg"]) and not bool(s["has_scene"]) and bool(s["colorful"])
    for split in ("val", "valid"):
        v = DIV2K(str(root), split=split, options=SampleOptions(crop_size=24))
        assert len(v) == 1 and not v.train
    only_valid = tmp_path / "div2k_valid_only"
    save_image(only_valid / "DIV2K_valid_HR" / "0801.png")
    with pytest.raises(FileNotFoundError, match="DIV2K_train_HR' does not exist"):
        DIV2K(str(only_valid))


# ============================================================================ Tiny ImageNet
def test_tinyimagenet(tmp_path):
    root = make_tiny(tmp_path / "tiny")
    tr = TinyImageNet(str(root), options=SampleOptions(crop_size=16))
    assert len(tr) == 6 and tr.num_scene_classes == 3
    assert [r.scene for r in tr.records] == [0, 0, 1, 1, 2, 2]
    s = tr[3]
    check_sample(s, 16, 3, index=3)
    assert int(s["scene"].argmax()) == 1 and float(s["scene"][1]) == 1.0
    val = TinyImageNet(str(root), split="val", options=SampleOptions(crop_size=16))
    assert [r.scene for r in val.records] == [1, 2, None]
    assert not bool(val[2]["has_scene"])
    test = TinyImageNet(str(root), split="test", options=SampleOptions(crop_size=16))
    assert len(test) == 1 and not bool(test[0]["has_scene"])
    padded = TinyImageNet(str(root), options=SampleOptions(crop_size=16, num_scene_classes=200))
    assert padded[5]["scene"].shape == (200,) and int(padded[5]["scene"].argmax()) == 2
    with pytest.raises(ValueError, match="smaller than"):
        TinyImageNet(str(root), options=SampleOptions(num_scene_classes=2))


def test_tinyimagenet_holds_out_part_of_train_for_validation(tmp_path):
    """data=tinyimagenet validates on a path-hashed part of train, never on the official
    val (a report split); training never sees that part."""
    from hydra.utils import instantiate

    from semcolor.data.base import in_holdout
    from tests.lit.helpers import compose_train

    root = make_tiny(tmp_path / "tiny-imagenet-200", per_class=8)
    cfg = compose_train(["data=tinyimagenet", f"paths.data_root={tmp_path}", "data.crop_size=16",
                         "data.val_fraction=0.3", "data.skip_log=null"])  # fmt: skip
    train, val = instantiate(cfg.data.train), instantiate(cfg.data.val)
    tr, va = set(train.paths), set(val.paths)
    assert va and tr and not tr & va and len(tr | va) == 24
    assert all("/train/" in p for p in va)  # not tiny-imagenet-200/val
    assert va == {p for p in tr | va if in_holdout(p.split("/train/")[1], 0.3)}
    assert all(r.scene is not None for r in val.records)  # the scene head is scored too
    again = TinyImageNet(str(root), holdout_fraction=0.3, holdout="only")
    assert set(again.paths) == va  # deterministic
    with pytest.raises(ValueError, match="split='train'"):
        TinyImageNet(str(root), split="val", holdout_fraction=0.3)
    with pytest.raises(ValueError, match="holdout must be one of"):
        TinyImageNet(str(root), holdout_fraction=0.3, holdout="some")
    # a small tree where the hash picks none at 5% still validates on one image (held_out)
    small = make_tiny(tmp_path / "small", per_class=2)
    assert not [p for p in TinyImageNet(str(small)).paths
                if in_holdout(p.split("/train/")[1], 0.05)]  # fmt: skip
    only = TinyImageNet(str(small), holdout_fraction=0.05, holdout="only").paths
    rest = TinyImageNet(str(small), holdout_fraction=0.05, holdout="exclude").paths
    assert len(only) == 1 and len(rest) == 5 and not set(only) & set(rest)


# ============================================================================ folder
def test_image_folder_recursive_case_insensitive(tmp_path):
    root = tmp_path / "folder"
    names = ["a.JPG", "b/c.Png", "b/d/e.jpeg", "f.TIFF", "g.bmp", "h.webp", "i.tif"]
    for n in names:
        save_image(root / n)
    (root / "notes.txt").write_text("not an image")
    save_image(root / ".hidden.jpg")
    ds = ImageFolder(str(root), options=SampleOptions(crop_size=24))
    assert len(ds) == len(names) and ds.train
    assert sorted(ds.relpath(i) for i in range(len(ds))) == sorted(names)
    for i in range(len(ds)):
        check_sample(ds[i], 24, 0, index=i)
    make_folder(tmp_path / "bsds" / "val", n=2)
    val = ImageFolder(str(tmp_path / "bsds"), split="val", options=SampleOptions(crop_size=24))
    assert len(val) == 2 and not val.train


# ============================================================================ errors
@pytest.mark.parametrize(
    "cls,kw",
    [
        (CamVid, {}),
        (CocoStuff, {}),
        (Places365, {}),
        (ImageNet, {}),
        (DIV2K, {}),
        (TinyImageNet, {}),
        (ImageFolder, {}),
    ],
)
def test_missing_root_names_path_and_layout(tmp_path, cls, kw):
    missing = tmp_path / "does_not_exist"
    with pytest.raises(FileNotFoundError) as ei:
        cls(str(missing), **kw)
    assert str(missing) in str(ei.value) and "Expected layout" in str(ei.value)


def test_empty_datasets_raise(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        ImageFolder(str(tmp_path / "empty"))
    (tmp_path / "div" / "DIV2K_train_HR").mkdir(parents=True)
    with pytest.raises(ValueError, match="DIV2K_train_HR"):
        DIV2K(str(tmp_path / "div"))
    (tmp_path / "cam" / "train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="trainannot"):
        CamVid(str(tmp_path / "cam"))


def test_bad_split_rejected(tmp_path):
    make_camvid(tmp_path / "c", n=1, splits=("train",))
    with pytest.raises(ValueError, match="split"):
        CamVid(str(tmp_path / "c"), split="training")
