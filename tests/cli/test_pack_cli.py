"""semcolor-pack on a generated miniature of the default recipe's data: the size bound, the
splits, the resizing, the scene labels, the sources untouched, and the recipe training from
the pack."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semcolor.cli import pack as pack_cli
from semcolor.data.scene_labels import load_scene_labels, save_scene_labels

#: The recipe's scale shrunk for speed: crop 32, shorter side 48 (an image of 64 px is resized
#: to 48, one of 40 is copied as it is).
SCALE = ["data.crop_size=32", "data.resize=48"]


def _jpeg(path: Path, w: int, h: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, quality=90)


def _labels(path: Path, root: Path) -> None:
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.suffix.lower() in (".jpg", ".jpeg"))  # fmt: skip
    idx = np.tile(np.arange(5, dtype=np.int64), (len(names), 1))
    prob = np.full((len(names), 5), 0.2, np.float32)
    save_scene_labels(path, names, idx, prob, num_classes=365)


@pytest.fixture
def sources(tmp_path):
    """data root (imagen1k, bsds500, camvid, tiny-imagenet-200) + photo sets + labels,
    each with a report split that must stay out of any pack."""
    data, photos, labels = tmp_path / "data", tmp_path / "photos", tmp_path / "labels"
    seed = iter(range(10_000))
    for split, n in (("train", 12), ("val", 3)):
        for c in ("n01", "n02"):
            for i in range(n):
                _jpeg(photos / "imagenette2" / split / c / f"{c}_{i}.JPEG", 40, 40, next(seed))
    for i in range(8):
        _jpeg(photos / "caltech101" / "train" / "cat" / f"image_{i:04d}.jpg", 60, 40, next(seed))
    _jpeg(photos / "caltech101" / "val" / "cat" / "image_0100.jpg", 60, 40, next(seed))
    for split, n in (("train", 6), ("val", 3), ("test", 3)):
        for i in range(n):
            _jpeg(data / "imagen1k" / split / f"n0{i}_{split}_{i}_x.jpg", 96, 64, next(seed))
        for i in range(n):
            _jpeg(data / "bsds500" / split / f"{split}{i}.jpg", 72, 64, next(seed))
        for i in range(n):
            _jpeg(data / "camvid" / split / f"{split}_{i}.jpg", 80, 64, next(seed))
            seg = np.random.default_rng(i).integers(0, 12, (64, 80), dtype=np.uint8)
            (data / "camvid" / f"{split}annot").mkdir(parents=True, exist_ok=True)
            Image.fromarray(seg).save(data / "camvid" / f"{split}annot" / f"{split}_{i}.png")
    for i in range(4):
        _jpeg(data / "tiny-imagenet-200" / "train" / "n09" / "images" / f"n09_{i}.JPEG", 64, 64,
              next(seed))  # fmt: skip
    labels.mkdir()
    for name, root in (("imagenette2", photos / "imagenette2"), ("caltech101",
                       photos / "caltech101"), ("imagen1k", data / "imagen1k"),
                       ("bsds500", data / "bsds500")):  # fmt: skip
        _labels(labels / f"{name}.npz", root)
    return data, photos, labels


def _snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns,
                     hashlib.sha1(p.read_bytes()).hexdigest())
            for p in root.rglob("*") if p.is_file()}  # fmt: skip


def _pack(sources, out: Path, max_mb: float, *extra: str) -> int:
    data, photos, labels = sources
    return pack_cli.main(["--out", str(out), "--max-mb", str(max_mb), "--data-root", str(data),
                          "--set", f"data.photos_root={photos}", f"data.labels_root={labels}",
                          *SCALE, *extra])  # fmt: skip


def test_pack_keeps_the_bound_the_splits_and_the_sources(sources, tmp_path, capsys):
    data, photos, labels = sources
    before = _snapshot(tmp_path)
    out = tmp_path / "pack"
    assert _pack(sources, out, 0.15) == 0
    printed = capsys.readouterr().out
    after = _snapshot(tmp_path)
    # nothing written into (or changed in) the sources; the pack is the only new tree
    assert {k: v for k, v in after.items() if not k.startswith(str(out))} == before
    files = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    total = sum(p.stat().st_size for p in files.values())
    assert total <= 0.15e6
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "semcolor-pack" and f"paths.data_root={out}" in printed
    assert manifest["train_command"].startswith("semcolor-train +experiment=default_model")
    assert str(photos) not in manifest["train_command"]  # locations come from the pack
    # validation: the whole imagen1k/val, byte for byte
    for src in (data / "imagen1k" / "val").iterdir():
        assert (out / "imagen1k" / "val" / src.name).read_bytes() == src.read_bytes()
    # no report split, and no choosing split but the recipe's validation
    assert not [f for f in files if "/test/" in f or f.startswith(("camvid/test", "camvid/val"))]
    assert not [f for f in files if f.startswith("photo_sets/") and "/val/" in f]
    # the budget binds: a subset of the big members, chosen by weight
    members = {m["name"]: m for m in manifest["members"]}
    assert members["imagenette2/train"]["packed"] < members["imagenette2/train"]["available"]
    assert members["imagenette2/train"]["bytes"] > members["bsds500/train"]["bytes"] > 0
    assert all(m["packed"] >= 1 for m in members.values())
    assert members["tiny-imagenet-200/train"]["weight"] == 0
    assert members["tiny-imagenet-200/train"]["packed"] == 4  # undrawn: min_images (32) or all
    # resized as the loader resizes (shorter side 48); already small: copied as it is
    im = next((out / "imagen1k" / "train").iterdir())
    assert min(Image.open(im).size) == 48
    small = next((out / "photo_sets" / "imagenette2" / "train").rglob("*.JPEG"))
    rel = small.relative_to(out / "photo_sets")
    assert small.read_bytes() == (photos / rel).read_bytes()
    for ann in (out / "camvid" / "trainannot").iterdir():  # label maps resized with their images
        assert Image.open(ann).size == Image.open(out / "camvid" / "train" /
                                                  f"{ann.stem}.jpg").size  # fmt: skip
    # scene labels: exactly the packed images of each labelled member
    packed = {p.relative_to(out / "photo_sets" / "imagenette2").as_posix()
              for p in (out / "photo_sets" / "imagenette2").rglob("*.JPEG")}  # fmt: skip
    assert set(load_scene_labels(out / "scene_labels" / "imagenette2.npz")) == packed


def test_the_recipe_trains_from_the_pack(sources, tmp_path):
    from hydra.utils import instantiate

    from semcolor.cli.train import check_data_folders

    out = tmp_path / "pack"
    assert _pack(sources, out, 0.15) == 0
    overrides = json.loads((out / "manifest.json").read_text())["train_overrides"]
    cfg = pack_cli._compose(overrides)
    check_data_folders(cfg)
    mix = instantiate(cfg.data.train)
    assert [len(d) for d in mix.datasets] == [
        m["packed"] for m in json.loads((out / "manifest.json").read_text())["members"]
    ]
    for d in mix.datasets:  # every member loads a sample (scene labels, label maps, sizes)
        sample = d[0]
        assert sample["L"].shape[-1] == 32
    assert any(bool(d[0]["has_scene"]) for d in mix.datasets)
    assert len(instantiate(cfg.data.val)) == 3


def test_pack_refuses_what_it_must_not_do(sources, tmp_path, capsys):
    data, photos, _ = sources
    assert _pack(sources, tmp_path / "tiny", 0.02) == 2  # cannot hold val + one image each
    assert "give more than" in capsys.readouterr().err
    assert not (tmp_path / "tiny").exists()
    assert _pack(sources, data / "inside", 0.15) == 2
    assert "overlaps the source" in capsys.readouterr().err
    assert not (data / "inside").exists()
    other = tmp_path / "other"
    (other / "mine.txt").parent.mkdir()
    (other / "mine.txt").write_text("user data")
    assert _pack(sources, other, 0.15) == 2
    assert (other / "mine.txt").read_text() == "user data"
    out = tmp_path / "pack"
    assert _pack(sources, out, 0.15) == 0
    assert _pack(sources, out, 0.15) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert _pack(sources, out, 0.12, "--overwrite") == 0
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) <= 0.12e6
