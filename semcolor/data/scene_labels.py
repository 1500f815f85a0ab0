"""Soft scene pseudo-labels: the ``labels.npz`` format shared by the labeller and the datasets.

Format (``numpy.savez_compressed``, readable with ``allow_pickle=False``):

* ``names``: unicode array (N,) — image paths relative to the dataset root, POSIX separators
  (``"train2017/000000000934.jpg"``), unique;
* ``idx``: int64 (N, K) — the classifier's top-K class indices (K = 5,
  :data:`semcolor.constants.SCENE_PSEUDO_LABEL_TOPK`), best first;
* ``prob``: float32 (N, K) — their probabilities (non-negative; they need not sum to 1, the
  datasets renormalise them over the K entries);
* ``version``: int64 scalar, currently 2;
* ``num_classes``: int64 scalar, the classifier's class count (365 for Places365), from
  version 2 on; what ``semcolor-train`` sizes the scene head by
  (:func:`scene_label_classes`). Version-1 files lack it.
* ``class_names`` (optional): unicode array (num_classes,), the classifier's class names by
  index (``semcolor-label-scenes --class-names FILE``); training stores them in checkpoints
  (:func:`scene_label_class_names`).

Writing goes through :func:`save_scene_labels` and reading through :func:`load_scene_labels`,
which validate the arrays, so a labeller CLI only has to produce (names, idx, prob).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePosixPath

import numpy as np

FORMAT_VERSION = 2


def normalize_name(name: str) -> str:
    """The key used for an image: relative POSIX path, no leading ``./``."""
    s = str(name).replace("\\", "/")
    while s.startswith("./"):
        s = s[2:]
    return str(PurePosixPath(s))


def _validate(names: np.ndarray, idx: np.ndarray, prob: np.ndarray, where: str) -> None:
    if names.ndim != 1:
        raise ValueError(f"{where}: names must be 1-D, got shape {names.shape}")
    n = names.shape[0]
    if idx.ndim != 2 or idx.shape[0] != n or idx.shape[1] < 1:
        raise ValueError(f"{where}: idx must be (N={n}, K), got shape {idx.shape}")
    if prob.shape != idx.shape:
        raise ValueError(f"{where}: prob shape {prob.shape} differs from idx shape {idx.shape}")
    if n and idx.min() < 0:
        raise ValueError(f"{where}: negative class index {int(idx.min())}")
    if not np.isfinite(prob).all() or (n and prob.min() < 0):
        raise ValueError(f"{where}: probabilities must be finite and non-negative")
    if n and (prob.sum(axis=1) <= 0).any():
        bad = int(np.flatnonzero(prob.sum(axis=1) <= 0)[0])
        raise ValueError(f"{where}: all-zero probabilities for {names[bad]!r}")
    if len(set(names.tolist())) != n:
        raise ValueError(f"{where}: duplicate image names")


def save_scene_labels(
    path: str | os.PathLike[str],
    names: Sequence[str],
    idx: np.ndarray,
    prob: np.ndarray,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
) -> None:
    """Write top-K scene pseudo-labels to ``path`` (``.npz``; see the module docstring).

    Args:
        path: output file (numpy appends ``.npz`` when missing).
        names: N image paths relative to the dataset root.
        idx: (N, K) integer class indices.
        prob: (N, K) non-negative probabilities of those classes.
        num_classes: the classifier's class count (> every index), stored so that training
            sizes the scene head from the file; None leaves it out.
        class_names: the classifier's class names by index (as many as ``num_classes``,
            when that is given), or None.

    Raises:
        ValueError: inconsistent shapes, negative indices/probabilities, duplicate names.
    """
    names_arr = np.asarray([normalize_name(n) for n in names], dtype=str).reshape(-1)
    idx_arr = np.asarray(idx)
    if idx_arr.size and not np.issubdtype(idx_arr.dtype, np.integer):
        raise ValueError(f"idx must be integers, got {idx_arr.dtype}")
    if len(names_arr) == 0:
        idx_arr = np.zeros((0, idx_arr.shape[-1] if idx_arr.ndim == 2 else 1), np.int64)
    idx_arr = idx_arr.astype(np.int64)
    prob_arr = np.asarray(prob, dtype=np.float32)
    if len(names_arr) == 0:
        prob_arr = np.zeros(idx_arr.shape, np.float32)
    _validate(names_arr, idx_arr, prob_arr, str(path))
    extra = {}
    if num_classes is not None:
        if idx_arr.size and int(idx_arr.max()) >= int(num_classes):
            raise ValueError(
                f"class index {int(idx_arr.max())} >= num_classes={num_classes} in {path}"
            )
        extra["num_classes"] = np.int64(num_classes)
    if class_names is not None:
        names_c = np.asarray([str(n) for n in class_names], dtype=str).reshape(-1)
        if num_classes is not None and len(names_c) != int(num_classes):
            raise ValueError(
                f"{len(names_c)} class names for num_classes={num_classes} in {path}; give "
                "one name per class"
            )
        if idx_arr.size and int(idx_arr.max()) >= len(names_c):
            raise ValueError(f"class index {int(idx_arr.max())} has no name ({len(names_c)} "
                             f"class names) in {path}")  # fmt: skip
        extra["class_names"] = names_c
    np.savez_compressed(
        path, names=names_arr, idx=idx_arr, prob=prob_arr, version=np.int64(FORMAT_VERSION),
        **extra,
    )  # fmt: skip


def scene_label_classes(path: str | os.PathLike[str]) -> int | None:
    """The class count stored in a labels file (version >= 2), or None if it has none.

    Raises:
        FileNotFoundError / ValueError: as :func:`load_scene_labels`.
    """
    load_scene_labels(path)  # validates
    with np.load(path, allow_pickle=False) as z:
        return int(z["num_classes"]) if "num_classes" in z.files else None


def scene_label_class_names(path: str | os.PathLike[str]) -> list[str]:
    """The class names stored in a labels file, by index; [] when it stores none.

    Raises:
        FileNotFoundError / ValueError: an unreadable file (as :func:`load_scene_labels`).
    """
    if not os.path.isfile(path):
        load_scene_labels(path)  # raises the usual FileNotFoundError
    try:
        with np.load(path, allow_pickle=False) as z:
            return [str(n) for n in z["class_names"].tolist()] if "class_names" in z.files else []
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: cannot read scene labels ({e})") from None


def load_scene_labels(path: str | os.PathLike[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read a file written by :func:`save_scene_labels`.

    Returns:
        ``{relative image path: (idx int64 (K,), prob float32 (K,))}``; ``prob`` as stored
        (not renormalised).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a valid labels file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"scene labels file {str(path)!r} not found (expected a labels.npz written by "
            "semcolor.data.scene_labels.save_scene_labels)"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = {"names", "idx", "prob"} - set(z.files)
            if missing:
                raise ValueError(f"{path}: missing arrays {sorted(missing)}")
            version = int(z["version"]) if "version" in z.files else FORMAT_VERSION
            names, idx, prob = z["names"], z["idx"], z["prob"]
    except (OSError, EOFError) as e:  # not a zip / corrupt
        raise ValueError(f"{path}: cannot read scene labels ({e})") from None
    if version > FORMAT_VERSION:
        raise ValueError(f"{path}: format version {version} is newer than {FORMAT_VERSION}")
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{path}: idx must be integers, got {idx.dtype}")
    idx = idx.astype(np.int64)
    prob = prob.astype(np.float32)
    _validate(names, idx, prob, str(path))
    return {str(n): (idx[i].copy(), prob[i].copy()) for i, n in enumerate(names.tolist())}


def soft_scene_vector(idx: np.ndarray, prob: np.ndarray, num_classes: int) -> np.ndarray:
    """Dense probability vector (num_classes,) float32 from top-K (idx, prob), renormalised.

    Repeated indices accumulate. Raises ValueError when an index is >= ``num_classes``.
    """
    idx = np.asarray(idx, dtype=np.int64)
    prob = np.asarray(prob, dtype=np.float64)
    if idx.size and (idx.max() >= num_classes or idx.min() < 0):
        raise ValueError(f"scene class index {int(idx.max())} out of range [0, {num_classes})")
    v = np.zeros(num_classes, dtype=np.float64)
    np.add.at(v, idx, prob)
    total = v.sum()
    if total <= 0:
        raise ValueError("scene probabilities sum to zero")
    return (v / total).astype(np.float32)
