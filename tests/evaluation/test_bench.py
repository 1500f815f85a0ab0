"""semcolor-bench: the metric pipeline against scikit-image, outputs, bad input, speed mode."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import semcolor.inference
from semcolor.cli.bench import main
from semcolor.evaluation import (
    CSV_COLUMNS,
    DEFAULT_SPEED_ARCH,
    BenchError,
    lab_of,
    list_dataset_images,
    recombine,
    sheet_size,
)
from semcolor.evaluation.report import _clean
from semcolor.lit.module import checkpoint_meta
from semcolor.metrics import grayscale_baseline
from semcolor.models import SemColorNet

CONTRACT_TOP = {"dataset", "n_images", "n_excluded_gray", "size", "methods", "gt", "speed"}
CONTRACT_METHOD = {"psnr", "ssim", "l2ab", "auc", "colorfulness", "delta_cf", "delta_mean_cf",
                   "cast_a", "cast_b", "cni", "cci_ratio"}  # fmt: skip
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


# ----------------------------------------------------------------------------- helpers
def make_ckpt(path: Path, heads=("reg", "dist"), version: str | None = None) -> Path:
    """A tiny random-weight checkpoint in the format load_model accepts."""
    torch.manual_seed(0)
    net = SemColorNet(encoder="resnet18", decoder_channels=[32, 16, 16, 8, 8], dist_stride=4,
                      heads=list(heads), num_scene_classes=3, num_seg_classes=3)  # fmt: skip
    meta = checkpoint_meta(net, None, {})
    if version is not None:
        meta["version"] = version
    state = {"net." + k: v for k, v in net.state_dict().items()}
    torch.save({"semcolor": meta, "state_dict": state}, path)
    return path


def colour_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth colourful image (well above the colourless threshold)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1),
                    np.full((h, w), 128.0)], axis=-1)  # fmt: skip
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_folder(d: Path, n: int = 4, sizes=((40, 56), (48, 48), (33, 70))) -> list[Path]:
    rng = np.random.default_rng(0)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        p = d / f"img{i:02d}.png"
        Image.fromarray(colour_image(rng, h, w)).save(p)
        out.append(p)
    return out


def read_json(path: Path) -> dict:
    def no_nan(tok):
        raise AssertionError(f"{path} contains {tok}")

    return json.loads(path.read_text(), parse_constant=no_nan)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def no_default_model(monkeypatch, tmp_path):
    """Make sure no shipped default model is found (baselines-only behaviour)."""
    monkeypatch.setattr(semcolor.inference.checkpoint, "DEFAULT_MODEL", tmp_path / "absent.ckpt")


# ----------------------------------------------------------------------------- trust
def _skimage_gray_reference(path: Path, size: int = 256) -> tuple[float, float, float, float]:
    """Independent: PIL bicubic resize, scikit-image Lab with ab = 0, skimage.metrics;
    (PSNR, SSIM, a cast, b cast)."""
    from skimage.color import lab2rgb, rgb2lab
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    from skimage.util import img_as_ubyte

    with Image.open(path) as im:
        gt = np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BICUBIC))
    lab = rgb2lab(gt)
    lab[..., 1:] = 0
    pred = img_as_ubyte(np.clip(lab2rgb(lab), 0, 1))
    psnr = peak_signal_noise_ratio(gt, pred, data_range=255)
    ssim = structural_similarity(gt, pred, channel_axis=-1, data_range=255,
                                 gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False)  # fmt: skip
    cast = rgb2lab(pred)[..., 1:].mean(axis=(0, 1)) - rgb2lab(gt)[..., 1:].mean(axis=(0, 1))
    return float(psnr), float(ssim), float(cast[0]), float(cast[1])


def test_gray_baseline_through_bench_matches_skimage(tmp_path, capsys):
    import skimage.data

    d = tmp_path / "photos"
    d.mkdir()
    for name in SKIMAGE_PHOTOS:
        Image.fromarray(getattr(skimage.data, name)()).save(d / f"{name}.png")
    out = tmp_path / "out"
    rc = main(["--dataset", "folder", "--root", str(d), "--no-model", "--baselines", "gray",
               "--out", str(out), "--no-progress"])  # fmt: skip
    assert rc == 0
    summary = read_json(out / "summary.json")
    assert summary["n_images"] == 4 and summary["size"] == 256
    assert list(summary["methods"]) == ["gray"]
    rows = {Path(r["image"]).stem: r for r in read_csv(out / "per_image.csv")}
    assert sorted(rows) == sorted(SKIMAGE_PHOTOS)
    ref = {name: _skimage_gray_reference(d / f"{name}.png") for name in SKIMAGE_PHOTOS}
    for name, (psnr, ssim, cast_a, cast_b) in ref.items():
        assert abs(float(rows[name]["psnr"]) - psnr) < 1e-6, name
        assert abs(float(rows[name]["ssim"]) - ssim) < 1e-6, name
        assert abs(float(rows[name]["cast_a"]) - cast_a) < 1e-9, name
        assert abs(float(rows[name]["cast_b"]) - cast_b) < 1e-9, name
        assert 10 < psnr < 35 and 0.5 < ssim < 1.0  # a gray baseline, not a copy of gt
    gray = summary["methods"]["gray"]
    assert abs(gray["psnr"] - np.mean([r[0] for r in ref.values()])) < 1e-6
    assert abs(gray["ssim"] - np.mean([r[1] for r in ref.values()])) < 1e-6
    # the cast is signed and averaged over images: gray's is minus the photos' mean ab
    assert abs(gray["cast_b"] - np.mean([r[3] for r in ref.values()])) < 1e-9
    assert gray["cast_b"] != 0.0
    assert summary["speed"]["ms_per_image"] is None  # no model was timed (NaN -> null)
    assert "| gray | 4 |" in capsys.readouterr().out


def test_model_path_with_zero_ab_equals_grayscale_baseline():
    """The recombination used for model methods (exact L + ab -> uint8) reproduces the
    gray baseline bit for bit when ab = 0."""
    import skimage.data

    for name in SKIMAGE_PHOTOS:
        gt = np.asarray(Image.fromarray(getattr(skimage.data, name)()).resize((96, 80)))
        L = lab_of([gt])[:, :1]
        pred = recombine(L, torch.zeros(1, 2, 80, 96))[0]
        np.testing.assert_array_equal(pred, grayscale_baseline(gt))


# ----------------------------------------------------------------------------- end to end
def test_end_to_end_random_checkpoint(tmp_path, capsys):
    paths = write_folder(tmp_path / "imgs", n=4)
    ckpt = make_ckpt(tmp_path / "tiny.ckpt")
    out = tmp_path / "out"
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--ckpt", str(ckpt),
               "--size", "64", "--out", str(out), "--sheet-rows", "3", "--sheet-cell", "32",
               "--batch-size", "3", "--device", "cpu", "--no-progress"])  # fmt: skip
    assert rc == 0
    s = read_json(out / "summary.json")
    assert CONTRACT_TOP <= set(s)
    assert s["dataset"] == "folder" and s["size"] == 64
    assert s["n_images"] == 4 and s["n_excluded_gray"] == 0 and s["skipped"] == []
    assert list(s["methods"]) == ["gray", "dist", "reg"]
    for m, d in s["methods"].items():
        assert CONTRACT_METHOD <= set(d), m
        assert all(isinstance(d[k], float) for k in CONTRACT_METHOD), m
        assert d["num_images"] == 4
    assert set(s["gt"]) >= {"colorfulness", "cni"} and s["gt"]["colorfulness"] > 10
    assert s["speed"]["device"] == "cpu" and s["speed"]["ms_per_image"] > 0
    assert s["speed"]["peak_memory_mb"] > 0
    assert s["checkpoint"]["path"] == str(ckpt) and s["checkpoint"]["methods"] == ["dist", "reg"]
    # random weights: the colorizations differ from the gray baseline
    assert s["methods"]["dist"]["l2ab"] != s["methods"]["gray"]["l2ab"]

    rows = read_csv(out / "per_image.csv")
    assert len(rows) == 4 * 3
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert {(Path(r["image"]).name, r["method"]) for r in rows} == {
        (p.name, m) for p in paths for m in ("gray", "dist", "reg")
    }
    first = next(r for r in rows if Path(r["image"]).name == "img00.png")
    assert (int(first["width"]), int(first["height"])) == (56, 40)  # the original size
    for m in ("gray", "dist", "reg"):  # summary = mean of the CSV rows
        vals = [float(r["psnr"]) for r in rows if r["method"] == m]
        assert abs(np.mean(vals) - s["methods"][m]["psnr"]) < 1e-9

    with Image.open(out / "sheet.png") as im:
        assert im.size == sheet_size(3, 4, 32) == (128, 22 + 96)
        sheet = np.asarray(im.convert("RGB"))
    assert (sheet[:22] < 128).any()  # column titles were drawn
    text = capsys.readouterr().out
    t = s["checkpoint"]["temperature"]
    assert s["decoding"] == {"gray": "ab = 0", "dist": f"annealed mean, T = {t:g}",
                             "reg": "regression"}  # fmt: skip
    for m in ("gray", f"dist (annealed mean, T = {t:g})", "reg", "ground truth"):
        assert f"| {m} | 4 |" in text
    # realism beside PSNR in every bench: FD-Lite0 with its N, never passed off as an FID
    assert all(isinstance(d["fd_lite0"], float) and d["fd_lite0"] > 0
               for d in s["methods"].values())  # fmt: skip
    assert "fid" not in s["methods"]["dist"] and set(s["frechet"]) == {"fd_lite0"}
    fd = s["frechet"]["fd_lite0"]
    assert fd["n_images"] == 4 and fd["comparable_with_published_fid"] is False
    assert "| FD-Lite0 |" in text and "N = 4 ground truths" in text
    assert "Not comparable with published FIDs" in text
    assert 0 < s["speed"]["frechet_s"] < s["speed"]["wall_s"]


def test_full_res_evaluates_at_original_size(tmp_path):
    write_folder(tmp_path / "imgs", n=3)
    ckpt = make_ckpt(tmp_path / "tiny.ckpt", heads=("dist",))
    out = tmp_path / "out"
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--ckpt", str(ckpt),
               "--size", "32", "--full-res", "--out", str(out), "--sheet-rows", "2",
               "--sheet-cell", "24", "--no-progress"])  # fmt: skip
    assert rc == 0
    s = read_json(out / "summary.json")
    assert s["size"] is None and s["full_res"] is True
    assert list(s["methods"]) == ["gray", "dist"] and s["n_images"] == 3
    with Image.open(out / "sheet.png") as im:
        assert im.size == sheet_size(2, 3, 24)


def test_colourless_ground_truth_excluded_and_counted(tmp_path):
    d = tmp_path / "imgs"
    write_folder(d, n=3)
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8), (48, 1))).save(d / "gray_L.png")
    tinted = np.repeat(np.tile(np.arange(64, 128, dtype=np.uint8), (48, 1))[..., None], 3, 2)
    tinted[..., 0] += 1  # mean chroma well below 2 Lab units
    Image.fromarray(tinted).save(d / "nearly_gray.png")
    out = tmp_path / "out"
    args = ["--dataset", "folder", "--root", str(d), "--no-model", "--size", "32",
            "--no-progress"]  # fmt: skip
    assert main([*args, "--out", str(out)]) == 0
    s = read_json(out / "summary.json")
    assert s["n_images"] == 3 and s["n_excluded_gray"] == 2
    assert sorted(Path(p).name for p in s["excluded_gray"]) == ["gray_L.png", "nearly_gray.png"]
    assert len(read_csv(out / "per_image.csv")) == 3
    assert main([*args, "--out", str(tmp_path / "keep"), "--keep-gray"]) == 0
    s = read_json(tmp_path / "keep" / "summary.json")
    assert s["n_images"] == 5 and s["n_excluded_gray"] == 0


def test_unreadable_files_skipped_and_listed(tmp_path, capsys):
    d = tmp_path / "imgs"
    write_folder(d, n=2)
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG" * 10)
    (d / "empty.png").write_bytes(b"")
    out = tmp_path / "out"
    rc = main(["--dataset", "folder", "--root", str(d), "--no-model", "--size", "32",
               "--out", str(out), "--no-progress"])  # fmt: skip
    assert rc == 1  # scored the rest, listed the bad files, and says so in the exit status
    s = read_json(out / "summary.json")
    assert s["n_images"] == 2 and s["n_skipped"] == 2
    skipped = {Path(p).name: reason for p, reason in s["skipped"]}
    assert set(skipped) == {"corrupt.jpg", "empty.png"}
    assert "zero-byte" in skipped["empty.png"]
    assert "corrupt.jpg" in capsys.readouterr().out


def test_nothing_evaluable_exits_1(tmp_path, capsys):
    d = tmp_path / "imgs"
    d.mkdir()
    (d / "a.png").write_bytes(b"garbage")
    rc = main(["--dataset", "folder", "--root", str(d), "--no-model", "--out",
               str(tmp_path / "out"), "--no-progress"])  # fmt: skip
    assert rc == 1
    assert "nothing could be evaluated" in capsys.readouterr().err


def test_limit_takes_first_sorted(tmp_path):
    write_folder(tmp_path / "imgs", n=5)
    paths = list_dataset_images("folder", tmp_path / "imgs", limit=2)
    assert [Path(p).name for p in paths] == ["img00.png", "img01.png"]


# ----------------------------------------------------------------------------- bad input
def test_missing_dataset_dir_names_path(tmp_path, capsys):
    missing = tmp_path / "no_such_dir"
    rc = main(["--dataset", "folder", "--root", str(missing), "--no-model", "--out",
               str(tmp_path / "out")])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "Expected layout" in err
    assert not (tmp_path / "out").exists()


def test_wrong_layout_and_empty_dataset_name_path_and_layout(tmp_path):
    (tmp_path / "camvid").mkdir()
    with pytest.raises(BenchError, match=r"(?s)camvid.*Expected layout.*annot"):
        list_dataset_images("camvid", tmp_path / "camvid")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match=r"(?s)no images found.*empty.*Expected layout"):
        list_dataset_images("folder", tmp_path / "empty")
    with pytest.raises(BenchError, match="unknown dataset"):
        list_dataset_images("mnist", tmp_path)


def test_a_missing_public_dataset_says_where_to_get_it(tmp_path):
    with pytest.raises(BenchError, match=r"(?s)DIV2K_valid_HR.*Get it from "
                       r"https://data\.vision\.ee\.ethz\.ch/cvl/DIV2K/"):  # fmt: skip
        list_dataset_images("div2k", tmp_path / "DIV2K")
    (tmp_path / "tiny").mkdir()  # a root without its layout: the dataset's own error
    with pytest.raises(BenchError, match="Get it from http://cs231n.stanford.edu/"):
        list_dataset_images("tinyimagenet", tmp_path / "tiny")


def test_div2k_default_split_is_valid(tmp_path):
    write_folder(tmp_path / "DIV2K_valid_HR", n=2)
    write_folder(tmp_path / "DIV2K_train_HR", n=3)
    assert len(list_dataset_images("div2k", tmp_path)) == 2
    assert len(list_dataset_images("div2k", tmp_path, split="train")) == 3


def test_incompatible_checkpoint_exits_2(tmp_path, capsys):
    write_folder(tmp_path / "imgs", n=1)
    ckpt = make_ckpt(tmp_path / "future.ckpt", version="99.0.0")
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--ckpt", str(ckpt),
               "--out", str(tmp_path / "out"), "--no-progress"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert "99.0.0" in err and "incompatible" in err
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--ckpt",
               str(tmp_path / "absent.ckpt"), "--no-progress"])  # fmt: skip
    assert rc == 2
    assert "absent.ckpt" in capsys.readouterr().err


def test_no_checkpoint_and_no_default_model_runs_baselines_only(tmp_path, capsys, no_default_model):
    write_folder(tmp_path / "imgs", n=2)
    out = tmp_path / "out"
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--size", "32",
               "--out", str(out), "--no-progress"])  # fmt: skip
    assert rc == 0
    s = read_json(out / "summary.json")
    assert list(s["methods"]) == ["gray"] and s["baselines_only"] is True
    assert "baselines only" in capsys.readouterr().err


def test_json_nan_becomes_null():
    assert _clean({"a": float("nan"), "b": [1.0, float("inf")], "c": np.float32(2)}) == {
        "a": None,
        "b": [1.0, None],
        "c": 2.0,
    }


# ----------------------------------------------------------------------------- speed
def test_speed_mode_writes_speed_json(tmp_path, capsys):
    ckpt = make_ckpt(tmp_path / "tiny.ckpt")
    out = tmp_path / "speed"
    rc = main(["--speed", "--ckpt", str(ckpt), "--device", "cpu", "--size", "32",
               "--speed-batches", "1,2", "--speed-fullres", "96x64", "--speed-iters", "2",
               "--speed-warmup", "0", "--out", str(out), "--no-progress"])  # fmt: skip
    assert rc == 0
    sp = read_json(out / "speed.json")
    rows = sp["results"]
    assert [(r["device"], r["case"], r["input"]) for r in rows] == [
        ("cpu", "batch", "1x32x32"),
        ("cpu", "batch", "2x32x32"),
        ("cpu", "fullres", "1x64x96"),
    ]
    for r in rows:
        assert r["latency_ms"] > 0 and r["iters"] == 2
        assert abs(r["images_per_s"] * r["latency_ms"] / 1000 - r["batch"]) < 1e-6
    assert sp["method"] == "dist" and sp["model"]["path"] == str(ckpt)
    assert "| cpu | fullres | 1x64x96 |" in capsys.readouterr().out


def test_speed_mode_bad_options_exit_2(tmp_path):
    assert main(["--speed", "--speed-fullres", "big", "--out", str(tmp_path)]) == 2
    assert main(["--speed", "--speed-batches", "0", "--out", str(tmp_path)]) == 2


def test_default_speed_arch_matches_default_model_config():
    """Speed mode without any checkpoint times the default model's architecture."""
    from omegaconf import OmegaConf

    conf = Path(__file__).resolve().parents[2] / "conf"
    base = OmegaConf.load(conf / "model" / "resnet18.yaml")
    exp = OmegaConf.load(conf / "experiment" / "default_model.yaml")
    model_name = next(
        d["override /model"] for d in exp.defaults if "override /model" in d
    )
    mobile = OmegaConf.load(conf / "model" / f"{model_name}.yaml")
    assert DEFAULT_SPEED_ARCH["encoder"] == mobile.encoder
    assert DEFAULT_SPEED_ARCH["decoder_channels"] == list(mobile.decoder_channels)
    assert mobile.encoder_weights == "imagenet" and DEFAULT_SPEED_ARCH["input_norm"] == [0.5, 0.5]
    assert DEFAULT_SPEED_ARCH["dist_stride"] == base.dist_stride
    assert DEFAULT_SPEED_ARCH["heads"] == list(exp.model.heads)
    # class counts matter only with the scene / segmentation heads; the recipe has neither
    assert not {"scene", "seg"} & set(exp.model.heads)


# ----------------------------------------------------------------------------- shared data
@pytest.mark.shared
def test_shared_dataset_listings(shared_dir):
    data = shared_dir / "data"
    camvid = list_dataset_images("camvid", data / "camvid")
    assert len(camvid) == 233 and all("/test/" in p for p in camvid)
    tiny = list_dataset_images("tinyimagenet", data / "tiny-imagenet-200", limit=5)
    assert len(tiny) == 5 and all("/val/images/" in p for p in tiny)
    assert len(list_dataset_images("folder", data / "bsds500" / "test")) == 200


def test_name_labels_the_model_rows(tmp_path, capsys):
    write_folder(tmp_path / "imgs", n=2)
    ckpt = make_ckpt(tmp_path / "tiny.ckpt")
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--ckpt", str(ckpt),
               "--size", "32", "--out", str(tmp_path / "out"), "--device", "cpu",
               "--no-progress", "--name", "scgan", "--methods", "reg"])  # fmt: skip
    assert rc == 0
    table = capsys.readouterr().out
    assert "| scgan | 2 |" in table and "| gray | 2 |" in table
    assert read_json(tmp_path / "out" / "summary.json")["model_name"] == "scgan"
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--ckpt", str(ckpt),
               "--size", "32", "--out", str(tmp_path / "out2"), "--device", "cpu",
               "--no-progress", "--name", "mine"])  # fmt: skip
    table = capsys.readouterr().out
    assert "| mine (dist: annealed mean, T = 0.38) |" in table and "| mine (reg) |" in table


def test_temperature_one_is_called_the_mean(tmp_path, capsys):
    """T = 1 is the plain mean of the distribution, not an annealed mean: the table,
    summary.json say so."""
    write_folder(tmp_path / "imgs", n=2)
    ckpt = make_ckpt(tmp_path / "tiny.ckpt", heads=("dist",))
    out = tmp_path / "out"
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--ckpt", str(ckpt),
               "--size", "32", "--out", str(out), "--device", "cpu", "--no-progress",
               "--temperature", "1.0", "--sheet-rows", "1"])  # fmt: skip
    assert rc == 0
    table = capsys.readouterr().out
    assert "| dist (mean, T = 1) | 2 |" in table and "annealed" not in table
    assert read_json(out / "summary.json")["decoding"]["dist"] == "mean, T = 1"


# ----------------------------------------------------------------------------- realism
def test_fd_lite0_is_the_distance_of_the_columns_features_to_the_ground_truths(tmp_path):
    """Plumbing: each column's FD equals the Fréchet distance recomputed from that column's
    images and the ground truths (kept whole in the sheet), not another pairing."""
    from semcolor.evaluation import evaluate_images, pool_features
    from semcolor.inference import load_model
    from semcolor.metrics import frechet_distance_features
    from semcolor.models.feature_nets import efficientnet_lite0_features

    paths = write_folder(tmp_path / "imgs", n=5)
    model = load_model(make_ckpt(tmp_path / "tiny.ckpt"), device="cpu")
    res = evaluate_images([str(p) for p in paths], model, size=32, sheet_rows=5,
                          progress=False)  # fmt: skip
    net, cpu = efficientnet_lite0_features(), torch.device("cpu")
    gt = pool_features(net, [row["gt"] for _, row in res.sheet], cpu)
    values = {}
    for m in ("gray", "dist", "reg"):
        own = pool_features(net, [row[m] for _, row in res.sheet], cpu)
        values[m] = frechet_distance_features(own, gt)
        assert res.summary[m]["fd_lite0"] == pytest.approx(values[m], rel=1e-6), m
    assert len(set(values.values())) == 3
    off = evaluate_images([str(p) for p in paths], model, size=32, progress=False,
                          frechet=False)  # fmt: skip
    assert "fd_lite0" not in off.summary["dist"] and off.frechet == {}


def test_fid_weights_missing_file_exits_2_naming_it(tmp_path, capsys, no_default_model):
    write_folder(tmp_path / "imgs", n=2)
    missing = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--no-model",
               "--size", "32", "--out", str(tmp_path / "out"), "--no-progress",
               "--fid-weights", str(missing)])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "--fid-weights" in err and "download" in err


def test_fid_with_a_saved_inception_file(tmp_path, capsys):
    """--fid-weights adds FID (Inception v3 pool features) beside FD-Lite0; pytorch-fid's
    file is flagged comparable with published FIDs."""
    from tests.models.test_feature_nets import save_inception

    write_folder(tmp_path / "imgs", n=2)
    weights = save_inception(tmp_path / "pt_inception.pth", "pytorch-fid")
    out = tmp_path / "out"
    rc = main(["--dataset", "folder", "--root", str(tmp_path / "imgs"), "--no-model",
               "--size", "32", "--out", str(out), "--no-progress",
               "--fid-weights", str(weights)])  # fmt: skip
    assert rc == 0
    s = read_json(out / "summary.json")
    assert isinstance(s["methods"]["gray"]["fid"], float) and s["methods"]["gray"]["fid"] >= 0
    assert s["frechet"]["fid"]["n_images"] == 2 and s["frechet"]["fid"]["weights"] == str(weights)
    assert s["frechet"]["fid"]["comparable_with_published_fid"] is True
    text = capsys.readouterr().out
    assert "| FID |" in text and "FID: Inception v3 pool features, N = 2" in text

