"""semcolor.data.io: every image mode PIL hands us, and broken files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from data_helpers import colour_array, save_image
from PIL import Image

from semcolor.data.io import (
    BadImageError,
    BadLabelError,
    is_image_file,
    load_label_map,
    load_rgb,
)


def test_rgb_png_roundtrip_exact(tmp_path):
    arr = colour_array(30, 40)
    p = save_image(tmp_path / "a.png", arr)
    out = load_rgb(p)
    assert out.dtype == np.uint8 and out.shape == (30, 40, 3)
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable and out.flags.c_contiguous


def test_grayscale_jpeg_gives_three_equal_channels(tmp_path):
    g = np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (30, 1))
    p = tmp_path / "g.jpg"
    Image.fromarray(g, mode="L").save(p, quality=95)
    assert Image.open(p).mode == "L"
    out = load_rgb(p)
    assert out.shape == (30, 40, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    assert abs(int(out[0, -1, 0]) - 255) <= 3 and int(out[0, 0, 0]) <= 3


def test_cmyk_converted(tmp_path):
    cmyk = np.zeros((30, 40, 4), np.uint8)
    cmyk[..., 0] = 255  # pure cyan
    p = tmp_path / "c.jpg"
    Image.fromarray(cmyk, mode="CMYK").save(p, quality=95)
    assert Image.open(p).mode == "CMYK"
    out = load_rgb(p)
    assert out.shape == (30, 40, 3)
    r, g, b = out[15, 20].astype(int)
    assert r < 20 and g > 235 and b > 235


def test_palette_image(tmp_path):
    idx = np.zeros((30, 40), np.uint8)
    idx[:, 20:] = 1
    im = Image.fromarray(idx, mode="P")
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p = tmp_path / "p.png"
    im.save(p)
    out = load_rgb(p)
    assert out[0, 0].tolist() == [255, 0, 0] and out[0, 39].tolist() == [0, 0, 255]


def test_palette_with_transparency_composited_on_white(tmp_path):
    idx = np.zeros((30, 40), np.uint8)
    idx[:, 20:] = 1
    im = Image.fromarray(idx, mode="P")
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p = tmp_path / "pt.png"
    im.save(p, transparency=1)
    out = load_rgb(p)
    assert out[0, 0].tolist() == [255, 0, 0] and out[0, 39].tolist() == [255, 255, 255]


def test_rgba_composited_on_white(tmp_path):
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :10, 3] = 255  # opaque red
    rgba[:, 10:20, 3] = 128  # half-transparent red
    rgba[:, 20:, 3] = 0  # transparent (black under it)
    rgba[:, 20:, 0] = 0
    p = tmp_path / "a.png"
    Image.fromarray(rgba, mode="RGBA").save(p)
    out = load_rgb(p).astype(int)
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[0, 15, 0] == 255 and abs(out[0, 15, 1] - 127) <= 2 and abs(out[0, 15, 2] - 127) <= 2
    assert out[0, 30].tolist() == [255, 255, 255]


def test_la_composited_on_white(tmp_path):
    la = np.zeros((30, 40, 2), np.uint8)
    la[:, :20, 1] = 255  # opaque black
    p = tmp_path / "la.png"
    Image.fromarray(la, mode="LA").save(p)
    out = load_rgb(p)
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 30].tolist() == [255, 255, 255]


def test_16bit_png_scaled_to_8bit(tmp_path):
    v = np.zeros((30, 40), np.uint16)
    v[:, 10:20] = 128 * 257
    v[:, 20:30] = 65535
    v[:, 30:] = 1000
    p = tmp_path / "i16.png"
    Image.fromarray(v).save(p)
    assert Image.open(p).mode in {"I;16", "I"}
    out = load_rgb(p)
    assert out.dtype == np.uint8 and out.shape == (30, 40, 3)
    assert out[0, 0, 0] == 0 and out[0, 15, 0] == 128 and out[0, 25, 0] == 255
    assert out[0, 35, 0] == round(1000 * 255 / 65535)  # 4, not the low byte
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_one_by_one(tmp_path):
    p = save_image(tmp_path / "one.png", np.array([[[10, 200, 30]]], np.uint8))
    out = load_rgb(p)
    assert out.shape == (1, 1, 3) and out[0, 0].tolist() == [10, 200, 30]


def test_exif_orientation(tmp_path):
    arr = colour_array(30, 40)
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    p = tmp_path / "rot.jpg"
    im.save(p, exif=exif, quality=95)
    assert load_rgb(p).shape == (40, 30, 3)
    assert load_rgb(p, exif_transpose=False).shape == (30, 40, 3)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(BadImageError, match="zero-byte") as ei:
        load_rgb(p)
    assert ei.value.path == str(p)


def test_truncated_file(tmp_path):
    p = save_image(tmp_path / "t.jpg", colour_array(60, 80), quality=95)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError, match="truncated"):
        load_rgb(p)
    q = save_image(tmp_path / "t.png", colour_array(60, 80))
    q.write_bytes(q.read_bytes()[:200])
    with pytest.raises(BadImageError):
        load_rgb(q)


def test_corrupt_and_missing_files(tmp_path):
    p = tmp_path / "junk.jpg"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(BadImageError, match="cannot decode"):
        load_rgb(p)
    with pytest.raises(BadImageError, match="not found"):
        load_rgb(tmp_path / "nope.png")
    with pytest.raises(BadImageError, match="regular file"):
        load_rgb(tmp_path)


def test_bad_image_error_pickles():
    e = pickle.loads(pickle.dumps(BadImageError("/x.jpg", "truncated")))
    assert isinstance(e, BadImageError) and e.path == "/x.jpg" and e.reason == "truncated"
    e2 = pickle.loads(pickle.dumps(BadLabelError("/y.png", "size")))
    assert isinstance(e2, BadLabelError) and isinstance(e2, BadImageError)


def test_label_map_modes(tmp_path):
    lab = np.arange(30 * 40, dtype=np.int64).reshape(30, 40) % 12
    p = tmp_path / "l.png"
    Image.fromarray(lab.astype(np.uint8), mode="L").save(p)
    np.testing.assert_array_equal(load_label_map(p), lab)
    # palette label maps give indices, not colours
    pim = Image.fromarray(lab.astype(np.uint8), mode="P")
    pim.putpalette(list(range(256)) * 3)
    pp = tmp_path / "p.png"
    pim.save(pp)
    out = load_label_map(pp)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, lab)
    rgb = save_image(tmp_path / "rgb.png")
    with pytest.raises(BadLabelError, match="single-channel"):
        load_label_map(rgb)
    empty = tmp_path / "e.png"
    empty.write_bytes(b"")
    with pytest.raises(BadLabelError):
        load_label_map(empty)


def test_is_image_file():
    assert is_image_file("a/B.JPG") and is_image_file("x.TiFf") and is_image_file("y.webp")
    assert not is_image_file("a.txt") and not is_image_file("jpg")
