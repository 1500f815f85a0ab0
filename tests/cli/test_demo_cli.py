"""``semcolor-demo`` (the README's main job for now) runs and writes its sheet."""

from __future__ import annotations

from PIL import Image

from semcolor.cli import demo


def test_demo_writes_sheet(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--size", "64"]) == 0
    sheet = Image.open(tmp_path / "quantisation_sheet.png")
    assert sheet.size == (3 * 64, len(demo.PHOTOS) * 64)
    out = capsys.readouterr().out
    assert all(name in out for name in demo.PHOTOS)
