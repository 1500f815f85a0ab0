"""``semcolor-label-saliency`` end to end: exit codes, interruption and resuming."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from semcolor.cli import label_saliency as cli
from semcolor.data import saliency as sal

PLUGIN = "semcolor_test_saliency_cli_plugin"
N_IMAGES = 6


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """``counting``: spectral residual that raises KeyboardInterrupt on call number
    $SAL_STOP_AT (a Ctrl-C in the middle of a run)."""
    d = tmp_path / "plugin"
    d.mkdir()
    (d / f"{PLUGIN}.py").write_text(textwrap.dedent("""
        import os

        from semcolor.data.saliency import DETECTORS

        calls = 0

        def counting(rgb):
            global calls
            calls += 1
            if calls == int(os.environ.get("SAL_STOP_AT", "0")):
                raise KeyboardInterrupt
            return DETECTORS["spectral_residual"](rgb)
    """))
    monkeypatch.syspath_prepend(str(d))
    monkeypatch.delitem(sys.modules, PLUGIN, raising=False)
    yield PLUGIN
    sys.modules.pop(PLUGIN, None)


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "photos"
    for i in range(N_IMAGES):
        sub = d / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        h, w = int(rng.integers(20, 50)), int(rng.integers(20, 50))
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        arr[h // 4 : h // 2, w // 4 : w // 2] = 255
        Image.fromarray(arr).save(sub / f"img{i}.{'png' if i % 3 else 'jpg'}")
    return d


def _run(*args) -> int:
    return cli.main([*map(str, args), "--no-progress"])


def _maps(out) -> dict[str, np.ndarray]:
    return {p.relative_to(out).as_posix(): np.asarray(Image.open(p))
            for p in sorted(out.rglob("*.png"))}  # fmt: skip


def test_labels_every_image(photos, tmp_path):
    out = tmp_path / "maps"
    assert _run(photos, "--out", out) == 0
    maps = _maps(out)
    assert len(maps) == N_IMAGES and "a/img1.png" in maps and "b/img0.png" in maps
    for rel, m in maps.items():
        src = next((photos / rel).parent.glob((photos / rel).stem + ".*"))
        assert m.dtype == np.uint8 and m.shape == Image.open(src).size[::-1]
        assert m.max() == 255
    assert _run(photos, "--out", out, "--detector", "fine_grained", "--overwrite") == 0


def test_interrupt_then_resume_matches_an_uninterrupted_run(photos, tmp_path, plugin,
                                                            monkeypatch, capsys):
    out, ref = tmp_path / "maps", tmp_path / "ref"
    monkeypatch.setenv("SAL_STOP_AT", "3")
    assert _run(photos, "--out", out, "--detector", f"{plugin}:counting") == 130
    assert "interrupted" in capsys.readouterr().err
    first = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(first) == 2
    for rel in first:  # complete, valid PNGs
        assert sal.load_saliency(out / rel).ndim == 2
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]

    monkeypatch.delenv("SAL_STOP_AT")
    r = sal.label_saliency(photos, out, detector=f"{plugin}:counting", progress=False)
    assert (r.written, r.skipped_existing, r.bad) == (N_IMAGES - 2, 2, [])
    assert _run(photos, "--out", ref) == 0  # spectral_residual, uninterrupted
    got, want = _maps(out), _maps(ref)
    assert list(got) == list(want)
    for rel in want:
        np.testing.assert_array_equal(got[rel], want[rel])


def test_corrupt_image_is_listed_and_the_others_written(photos, tmp_path, capsys):
    (photos / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    out = tmp_path / "maps"
    assert _run(photos, "--out", out) == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "1 image(s) not labelled" in err
    assert len(_maps(out)) == N_IMAGES and not (out / "a" / "broken.png").exists()


def test_bad_arguments_exit_2(photos, tmp_path, capsys):
    assert _run(photos, "--out", tmp_path / "m", "--detector", "nope") == 2
    err = capsys.readouterr().err
    assert "spectral_residual" in err and "module:function" in err
    assert _run(tmp_path / "missing", "--out", tmp_path / "m") == 2
    assert _run(photos, "--out", photos) == 2
    assert "images folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert _run(tmp_path / "empty", "--out", tmp_path / "m") == 2
    assert "no images" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main([str(photos)])  # --out is required
    assert e.value.code == 2
    assert not (photos / "m").exists() and not list(photos.rglob(".semcolor-saliency.json"))
