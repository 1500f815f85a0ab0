"""semcolor: automatic image colorization with semantic guidance.

``import semcolor`` stays light: it imports neither Lightning nor Hydra, nor even torch.
The user API is loaded on first use (module ``__getattr__``):

- :func:`semcolor.colorize` / :class:`semcolor.Colorizer`, :func:`semcolor.analyze`
  (from :mod:`semcolor.api`),
- :func:`semcolor.colorize_video` (from :mod:`semcolor.video`; needs ``semcolor[video]``),
- :func:`semcolor.load_model` (from :mod:`semcolor.inference`),
- :func:`semcolor.export_onnx` (from :mod:`semcolor.export`).

Heavy sub-packages (``semcolor.models``, ``semcolor.lit``, ``semcolor.data``) are imported on
use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

#: Public names loaded lazily, and the module each comes from.
_LAZY = {
    "colorize": "semcolor.api",
    "Colorizer": "semcolor.api",
    "analyze": "semcolor.api",
    "Colorization": "semcolor.api",
    "colorize_video": "semcolor.video",
    "load_model": "semcolor.inference",
    "export_onnx": "semcolor.export",
}

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
