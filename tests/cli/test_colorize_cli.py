"""``semcolor-colorize``: folders, globs, formats, bad files, never overwriting, ``--demo``."""

from __future__ import annotations

import hashlib
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color as skcolor
from skimage import data as skdata

from semcolor import inference as inf
from semcolor.cli import colorize as cli
from semcolor.inference import api
from tests.inference.test_inference import TINY_CLASS_NAMES, tiny_net, write_ckpt

SIZE = ["--size", "32"]


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from more threads, and on a busy machine torch's OpenMP
    threads can make each forward pass 10-100x slower (oversubscription)."""
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return write_ckpt(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt", tiny_net())


def _photo(w: int = 40, h: int = 30) -> np.ndarray:
    return np.asarray(Image.fromarray(skdata.astronaut()).resize((w, h))).copy()


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def folder(tmp_path) -> Path:
    """in/: a.jpg (EXIF-rotated), sub/b.png (LA), sub/deep/c.tif (16-bit), d.webp, e.bmp,
    corrupt.jpg, empty.png, notes.txt (ignored)."""
    root = tmp_path / "in"
    (root / "sub" / "deep").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90 degrees
    Image.fromarray(_photo(40, 30)).save(root / "a.jpg", exif=exif)
    la = Image.fromarray(_photo(21, 17)).convert("LA")
    la.putalpha(Image.fromarray(np.tile(np.arange(21, dtype=np.uint8) * 12, (17, 1))))
    la.save(root / "sub" / "b.png")
    sixteen = (np.asarray(Image.fromarray(_photo(9, 7)).convert("L")).astype(np.uint16)) * 257
    Image.fromarray(sixteen).save(root / "sub" / "deep" / "c.tif")
    Image.fromarray(_photo(12, 8)).save(root / "d.webp")
    Image.fromarray(_photo(5, 3)).convert("L").save(root / "e.bmp")
    data = (root / "a.jpg").read_bytes()
    (root / "corrupt.jpg").write_bytes(data[: len(data) // 3])
    (root / "empty.png").write_bytes(b"")
    (root / "notes.txt").write_text("not an image")
    return root


def test_console_scripts_are_registered():
    names = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert names.get("semcolor-colorize") == "semcolor.cli.colorize:main"
    assert names.get("semcolor-export") == "semcolor.cli.export:main"


def test_folder_with_bad_files(folder, ckpt, tmp_path, capsys):
    before = _digest(folder)
    out = tmp_path / "out"
    rc = cli.main([str(folder), "-o", str(out), "--ckpt", str(ckpt), "--batch-size", "2", *SIZE])
    assert rc == 1  # some inputs failed
    err = capsys.readouterr().err
    assert "2 input(s) failed" in err and "corrupt.jpg" in err and "empty.png" in err
    assert "notes.txt" not in err
    assert _digest(folder) == before  # inputs untouched
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == ["a.jpg", "d.webp", "e.bmp", "sub/b.png", "sub/deep/c.png"]
    a = Image.open(out / "a.jpg")
    assert a.format == "JPEG" and a.size == (30, 40)  # EXIF orientation applied
    b = Image.open(out / "sub" / "b.png")
    assert b.mode == "RGBA" and b.size == (21, 17)
    src_alpha = np.asarray(Image.open(folder / "sub" / "b.png").getchannel("A"))
    assert np.array_equal(np.asarray(b)[..., 3], src_alpha)
    c = Image.open(out / "sub" / "deep" / "c.png")
    assert c.mode == "RGB" and c.size == (9, 7)
    assert Image.open(out / "d.webp").format == "WEBP"
    assert Image.open(out / "e.bmp").format == "BMP"
    # The luminance of a lossless output is the input's (within 1 unit where in gamut).
    src = np.asarray(Image.open(folder / "e.bmp").convert("RGB"))
    res = np.asarray(Image.open(out / "e.bmp"))
    ok = ((res > 0) & (res < 255)).all(-1)
    diff = np.abs(skcolor.rgb2lab(res)[..., 0] - skcolor.rgb2lab(src)[..., 0])[ok]
    assert ok.any() and diff.max() <= 1.0


def test_globs_files_side_by_side_and_missing(folder, ckpt, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli.main(
        [
            str(folder / "**" / "*.png"),
            str(folder / "d.webp"),
            str(folder / "nothing-*.jpg"),
            str(folder / "missing.png"),
            "-o",
            str(out),
            "--ckpt",
            str(ckpt),
            "--side-by-side",
            "--method",
            "reg",
            *SIZE,
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "matches nothing" in err and "no such file" in err and "empty.png" in err
    sbs = Image.open(out / "b.png")  # glob matches are named by their file name
    assert sbs.size == (42, 17) and sbs.mode == "RGBA"
    arr = np.asarray(sbs)
    gray = arr[:, :21, :3]
    assert (gray == gray[..., :1]).all()  # left half: the luminance alone
    assert Image.open(out / "d.webp").size == (24, 8)


def test_never_overwrites_inputs(folder, ckpt, capsys):
    good = [str(folder / "e.bmp"), str(folder / "d.webp")]
    before = _digest(folder)
    # OUTDIR = an input folder without --suffix: refused before doing anything.
    rc = cli.main([str(folder), "-o", str(folder), "--ckpt", str(ckpt), *SIZE])
    assert rc == 2 and "--suffix" in capsys.readouterr().err
    # Files written next to themselves: each one refused, listed, input untouched.
    rc = cli.main([*good, "-o", str(folder), "--ckpt", str(ckpt), *SIZE])
    assert rc == 1 and "refusing to overwrite" in capsys.readouterr().err
    assert _digest(folder) == before
    # With a suffix it writes beside the inputs.
    rc = cli.main([*good, "-o", str(folder), "--ckpt", str(ckpt), "--suffix", "_color", *SIZE])
    assert rc == 0
    assert (folder / "e_color.bmp").is_file() and (folder / "d_color.webp").is_file()
    assert all(_digest(folder)[k] == v for k, v in before.items())


def test_same_names_do_not_collide(tmp_path, ckpt):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        Image.fromarray(_photo(8, 8)).save(tmp_path / sub / "p.png")
    out = tmp_path / "out"
    rc = cli.main([str(tmp_path / "x" / "p.png"), str(tmp_path / "y" / "p.png"), "-o",
                   str(out), "--ckpt", str(ckpt), *SIZE])  # fmt: skip
    assert rc == 0 and sorted(p.name for p in out.iterdir()) == ["p-2.png", "p.png"]


def test_model_errors_exit_2(tmp_path, folder, monkeypatch, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"nope")
    assert cli.main([str(folder), "-o", str(tmp_path / "o"), "--ckpt", str(bad)]) == 2
    assert "cannot load the model" in capsys.readouterr().err
    monkeypatch.setattr(inf.checkpoint, "DEFAULT_MODEL", tmp_path / "absent.ckpt")
    api._default_model.cache_clear()
    assert cli.main(["--demo", "-o", str(tmp_path / "o"), "--device", "cpu"]) == 2
    assert "--ckpt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["-o", str(tmp_path / "o")])  # no INPUT and no --demo


def test_demo_writes_sheet(tmp_path, ckpt, capsys):
    out = tmp_path / "demo"
    assert cli.main(["--demo", "-o", str(out), "--ckpt", str(ckpt), *SIZE]) == 0
    for name in cli.DEMO_PHOTOS:
        photo = getattr(skdata, name)()
        assert Image.open(out / f"{name}.png").size == (photo.shape[1], photo.shape[0])
    sheet = Image.open(out / "demo_sheet.png")
    photos = [getattr(skdata, name)().shape[:2] for name in cli.DEMO_PHOTOS]
    panel_w = max(round(w * cli.DEMO_ROW_HEIGHT / h) for h, w in photos)
    assert sheet.mode == "RGB" and sheet.width == 3 * panel_w
    assert sheet.height == sum(round(h * panel_w / w) for h, w in photos)
    # no white gap beside the square photos: each row's last columns are photo, not padding
    white = (np.asarray(sheet) == 255).all(axis=2)
    assert white[:, -4:].all(axis=1).mean() < 0.05  # (before: 40% of the rows)
    assert "demo_sheet.png" in capsys.readouterr().out


def test_deprecated_head_option_still_works(tmp_path, capsys):
    from tests.evaluation.test_bench import make_ckpt

    ckpt = make_ckpt(tmp_path / "m.ckpt")
    src = tmp_path / "in.png"
    Image.fromarray(np.full((12, 16), 90, np.uint8)).save(src)
    outs = {}
    for flag in (["--method", "dist"], ["--head", "soft"]):
        out = tmp_path / flag[1]
        assert cli.main([str(src), "-o", str(out), "--ckpt", str(ckpt), *flag, *SIZE]) == 0
        outs[flag[1]] = np.asarray(Image.open(out / "in.png"))
    assert "--head is deprecated; use --method dist" in capsys.readouterr().err
    assert np.array_equal(outs["dist"], outs["soft"])


def test_hints_and_uncertainty_outputs(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from semcolor.cli.colorize import main

    img = np.full((40, 60), 100, np.uint8)
    Image.fromarray(img).save(tmp_path / "g.png")
    (tmp_path / "h.txt").write_text("# x y colour\n10 20 #ff0000\n20,20,255,0,0\n")
    out = tmp_path / "out"
    assert main([str(tmp_path / "g.png"), "-o", str(out), "--size", "64", "--hints",
                 str(tmp_path / "h.txt"), "--uncertainty"]) == 0  # fmt: skip
    colour = np.asarray(Image.open(out / "g.png"))
    unc = np.asarray(Image.open(out / "g_uncertainty.png"))
    # a colour scale at the photo's resolution, a legend strip under it
    assert colour.shape == (40, 60, 3) and unc.shape[2] == 3 and unc.shape[0] > 40
    assert colour[20, 15, 0] > colour[20, 15, 1] + 40  # red where the hints are
    # a hint file for several inputs, or a bad hint line, is a usage error (exit 2)
    Image.fromarray(img).save(tmp_path / "g2.png")
    assert main([str(tmp_path / "g.png"), str(tmp_path / "g2.png"), "-o", str(out),
                 "--hints", str(tmp_path / "h.txt")]) == 2  # fmt: skip
    (tmp_path / "bad.txt").write_text("10 20 red\n")
    assert main([str(tmp_path / "g.png"), "-o", str(out), "--hints",
                 str(tmp_path / "bad.txt")]) == 2  # fmt: skip
    # a hint outside the 60x40 image is a bad argument too (exit 2, not 1), and says why
    (tmp_path / "far.txt").write_text("100 20 #ff0000\n")
    assert main([str(tmp_path / "g.png"), "-o", str(tmp_path / "far"), "--size", "64",
                 "--hints", str(tmp_path / "far.txt")]) == 2  # fmt: skip
    assert "lies outside the 60x40 image" in capsys.readouterr().err


def test_scene_option_prints_names(tmp_path, capsys):
    named = write_ckpt(tmp_path / "named.ckpt", tiny_net(), class_names=TINY_CLASS_NAMES)
    Image.fromarray(_photo(48, 40)).save(tmp_path / "p.png")
    assert cli.main([str(tmp_path / "p.png"), "-o", str(tmp_path / "out"), "--size", "64",
                     "--device", "cpu", "--scene", "--ckpt", str(named)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    scene = next(ln for ln in out.splitlines() if ": scene: " in ln)
    segments = next(ln for ln in out.splitlines() if ": segments: " in ln)
    top5 = [part.rsplit(" ", 1)[0] for part in scene.split(": scene: ")[1].split(", ")]
    assert sorted(top5) == sorted(TINY_CLASS_NAMES["scene"])  # 5 classes: all of them, by name
    names = [part.rsplit(" ", 1)[0] for part in segments.split(": segments: ")[1].split(", ")]
    assert names and set(names) <= set(TINY_CLASS_NAMES["seg"])
    assert (tmp_path / "out" / "p.png").is_file()


@pytest.mark.skipif(not inf.DEFAULT_MODEL.is_file(), reason="no default model shipped")
def test_scene_option_with_the_default_model_says_it_has_no_such_head(tmp_path, capsys):
    Image.fromarray(_photo(48, 40)).save(tmp_path / "p.png")
    assert cli.main([str(tmp_path / "p.png"), "-o", str(tmp_path / "out"), "--size", "64",
                     "--device", "cpu", "--scene"]) == 0  # fmt: skip
    assert "p.png: the model has no scene or segmentation head" in capsys.readouterr().out
    assert (tmp_path / "out" / "p.png").is_file()


def test_backend_and_precision_options(tmp_path, ckpt):
    pytest.importorskip("onnxruntime")
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(_photo()).save(src / "a.png")
    outs = {}
    for extra in ([], ["--backend", "onnxruntime"], ["--precision", "bf16"]):
        out = tmp_path / ("out" + "_".join(extra))
        assert cli.main([str(src), "-o", str(out), "--ckpt", str(ckpt), "--device", "cpu",
                         *SIZE, *extra]) == 0  # fmt: skip
        outs[tuple(extra)] = np.asarray(Image.open(next(out.glob("*.png"))), dtype=int)
    assert np.abs(outs[()] - outs[("--backend", "onnxruntime")]).max() <= 1
    with pytest.raises(SystemExit):
        cli.main([str(src), "-o", str(tmp_path / "x"), "--backend", "tvm"])
    with pytest.raises(SystemExit):
        cli.main([str(src), "-o", str(tmp_path / "x"), "--precision", "fp16"])
