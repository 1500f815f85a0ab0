"""``semcolor-label-scenes`` end to end with a random-weight ResNet-18 in CSAIL's format."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

from semcolor.cli import label_scenes as cli
from semcolor.data import pseudo_labels as pl
from semcolor.data.base import SampleOptions
from semcolor.data.scene_labels import load_scene_labels, soft_scene_vector

N_IMAGES = 7


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny batches: one thread avoids OpenMP spin-waiting when the 2 cores are busy.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def csail_weights(tmp_path_factory):
    """A random resnet18 saved as CSAIL does: DataParallel keys in a checkpoint dict."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=365).eval()
    path = tmp_path_factory.mktemp("w") / "resnet18_places365.pth.tar"
    sd = {"module." + k: v for k, v in model.state_dict().items()}
    torch.save({"epoch": 90, "arch": "resnet18", "state_dict": sd, "best_prec1": 54.7}, path)
    return path, model


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    rng = np.random.default_rng(0)
    d = tmp_path_factory.mktemp("imgs")
    for i in range(N_IMAGES):
        sub = d / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        h, w = int(rng.integers(20, 60)), int(rng.integers(20, 60))
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(arr).save(sub / f"img{i}.{'png' if i % 3 else 'jpg'}")
    return d


@pytest.fixture
def small_input(monkeypatch):
    """Resize 64 / crop 56 instead of CSAIL's 256 / 224: 16x less compute for the tests that
    check resuming and bookkeeping (the first test checks the real pipeline)."""
    monkeypatch.setattr(pl, "RESIZE", 64)
    monkeypatch.setattr(pl, "CROP", 56)
    return 64, 56


def _run(*args) -> int:
    return cli.main([*map(str, args), "--num-workers", "0", "--no-progress"])


def _reference(model, folder, sizes=(256, 224)) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The labels computed directly: CSAIL's demo transform + softmax + top-5 renormalised."""
    tf = T.Compose([T.Resize(sizes[0]), T.CenterCrop(sizes[1]), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])  # fmt: skip
    out = {}
    for p in sorted(folder.rglob("*.*")):
        x = tf(Image.open(p).convert("RGB"))[None]
        with torch.no_grad():
            prob = torch.softmax(model(x), 1)[0]
        top, idx = prob.topk(5)
        out[p.relative_to(folder).as_posix()] = (idx.numpy(), (top / top.sum()).numpy())
    return out


def _assert_same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k][0], b[k][0])
        np.testing.assert_allclose(a[k][1], b[k][1], rtol=1e-5, atol=1e-6)


def test_labels_match_a_direct_computation(tmp_path, csail_weights, folder):
    weights, model = csail_weights
    out = tmp_path / "labels.npz"
    assert _run("--images", folder, "--weights", weights, "--out", out, "--batch-size", 3) == 0
    table = load_scene_labels(out)
    assert len(table) == N_IMAGES
    for idx, prob in table.values():
        assert idx.shape == (5,) and ((0 <= idx) & (idx < 365)).all()
        assert len(set(idx.tolist())) == 5
        assert prob.sum() == pytest.approx(1.0, abs=1e-6) and (np.diff(prob) <= 0).all()
    _assert_same(table, _reference(model, folder))
    assert not pl.partial_path(out).exists()


def test_resume_after_interruption_equals_uninterrupted(tmp_path, csail_weights, folder,
                                                        monkeypatch, small_input):  # fmt: skip
    weights, _ = csail_weights
    full = tmp_path / "full.npz"
    assert _run("--images", folder, "--weights", weights, "--out", full, "--batch-size", 2) == 0

    out = tmp_path / "labels.npz"
    calls = {"n": 0}
    real = pl.label_images

    def crash_after_two_batches(model, *a, **kw):
        def predict(m, x):
            calls["n"] += 1
            if calls["n"] > 2:
                raise RuntimeError("simulated crash")
            return m(x)

        return real(model, *a, predict=predict, **{**kw, "save_every": 100})

    monkeypatch.setattr(pl, "label_images", crash_after_two_batches)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run("--images", folder, "--weights", weights, "--out", out, "--batch-size", 2)
    assert not out.exists()
    part = load_scene_labels(pl.partial_path(out))
    assert len(part) == 4  # the two finished batches were saved on the way out
    monkeypatch.setattr(pl, "label_images", real)

    counted = {"n": 0}

    def counting(model, *a, **kw):
        res = real(model, *a, **kw)
        counted["n"] = res.labelled
        assert res.reused == 4
        return res

    monkeypatch.setattr(pl, "label_images", counting)
    assert _run("--images", folder, "--weights", weights, "--out", out, "--batch-size", 2) == 0
    assert counted["n"] == N_IMAGES - 4  # nothing labelled twice
    _assert_same(load_scene_labels(out), load_scene_labels(full))
    with np.load(out, allow_pickle=False) as z:
        assert len(set(z["names"].tolist())) == z["names"].shape[0] == N_IMAGES
    assert not pl.partial_path(out).exists()


def test_limit_then_update_and_refusals(tmp_path, csail_weights, folder, capsys, small_input):
    weights, _ = csail_weights
    out = tmp_path / "labels.npz"
    base = ("--images", folder, "--weights", weights, "--out", out, "--batch-size", 4)
    assert _run(*base, "--limit", 3) == 0
    assert len(load_scene_labels(out)) == 3
    with pytest.raises(SystemExit):  # exists: neither --update nor --force
        _run(*base)
    assert _run(*base, "--update") == 0
    _assert_same(load_scene_labels(out), _reference(csail_weights[1], folder, small_input))
    # A progress file from another classifier is not mixed in.
    pl.partial_path(out).write_bytes(b"")
    np.savez(
        pl.partial_path(out),
        names=np.array(["x.jpg"]),
        idx=np.zeros((1, 5), np.int64),
        prob=np.full((1, 5), 0.2, np.float32),
        signature=np.asarray("other|w|1|365"),
    )
    capsys.readouterr()
    assert _run(*base, "--update") == 2
    assert "other|w|1|365" in capsys.readouterr().err
    assert _run(*base, "--force") == 0 and not pl.partial_path(out).exists()


def test_list_file_root_and_bad_images(tmp_path, csail_weights, folder, capsys, small_input):
    weights, model = csail_weights
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    lst = tmp_path / "list.txt"
    lst.write_text(f"# comment\na/img1.png 12\n./b/img0.jpg\n\na/img1.png\n{tmp_path}/broken.jpg\n")
    out = tmp_path / "labels.npz"
    rc = _run("--images", lst, "--root", folder, "--weights", weights, "--out", out)
    assert rc == 2  # broken.jpg is outside --root
    assert "not under the root" in capsys.readouterr().err
    lst.write_text("a/img1.png 12\n./b/img0.jpg\na/img1.png\nmissing.jpg\n")
    rc = _run("--images", lst, "--root", folder, "--weights", weights, "--out", out)
    assert rc == 1  # missing.jpg is unreadable: listed, the rest written
    assert "missing.jpg" in capsys.readouterr().err
    table = load_scene_labels(out)
    assert list(table) == ["a/img1.png", "b/img0.jpg"]
    ref = _reference(model, folder, small_input)
    _assert_same(table, {k: ref[k] for k in table})


def test_missing_weights_says_where_to_get_them(tmp_path, folder, capsys):
    missing = tmp_path / "nowhere" / "resnet18_places365.pth.tar"
    rc = _run("--images", folder, "--weights", missing, "--out", tmp_path / "o.npz")
    err = capsys.readouterr().err
    assert rc == 2 and str(missing) in err
    assert "http://places2.csail.mit.edu/models_places365/" in err
    assert not (tmp_path / "o.npz").exists()


def test_unknown_classifier_lists_names(tmp_path, csail_weights, folder, capsys):
    rc = _run("--images", folder, "--weights", csail_weights[0], "--classifier", "resnet17",
              "--out", tmp_path / "o.npz")  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "unknown classifier 'resnet17'" in err
    assert "resnet18" in err and "timm" in err
    with pytest.raises(pl.ClassifierError, match="Valid names"):
        pl.build_classifier("definitely_not_a_model")


def test_mismatched_weights_and_unsafe_files(tmp_path, csail_weights):
    weights, _ = csail_weights
    with pytest.raises(pl.ClassifierError, match="shape mismatch|missing key"):
        pl.load_classifier("resnet34", weights)
    sd, info = pl.read_state_dict(weights)
    assert info["arch"] == "resnet18" and info["epoch"] == 90
    assert not any(k.startswith("module.") for k in sd)
    # A pickled model object (CSAIL's whole_*.pth.tar) is refused, not unpickled.
    whole = tmp_path / "whole_resnet18_places365.pth.tar"
    torch.save(torchvision.models.resnet18(weights=None, num_classes=365), whole)
    with pytest.raises(pl.WeightsFileError, match="arbitrary code"):
        pl.read_state_dict(whole)
    # The pre-1.6 (non-zip) serialisation of the CSAIL era loads fine with weights_only.
    legacy = tmp_path / "legacy.pth.tar"
    buf = io.BytesIO()
    torch.save(torch.load(weights, weights_only=True), buf, _use_new_zipfile_serialization=False)
    legacy.write_bytes(buf.getvalue())
    model, name = pl.load_classifier(None, legacy.rename(tmp_path / "resnet18_places365.pth.tar"))
    assert name == "resnet18"
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(pl.WeightsFileError):
        pl.read_state_dict(tmp_path / "junk.pth")


def test_wideresnet18_is_csails_architecture(tmp_path):
    net = pl.build_classifier("wideresnet18")
    feats = torch.nn.Sequential(*list(net.children())[:-2])
    # No stem max-pool: stride 16, so 14x14 at 224 (CSAIL's AvgPool2d(14)); 7x7 at 112.
    assert feats(torch.zeros(1, 3, 112, 112)).shape == (1, 512, 7, 7)
    # Same keys as resnet18: the CSAIL state dict loads strictly.
    ref = torchvision.models.resnet18(weights=None, num_classes=365)
    assert list(net.state_dict()) == list(ref.state_dict())
    assert pl.guess_classifier_name("wideresnet18_places365.pth.tar") == "wideresnet18"
    assert pl.guess_classifier_name("x.pth", "resnet50") == "resnet50"


def test_timm_model_by_prefix():
    net = pl.build_classifier("timm:resnet18", num_classes=365)
    assert net.fc.out_features == 365


def test_dataset_reads_the_labels_as_soft_targets(tmp_path, csail_weights, folder, small_input):
    from semcolor.data.datasets import ImageFolder

    out = tmp_path / "labels.npz"
    cats = tmp_path / "categories_places365.txt"
    cats.write_text("".join(f"/{chr(97 + i % 26)}/place{i} {i}\n" for i in range(365)))
    assert _run("--images", folder, "--weights", csail_weights[0], "--out", out,
                "--class-names", cats) == 0  # fmt: skip
    short = tmp_path / "short.txt"
    short.write_text("beach\n")
    assert _run("--images", folder, "--weights", csail_weights[0], "--out", tmp_path / "x.npz",
                "--class-names", short) == 2  # fmt: skip
    ds = ImageFolder(
        str(folder),
        options=SampleOptions(crop_size=16, num_scene_classes=365, scene_labels=str(out)),
    )
    table = load_scene_labels(out)
    for i in range(len(ds)):
        s = ds[i]
        assert bool(s["has_scene"]) and s["scene"].shape == (365,)
        idx, prob = table[ds.relpath(i)]
        np.testing.assert_allclose(s["scene"].numpy(), soft_scene_vector(idx, prob, 365))
        assert float(s["scene"].sum()) == pytest.approx(1.0, abs=1e-5)
        assert set(np.flatnonzero(s["scene"].numpy()).tolist()) == set(idx.tolist())
    # the names given with --class-names travel with the labels (and on into checkpoints)
    assert ds.scene_names[:2] == ["place0", "place1"] and len(ds.scene_names) == 365


def test_progress_is_saved_periodically_and_on_ctrl_c(tmp_path, csail_weights, folder,
                                                       monkeypatch, small_input):  # fmt: skip
    weights, _ = csail_weights
    model, name = pl.load_classifier(None, weights)
    sig = pl.weights_signature(name, weights, 365)  # what the CLI uses: resumable by it
    items = pl.collect_images(folder)
    out = tmp_path / "labels.npz"
    seen = []

    def predict(m, x):
        part = pl.partial_path(out)
        seen.append(len(load_scene_labels(part)) if part.exists() else 0)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return m(x)

    with pytest.raises(KeyboardInterrupt):
        pl.label_images(model, items, out, signature=sig, batch_size=2, save_every=1,
                        predict=predict, progress=False, device="cpu")  # fmt: skip
    assert seen == [0, 2, 4]  # written after each batch, before the next one ran
    assert len(load_scene_labels(pl.partial_path(out))) == 4

    real = pl.label_images

    def interrupted(model, *a, **kw):
        def stop(m, x):
            raise KeyboardInterrupt

        return real(model, *a, **{**kw, "predict": stop})

    monkeypatch.setattr(pl, "label_images", interrupted)
    rc = _run("--images", folder, "--weights", weights, "--out", out, "--batch-size", 2)
    assert rc == 130 and not out.exists()
    assert len(load_scene_labels(pl.partial_path(out))) == 4  # nothing lost
