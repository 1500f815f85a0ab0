"""Saliency pseudo-labels: detectors, plug-ins, map files, and datasets reading them."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch
from data_helpers import check_sample, colour_array, save_image, save_label
from PIL import Image

from semcolor.color.lab import lab_to_rgb
from semcolor.data import saliency as sal
from semcolor.data.base import SampleOptions
from semcolor.data.datasets import ImageFolder
from semcolor.data.io import BadLabelError

PLUGIN = "semcolor_test_saliency_plugin"


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A user detector module on sys.path: ``red`` (the red channel) and ``bad_shape``."""
    d = tmp_path / "plugin"
    d.mkdir()
    (d / f"{PLUGIN}.py").write_text(
        textwrap.dedent("""
        import numpy as np

        def red(rgb):
            return rgb[..., 0].astype(np.float32) / 255.0

        def bad_shape(rgb):
            return np.zeros((2, 2), np.float32)

        not_callable = 3
    """)
    )
    monkeypatch.syspath_prepend(str(d))
    monkeypatch.delitem(sys.modules, PLUGIN, raising=False)
    yield PLUGIN
    sys.modules.pop(PLUGIN, None)


def _square(h=48, w=64, bg=60, fg=230) -> np.ndarray:
    rgb = np.full((h, w, 3), bg, np.uint8)
    rgb[16:32, 24:40] = fg
    return rgb


# ----------------------------------------------------------------------------- detectors
@pytest.mark.parametrize("name", sorted(sal.DETECTORS))
def test_detector_contract_and_bright_square_is_salient(name):
    rgb = _square()
    m = sal.DETECTORS[name](rgb)
    assert m.shape == rgb.shape[:2] and m.dtype == np.float32
    assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0
    inside = float(m[16:32, 24:40].mean())
    background = np.ones(rgb.shape[:2], bool)
    background[12:36, 20:44] = False  # leave a margin round the square's edges
    assert inside > float(m[background].mean())


@pytest.mark.parametrize("name", sorted(sal.DETECTORS))
def test_detector_constant_and_tiny_images_give_zeros(name):
    for shape in ((20, 30, 3), (1, 1, 3)):
        m = sal.DETECTORS[name](np.full(shape, 128, np.uint8))
        assert m.shape == shape[:2] and m.dtype == np.float32 and not m.any()


def test_normalise_min_max_and_constant():
    m = sal.normalise(np.array([[2.0, 4.0], [6.0, np.nan]]))
    assert m.dtype == np.float32 and float(m.min()) == 0.0 and float(m.max()) == 1.0
    assert not sal.normalise(np.full((3, 3), 7.0)).any()


def test_resolve_detector_names_plugin_and_errors(plugin):
    assert sal.resolve_detector("spectral_residual") is sal.DETECTORS["spectral_residual"]
    red = sal.resolve_detector(f"{plugin}:red")
    rgb = colour_array(10, 12)
    np.testing.assert_allclose(red(rgb), rgb[..., 0] / 255.0, atol=1e-6)
    for bad in ("nonsense", "spectral", f"{plugin}:missing", f"{plugin}:not_callable",
                "no_such_module_xyz:f", ":f", "mod:"):  # fmt: skip
        with pytest.raises(ValueError) as e:
            sal.resolve_detector(bad)
        assert "spectral_residual" in str(e.value) or "cannot import" in str(e.value)
    with pytest.raises(ValueError, match="fine_grained.*module:function"):
        sal.resolve_detector("nonsense")


# ----------------------------------------------------------------------------- map files
def test_saliency_path_replaces_suffix():
    assert sal.saliency_path("/m", "a/b/x.JPEG").as_posix() == "/m/a/b/x.png"
    assert sal.saliency_path("/m", "x.png").as_posix() == "/m/x.png"
    assert sal.saliency_path("/m", "a/v1.2.jpg").as_posix() == "/m/a/v1.2.png"
    for bad in ("/abs/x.jpg", "../x.jpg"):
        with pytest.raises(ValueError):
            sal.saliency_path("/m", bad)


def test_save_and_load_roundtrip(tmp_path):
    m = np.linspace(0, 1, 20 * 30, dtype=np.float32).reshape(20, 30)
    p = tmp_path / "d" / "x.png"
    sal.save_saliency(p, m)
    assert Image.open(p).mode == "L" and not list(p.parent.glob(".*"))
    back = sal.load_saliency(p)
    assert back.dtype == np.float32 and back.shape == (20, 30)
    assert float(np.abs(back - m).max()) <= 0.5 / 255 + 1e-6
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    for bad in (tmp_path / "broken.png", tmp_path / "missing.png"):
        with pytest.raises(BadLabelError):
            sal.load_saliency(bad)
    save_image(tmp_path / "rgb.png", colour_array(4, 4))
    with pytest.raises(BadLabelError, match="single-channel"):
        sal.load_saliency(tmp_path / "rgb.png")


def _photos(root, n=4):
    for i in range(n):
        save_image(root / f"s{i % 2}" / f"p{i}.{'png' if i % 2 else 'jpg'}", h=30, w=40, seed=i)
    return root


def test_label_saliency_writes_maps_and_resumes(tmp_path):
    photos = _photos(tmp_path / "photos")
    out = tmp_path / "maps"
    r = sal.label_saliency(photos, out, progress=False)
    assert (r.written, r.skipped_existing, r.bad) == (4, 0, [])
    maps = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert maps == ["s0/p0.png", "s0/p2.png", "s1/p1.png", "s1/p3.png"]
    m = sal.load_saliency(out / "s0" / "p0.png")
    assert m.shape == (30, 40) and float(m.max()) == 1.0
    again = sal.label_saliency(photos, out, progress=False)
    assert (again.written, again.skipped_existing) == (0, 4)
    redo = sal.label_saliency(photos, out, overwrite=True, progress=False)
    assert (redo.written, redo.skipped_existing) == (4, 0)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    # another detector on the same folder is refused (maps would mix)
    with pytest.raises(ValueError, match="spectral_residual"):
        sal.label_saliency(photos, out, detector="fine_grained", progress=False)


def test_label_saliency_keys_relative_to_root(tmp_path):
    root = tmp_path / "ds"
    _photos(root / "train", n=2)
    r = sal.label_saliency(root / "train", tmp_path / "m", root=root, progress=False)
    assert r.written == 2 and (tmp_path / "m" / "train" / "s0" / "p0.png").is_file()


def test_label_saliency_refuses_images_folder_and_ignores_maps_inside(tmp_path):
    photos = _photos(tmp_path / "photos")
    with pytest.raises(ValueError, match="images folder"):
        sal.label_saliency(photos, photos, progress=False)
    root = tmp_path / "photos"
    with pytest.raises(ValueError, match="images folder"):
        sal.label_saliency(photos / "s0", root, root=root, progress=False)
    inner = photos / "saliency"
    assert sal.label_saliency(photos, inner, progress=False).written == 4
    # a rerun does not take the maps for photos
    r = sal.label_saliency(photos, inner, progress=False)
    assert (r.written, r.skipped_existing) == (0, 4)
    assert not (inner / "saliency").exists()


def test_label_saliency_bad_images_and_name_clash(tmp_path):
    photos = _photos(tmp_path / "photos")
    (photos / "s0" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    save_image(photos / "s1" / "p1.jpg", seed=9)  # same map name as s1/p1.png
    r = sal.label_saliency(photos, tmp_path / "m", progress=False)
    bad = {p.split("photos/")[-1]: reason for p, reason in r.bad}
    assert set(bad) == {"s0/broken.jpg", "s1/p1.jpg", "s1/p1.png"}
    assert "shared" in bad["s1/p1.png"]
    assert r.written == 3 and not (tmp_path / "m" / "s1" / "p1.png").exists()


def test_label_saliency_rejects_a_wrong_plugin_map(tmp_path, plugin):
    photos = _photos(tmp_path / "photos", n=1)
    with pytest.raises(ValueError, match="shape"):
        sal.label_saliency(photos, tmp_path / "m", detector=f"{plugin}:bad_shape",
                           progress=False)  # fmt: skip


def test_label_saliency_uses_exif_orientation(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    im = Image.fromarray(colour_array(20, 30))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90: decoded as 30 x 20
    im.save(photos / "r.jpg", exif=exif.tobytes())
    sal.label_saliency(photos, tmp_path / "m", progress=False)
    assert sal.load_saliency(tmp_path / "m" / "r.png").shape == (30, 20)


# ----------------------------------------------------------------------------- datasets
def _red_maps(root, out):
    """Images and, as their 'saliency', their own red channel (an asymmetric map)."""
    for i in range(3):
        rgb = colour_array(30, 40, seed=i)
        rgb[:, :8, 0] = 255  # a bright left edge: flips are visible
        save_image(root / f"d{i % 2}" / f"x{i}.png", rgb)
        save_label(out / f"d{i % 2}" / f"x{i}.png", rgb[..., 0])


def test_dataset_saliency_follows_crop_and_flip(tmp_path):
    root, maps = tmp_path / "photos", tmp_path / "maps"
    _red_maps(root, maps)
    ds = ImageFolder(
        str(root),
        options=SampleOptions(
            crop_size=16, resize=20, train=True, hflip=True, saliency_dir=str(maps)
        ),
    )
    flipped = set()
    for seed in range(8):
        torch.manual_seed(seed)
        s = ds[seed % 3]
        check_sample(s, 16, 0)
        assert bool(s["has_saliency"])
        rgb = lab_to_rgb(torch.cat([s["L"], s["ab"]])[None])[0]
        assert float((s["saliency"][0] - rgb[0]).abs().max()) < 2.0 / 255
        flipped.add(bool(s["saliency"][0, :, -1].mean() > s["saliency"][0, :, 0].mean()))
    assert flipped == {True, False}  # both flipped and unflipped crops were checked


def test_dataset_saliency_rotation_and_eval(tmp_path):
    root, maps = tmp_path / "photos", tmp_path / "maps"
    _red_maps(root, maps)
    ds = ImageFolder(
        str(root),
        options=SampleOptions(
            crop_size=16,
            train=True,
            rotate_degrees=30,
            scale_min=1.0,
            scale_max=1.5,
            saliency_dir=str(maps),
        ),
    )
    torch.manual_seed(0)
    s = ds[0]
    rgb = lab_to_rgb(torch.cat([s["L"], s["ab"]])[None])[0]
    assert float((s["saliency"][0] - rgb[0]).abs().max()) < 2.0 / 255
    ev = ImageFolder(
        str(root), options=SampleOptions(crop_size=16, train=False, saliency_dir=str(maps))
    )
    s = ev[1]
    rgb = lab_to_rgb(torch.cat([s["L"], s["ab"]])[None])[0]
    assert bool(s["has_saliency"])
    assert float((s["saliency"][0] - rgb[0]).abs().max()) < 2.0 / 255


def test_dataset_missing_and_bad_maps(tmp_path):
    root, maps = tmp_path / "photos", tmp_path / "maps"
    _red_maps(root, maps)
    (maps / "d1" / "x1.png").unlink()  # missing: no saliency, no error
    save_label(maps / "d0" / "x2.png", np.zeros((10, 10), np.uint8))  # wrong size
    ds = ImageFolder(
        str(root), options=SampleOptions(crop_size=16, train=False, saliency_dir=str(maps))
    )
    rel = [ds.relpath(i) for i in range(len(ds))]
    assert rel == ["d0/x0.png", "d0/x2.png", "d1/x1.png"]
    s = ds[2]
    check_sample(s, 16, 0, index=2)
    assert not bool(s["has_saliency"]) and not s["saliency"].any()
    s = ds[1]  # x2's map is 10x10: skipped as a bad label, the next sample returned
    assert int(s["index"]) == 2
    assert len(ds.skipped) == 1 and "saliency map size 10x10" in ds.skipped[0][1]
    assert "40x30" in ds.skipped[0][1]
    (maps / "d0" / "x0.png").write_bytes(b"garbage")  # unreadable: skipped too
    ds2 = ImageFolder(
        str(root), options=SampleOptions(crop_size=16, train=False, saliency_dir=str(maps))
    )
    assert [p.split("maps/")[-1] for p, _ in ds2.verify()] == ["d0/x0.png", "d0/x2.png"]


def test_dataset_without_saliency_dir_and_bad_dirs(tmp_path):
    root, maps = tmp_path / "photos", tmp_path / "maps"
    _red_maps(root, maps)
    s = ImageFolder(str(root), options=SampleOptions(crop_size=16))[0]
    check_sample(s, 16, 0)
    assert not bool(s["has_saliency"])
    with pytest.raises(FileNotFoundError, match="saliency_dir"):
        ImageFolder(
            str(root), options=SampleOptions(crop_size=16, saliency_dir=str(tmp_path / "nope"))
        )
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="none of the 3 images"):
        ImageFolder(
            str(root), options=SampleOptions(crop_size=16, saliency_dir=str(tmp_path / "empty"))
        )


def test_labelled_maps_feed_a_dataset(tmp_path):
    """End to end: label_saliency's layout is what the datasets read, with a split."""
    root = tmp_path / "ds"
    _photos(root / "train", n=2)
    sal.label_saliency(root / "train", tmp_path / "m", root=root, progress=False)
    ds = ImageFolder(
        str(root),
        split="train",
        options=SampleOptions(crop_size=16, saliency_dir=str(tmp_path / "m")),
    )
    assert all(bool(ds[i]["has_saliency"]) for i in range(len(ds)))
