"""semcolor.colorize / semcolor.Colorizer: input kinds, modes, sizes, luminance, alpha, errors.

Every test runs on tiny random checkpoints passed explicitly (``model=``), so they pass before
the default model ships; one test uses the packaged default model and skips without it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color as skcolor
from skimage import data as skdata

import semcolor
from semcolor import inference as inf
from semcolor.color import lab_to_rgb, lab_to_rgb_u8, rgb_to_lab
from semcolor.data.io import BadImageError
from semcolor.inference import api
from tests.inference.test_inference import TINY_CLASS_NAMES, tiny_net, write_ckpt

SIZE = 64  # network side used by the tests (fast)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from more threads, and on a busy machine torch's OpenMP
    threads can make each forward pass 10-100x slower (oversubscription)."""
    torch.set_num_threads(1)
    yield


def zero_ab_net(heads=("reg", "dist", "scene", "seg")):
    """A tiny net whose ab is exactly 0 from both heads."""
    net = tiny_net(heads)
    with torch.no_grad():
        if net.reg_head is not None:
            net.reg_head.conv.weight.zero_()
            net.reg_head.conv.bias.zero_()
        if net.dist_head is not None:
            net.dist_head.conv.weight.zero_()
            net.dist_head.conv.bias.fill_(-1e4)
            net.dist_head.conv.bias[120] = 0.0  # the (0, 0) bin
    return net


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return write_ckpt(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt", tiny_net())


@pytest.fixture(scope="module")
def model(ckpt):
    return semcolor.load_model(ckpt)


@pytest.fixture(scope="module")
def named_model(tmp_path_factory):
    """tiny_net with every head and its classes named, as a trained checkpoint stores them."""
    path = tmp_path_factory.mktemp("named") / "named.ckpt"
    return inf.load_model(write_ckpt(path, tiny_net(), class_names=TINY_CLASS_NAMES), device="cpu")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A natural RGB photo at an odd size (uint8, 97 x 131)."""
    im = Image.fromarray(skdata.astronaut()).resize((131, 97), Image.Resampling.BILINEAR)
    return np.asarray(im).copy()


def lab_L(rgb_u8: np.ndarray) -> np.ndarray:
    """Reference L of an (H,W,3) uint8 sRGB image (scikit-image, float64)."""
    return skcolor.rgb2lab(rgb_u8[..., :3])[..., 0]


def assert_luminance_kept(out_u8: np.ndarray, L_in: np.ndarray, min_fraction: float = 0.5):
    """Output L within 1 unit of the input's wherever the colour is in gamut (no channel
    clipped at 0 or 255), and that covers most pixels (so the check is not vacuous)."""
    rgb = out_u8[..., :3]
    in_gamut = ((rgb > 0) & (rgb < 255)).all(axis=-1)
    assert in_gamut.mean() >= min_fraction, in_gamut.mean()
    diff = np.abs(lab_L(rgb) - L_in)[in_gamut]
    assert diff.max() <= 1.0, diff.max()


# --------------------------------------------------------------------------------------
# package surface
# --------------------------------------------------------------------------------------
def test_import_semcolor_is_light_and_reexports():
    code = (
        "import sys, semcolor; "
        "heavy = [m for m in ('torch', 'lightning', 'pytorch_lightning', 'hydra') "
        "if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert callable(semcolor.colorize) and 'torch' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert semcolor.colorize is api.colorize and semcolor.Colorizer is api.Colorizer
    assert semcolor.load_model is inf.load_model
    assert {"colorize", "Colorizer", "load_model", "export_onnx"} <= set(dir(semcolor))
    with pytest.raises(AttributeError):
        semcolor.no_such_name  # noqa: B018


# --------------------------------------------------------------------------------------
# input kinds and output types
# --------------------------------------------------------------------------------------
def _kinds(photo: np.ndarray, tmp: Path):
    gray = np.array(Image.fromarray(photo).convert("L"))
    path = tmp / "photo.png"
    Image.fromarray(photo).save(path)
    h, w = gray.shape
    return [
        ("str path", str(path), Image.Image, (w, h), "RGB"),
        ("Path", path, Image.Image, (w, h), "RGB"),
        ("PIL", Image.fromarray(photo), Image.Image, (w, h), "RGB"),
        ("HxW u8", gray, np.ndarray, (h, w, 3), np.uint8),
        ("HxWx1 u16", gray[..., None].astype(np.uint16) * 257, np.ndarray, (h, w, 3), np.uint8),
        ("HxWx3 float", photo / 255.0, np.ndarray, (h, w, 3), np.uint8),
        (
            "HxWx4 f32",
            np.dstack([photo, gray]).astype(np.float32) / 255,
            np.ndarray,
            (h, w, 4),
            np.uint8,
        ),  # fmt: skip
        ("tensor HW", torch.from_numpy(gray / 255.0), torch.Tensor, (3, h, w), torch.float64),
        ("tensor 1HW u8", torch.from_numpy(gray)[None], torch.Tensor, (3, h, w), torch.float32),
        (
            "tensor 3HW",
            torch.from_numpy(photo).permute(2, 0, 1).float() / 255,
            torch.Tensor,
            (3, h, w),
            torch.float32,
        ),  # fmt: skip
        ("tensor 4HW", torch.rand(4, h, w), torch.Tensor, (4, h, w), torch.float32),
        (
            "tensor B1HW half",
            torch.rand(2, 1, h, w).half(),
            torch.Tensor,
            (2, 3, h, w),
            torch.float16,
        ),  # fmt: skip
    ]


def test_every_input_kind_gives_its_kind_back(model, photo, tmp_path):
    for name, img, kind, shape, dtype in _kinds(photo, tmp_path):
        out = semcolor.colorize(img, model=model, size=SIZE, device="cpu")
        assert isinstance(out, kind), name
        if kind is Image.Image:
            assert (out.size, out.mode) == (shape, dtype), name
        else:
            assert tuple(out.shape) == shape and out.dtype == dtype, name
        if kind is torch.Tensor:
            assert 0 <= float(out.min()) and float(out.max()) <= 1, name


def test_kinds_agree_on_the_same_image(model, photo):
    """Array, PIL and tensor inputs of one image give the same colours (8-bit rounding)."""
    a = semcolor.colorize(photo, model=model, size=SIZE)
    b = np.asarray(semcolor.colorize(Image.fromarray(photo), model=model, size=SIZE))
    t = semcolor.colorize(torch.from_numpy(photo).permute(2, 0, 1), model=model, size=SIZE)
    c = (t.permute(1, 2, 0).numpy() * 255).round().astype(np.int16)
    assert np.array_equal(a, b)
    assert np.abs(c - a).max() <= 1


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "I;16", "P", "CMYK", "1", "PA", "F"])
def test_pil_modes(model, photo, mode):
    base = Image.fromarray(photo)
    rgba = np.dstack([photo, np.linspace(0, 255, photo.shape[1], dtype=np.uint8)[None].repeat(
        photo.shape[0], 0)])  # fmt: skip
    if mode == "I;16":
        v = (np.asarray(base.convert("L")).astype(np.uint16) * 257) + 100
        im = Image.fromarray(v)
        assert im.mode == "I;16"
        ref_L = skcolor.rgb2lab(np.repeat((v / 65535.0)[..., None], 3, axis=2))[..., 0]
    elif mode == "F":
        v = np.asarray(base.convert("L")).astype(np.float32) / 255
        im = Image.fromarray(v, mode="F")
        ref_L = skcolor.rgb2lab(np.repeat(v[..., None].astype(np.float64), 3, axis=2))[..., 0]
    elif mode in ("LA", "RGBA", "PA"):
        im = Image.fromarray(rgba, mode="RGBA").convert(mode)
        ref_L = lab_L(np.asarray(im.convert("RGBA"))[..., :3])
    else:
        im = base.convert(mode)
        ref_L = lab_L(np.asarray(im.convert("RGB")))
    out = semcolor.colorize(im, model=model, size=SIZE)
    has_alpha = mode in ("LA", "RGBA", "PA")
    assert out.mode == ("RGBA" if has_alpha else "RGB") and out.size == im.size
    arr = np.asarray(out)
    if has_alpha:
        assert np.array_equal(arr[..., 3], np.asarray(im.convert("RGBA"))[..., 3])
    if mode != "1":  # pure black and white: no colour is in gamut at L = 0 or 100
        assert_luminance_kept(arr, ref_L, min_fraction=0.3)


def test_palette_with_transparency_keeps_alpha(model):
    im = Image.new("P", (20, 10), 0)
    im.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    im.paste(1, (0, 0, 10, 10))
    im.info["transparency"] = 0
    out = semcolor.colorize(im, model=model, size=SIZE)
    assert out.mode == "RGBA"
    alpha = np.asarray(out)[..., 3]
    assert (alpha[:, :10] == 255).all() and (alpha[:, 10:] == 0).all()


@pytest.mark.parametrize("shape", [(1, 1), (3, 1000), (1000, 3), (2, 2, 3)])
def test_odd_sizes(model, shape):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    out = semcolor.colorize(img, model=model, size=SIZE)
    assert out.shape == (*shape[:2], 3) and out.dtype == np.uint8
    pil = semcolor.colorize(Image.fromarray(img), model=model, size=SIZE)
    assert pil.size == (shape[1], shape[0])
    t = semcolor.colorize(
        torch.from_numpy(img.reshape(*shape[:2], -1)[..., 0].copy()), model=model, size=SIZE
    )
    assert t.shape == (3, *shape[:2])


# --------------------------------------------------------------------------------------
# luminance, alpha and the shared inference path
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("head", ["dist", "reg"])
def test_luminance_kept_at_full_resolution(model, photo, head):
    out = semcolor.colorize(photo, model=model, size=SIZE, method=head)
    assert np.abs(out.astype(int) - out[..., :1]).max() > 0  # it did add colour
    assert_luminance_kept(out, lab_L(photo))


def test_gray_comes_back_unchanged_when_ab_is_zero():
    model = inf.LoadedModel(zero_ab_net())
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for head in ("dist", "reg"):
        out = semcolor.colorize(gray, model=model, size=SIZE, method=head)
        assert np.array_equal(out, np.repeat(gray[..., None], 3, axis=2)), head
    rgb = semcolor.colorize(Image.fromarray(gray), model=model, size=SIZE)
    assert np.array_equal(np.asarray(rgb), np.repeat(gray[..., None], 3, axis=2))
    t = semcolor.colorize(torch.from_numpy(gray)[None], model=model, size=SIZE)
    assert (t - torch.from_numpy(gray / 255.0).float()).abs().max() < 1e-4


def test_result_is_the_shared_predict_ab_path(model, photo):
    """colorize = predict_ab(L, size) (ab upsampled once, from the network's resolution to
    the full one) recombined with the full L by lab_to_rgb."""
    x = torch.from_numpy(photo).permute(2, 0, 1).double()[None] / 255
    L = rgb_to_lab(x)[:, :1].float()
    ab = inf.predict_ab(model.net, L, size=SIZE, temperature=0.2)["dist"]
    ref = lab_to_rgb(torch.cat([L, ab], 1))[0]
    out = semcolor.colorize(x[0].float(), model=model, size=SIZE, temperature=0.2,
                            precision="fp32")  # predict_ab's default; "auto" may pick bf16
    assert (out - ref).abs().max() < 1e-5  # only the fast L's float32 rounding differs


def test_temperature_changes_vividness(model, photo):
    def chroma(t):
        out = semcolor.colorize(photo, model=model, size=SIZE, temperature=t)
        return np.hypot(*skcolor.rgb2lab(out)[..., 1:].transpose(2, 0, 1)).mean()

    assert chroma(0.1) > chroma(1.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_alpha_kept_for_arrays_and_tensors(model, photo, dtype):
    alpha = np.tile(np.arange(photo.shape[1], dtype=np.uint8), (photo.shape[0], 1))
    rgba = np.dstack([photo, alpha])
    scale = {np.uint8: 1, np.uint16: 257, np.float32: 1 / 255}[dtype]
    out = semcolor.colorize((rgba * float(scale)).astype(dtype), model=model, size=SIZE)
    assert out.shape == (*photo.shape[:2], 4) and np.array_equal(out[..., 3], alpha)
    t = torch.from_numpy(rgba).permute(2, 0, 1).float() / 255
    tout = semcolor.colorize(t, model=model, size=SIZE)
    assert tout.shape == t.shape and torch.equal(tout[3], t[3])


def test_u8_encoding_matches_lab_to_rgb():
    """The chunked LUT encoder is at most one 8-bit level off lab_to_rgb, exact for grays."""
    gen = torch.Generator().manual_seed(0)
    L = torch.rand(123, 457, generator=gen) * 100
    ab = torch.randn(2, 123, 457, generator=gen) * 40
    fast = lab_to_rgb_u8(L, ab).astype(int)
    ref = lab_to_rgb(torch.cat([L[None], ab])[None].double())[0].permute(1, 2, 0)
    ref = (ref * 255).round().numpy().astype(int)
    assert np.abs(fast - ref).max() <= 1 and (fast != ref).mean() < 0.01


@pytest.mark.parametrize("depth", ["u8", "u16", "float", "gray u8", "gray float"])
def test_luminance_formula_is_rgb_to_lab(photo, depth):
    x = photo[..., :1] if depth.startswith("gray") else photo
    arr = {"u8": x, "u16": x.astype(np.uint16) * 257}.get(depth.split()[-1], x / 255.0)
    L = api._prepare(arr).L[0].double()
    rgb = torch.from_numpy(np.broadcast_to(x, photo.shape).copy()).permute(2, 0, 1)[None]
    ref = rgb_to_lab(rgb.double() / 255)[0, 0]
    assert (L - ref).abs().max() < 1e-3


# --------------------------------------------------------------------------------------
# Colorizer
# --------------------------------------------------------------------------------------
def test_colorizer_batches_mixed_sizes_like_single_calls(model, photo):
    images = [
        photo,
        photo[:31, :77],
        Image.fromarray(photo[5:, 9:]).convert("L"),
        torch.rand(2, 3, 20, 10),  # a batch counts as two
        np.zeros((1, 1), np.uint8),
    ]
    colorizer = semcolor.Colorizer(model, batch_size=2, size=SIZE)
    outs = colorizer(images)
    assert isinstance(outs, list) and len(outs) == len(images)
    for img, out in zip(images, outs, strict=True):
        single = semcolor.colorize(img, model=model, size=SIZE)
        assert type(out) is type(single)
        if isinstance(out, torch.Tensor):
            assert out.shape == single.shape and (out - single).abs().max() < 1e-4
        else:
            a, b = np.asarray(out).astype(int), np.asarray(single).astype(int)
            assert a.shape == b.shape and np.abs(a - b).max() <= 1
    assert isinstance(colorizer(photo), np.ndarray)  # one image -> one result
    assert len(list(colorizer.iter_colorize(iter(images[:3])))) == 3
    assert "batch_size=2" in repr(colorizer)


def test_model_argument_kinds(ckpt, model, photo):
    net = tiny_net()
    ref = semcolor.colorize(photo, model=model, size=SIZE)
    for m in (ckpt, str(ckpt), net):
        assert np.array_equal(semcolor.colorize(photo, model=m, size=SIZE, device="cpu"), ref)
    with pytest.raises(TypeError, match="model must be"):
        semcolor.colorize(photo, model=42)


def test_default_model_missing_is_a_clear_error(monkeypatch, tmp_path, photo):
    monkeypatch.setattr(inf.checkpoint, "DEFAULT_MODEL", tmp_path / "absent.ckpt")
    api._default_model.cache_clear()
    with pytest.raises(FileNotFoundError, match="no default model"):
        semcolor.colorize(photo)
    api._default_model.cache_clear()


def test_default_model_is_loaded_once_per_device(monkeypatch, ckpt, photo):
    monkeypatch.setattr(inf.checkpoint, "DEFAULT_MODEL", ckpt)
    calls = []

    def counting_load(path=None, device="cpu"):
        calls.append(device)
        return inf.load_model(path, device)

    monkeypatch.setattr(api, "load_model", counting_load)
    api._default_model.cache_clear()
    try:
        a = semcolor.colorize(photo, size=SIZE, device="cpu")
        b = semcolor.colorize(photo, size=SIZE, device="cpu")
        semcolor.Colorizer(device="cpu")
    finally:
        api._default_model.cache_clear()
    assert calls == ["cpu"] and np.array_equal(a, b)


@pytest.mark.skipif(not inf.DEFAULT_MODEL.is_file(), reason="no default model shipped yet")
def test_default_model_colorizes():
    api._default_model.cache_clear()
    photo = skdata.astronaut()
    gray = Image.fromarray(photo).convert("L")  # the input: its own luminance must be kept
    out = semcolor.colorize(gray, device="cpu")
    arr = np.asarray(out)
    assert out.size == (512, 512) and out.mode == "RGB"
    chroma = np.hypot(*skcolor.rgb2lab(arr)[..., 1:].transpose(2, 0, 1))
    assert chroma.mean() > 3.0  # a trained model does colour the photo
    assert_luminance_kept(arr, lab_L(np.asarray(gray.convert("RGB"))), 0.3)


@pytest.mark.skipif(not inf.DEFAULT_MODEL.is_file(), reason="no default model shipped yet")
def test_default_model_has_the_studys_heads_only():
    """The shipped recipe is the study's best row (regsoft): colour heads, no scene or
    segmentation head, so analyze gives the uncertainty and None for what it lacks."""
    model = inf.load_model(device="cpu")
    assert set(model.net.heads) == {"reg", "dist"} and model.class_names == {}
    small = np.asarray(Image.fromarray(skdata.astronaut()).resize((64, 64)))
    a = semcolor.analyze(small, model=model, size=64)
    assert a.scene_top5 is None and a.segmentation is None and a.segment_names is None
    assert a.uncertainty.shape == (64, 64)


def test_analyze_names_scenes_and_segments_by_the_checkpoints_names(named_model):
    assert named_model.class_name("scene", 1) == "forest"
    small = np.asarray(Image.fromarray(skdata.astronaut()).resize((64, 64)))
    a = semcolor.analyze(small, model=named_model, size=64)
    assert sorted(n for n, _ in a.scene_top5) == sorted(TINY_CLASS_NAMES["scene"])
    assert set(a.segment_names) == set(np.unique(a.segmentation).tolist())
    assert set(a.segment_names.values()) <= set(TINY_CLASS_NAMES["seg"])


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
BAD_INPUTS = [
    (np.zeros((0, 5), np.uint8), "empty"),
    (np.zeros((5, 0, 3), np.uint8), "empty"),
    (np.full((4, 4), np.nan, np.float32), "NaN"),
    (np.full((4, 4), np.inf), "NaN or infinite"),
    (np.full((4, 4), 2.0), r"\[0, 1\]"),
    (np.full((4, 4), -0.1, np.float32), r"\[0, 1\]"),
    (np.zeros((4, 4), np.int32), "dtype int32"),
    (np.zeros((4, 4), bool), "dtype bool"),
    (np.zeros((4, 4), np.complex64), "dtype complex64"),
    (np.zeros((4, 4, 2), np.uint8), "shape"),
    (np.zeros((4, 4, 5), np.uint8), "shape"),
    (np.zeros(16, np.uint8), "shape"),
    (np.zeros((1, 4, 4, 3), np.uint8), "shape"),
    (torch.zeros(2, 4, 4), "1, 3 or 4 channels"),
    (torch.zeros(1, 5, 4, 4), "1, 3 or 4 channels"),
    (torch.zeros(4, 4, dtype=torch.int64), "int64"),
    (torch.zeros(1, 1, 1, 4, 4), r"\(B,C,H,W\)"),
    (torch.zeros(3, 0, 4), "empty"),
    (torch.full((3, 4, 4), float("nan")), "NaN"),
    (torch.full((3, 4, 4), 1.5), r"\[0, 1\]"),
    (Image.new("RGB", (0, 0)), "empty"),
]


@pytest.mark.parametrize(("img", "match"), BAD_INPUTS)
def test_bad_inputs_raise_value_error(model, img, match):
    with pytest.raises(ValueError, match=match):
        semcolor.colorize(img, model=model, size=SIZE)


def test_bad_arguments_and_files(model, tmp_path):
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(TypeError, match="path, a PIL.Image"):
        semcolor.colorize([[0, 1]], model=model)
    for kwargs, match in [
        ({"size": 0}, "size"),
        ({"size": 2.5}, "size"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"method": "mode"}, "method must be"),
        ({"device": "tpu"}, "device"),
    ]:
        with pytest.raises(ValueError, match=match):
            semcolor.colorize(img, model=model, **kwargs)
    with pytest.raises(ValueError, match="batch_size"):
        semcolor.Colorizer(model, batch_size=0)
    only_soft = inf.LoadedModel(tiny_net(heads=("dist",)))
    with pytest.raises(ValueError, match="no head for method .reg."):
        semcolor.colorize(img, model=only_soft, method="reg")
    with pytest.raises(FileNotFoundError):
        semcolor.colorize(tmp_path / "missing.png", model=model)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(BadImageError):
        semcolor.colorize(tmp_path / "bad.png", model=model)
    with pytest.raises(inf.CheckpointError):
        semcolor.colorize(img, model=tmp_path / "bad.png")


def test_exif_orientation_applied_for_paths(model, photo, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.fromarray(photo).save(tmp_path / "rot.jpg", exif=exif)
    out = semcolor.colorize(tmp_path / "rot.jpg", model=model, size=SIZE)
    assert out.size == (photo.shape[0], photo.shape[1])  # (W, H) swapped


def test_big_endian_arrays_are_accepted(model):
    rng = np.random.default_rng(3)
    native = rng.integers(0, 65535, (9, 7, 3), dtype=np.uint16)
    out_native = semcolor.colorize(native, model=model, size=32)
    out_big = semcolor.colorize(native.astype(">u2"), model=model, size=32)
    assert np.array_equal(out_native, out_big)


def test_temperature_none_means_the_models_own(tmp_path, photo):
    """A calibrated checkpoint's temperature is the default of the API and the CLI."""
    import copy

    ck = torch.load(write_ckpt(tmp_path / "t.ckpt", tiny_net()), weights_only=True)
    ck2 = copy.deepcopy(ck)
    ck2["semcolor"]["temperature"] = 0.15
    torch.save(ck2, tmp_path / "cal.ckpt")
    cal = semcolor.load_model(tmp_path / "cal.ckpt")
    assert cal.temperature == 0.15
    assert semcolor.load_model(tmp_path / "t.ckpt").temperature == pytest.approx(0.38)
    c = semcolor.Colorizer(cal, size=SIZE)
    assert c.temperature == 0.15
    a = semcolor.colorize(photo, model=cal, size=SIZE)
    b = semcolor.colorize(photo, model=cal, size=SIZE, temperature=0.15)
    d = semcolor.colorize(photo, model=cal, size=SIZE, temperature=0.38)
    assert np.array_equal(a, b) and not np.array_equal(a, d)
    with pytest.raises(ValueError, match="temperature"):
        semcolor.Colorizer(cal, temperature=0.0)


def test_analyze_returns_the_models_view(named_model):
    # a model with every head (the default model has the colour heads only)
    gray = np.full((50, 70), 90, np.uint8)
    gray[:, 35:] = 200
    a = semcolor.analyze(gray, model=named_model, size=64)
    assert isinstance(a, semcolor.Colorization)
    assert np.array_equal(a.image, semcolor.colorize(gray, model=named_model, size=64))  # same path
    assert a.uncertainty.shape == (50, 70) and a.uncertainty.dtype == np.float32
    assert 0.0 <= a.uncertainty.min() and a.uncertainty.max() <= 1.0
    assert len(a.scene_top5) == 5 and a.scene_top5[0][1] >= a.scene_top5[-1][1]
    assert a.segmentation.shape == (50, 70) and a.segmentation.dtype == np.int64
    assert a.method == "dist"


@pytest.mark.skipif(not inf.DEFAULT_MODEL.is_file(), reason="no default model shipped yet")
def test_uncertainty_has_no_blocks_of_the_heads_grid():
    """The distribution head is at stride 4: at network size 64 its 16x16 map becomes 128x128,
    8x. Bilinear upsampling put all the map's curvature on that 8-pixel grid (faint blocks:
    mean |second difference| per column phase, max/mean = 4.0); bicubic spreads it."""
    import semcolor

    photo = np.asarray(Image.fromarray(skdata.astronaut()).resize((128, 128)))
    u = semcolor.analyze(photo, size=64, device="cpu").uncertainty.astype(np.float64)
    for axis in (0, 1):
        d2 = np.abs(np.diff(u, 2, axis=axis)).mean(axis=1 - axis)
        phase = np.array([d2[i::8].mean() for i in range(8)])
        assert phase.max() / phase.mean() < 2.0, (axis, phase)


def test_uncertainty_image_is_the_map_at_full_resolution_with_a_legend():
    from matplotlib import colormaps

    from semcolor import constants as C
    from semcolor.inference.api import uncertainty_image

    u = np.tile(np.linspace(0, 1, 600, dtype=np.float32), (300, 1))
    im = uncertainty_image(u)
    arr = np.asarray(im)
    assert im.mode == "RGB" and im.width == 600 and im.height > 300
    lut = np.round(colormaps[C.UNCERTAINTY_COLORMAP](np.linspace(0, 1, 256))[:, :3] * 255)
    expect = lut[np.round(u * 255).astype(int)]
    assert np.array_equal(arr[:300], expect.astype(np.uint8))  # one pixel per pixel
    legend = arr[300:]
    assert (legend.min(axis=2) < 60).any()  # the values are written (dark text)
    dark_cols = np.flatnonzero((legend.max(axis=2) < 60).any(axis=0))
    assert len(dark_cols) > 20  # several labels, not one mark
    small = uncertainty_image(np.zeros((40, 60), np.float32))
    assert small.width == 480 and np.array_equal(np.asarray(small)[:40, :60],
                                                  np.broadcast_to(lut[0], (40, 60, 3)))
    with pytest.raises(ValueError, match="non-empty"):
        uncertainty_image(np.zeros((0, 4)))


def test_analyze_without_a_dist_head_has_no_uncertainty():
    import semcolor
    from semcolor.models import SemColorNet

    net = SemColorNet("resnet18", heads=["reg"], decoder_channels=[16, 8, 8, 8, 8])
    a = semcolor.analyze(np.full((32, 32), 100, np.uint8), model=net, size=32)
    assert a.method == "reg" and a.uncertainty is None and a.scene_top5 is None
    with pytest.raises(ValueError, match="batch"):
        semcolor.Colorizer(net).analyze(torch.rand(2, 1, 16, 16))


# ---- precision / backend / default batch size (issue: batching, bf16, ONNX Runtime) ----
def _photos(n=3, side=48):
    base = np.asarray(Image.fromarray(skdata.astronaut()).resize((side, side + 8)))
    return [np.roll(base, 7 * i, axis=1).copy() for i in range(n)]


@pytest.mark.parametrize("method", ["dist", "reg"])
def test_onnxruntime_backend_matches_torch(method):
    pytest.importorskip("onnxruntime")
    net = tiny_net()
    L = torch.rand(2, 1, 50, 44) * 100
    torch_c = semcolor.Colorizer(net, device="cpu", size=SIZE, method=method, precision="fp32")
    ort_c = semcolor.Colorizer(net, device="cpu", size=SIZE, method=method,
                               backend="onnxruntime")  # fmt: skip
    preps = [api._prepare(L[i, 0] / 100.0) for i in range(2)]
    ref, got = torch_c._predict_net(preps), ort_c._predict_net(preps)
    assert got.shape == ref.shape
    assert (got - ref).abs().max() <= 1e-3  # the parity target: max |delta ab| <= 1e-3
    outs_t = torch_c.colorize_batch(_photos())
    outs_o = ort_c.colorize_batch(_photos())
    assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in
               zip(outs_t, outs_o, strict=True))  # fmt: skip
    one = semcolor.colorize(_photos(1)[0], model=net, size=SIZE, device="cpu", method=method,
                            backend="onnxruntime")  # fmt: skip
    assert one.shape == outs_o[0].shape


def test_precision_and_backend_errors_list_valid_values():
    net = tiny_net()
    valid = r"unknown precision 'fp16'; valid: \['auto', 'fp32', 'bf16'\]"
    with pytest.raises(ValueError, match=valid):
        semcolor.Colorizer(net, device="cpu", precision="fp16")
    valid = r"unknown backend 'tvm'; valid: \['torch', 'onnxruntime'\]"
    with pytest.raises(ValueError, match=valid):
        semcolor.Colorizer(net, device="cpu", backend="tvm")
    with pytest.raises(ValueError, match="onnxruntime.*fp32"):
        semcolor.Colorizer(net, device="cpu", backend="onnxruntime", precision="bf16")
    with pytest.raises(ValueError, match="unknown precision"):
        semcolor.colorize(_photos(1)[0], model=net, device="cpu", precision="half")


def test_bf16_precision_runs_and_stays_close():
    net = tiny_net()
    photos = _photos(2)
    a = semcolor.Colorizer(net, device="cpu", size=SIZE, precision="fp32").colorize_batch(photos)
    b = semcolor.Colorizer(net, device="cpu", size=SIZE, precision="bf16").colorize_batch(photos)
    assert [x.shape for x in a] == [x.shape for x in b]
    diff = max(np.abs(x.astype(int) - y.astype(int)).max() for x, y in zip(a, b, strict=True))
    assert diff <= 40  # a tiny random net in bf16: close, not identical
    assert "precision='bf16'" in repr(semcolor.Colorizer(net, device="cpu", precision="bf16"))


@pytest.mark.parametrize(("flags", "want"), [({"avx512_bf16"}, "bf16"), ({"avx2"}, "fp32")])
def test_auto_precision_follows_the_machine(monkeypatch, flags, want):
    from semcolor import hardware

    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(flags))
    net = tiny_net()
    assert semcolor.Colorizer(net, device="cpu", size=SIZE).precision == want
    assert semcolor.Colorizer(net, device="cpu", precision="fp32").precision == "fp32"
    ort = semcolor.Colorizer(net, device="cpu", size=SIZE, backend="onnxruntime")
    assert ort.precision == "fp32"  # the exported graph is fp32


def test_default_batch_size_is_the_devices_and_cpu_network_calls_are_capped(monkeypatch):
    net = tiny_net()
    c = semcolor.Colorizer(net, device="cpu", size=SIZE)
    assert c.batch_size == inf.default_batch_size("cpu") == inf.CPU_NETWORK_BATCH
    big = semcolor.Colorizer(net, device="cpu", size=SIZE, batch_size=32)
    assert big.batch_size == 32 and big.network_batch == min(32, inf.CPU_NETWORK_BATCH)
    seen = []
    real = inf.predict_ab

    def spy(net_, L, **kw):
        seen.append(int(L.shape[0]))
        return real(net_, L, **kw)

    monkeypatch.setattr(api, "predict_ab", spy)
    outs = big.colorize_batch(_photos(5))
    assert len(outs) == 5 and sum(seen) == 5
    assert max(seen) <= inf.CPU_NETWORK_BATCH
    with pytest.raises(ValueError, match="batch_size"):
        semcolor.Colorizer(net, device="cpu", batch_size=0)
