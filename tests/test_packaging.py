"""The package ships its Hydra configs and stays light to import."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("imports", ["semcolor", "semcolor.inference, semcolor.evaluation"])
def test_importing_stays_light(imports):
    """``import semcolor`` loads no training stack, and neither do the inference and
    evaluation rooms: colorizing and benching need neither Lightning nor Hydra."""
    code = (
        f"import sys, {imports}; "
        "bad = [m for m in ('pytorch_lightning', 'lightning', 'hydra') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == "[]"


def test_the_demo_folder_is_ignored():
    """README's first command writes demo/ in the checkout; git must not offer it."""
    r = subprocess.run(["git", "check-ignore", "-q", "demo/demo_sheet.png"], cwd=REPO)
    assert r.returncode == 0


def test_readme_says_what_ci_runs():
    """The README's test command is .ci/run's last line, and where .ci/run installs Chromium
    first the README says so."""
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = ci.strip().splitlines()[-1]
    assert command in readme
    if "chromium" in ci:
        start = readme.index("Set up and run the tests")
        assert "chromium" in readme[start : readme.index(command, start)]
