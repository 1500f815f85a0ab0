"""``semcolor-prior`` end to end on a small generated folder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from semcolor.cli import prior as prior_cli
from semcolor.color import RebalancePrior


def _folder(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "imgs"
    (d / "sub").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(d / "a.png")
    Image.fromarray(np.full((20, 20, 3), (200, 30, 30), np.uint8)).save(d / "sub" / "red.jpg")
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(d / "gray.png")  # colourless
    (d / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return d


def test_prior_cli_writes_a_loadable_prior(tmp_path, capsys):
    d = _folder(tmp_path)
    out = tmp_path / "prior.npy"
    rc = prior_cli.main(["--images", str(d), "--out", str(out)])
    assert rc == 1  # the broken file is listed and makes the exit code non-zero
    prior = RebalancePrior.load(out)
    assert prior.counts.sum() == 40 * 30 + 20 * 20  # the gray image is left out
    assert np.sum(prior.p_smooth * prior.weights) == pytest.approx(1.0)
    # A strongly red image puts mass in positive a.
    from semcolor.color import AB_BINS

    assert prior.p[AB_BINS[:, 0] > 30].sum() > 0.2


def test_prior_cli_limit_and_no_overwrite(tmp_path):
    d = _folder(tmp_path)
    out = tmp_path / "prior.npy"
    assert prior_cli.main(["--images", str(d), "--out", str(out), "--limit", "1"]) == 0
    first = out.read_bytes()
    with pytest.raises(SystemExit):
        prior_cli.main(["--images", str(d), "--out", str(out)])  # exists, no --force
    assert out.read_bytes() == first


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["--images", "/nonexistent/dir", "--out", "p.npy"], "not a directory"),
        (["--images", ".", "--out", "p.txt"], ".npy"),
    ],
)
def test_prior_cli_bad_arguments(tmp_path, args, msg, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        prior_cli.main(args)
    assert msg in capsys.readouterr().err


def test_prior_cli_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        prior_cli.main(["--images", str(tmp_path / "empty"), "--out", str(tmp_path / "p.npy")])
    assert "no images found" in capsys.readouterr().err
