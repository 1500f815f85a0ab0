"""Checkpoints for inference: :func:`load_model` (weights-only, checked) into a
:class:`LoadedModel`, the model's own temperature, the cast tilt baked into the distribution
head's bias, and :func:`save_slim_checkpoint`.

Nothing stored in a checkpoint is ever run: the architecture is looked up by name in
:data:`semcolor.models.ARCHITECTURES`, never taken from a ``_target_``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import semcolor
from semcolor import constants as C
from semcolor.color import AB_BINS
from semcolor.data.class_names import check_class_names, class_name, head_class_counts
from semcolor.hardware import resolve_device
from semcolor.inference.predict import HEAD_OF, METHODS
from semcolor.models import ARCHITECTURES, dist_logit_bias

#: Where the shipped default model lives inside the package.
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "assets" / "semcolor_default.ckpt"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, not semcolor's, or incompatible."""


@dataclass
class LoadedModel:
    """A network ready for inference and what its checkpoint says about it.

    Attributes:
        net: the :class:`semcolor.models.SemColorNet`, in eval mode.
        version: semcolor version that wrote the checkpoint.
        config: the run config it was trained with (plain dict; may be empty).
        prior: the rebalancing prior arrays (dict of numpy arrays) or None.
        path: the file it came from (None if built in memory).
        temperature: the model's own annealed-mean temperature (calibrated on a validation
            split by ``semcolor-calibrate``; 0.38, Zhang et al.'s, if never calibrated):
            what ``temperature=None`` means everywhere.
        class_names: ``{"scene": [...], "seg": [...]}``, the names of the heads' classes by
            index as the checkpoint stores them (written by training from its data;
            :mod:`semcolor.data.class_names`); a head is absent when its classes are unnamed.
    """

    net: torch.nn.Module
    version: str = semcolor.__version__
    config: dict[str, Any] = field(default_factory=dict)
    prior: dict[str, Any] | None = None
    path: str | None = None
    temperature: float = C.ANNEALED_MEAN_T
    class_names: dict[str, list[str]] = field(default_factory=dict)

    def class_name(self, head: str, index: int) -> str:
        """The name of class ``index`` of ``head`` ("scene" or "seg"), or ``"class <index>"``
        where the checkpoint names none."""
        return class_name(self.class_names, head, int(index))

    @property
    def methods(self) -> tuple[str, ...]:
        """Decoding methods this model offers ("dist", "reg")."""
        heads = getattr(self.net, "heads", ())
        return tuple(m for m in METHODS if HEAD_OF[m] in heads)

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def to(self, device: str | torch.device) -> LoadedModel:
        self.net.to(resolve_device(device))
        return self


def _major_minor(version: str) -> tuple[int, int]:
    parts = (str(version).split(".") + ["0", "0"])[:2]
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return (-1, -1)


def load_model(path: str | os.PathLike[str] | None = None, device: str = "cpu") -> LoadedModel:
    """Load a semcolor checkpoint safely (``torch.load(weights_only=True)``: no pickled code).

    Accepts a full training checkpoint (``last.ckpt``) or a slim export
    (:func:`save_slim_checkpoint`). ``path=None`` loads the default model shipped in the
    package.

    Raises:
        FileNotFoundError: the file does not exist (or no default model is shipped).
        CheckpointError: unreadable, not a semcolor checkpoint, or written by an
            incompatible semcolor version.
    """
    if path is None:
        path = DEFAULT_MODEL
        if not path.is_file():
            raise FileNotFoundError(
                f"no default model is installed at {path}; pass a checkpoint from "
                "semcolor-train (e.g. outputs/<run>/checkpoints/last.ckpt)"
            )
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt zip, truncated file, pickled code objects...
        raise CheckpointError(
            f"cannot load {path} as a weights-only checkpoint ({type(e).__name__}: {e}); "
            "it is corrupt or not a semcolor checkpoint"
        ) from e
    meta = ckpt.get("semcolor") if isinstance(ckpt, dict) else None
    if not isinstance(meta, dict) or "model" not in meta or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path} is not a semcolor checkpoint (no 'semcolor' metadata); "
            "checkpoints come from semcolor-train or semcolor.inference.save_slim_checkpoint"
        )
    version = str(meta.get("version", "?"))
    if _major_minor(version)[0] != _major_minor(semcolor.__version__)[0]:
        raise CheckpointError(
            f"{path} was written by semcolor {version}, incompatible with this semcolor "
            f"{semcolor.__version__} (major versions differ)"
        )

    arch = ARCHITECTURES.get(str(meta.get("arch")))
    if arch is None:
        raise CheckpointError(
            f"{path}: unknown architecture {meta.get('arch')!r}; known: {sorted(ARCHITECTURES)}"
        )
    bins = meta.get("ab_bins")
    if bins is not None:
        if tuple(bins.shape) != AB_BINS.shape or not np.array_equal(bins.numpy(), AB_BINS):
            raise CheckpointError(f"{path} was trained on different ab bins than this semcolor")
    try:
        net = arch(**meta["model"])
        state = ckpt["state_dict"]
        if any(k.startswith("net.") for k in state):  # a Lightning checkpoint
            state = {k[4:]: v for k, v in state.items() if k.startswith("net.")}
        net.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        )
    except (TypeError, ValueError, RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path}: the weights do not fit the stored architecture: {e}") from e
    net.eval().to(resolve_device(device))
    prior = meta.get("prior")
    if prior is not None:
        prior = {k: (v.numpy() if torch.is_tensor(v) else v) for k, v in prior.items()}
    temperature = check_temperature(meta.get("temperature", C.ANNEALED_MEAN_T))
    names = check_class_names(meta.get("class_names"), head_class_counts(net))
    return LoadedModel(
        net, version, dict(meta.get("config") or {}), prior, str(path), temperature, names
    )


def check_temperature(temperature: Any) -> float:
    """A finite float T > 0, or ValueError saying what was expected."""
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise ValueError(f"temperature must be a number > 0 (or None), got {temperature!r}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return float(temperature)


def resolve_temperature(model: Any, temperature: float | None) -> float:
    """``temperature`` checked, or the model's own (:attr:`LoadedModel.temperature`) when None."""
    if temperature is None:
        return float(getattr(model, "temperature", C.ANNEALED_MEAN_T))
    return check_temperature(temperature)


def add_logit_tilt(net: torch.nn.Module, gamma: Sequence[float]) -> dict[str, Any]:
    """Tilt a network's distribution head in place: its logit bias gets the per-bin offsets
    ``AB_BINS @ gamma``, which move the decoded colours' mean (``semcolor-calibrate`` fits
    ``gamma`` to zero the colour cast on a choosing split:
    :func:`semcolor.evaluation.solve_cast_tilt`).
    Every decoding then follows (API, CLIs, app, video, bench: they all read the network).

    Args:
        net: a network with a distribution head (:func:`semcolor.models.dist_logit_bias`).
        gamma: (2,) tilt per Lab unit of a and b.

    Returns:
        the record :func:`apply_tilt_to_checkpoint` writes: ``param`` (the bias's
        state-dict name), ``gamma`` (2 floats) and ``offsets`` (313 floats).

    Raises:
        CheckpointError: the network has no distribution head with a bias.
    """
    try:
        name, bias = dist_logit_bias(net)
    except ValueError as e:
        raise CheckpointError(str(e)) from e
    g = np.asarray(gamma, dtype=np.float64).reshape(2)
    offsets = AB_BINS.astype(np.float64) @ g
    with torch.no_grad():
        bias += torch.as_tensor(offsets, dtype=bias.dtype, device=bias.device)
    return {"param": name, "gamma": [float(v) for v in g],
            "offsets": [float(v) for v in offsets]}  # fmt: skip


def apply_tilt_to_checkpoint(ckpt: dict[str, Any], record: dict[str, Any]) -> None:
    """Add a :func:`add_logit_tilt` record's offsets to a checkpoint dict's distribution-head
    bias (a training checkpoint's ``net.<param>`` or a slim one's ``<param>``), in place,
    and store the record as ``ckpt["semcolor"]["dist_tilt"]``.

    Raises:
        CheckpointError: the checkpoint is already tilted, or holds no such parameter.
    """
    meta = ckpt.get("semcolor") or {}
    if meta.get("dist_tilt"):
        raise CheckpointError("the checkpoint's distribution head is already tilted "
                              "(semcolor.dist_tilt): a second tilt would shift it twice")
    state = ckpt.get("state_dict") or {}
    key = next((k for k in (f"net.{record['param']}", record["param"]) if k in state), None)
    if key is None:
        raise CheckpointError(f"the checkpoint holds no parameter {record['param']!r}")
    bias = state[key]
    offsets = torch.tensor(record["offsets"], dtype=torch.float64)
    state[key] = (bias.double() + offsets).to(bias.dtype)
    meta["dist_tilt"] = dict(record)


def save_slim_checkpoint(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], half: bool = True
) -> Path:
    """Write an inference-only copy of a training checkpoint: metadata + network weights
    (fp16 if ``half``), no optimizer state. Loadable by :func:`load_model`."""
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    if "semcolor" not in ckpt:
        raise CheckpointError(f"{src} is not a semcolor checkpoint")
    state = {
        k[4:]: (v.half() if half and v.is_floating_point() else v)
        for k, v in ckpt["state_dict"].items()
        if k.startswith("net.")
    }
    meta = dict(ckpt["semcolor"])
    meta["config"] = {k: meta.get("config", {}).get(k) for k in ("model", "loss", "data")}
    meta["trained_steps"] = int(ckpt.get("global_step", 0))
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"semcolor": meta, "state_dict": state}, dst)
    return dst


