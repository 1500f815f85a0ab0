"""Helpers for the dataset tests: tiny synthetic images and trees, the sample-contract check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semcolor import constants as C
from semcolor.data.scene_labels import save_scene_labels

#: ``../shared`` relative to the repository root.
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SHARED_DATA = SHARED / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not available")
    return p


def colour_array(h: int = 30, w: int = 40, seed: int = 0) -> np.ndarray:
    """A colourful uint8 (h, w, 3) image: smooth gradients plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1),
                     np.full((h, w), 128.0)], axis=2)
    noise = rng.integers(-20, 21, size=(h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def save_image(path: Path, arr: np.ndarray | None = None, h: int = 30, w: int = 40,
               seed: int = 0, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if arr is None:
        arr = colour_array(h, w, seed)
    Image.fromarray(arr).save(path, **kw)
    return path


def save_label(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr, dtype=np.uint8), mode="L").save(path)
    return path


def check_sample(s: dict, crop: int, num_scene: int, index: int | None = None) -> None:
    """Assert the sample contract."""
    assert list(s) == ["L", "ab", "colorful", "scene", "has_scene", "seg", "has_seg",
                       "saliency", "has_saliency", "index"]
    assert s["L"].shape == (1, crop, crop) and s["L"].dtype == torch.float32
    assert s["ab"].shape == (2, crop, crop) and s["ab"].dtype == torch.float32
    assert 0.0 <= float(s["L"].min()) and float(s["L"].max()) <= 100.0
    assert float(s["ab"].abs().max()) < 130.0
    assert s["colorful"].shape == () and s["colorful"].dtype == torch.bool
    assert s["scene"].shape == (num_scene,) and s["scene"].dtype == torch.float32
    assert s["has_scene"].shape == () and s["has_scene"].dtype == torch.bool
    if bool(s["has_scene"]):
        assert abs(float(s["scene"].sum()) - 1.0) < 1e-5 and float(s["scene"].min()) >= 0
    else:
        assert float(s["scene"].abs().sum()) == 0.0
    assert s["seg"].shape == (crop, crop) and s["seg"].dtype == torch.int64
    assert s["has_seg"].shape == () and s["has_seg"].dtype == torch.bool
    if not bool(s["has_seg"]):
        assert bool((s["seg"] == C.IGNORE_INDEX).all())
    assert s["saliency"].shape == (1, crop, crop) and s["saliency"].dtype == torch.float32
    assert 0.0 <= float(s["saliency"].min()) and float(s["saliency"].max()) <= 1.0
    assert s["has_saliency"].shape == () and s["has_saliency"].dtype == torch.bool
    if not bool(s["has_saliency"]):
        assert float(s["saliency"].abs().sum()) == 0.0
    assert s["index"].shape == () and s["index"].dtype == torch.int64
    if index is not None:
        assert int(s["index"]) == index


# ----------------------------------------------------------------------------- trees
def camvid_label(h: int = 30, w: int = 40) -> np.ndarray:
    """Left half class 3 (Road), right half void (11), rows 0-3 x columns 5-8 class 0 (Sky)."""
    lab = np.full((h, w), 11, np.uint8)
    lab[:, : w // 2] = 3
    lab[:4, 5:9] = 0
    return lab


def make_camvid(root: Path, n: int = 3, splits=("train", "val", "test"),
                list_style: str = "segnet") -> Path:
    """SegNet CamVid tree. ``list_style``: "segnet" (absolute /SegNet/... paths listing .png
    while the images are .jpg, as in the shared copy's origin), "relative", or "none"."""
    for split in splits:
        lines = []
        for i in range(n):
            name = f"{split}_{i:03d}"
            save_image(root / split / f"{name}.jpg", seed=i, quality=95)
            save_label(root / f"{split}annot" / f"{name}.png", camvid_label())
            if list_style == "segnet":
                lines.append(f"/SegNet/CamVid/{split}/{name}.png "
                             f"/SegNet/CamVid/{split}annot/{name}.png")
            else:
                lines.append(f"{split}/{name}.jpg {split}annot/{name}.png")
        if list_style != "none":
            (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


def make_tiny(root: Path, wnids=("n01", "n02", "n03"), per_class: int = 2) -> Path:
    """tiny-imagenet-200 layout; val_2.JPEG has no annotation line."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for k, w in enumerate(wnids):
        for i in range(per_class):
            save_image(root / "train" / w / "images" / f"{w}_{i}.JPEG", h=16, w=16,
                       seed=10 * k + i)
    ann = []
    for i in range(3):
        save_image(root / "val" / "images" / f"val_{i}.JPEG", h=16, w=16, seed=100 + i)
        if i < 2:
            ann.append(f"val_{i}.JPEG\t{wnids[(i + 1) % len(wnids)]}\t0\t0\t10\t10")
    (root / "val" / "val_annotations.txt").write_text("\n".join(ann) + "\n")
    save_image(root / "test" / "images" / "test_0.JPEG", h=16, w=16, seed=200)
    return root


def make_folder(root: Path, n: int = 4, h: int = 30, w: int = 40) -> Path:
    for i in range(n):
        save_image(root / f"sub{i % 2}" / f"img{i}.png", h=h, w=w, seed=300 + i)
    return root


def make_coco_png(root, split="train", n=2):
    for i in range(n):
        name = f"{i + 1:012d}"
        save_image(root / f"{split}2017" / f"{name}.jpg", seed=i, quality=95)
        raw = np.full((30, 40), 255, np.uint8)
        raw[:10] = 0  # person
        raw[10:20] = 181  # wood
        save_label(root / "stuffthingmaps_trainval2017" / f"{split}2017" / f"{name}.png", raw)
    return root


def make_data_root(root: Path) -> Path:
    """Tiny trees for every ``conf/data`` config under one ``paths.data_root``: COCO-Stuff
    (PNG maps), CamVid, ImageNet folders, DIV2K, Places365 folders, Tiny ImageNet, the
    photo folders of ``data=mixed`` (Imagenette, imagen1k with its val split, BSDS500),
    ``data=photos``' prepared photo sets and scene-label files, and
    a flat folder of photos (``photos``, ``photos_val``) for ``data=folder``."""
    for split in ("train", "val"):
        make_coco_png(root / "cocostuff", split=split, n=2)
    make_camvid(root / "camvid", n=2)
    for split in ("train", "val"):
        for k, wnid in enumerate(("n001", "n002")):
            save_image(root / "imagenet" / split / wnid / f"{split}{k}.JPEG", seed=k)
    for i in (1, 2):
        save_image(root / "div2k" / "DIV2K_train_HR" / f"{i:04d}.png", seed=i)
    save_image(root / "div2k" / "DIV2K_valid_HR" / "0801.png")
    places = root / "places365"
    places.mkdir(parents=True, exist_ok=True)
    (places / "categories_places365.txt").write_text("/a/airfield 0\n/b/bakery/shop 1\n")
    for split in ("train", "val"):
        save_image(places / "places365_standard" / split / "airfield" / "1.jpg", seed=1)
        save_image(places / "places365_standard" / split / "bakery" / "shop" / "1.jpg", seed=2)
    make_tiny(root / "tiny-imagenet-200")
    for name, splits in (("imagenette", ("train",)), ("imagen1k", ("train", "val")),
                         ("bsds500", ("train", "val"))):  # fmt: skip
        for split in splits:
            for i in range(2):
                save_image(root / name / split / f"{split}{i}.jpg", seed=400 + i)
    # data=photos: semcolor-prepare-photos outputs and Places365-style scene labels.
    for name, cls in (("imagenette2", "n01440764"), ("caltech101", "accordion")):
        for split in ("train", "val"):
            for i in range(2):
                save_image(root / "photo_sets" / name / split / cls / f"{i}.jpg", seed=450 + i)
    label_sets = {"imagenette2": ("photo_sets/imagenette2", ("train",)),
                  "caltech101": ("photo_sets/caltech101", ("train",)),
                  "imagen1k": ("imagen1k", ("train",)), "bsds500": ("bsds500", ("train", "val"))}
    for name, (rel, splits) in label_sets.items():
        base = root / rel
        names = sorted(p.relative_to(base).as_posix() for s in splits
                       for p in (base / s).rglob("*.jpg"))  # fmt: skip
        idx = np.tile(np.arange(5), (len(names), 1))
        prob = np.tile(np.array([0.5, 0.2, 0.1, 0.1, 0.1], np.float32), (len(names), 1))
        (root / "scene_labels").mkdir(exist_ok=True)
        save_scene_labels(root / "scene_labels" / f"{name}.npz", names, idx, prob, 365)
    # A user's own photos (data=folder): enough for its 5% held-out validation part.
    for i in range(60):
        save_image(root / "photos" / f"p{i:02d}.jpg", h=20, w=24, seed=500 + i)
    for i in range(2):
        save_image(root / "photos_val" / f"v{i}.jpg", h=20, w=24, seed=600 + i)
    return root
