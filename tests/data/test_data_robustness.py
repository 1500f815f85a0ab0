"""Bad files never crash a run: they are converted, or skipped, logged and reported."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from data_helpers import check_sample, colour_array, make_camvid, save_image, save_label
from PIL import Image
from torch.utils.data import DataLoader

from semcolor import constants as C
from semcolor.data.base import SampleOptions, SkipTracker, chroma_mean
from semcolor.data.datasets import CamVid, ImageFolder


def make_zoo(root):
    """A folder with every awkward-but-valid kind of image and three broken ones."""
    root.mkdir(parents=True)
    save_image(root / "00_good.png")
    (root / "01_zero.jpg").write_bytes(b"")
    p = save_image(root / "02_truncated.jpg", colour_array(60, 80), quality=95)
    p.write_bytes(p.read_bytes()[:400])
    (root / "03_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    cmyk = np.zeros((30, 40, 4), np.uint8)
    cmyk[..., 1] = 200
    Image.fromarray(cmyk, mode="CMYK").save(root / "04_cmyk.jpg")
    pal = Image.fromarray((np.arange(1200).reshape(30, 40) % 4).astype(np.uint8), mode="P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 200, 0] + [0] * 756)
    pal.save(root / "05_palette.png")
    rgba = np.dstack([colour_array(), np.full((30, 40), 128, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(root / "06_rgba.png")
    Image.fromarray((np.arange(1200).reshape(30, 40) * 50).astype(np.uint16)).save(
        root / "07_i16.png"
    )
    Image.fromarray(np.full((30, 40), 90, np.uint8), mode="L").save(root / "08_gray.jpg")
    save_image(root / "09_one.png", np.array([[[200, 30, 30]]], np.uint8))
    return root


BROKEN = {"01_zero.jpg", "02_truncated.jpg", "03_corrupt.png"}


def test_every_index_yields_a_valid_sample(tmp_path, caplog):
    ds = ImageFolder(str(make_zoo(tmp_path / "zoo")), options=SampleOptions(crop_size=16))
    assert len(ds) == 10
    with caplog.at_level(logging.WARNING, logger="semcolor.data"):
        samples = [ds[i] for i in range(len(ds))]
    for s in samples:
        check_sample(s, 16, 0)
        assert ds.paths[int(s["index"])].rsplit("/", 1)[1] not in BROKEN
    # bad index 1 (zero-byte) -> 2 and 3 also bad -> 4 (CMYK)
    assert [int(s["index"]) for s in samples] == [0, 4, 4, 4, 4, 5, 6, 7, 8, 9]
    assert {p.rsplit("/", 1)[1] for p, _ in ds.skipped} == BROKEN
    reasons = {p.rsplit("/", 1)[1]: r for p, r in ds.skipped}
    assert "zero-byte" in reasons["01_zero.jpg"] and "truncated" in reasons["02_truncated.jpg"]
    for name in BROKEN:
        assert name in caplog.text
    # skipped files are remembered: no second warning, same substitute
    n = len(ds.skipped)
    assert int(ds[2]["index"]) == 4 and len(ds.skipped) == n
    colorful = {ds.paths[int(s["index"])].rsplit("/", 1)[1]: bool(s["colorful"]) for s in samples}
    assert colorful["08_gray.jpg"] is False and colorful["07_i16.png"] is False
    assert colorful["04_cmyk.jpg"] and colorful["05_palette.png"] and colorful["00_good.png"]


def test_bad_last_index_wraps_around(tmp_path):
    root = tmp_path / "f"
    save_image(root / "a.png")
    (root / "b.png").write_bytes(b"")
    ds = ImageFolder(str(root), options=SampleOptions(crop_size=8))
    assert int(ds[1]["index"]) == 0 and int(ds[-1]["index"]) == 0
    with pytest.raises(IndexError):
        ds[2]


def test_all_bad_raises_runtime_error(tmp_path):
    root = tmp_path / "f"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.jpg").write_bytes(b"not a jpeg")
    ds = ImageFolder(str(root), options=SampleOptions(crop_size=8))
    with pytest.raises(RuntimeError, match="no usable sample"):
        ds[0]
    with pytest.raises(RuntimeError, match="previously skipped"):
        ds[1]


def test_max_retries_bounds_the_search(tmp_path):
    root = tmp_path / "f"
    root.mkdir()
    for i in range(5):
        (root / f"{i}.jpg").write_bytes(b"")
    save_image(root / "9.png")
    with pytest.raises(RuntimeError):
        ImageFolder(str(root), options=SampleOptions(crop_size=8, max_retries=2))[0]
    assert (
        int(ImageFolder(str(root), options=SampleOptions(crop_size=8, max_retries=10))[0]["index"])
        == 5
    )


def test_label_size_mismatch_and_out_of_range_are_skipped(tmp_path):
    root = make_camvid(tmp_path / "cam", n=4, splits=("train",), list_style="relative")
    save_label(root / "trainannot" / "train_001.png", np.zeros((29, 40), np.uint8))
    bad = np.zeros((30, 40), np.uint8)
    bad[5, 5] = 12  # neither a class (0..10) nor void (11)
    save_label(root / "trainannot" / "train_002.png", bad)
    ds = CamVid(str(root), options=SampleOptions(crop_size=16))
    got = [int(ds[i]["index"]) for i in range(4)]
    assert got == [0, 3, 3, 3]
    reasons = dict(ds.skipped)
    assert len(reasons) == 2
    assert any("differs from image size" in r for r in reasons.values())
    assert any("label value 12 out of range" in r for r in reasons.values())
    assert all(p.endswith(".png") and "trainannot" in p for p in reasons)


def test_missing_listed_file_is_skipped(tmp_path):
    root = make_camvid(tmp_path / "cam", n=2, splits=("train",), list_style="relative")
    (root / "train" / "train_000.jpg").unlink()
    ds = CamVid(str(root), options=SampleOptions(crop_size=16))
    assert int(ds[0]["index"]) == 1
    assert "not found" in ds.skipped[0][1]


def test_verify_reports_all_bad_files(tmp_path):
    ds = ImageFolder(str(make_zoo(tmp_path / "zoo")), options=SampleOptions(crop_size=16))
    bad = ds.verify()
    assert {p.rsplit("/", 1)[1] for p, _ in bad} == BROKEN


def test_skip_log_collects_from_worker_processes(tmp_path):
    log = tmp_path / "skipped.tsv"
    ds = ImageFolder(
        str(make_zoo(tmp_path / "zoo")), options=SampleOptions(crop_size=16, skip_log=str(log))
    )
    tracker = SkipTracker(log)
    assert tracker.all() == []
    loader = DataLoader(ds, batch_size=5, num_workers=2, shuffle=False)
    batches = list(loader)
    assert sum(len(b["index"]) for b in batches) == 10
    assert ds.skipped == []  # the workers' skips are not in the main process...
    first = tracker.new()  # ...but in the log
    assert {p.rsplit("/", 1)[1] for p, _ in first} == BROKEN
    assert tracker.new() == []
    assert len(tracker.all()) == 3
    tracker.clear()
    assert not log.exists() and tracker.all() == []


def test_colourless_detection():
    gray = np.repeat(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], 30, 0)
    gray = np.repeat(gray, 3, 2)
    assert chroma_mean(gray) < 0.1
    faint = gray.astype(int)
    faint[..., 0] = np.clip(faint[..., 0] + 1, 0, 255)
    assert chroma_mean(faint.astype(np.uint8)) < C.COLOURLESS_CHROMA
    sepia = np.stack([gray[..., 0] * 1.0, gray[..., 0] * 0.9, gray[..., 0] * 0.7], 2)
    assert chroma_mean(sepia.astype(np.uint8)) > C.COLOURLESS_CHROMA
    assert chroma_mean(colour_array()) > 20


def test_colorful_flag_uses_whole_image_not_crop(tmp_path):
    """A colour image whose crop happens to be gray still trains the colour heads."""
    arr = np.full((30, 200, 3), 128, np.uint8)
    arr[:, :30] = [255, 0, 0]
    save_image(tmp_path / "f" / "a.png", arr)
    ds = ImageFolder(str(tmp_path / "f"), options=SampleOptions(crop_size=30, train=False))
    s = ds[0]
    assert float(torch.sqrt(s["ab"][0] ** 2 + s["ab"][1] ** 2).mean()) < 1.0  # gray crop
    assert bool(s["colorful"])
