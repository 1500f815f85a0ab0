"""One real pass over the shared copies of CamVid, Tiny ImageNet, BSDS500, COCO-Stuff JSON
and the Places365 category list (skipped when ../shared is absent)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch
from data_helpers import check_sample, save_image, shared_path
from PIL import Image
from pycocotools import mask as mask_utils
from torch.utils.data import DataLoader

from semcolor import constants as C
from semcolor.data.base import SampleOptions
from semcolor.data.datasets import (
    CamVid,
    CocoStuff,
    ImageFolder,
    TinyImageNet,
    read_places365_categories,
)

pytestmark = pytest.mark.shared


def test_real_camvid():
    root = shared_path("camvid")
    for split, n in (("train", 367), ("val", 101), ("test", 233)):
        ds = CamVid(str(root), split=split, options=SampleOptions(crop_size=224))
        assert len(ds) == n and all(os.path.isfile(p) for p in ds.paths)
        assert all(os.path.isfile(r.seg) for r in ds.records)
    names = (root / "classes.txt").read_text().split()
    assert names[:11] == ds.seg_classes and names[11] == "Unlabelled"
    ds = CamVid(str(root), split="train", options=SampleOptions(crop_size=224))
    batch = next(iter(DataLoader(ds, batch_size=3, shuffle=False)))
    assert batch["L"].shape == (3, 1, 224, 224) and batch["has_seg"].all()
    for i in range(3):
        check_sample({k: v[i] for k, v in batch.items()}, 224, 0, index=i)
    vals = set(batch["seg"].unique().tolist())
    assert vals <= set(range(11)) | {C.IGNORE_INDEX} and len(vals) >= 4
    assert batch["colorful"].all()
    # eval geometry: 480x360 -> shorter side 224 -> 299x224, center crop; labels follow
    ev = CamVid(str(root), split="val", options=SampleOptions(crop_size=224))
    _, raw = ev.load_arrays(0)
    s = ev[0]
    assert raw.shape == (360, 480)
    assert (
        abs(
            float((s["seg"] == C.IGNORE_INDEX).float().mean())
            - float((raw == C.IGNORE_INDEX).mean())
        )
        < 0.1
    )
    assert ds.skipped == [] and ev.skipped == []


def test_real_tinyimagenet():
    root = shared_path("tiny-imagenet-200")
    tr = TinyImageNet(str(root), split="train", options=SampleOptions(crop_size=64))
    assert tr.num_scene_classes == 200 and len(tr) >= 200
    wnids = (root / "wnids.txt").read_text().split()
    s = tr[0]
    check_sample(s, 64, 200, index=0)
    assert tr.classes[int(s["scene"].argmax())] == wnids[0]
    assert wnids[0] in tr.paths[0]
    val = TinyImageNet(str(root), split="val", options=SampleOptions(crop_size=64))
    ann = dict(
        line.split("\t")[:2]
        for line in (root / "val" / "val_annotations.txt").read_text().splitlines()
        if line
    )
    for i in (0, 1, len(val) - 1):
        s = val[i]
        check_sample(s, 64, 200, index=i)
        assert bool(s["has_scene"])
        assert val.classes[int(s["scene"].argmax())] == ann[os.path.basename(val.paths[i])]
    # grayscale JPEGs exist in Tiny ImageNet: they must load and be flagged colourless
    gray = next(i for i, p in enumerate(val.paths) if Image.open(p).mode == "L")
    s = val[gray]
    assert int(s["index"]) == gray and not bool(s["colorful"])
    assert float(s["ab"].abs().max()) < 0.05  # float32 rounding only


def test_real_bsds500_as_folder():
    root = shared_path("bsds500")
    ds = ImageFolder(str(root), split="val", options=SampleOptions(crop_size=224))
    assert len(ds) == 100 and not ds.train
    check_sample(ds[0], 224, 0, index=0)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools under numpy 2
def test_real_cocostuff_stuff_json(tmp_path):
    src = shared_path("cocostuff", "stuff_examples.json")
    meta = json.loads(src.read_text())
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    shutil.copy(src, root / "annotations" / "stuff_train2017.json")  # into tmp_path only
    for info in meta["images"]:
        save_image(root / "train2017" / info["file_name"], h=info["height"], w=info["width"])
    ds = CocoStuff(str(root), split="train", options=SampleOptions(crop_size=224))
    assert ds.labels == "json" and len(ds) == 2
    for i in range(2):
        image, seg = ds.load_arrays(i)
        image_id = int(os.path.splitext(os.path.basename(ds.paths[i]))[0])
        anns = [a for a in meta["annotations"] if a["image_id"] == image_id]
        cats = {a["category_id"] for a in anns}
        assert 183 in cats
        assert set(np.unique(seg).tolist()) == (cats - {183}) | {C.IGNORE_INDEX}
        for a in anns:  # every stuff mask is painted with its id; "other" stays unlabeled
            m = mask_utils.decode(a["segmentation"]).astype(bool)
            want = C.IGNORE_INDEX if a["category_id"] == 183 else a["category_id"]
            assert (seg[m] == want).all()
        check_sample(ds[i], 224, 0)
    labels = (shared_path("cocostuff", "labels.txt")).read_text().splitlines()
    assert len(labels) == 183 and labels[0] == "0: unlabeled" and labels[-1] == "182: wood"


def test_real_places365_categories():
    names = read_places365_categories(shared_path("places365", "categories_places365.txt"))
    assert len(names) == C.NUM_PLACES365_CLASSES
    assert names[0] == "/a/airfield" and names[8] == "/a/apartment_building/outdoor"


def test_real_dataloader_with_workers():
    root = shared_path("tiny-imagenet-200")
    ds = TinyImageNet(str(root), split="val", options=SampleOptions(crop_size=64))
    loader = DataLoader(ds, batch_size=8, num_workers=2, sampler=range(16))
    idx = torch.cat([b["index"] for b in loader])
    assert idx.tolist() == list(range(16))
