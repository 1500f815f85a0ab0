"""semcolor.data.photo_folders and semcolor-prepare-photos on generated trees of both layouts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semcolor.cli import prepare_photos as cli
from semcolor.data.base import in_holdout
from semcolor.data.photo_folders import LayoutError, detect_layout, prepare_photos


def _colour(path: Path, size=(200, 160), seed=0) -> None:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=95)


def _gray(path: Path, size=(200, 160)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0]), 120, np.uint8), mode="L").save(path)


def imagenette_tree(root: Path) -> Path:
    src = root / "imagenette2"
    for split in ("train", "val"):
        for c, wnid in enumerate(("n01440764", "n02102040")):
            for i in range(3):
                _colour(src / split / wnid / f"{wnid}_{i}.JPEG", seed=10 * c + i)
    _gray(src / "train" / "n01440764" / "gray.JPEG")
    _colour(src / "val" / "n02102040" / "tiny.JPEG", size=(90, 60))
    (src / "train" / "n01440764" / "broken.JPEG").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    return src


def caltech_tree(root: Path, n: int = 20) -> Path:
    src = root / "caltech-101"
    for c in ("accordion", "airplanes"):
        for i in range(1, n + 1):
            _colour(src / c / f"image_{i:04d}.jpg", seed=i)
    for i in range(1, 4):  # a class stored as 1-channel gray JPEGs
        _gray(src / "car_side" / f"image_{i:04d}.jpg")
    return src


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_imagenette_keeps_split_and_drops_colourless_small_and_broken(tmp_path):
    src = imagenette_tree(tmp_path)
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    r = prepare_photos(src, out)
    assert r.layout == "imagenette2"
    assert r.copied == {"train": 6, "val": 6}
    train = _files(out / "train")
    assert train == {f"{w}/{w}_{i}.JPEG" for w in ("n01440764", "n02102040") for i in range(3)}
    assert "n02102040/tiny.JPEG" not in _files(out / "val")
    # byte-for-byte copies, and the source untouched
    for rel in train:
        assert (out / "train" / rel).read_bytes() == (src / "train" / rel).read_bytes()
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before
    reasons = dict(line.split("\t") for line in
                   (out / "dropped.tsv").read_text().splitlines()[1:])  # fmt: skip
    assert reasons[str(src / "train/n01440764/gray.JPEG")].startswith("colourless")
    assert reasons[str(src / "val/n02102040/tiny.JPEG")].startswith("too small")
    assert str(src / "train/n01440764/broken.JPEG") in reasons
    m = json.loads((out / "manifest.json").read_text())
    assert m["images"] == {"train": 6, "val": 6}
    assert m["dropped"] == {"colourless": 1, "too_small": 1, "unreadable": 1}


def test_caltech_holds_out_by_path_hash_and_drops_gray_class(tmp_path):
    src = caltech_tree(tmp_path)
    out = tmp_path / "out"
    r = prepare_photos(src, out, holdout_fraction=0.3)
    assert r.layout == "caltech101"
    val, train = _files(out / "val"), _files(out / "train") if (out / "train").is_dir() else set()
    expect_val = {f"{c}/image_{i:04d}.jpg" for c in ("accordion", "airplanes")
                  for i in range(1, 21) if in_holdout(f"{c}/image_{i:04d}.jpg", 0.3)}
    assert val == expect_val and 0 < len(val) < 40
    assert train | val == {f"{c}/image_{i:04d}.jpg" for c in ("accordion", "airplanes")
                           for i in range(1, 21)}  # fmt: skip
    assert not any(p.startswith("car_side/") for p in train | val)
    assert len(r.colourless) == 3
    # deterministic: a second tree gives the same split
    out2 = tmp_path / "out2"
    prepare_photos(src, out2, holdout_fraction=0.3)
    assert _files(out2 / "val") == val


def test_second_run_continues_and_other_settings_are_refused(tmp_path):
    src = caltech_tree(tmp_path, n=4)
    out = tmp_path / "out"
    prepare_photos(src, out, holdout_fraction=0.3)
    victim = next((out / "train").rglob("*.jpg"))
    victim.unlink()  # as if interrupted before this file
    r = prepare_photos(src, out, holdout_fraction=0.3)
    assert sum(r.copied.values()) == 1 and r.kept_existing == 7 and victim.is_file()
    with pytest.raises(ValueError, match="other settings"):
        prepare_photos(src, out, holdout_fraction=0.5)


def test_interrupted_run_is_continued(tmp_path):
    src = caltech_tree(tmp_path, n=4)
    out = tmp_path / "out"

    def stop_after_three(items):
        for k, item in enumerate(items):
            if k == 3:
                raise KeyboardInterrupt
            yield item

    with pytest.raises(KeyboardInterrupt):
        prepare_photos(src, out, holdout_fraction=0.3, progress=stop_after_three)
    assert not json.loads((out / "manifest.json").read_text())["complete"]
    r = prepare_photos(src, out, holdout_fraction=0.3)
    assert r.kept_existing == 3 and sum(r.copied.values()) == 5
    assert json.loads((out / "manifest.json").read_text())["complete"]


@pytest.mark.parametrize("where", ["inside", "same", "parent"])
def test_output_overlapping_the_source_is_refused(tmp_path, where):
    src = caltech_tree(tmp_path, n=2)
    out = {"inside": src / "out", "same": src, "parent": tmp_path}[where]
    with pytest.raises(ValueError, match="overlap"):
        prepare_photos(src, out)
    assert not (src / "out").exists()


def test_layout_errors_show_the_layouts(tmp_path):
    flat = tmp_path / "flat"
    _colour(flat / "a.jpg")
    with pytest.raises(LayoutError, match="imagenette2: SRC/train/<wnid>"):
        detect_layout(flat)
    src = imagenette_tree(tmp_path)
    with pytest.raises(LayoutError, match="Caltech-101 has no split"):
        prepare_photos(src, tmp_path / "o", layout="caltech101")
    (src / "train" / "cats").mkdir()
    with pytest.raises(LayoutError, match="wnid class folders"):
        prepare_photos(src, tmp_path / "o2", layout="imagenette2")
    with pytest.raises(ValueError, match="unknown layout 'x'; valid"):
        prepare_photos(src, tmp_path / "o3", layout="x")
    with pytest.raises(ValueError, match="not empty"):
        (tmp_path / "busy").mkdir()
        (tmp_path / "busy" / "mine.txt").write_text("keep me")
        prepare_photos(caltech_tree(tmp_path / "c"), tmp_path / "busy")
    assert (tmp_path / "busy" / "mine.txt").read_text() == "keep me"


def test_cli_exit_codes(tmp_path, capsys):
    src = imagenette_tree(tmp_path)
    assert cli.main([str(src), "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "1 unreadable file(s)" in err and "broken.JPEG" in err
    assert cli.main([str(tmp_path / "nope"), "--out", str(tmp_path / "o2")]) == 2
    assert "does not exist" in capsys.readouterr().err
    good = caltech_tree(tmp_path / "c", n=2)
    assert cli.main([str(good), "--out", str(tmp_path / "o3"), "--no-progress"]) == 0
    assert "left out 3 colourless" in capsys.readouterr().out


def test_installed_command_runs(tmp_path):
    good = caltech_tree(tmp_path, n=2)
    exe = Path(sys.executable).with_name("semcolor-prepare-photos")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "semcolor.cli.prepare_photos"]
    p = subprocess.run([*cmd, str(good), "--out", str(tmp_path / "o"), "--no-progress"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "o" / "manifest.json").is_file()
