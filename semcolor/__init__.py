r"""semcolor: automatic image colorization with semantic guidance.

``import semcolor`` stays light: it imports neither Lightning nor Hydra, nor even torch.
The user API is loaded on first use (module ``__getattr__``):

- :func:`semcolor.colorize` / :class:`semcolor.Colorizer`, :func:`semcolor.analyze`
  (from :mod:`semcolor.inference.api`),
- :func:`semcolor.colorize_video` (from :mod:`semcolor.inference.video`; needs
  ``semcolor[video]``),
- :func:`semcolor.load_model` (from :mod:`semcolor.inference.checkpoint`),
- :func:`semcolor.export_onnx` (from :mod:`semcolor.inference.export`).

The house, bottom to top (README, "Layout"); a module imports only from its own room or a
lower one, at the top of the module, and ``tests/test_layout.py`` checks it:

1. the root: :mod:`semcolor.constants` (every number, with its source),
   :mod:`semcolor.weights` (the one reader of foreign weight files) and
   :mod:`semcolor.hardware` (what the machine does fast, and which device "auto" is: both
   training and inference choose from it, so it sits below both);
2. :mod:`semcolor.color` converts and encodes;
3. :mod:`semcolor.metrics` measures;
4. :mod:`semcolor.models` computes (plain ``nn.Module``\ s);
5. :mod:`semcolor.losses` scores training outputs;
6. :mod:`semcolor.data` loads;
7. :mod:`semcolor.inference` runs a checkpoint on images (API, export, video, app);
8. :mod:`semcolor.evaluation` benches, calibrates and runs studies;
9. :mod:`semcolor.lit` trains;
10. :mod:`semcolor.cli` parses arguments and calls the rooms below.

Modules that moved in 0.3.0 (``semcolor.bench``, ``semcolor.api``, ``semcolor.ablation``,
...) still import from their old paths, with a ``FutureWarning``, until 0.4.0 (:data:`MOVED`).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from typing import Any

__version__ = "0.3.0"

#: Public names loaded lazily, and the module each comes from. Lazy because of a measured
#: start-up cost: ``import semcolor`` takes 0.03 s, and 4.5 s with the inference room (torch,
#: timm, segmentation-models-pytorch), which ``semcolor-<tool> --help`` would pay for nothing
#: (``benchmarks/bench_startup.py``).
_LAZY = {
    "colorize": "semcolor.inference.api",
    "Colorizer": "semcolor.inference.api",
    "analyze": "semcolor.inference.api",
    "Colorization": "semcolor.inference.api",
    "colorize_video": "semcolor.inference.video",
    "load_model": "semcolor.inference.checkpoint",
    "export_onnx": "semcolor.inference.export",
}

#: Old module path -> where it lives now (moved in 0.3.0; the old paths go in 0.4.0).
MOVED = {
    "semcolor.bench": "semcolor.evaluation",
    "semcolor.ablation": "semcolor.evaluation.ablation",
    "semcolor.api": "semcolor.inference.api",
    "semcolor.app": "semcolor.inference.app",
    "semcolor.export": "semcolor.inference.export",
    "semcolor.video": "semcolor.inference.video",
    "semcolor.gan_losses": "semcolor.losses.gan",
}
#: The version that removes the old paths of :data:`MOVED`.
MOVED_REMOVED_IN = "0.4.0"

__all__ = [
    "Colorization", "Colorizer", "__version__", "analyze", "colorize", "colorize_video",
    "export_onnx", "load_model",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'semcolor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _MovedModules:
    """Imports an old path of :data:`MOVED` as the module that replaced it, with a
    ``FutureWarning``: ``import semcolor.bench`` gives :mod:`semcolor.evaluation` itself, so
    its names are the new module's (a name patched on a package such as
    :mod:`semcolor.evaluation` reaches only code that reads it there; README, "Layout").
    Written by hand: the import system's documented hooks (a meta-path finder, and a loader
    that leaves a different module in ``sys.modules``) are all it takes, and no library does
    it. Duck-typed rather than
    derived from ``importlib.abc``, whose import costs ``import semcolor`` 20 ms (measured)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: Any) -> None:
        return None  # the default module; exec_module swaps it for the new one

    def exec_module(self, module: Any) -> None:
        old, new = module.__name__, MOVED[module.__name__]
        warnings.warn(
            f"{old} moved to {new} in semcolor 0.3.0, and the old path goes in "
            f"{MOVED_REMOVED_IN}: import from {new}",
            FutureWarning,
            stacklevel=2,
        )
        # The import system returns whatever sys.modules holds under the name at the end.
        sys.modules[old] = importlib.import_module(new)


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())
