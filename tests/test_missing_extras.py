"""Without an optional extra, the commands that need it say so in one line and name the extra.

The environment without the extra is simulated in a subprocess: an import hook at the front
of ``sys.meta_path`` makes the extra's modules unimportable (installing a second environment
in CI would take minutes). The hook is checked to work before the commands are judged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.inference.test_inference import tiny_net, write_ckpt

#: Prepended to each subprocess: modules whose top-level name is in BLOCKED cannot be imported.
#: As where the extra is not installed, a probe with ``importlib.util.find_spec`` (torch's
#: dynamo probes onnx at import) finds no file (a spec without origin), and an import raises
#: ModuleNotFoundError.
_BLOCKER = textwrap.dedent(
    """
    import importlib.abc, importlib.machinery, sys
    BLOCKED = set(sys.argv.pop(1).split(","))
    class _NoExtra(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                return importlib.machinery.ModuleSpec(name, self)
            return None
        def create_module(self, spec):
            raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)
        def exec_module(self, module):
            pass
    sys.meta_path.insert(0, _NoExtra())
    """
)


def _run_without(blocked: str, code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", _BLOCKER + textwrap.dedent(code), blocked],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return write_ckpt(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt", tiny_net())


def test_the_blocker_hides_the_modules(tmp_path):
    r = _run_without("onnx,onnxruntime", "import onnx", tmp_path)
    assert r.returncode == 1 and "No module named 'onnx'" in r.stderr


def test_export_without_onnx_is_one_line_naming_the_extra(tmp_path, ckpt):
    out = tmp_path / "m.onnx"
    r = _run_without("onnx,onnxruntime", f"""
        import sys
        from semcolor.cli.export import main
        sys.exit(main(["--onnx", {str(out)!r}, "--ckpt", {str(ckpt)!r}, "--size", "32"]))
    """, tmp_path)  # fmt: skip
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines == [
        'semcolor-export: error: ONNX export needs the onnx package: pip install "semcolor[onnx]"'
    ]
    assert not out.exists()


def test_onnxruntime_backend_without_the_extra_fails_once_up_front(tmp_path, ckpt):
    import numpy as np
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 24), 60 * i, np.uint8)).save(src / f"p{i}.png")
    r = _run_without("onnxruntime", f"""
        import sys
        from semcolor.cli.colorize import main
        sys.exit(main([{str(src)!r}, "-o", {str(tmp_path / "out")!r}, "--ckpt", {str(ckpt)!r},
                       "--size", "32", "--backend", "onnxruntime"]))
    """, tmp_path)  # fmt: skip
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if "error" in ln]
    assert errors == [
        "semcolor-colorize: error: backend='onnxruntime' needs the onnxruntime package: "
        'pip install "semcolor[onnx]"'
    ]
    assert not (tmp_path / "out").exists()


def test_api_backend_without_the_extras_raises_importerror_naming_it(tmp_path, ckpt):
    r = _run_without("onnx,onnxruntime", f"""
        import semcolor
        try:
            semcolor.Colorizer({str(ckpt)!r}, backend="onnxruntime")
        except ImportError as e:
            print(e)
    """, tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == (
        "backend='onnxruntime' needs the onnx and onnxruntime packages: "
        'pip install "semcolor[onnx]"'
    )
