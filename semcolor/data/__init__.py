"""Datasets for colorization training: real layouts, robust loading, transforms, mixing.

Names are imported lazily (``from semcolor.data import CamVid`` loads torch/torchvision
only then), so importing :mod:`semcolor.data` itself is cheap: 0.02 s, against 7 s for
:mod:`semcolor.data.datasets` (measured on the 2-core Xeon while it trained).

Room 6 of the house (README, "Layout"): it imports :mod:`semcolor.color`,
:mod:`semcolor.models` (the Places365 classifiers that pseudo-label scenes), the root
(:mod:`semcolor.constants`, :mod:`semcolor.weights`, :mod:`semcolor.hardware`) and nothing
above; :mod:`semcolor.inference`, :mod:`semcolor.evaluation` and :mod:`semcolor.lit` read
through it. The bench protocol's data side (:mod:`semcolor.data.bench_images`) lives here so
that training validation and the bench read the same images.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "BadImageError": "io",
    "BadLabelError": "io",
    "IMAGE_EXTENSIONS": "io",
    "load_rgb": "io",
    "load_label_map": "io",
    "PairTransform": "transforms",
    "ColorizationDataset": "base",
    "Record": "base",
    "SampleOptions": "base",
    "options_with": "base",
    "SkipTracker": "base",
    "SAMPLE_KEYS": "base",
    "CocoStuff": "datasets",
    "Places365": "datasets",
    "ImageNet": "datasets",
    "DIV2K": "datasets",
    "CamVid": "datasets",
    "TinyImageNet": "datasets",
    "ImageFolder": "datasets",
    "write_cocostuff_pngs": "datasets",
    "MixedDataset": "mixed",
    "load_scene_labels": "scene_labels",
    "save_scene_labels": "scene_labels",
}

__all__ = [
    "BadImageError",
    "BadLabelError",
    "CamVid",
    "CocoStuff",
    "ColorizationDataset",
    "DIV2K",
    "IMAGE_EXTENSIONS",
    "ImageFolder",
    "ImageNet",
    "MixedDataset",
    "PairTransform",
    "Places365",
    "Record",
    "SAMPLE_KEYS",
    "SampleOptions",
    "SkipTracker",
    "TinyImageNet",
    "load_label_map",
    "load_rgb",
    "load_scene_labels",
    "options_with",
    "save_scene_labels",
    "write_cocostuff_pngs",
]

if TYPE_CHECKING:  # pragma: no cover
    from semcolor.data.base import (
        SAMPLE_KEYS,
        ColorizationDataset,
        Record,
        SampleOptions,
        SkipTracker,
        options_with,
    )
    from semcolor.data.datasets import (
        DIV2K,
        CamVid,
        CocoStuff,
        ImageFolder,
        ImageNet,
        Places365,
        TinyImageNet,
        write_cocostuff_pngs,
    )
    from semcolor.data.io import (
        IMAGE_EXTENSIONS,
        BadImageError,
        BadLabelError,
        load_label_map,
        load_rgb,
    )
    from semcolor.data.mixed import MixedDataset
    from semcolor.data.scene_labels import load_scene_labels, save_scene_labels
    from semcolor.data.transforms import PairTransform


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'semcolor.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"semcolor.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
