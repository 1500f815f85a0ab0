"""The package ships its Hydra configs and stays light to import."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_config_file_is_packaged():
    # Every YAML under conf/ must be listed in pyproject's package data (a config missing
    # from the wheel breaks `semcolor-train` after a non-editable install).
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packaged = set(meta["packages"])
    for yaml in (REPO / "conf").rglob("*.yaml"):
        group = yaml.parent.relative_to(REPO / "conf").parts
        pkg = ".".join(("semcolor", "conf", *group))
        assert pkg in packaged, f"{yaml} is not in a packaged folder; add {pkg} to pyproject"
        assert "*.yaml" in meta["package-data"][pkg]
    assert importlib.resources.files("semcolor.conf").joinpath("train.yaml").is_file()


def test_import_semcolor_is_light():
    code = (
        "import sys, semcolor; "
        "bad = [m for m in ('pytorch_lightning', 'lightning', 'hydra') if m in sys.modules]; "
        "print(semcolor.__version__); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip()
