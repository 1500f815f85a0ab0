"""Inference: the one path from a checkpoint and an image to a colour image.

Every user of a trained model goes through this room, so a number in a benchmark table is
what a user gets:

- :mod:`~semcolor.inference.checkpoint`: :func:`load_model` (weights-only, checked) into a
  :class:`LoadedModel`; the model's temperature; the cast tilt; :func:`save_slim_checkpoint`.
- :mod:`~semcolor.inference.predict`: running the network: :func:`run_network` (only the
  heads asked for), :func:`predict_ab` (L -> ab at the input's resolution, Zhang et al.'s
  protocol), :func:`decode_outputs` (annealed mean, regression), :func:`colorize_lab`;
  precision and batch-size choices.
- :mod:`~semcolor.inference.api`: :func:`semcolor.colorize`, :class:`Colorizer`,
  :func:`analyze`: any image kind in, the same kind out; hints.
- :mod:`~semcolor.inference.export`: ONNX export and the ONNX Runtime backend
  (``semcolor[onnx]``).
- :mod:`~semcolor.inference.video`: :func:`colorize_video` (``semcolor[video]``).
- :mod:`~semcolor.inference.app`: the web app of ``semcolor-app`` (``semcolor[app]``; not
  imported here).

Below it: :mod:`semcolor.models`, :mod:`semcolor.color`, :mod:`semcolor.data` (image reading,
class names) and :mod:`semcolor.hardware`. Above it: :mod:`semcolor.evaluation`,
:mod:`semcolor.lit` and :mod:`semcolor.cli`.
"""

from __future__ import annotations

# The room's modules import each other by their own paths, never through this file. The
# re-exports are kept compact (isort off): they list names, not logic.
# isort: off
from semcolor.hardware import resolve_device
from semcolor.inference.api import (
    ANALYSIS_OUTPUTS, Colorization, Colorizer, ModelLike, analyze, colorize, uncertainty_image,
)
from semcolor.inference.checkpoint import (
    DEFAULT_MODEL, CheckpointError, LoadedModel, add_logit_tilt, apply_tilt_to_checkpoint,
    check_temperature, load_model, resolve_temperature, save_slim_checkpoint,
)
from semcolor.inference.export import (
    MIN_OPSET, ONNX_EXTRA, OUTPUT_NAMES, OnnxColorNet, OrtNetwork, export_onnx, ort_network,
    require_onnx,
)
from semcolor.inference.predict import (
    BACKENDS, CPU_NETWORK_BATCH, CPU_ORT_NETWORK_BATCH, CUDA_BATCH_SIZE, METHOD_ALIASES, METHODS,
    PRECISION_CHOICES, PRECISIONS, annealed_mean_per_image, autocast_for, canonical_method,
    check_choice, colorize_lab, decode_outputs, default_batch_size, heads_for, network_outputs,
    predict_ab, resolve_precision, run_network, upsample_ab,
)
from semcolor.inference.video import (
    VIDEO_EXTENSIONS, TemporalStabilizer, VideoResult, colorize_video, is_video, l_histogram,
)
# isort: on

__all__ = [
    "ANALYSIS_OUTPUTS", "BACKENDS", "CPU_NETWORK_BATCH", "CPU_ORT_NETWORK_BATCH",
    "CUDA_BATCH_SIZE", "DEFAULT_MODEL", "METHODS", "METHOD_ALIASES", "MIN_OPSET", "ONNX_EXTRA",
    "OUTPUT_NAMES", "PRECISIONS", "PRECISION_CHOICES", "VIDEO_EXTENSIONS", "CheckpointError",
    "Colorization", "Colorizer", "LoadedModel", "ModelLike", "OnnxColorNet", "OrtNetwork",
    "TemporalStabilizer", "VideoResult", "add_logit_tilt", "analyze", "annealed_mean_per_image",
    "apply_tilt_to_checkpoint", "autocast_for", "canonical_method", "check_choice",
    "check_temperature", "colorize", "colorize_lab", "colorize_video", "decode_outputs",
    "default_batch_size", "export_onnx", "heads_for", "is_video", "l_histogram", "load_model",
    "network_outputs", "ort_network", "predict_ab", "require_onnx", "resolve_device",
    "resolve_precision", "resolve_temperature", "run_network", "save_slim_checkpoint",
    "uncertainty_image", "upsample_ab",
]  # fmt: skip
