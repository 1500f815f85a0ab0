"""Human-readable class names of the scene and segmentation heads.

Names travel from the data to the checkpoint: each dataset knows the names of its labels
(``scene_names``, ``seg_names``: Places365 categories, ImageNet / Tiny ImageNet WordNet words,
CamVid and COCO-Stuff labels, the names stored in a scene-labels file);
:func:`dataset_class_names` collects them from a training set (a mix included), the training
module stores them in every checkpoint (``semcolor.class_names``, lists of str: weights-only
loadable) and inference shows them (:meth:`semcolor.inference.LoadedModel.class_name`).

:func:`read_class_names` reads the usual label-list files: Places365's
``categories_places365.txt`` (``/a/airfield 0``), COCO-Stuff's ``labels.txt``
(``1: person``), and plain one-name-per-line lists (CamVid's ``classes.txt``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

#: Heads that have class names (scene classification, segmentation).
NAMED_HEADS: tuple[str, ...] = ("scene", "seg")


def places365_name(category: str) -> str:
    """``/a/arena/hockey`` -> ``arena/hockey`` (Places365's category minus its letter folder)."""
    parts = category.strip().strip("/").split("/")
    if len(parts) > 1 and len(parts[0]) == 1:
        parts = parts[1:]
    return "/".join(parts)


def read_class_names(path: str | os.PathLike[str]) -> list[str]:
    """Class names by index from a label-list file.

    Accepted lines (blank lines and ``#`` comments skipped): ``NAME INDEX`` (Places365's
    categories file; ``/a/airfield`` becomes ``airfield``), ``INDEX: NAME`` (COCO-Stuff's
    ``labels.txt``) or one name per line, in index order (CamVid's ``classes.txt``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: indices that are not 0..N-1, or an empty file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"class names file {str(path)!r} not found")
    with open(path, encoding="utf-8") as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{path}: no class names in the file")
    indexed: dict[int, str] = {}
    for ln in lines:
        m = re.fullmatch(r"(\d+)\s*:\s*(.+)", ln) or None
        if m:
            indexed[int(m.group(1))] = m.group(2).strip()
            continue
        m = re.fullmatch(r"(\S+)\s+(\d+)", ln)
        if m:
            indexed[int(m.group(2))] = places365_name(m.group(1))
            continue
        indexed = {}
        break
    if not indexed:
        return lines  # one name per line
    if sorted(indexed) != list(range(len(indexed))) or len(indexed) != len(lines):
        raise ValueError(f"{path}: class indices must be 0..{len(lines) - 1}, each once")
    return [indexed[i] for i in range(len(indexed))]


def wordnet_names(wnids: Sequence[str], words_file: str | os.PathLike[str]) -> list[str]:
    """WordNet ids -> short names from a ``words.txt`` (``wnid<TAB>synonym, synonym, ...``,
    Tiny ImageNet's and ImageNet's): each id's first synonym, or its whole entry where the
    first synonym is shared by another id (so names stay unique); an id missing from the file
    keeps its id."""
    words: dict[str, str] = {}
    with open(words_file, encoding="utf-8") as f:
        for ln in f:
            wnid, _, text = ln.rstrip("\n").partition("\t")
            if text:
                words[wnid.strip()] = text.strip()
    first = [words.get(w, w).split(",")[0].strip() for w in wnids]
    counts: dict[str, int] = {}
    for name in first:
        counts[name] = counts.get(name, 0) + 1
    return [
        name if counts[name] == 1 else words.get(w, w)
        for w, name in zip(wnids, first, strict=True)
    ]


def dataset_class_names(dataset: Any) -> dict[str, list[str]]:
    """``{"scene": [...], "seg": [...]}`` names a training set's labels carry (a head is
    absent where the data names nothing). A mix (``MixedDataset``) takes each head's names
    from its first member that has them."""
    members = getattr(dataset, "datasets", None) or [dataset]
    out: dict[str, list[str]] = {}
    for ds in members:
        for head, attr in (("scene", "scene_names"), ("seg", "seg_names")):
            names = list(getattr(ds, attr, None) or [])
            if names and head not in out:
                out[head] = [str(n) for n in names]
    return out


def check_class_names(names: Any, sizes: dict[str, int]) -> dict[str, list[str]]:
    """The entries of ``names`` ({head: list of str}) that fit the model: a head the model
    has (``sizes``: head -> class count) and no more names than it has classes (a padded
    label space names only its first classes). Anything else is dropped."""
    out: dict[str, list[str]] = {}
    if not isinstance(names, dict):
        return out
    for head, lst in names.items():
        n = sizes.get(head, 0)
        if (n > 0 and isinstance(lst, list | tuple) and 0 < len(lst) <= n
                and all(isinstance(s, str) for s in lst)):  # fmt: skip
            out[str(head)] = list(lst)
    return out


def head_class_counts(net: Any) -> dict[str, int]:
    """{head: class count} of the named heads a network has (from its constructor
    arguments, ``init_kwargs``)."""
    kwargs = getattr(net, "init_kwargs", None) or {}
    heads = tuple(getattr(net, "heads", ()) or ())
    keys = {"scene": "num_scene_classes", "seg": "num_seg_classes"}
    return {h: int(kwargs.get(k) or 0) for h, k in keys.items() if h in heads}


def class_name(names: dict[str, Sequence[str]], head: str, index: int) -> str:
    """The name of class ``index`` of ``head``, or ``"class <index>"`` where none is known."""
    lst = names.get(head) or ()
    return lst[index] if 0 <= index < len(lst) and lst[index] else f"class {index}"
