"""Soft scene pseudo-labels from a Places365 classifier (what ``semcolor-label-scenes`` runs).

Nguyen-Quynh et al. (2020) label every training image with a Places365 classifier (a VGG16
there) and keep the top-5 class probabilities, renormalised to sum 1, as a soft
(label-smoothed) scene target. This module does that for any classifier that timm or
torchvision can build, with a local weights file; results go to the ``labels.npz`` format of
:mod:`semcolor.data.scene_labels`, which the datasets read with ``scene_labels=``.

Pieces (usable without the CLI):

* :func:`build_classifier` — an untrained network by name (torchvision first, then timm, or
  forced with a ``torchvision:`` / ``timm:`` prefix; ``wideresnet18`` is CSAIL's variant);
* :func:`read_state_dict` / :func:`load_weights` — a weights file into it, safely
  (``torch.load(weights_only=True)``: no arbitrary code from pickles);
* :func:`load_classifier` — both, plus the name guessed from CSAIL file names;
* :func:`collect_images` — ``(key, path)`` pairs from a folder or a list file, keys being the
  paths relative to the dataset root that ``dataset.relpath(i)`` gives;
* :func:`preprocess` / :func:`topk_renormalised` — CSAIL's test-time pipeline and the
  smoothing;
* :func:`label_images` — the batched, resumable loop writing ``labels.npz``.

Weights are never downloaded. The CSAIL releases
(http://places2.csail.mit.edu/models_places365/) ``resnet18_places365.pth.tar``,
``wideresnet18_places365.pth.tar``, ``resnet50_places365.pth.tar``,
``densenet161_places365.pth.tar`` and ``alexnet_places365.pth.tar`` are checkpoints
``{"epoch", "arch", "state_dict", "best_prec1"}`` saved from ``nn.DataParallel`` (keys carry
``module.``); they load with ``weights_only=True``. The ``whole_*_places365*.pth.tar`` files are
pickled model *objects* and cannot be loaded without unpickling arbitrary code: they are
refused with an explanation.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import timm
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.transforms import functional as TF
from tqdm import tqdm

from semcolor import constants as C
from semcolor.data.base import list_images
from semcolor.data.io import BadImageError, load_rgb
from semcolor.data.scene_labels import (
    load_scene_labels,
    normalize_name,
    save_scene_labels,
    scene_label_class_names,
    scene_label_classes,
)  # fmt: skip
from semcolor.hardware import resolve_device
from semcolor.models.squeezenet_places365 import SqueezeNetPlaces365
from semcolor.weights import WeightsFileError as WeightsFileError  # re-exported
from semcolor.weights import lasagne_squeezenet_state_dict, read_weights

log = logging.getLogger("semcolor.label_scenes")

#: Where the CSAIL Places365 weights are published (never fetched by semcolor).
CSAIL_MODELS_URL = "http://places2.csail.mit.edu/models_places365/"
#: The CSAIL state-dict releases and the ``--classifier`` name each one needs.
CSAIL_RELEASES: dict[str, str] = {
    "resnet18_places365.pth.tar": "resnet18",
    "wideresnet18_places365.pth.tar": "wideresnet18",
    "resnet50_places365.pth.tar": "resnet50",
    "densenet161_places365.pth.tar": "densenet161",
    "alexnet_places365.pth.tar": "alexnet",
}
#: The Lasagne SqueezeNet 1.1 Places365 classifier (``squeezenet_places365.params``, a
#: parameter pickle): its name, and the file suffix that selects the Lasagne reader.
SQUEEZENET_PLACES365 = "squeezenet_places365"
LASAGNE_SUFFIX = ".params"
#: CSAIL's test-time preprocessing (run_placesCNN_basic.py): resize the shorter side to 256,
#: centre-crop 224, ImageNet mean/std.
RESIZE, CROP = 256, 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Version of the progress file layout (``<out>.partial.npz``).
PARTIAL_VERSION = 1

_CSAIL_WIDE = re.compile(r"^wideresnet(18|34|50|101|152)$")


class ClassifierError(ValueError):
    """Unknown classifier name, or weights that do not fit it."""


# --------------------------------------------------------------------------- classifiers
def _torchvision_names() -> list[str]:
    return sorted(torchvision.models.list_models(module=torchvision.models))


def _timm_has(name: str) -> bool:
    return bool(timm.is_model(name))


def _unknown_name_error(name: str) -> ClassifierError:
    tv = _torchvision_names()
    pool = tv + ["wideresnet18"] + timm.list_models()
    close = list(dict.fromkeys(difflib.get_close_matches(name, pool, n=8, cutoff=0.6)))[:6]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ClassifierError(
        f"unknown classifier {name!r}.{hint} Valid names: any torchvision classification model "
        f"({', '.join(tv[:12])}, ... {len(tv)} in all: "
        "torchvision.models.list_models(module=torchvision.models)), any timm model "
        f"({len(timm.list_models())}: timm.list_models()), or CSAIL's wideresnet18. For the "
        f"CSAIL Places365 releases use resnet18, wideresnet18, resnet50, densenet161, alexnet."
        " Prefix with 'torchvision:' or 'timm:' to pick the library."
    )


def _csail_wideresnet(depth: str, num_classes: int) -> nn.Module:
    """CSAIL's ``wideresnet.py`` ResNet: torchvision's ResNet without the stem max-pool.

    Their ``wideresnet18`` is *not* wider: it drops the 3x3/2 max-pool so that the last
    feature map is 14x14 at 224 input (for class activation maps), then ``AvgPool2d(14)``;
    torchvision's adaptive pooling gives the same at 224. Same parameter names, so the
    CSAIL state dict loads strictly.
    """
    model = torchvision.models.get_model(f"resnet{depth}", weights=None, num_classes=num_classes)
    model.maxpool = nn.Identity()
    return model


def build_classifier(name: str, num_classes: int = C.NUM_PLACES365_CLASSES) -> nn.Module:
    """An untrained (randomly initialised) classifier with ``num_classes`` outputs.

    ``name``: a torchvision classification model (``resnet18``...), a timm model
    (``convnext_tiny``...), ``wideresnet18`` (CSAIL's), ``squeezenet_places365`` (the
    Lasagne SqueezeNet port, :mod:`semcolor.models.squeezenet_places365`), or one forced with a
    ``torchvision:`` / ``timm:`` prefix. Plain names are looked up in torchvision first (the
    CSAIL releases are torchvision models), then timm. Nothing is downloaded.

    Raises:
        ClassifierError: unknown name (the message lists valid ones).
    """
    lib, _, bare = name.partition(":") if ":" in name else ("", "", name)
    if lib not in ("", "torchvision", "timm"):
        raise ClassifierError(f"unknown library prefix {lib!r} in {name!r} (torchvision:, timm:)")
    if bare == SQUEEZENET_PLACES365 and lib == "":
        return SqueezeNetPlaces365(num_classes)
    m = _CSAIL_WIDE.match(bare)
    if m and lib == "":
        return _csail_wideresnet(m.group(1), num_classes)
    if lib in ("", "torchvision") and bare in _torchvision_names():
        return torchvision.models.get_model(bare, weights=None, num_classes=num_classes)
    if lib in ("", "timm") and _timm_has(bare):
        return timm.create_model(bare, pretrained=False, num_classes=num_classes)
    raise _unknown_name_error(name)


def guess_classifier_name(weights: str | os.PathLike[str], arch: str | None = None) -> str | None:
    """The classifier a weights file is for: its CSAIL release name, else the checkpoint's
    ``arch`` entry, else None."""
    base = os.path.basename(str(weights)).lower()
    if base.endswith(LASAGNE_SUFFIX):
        return SQUEEZENET_PLACES365 if base.startswith("squeezenet") else arch or None
    for release, name in CSAIL_RELEASES.items():
        if base == release or base.endswith("_" + release) or base.startswith(release):
            return name
    m = re.match(r"^(wideresnet\d+|[a-z0-9_]+?)_places365", base)
    if m:
        return m.group(1)
    return arch or None


# --------------------------------------------------------------------------- weights
def missing_weights_message(path: str | os.PathLike[str]) -> str:
    return (
        f"classifier weights file {str(path)!r} not found. semcolor never downloads weights: "
        f"get a Places365 checkpoint from {CSAIL_MODELS_URL} (e.g. resnet18_places365.pth.tar "
        "with --classifier resnet18, wideresnet18_places365.pth.tar with --classifier "
        "wideresnet18, resnet50_places365.pth.tar with --classifier resnet50; the "
        "'whole_*' files are not supported), put it at that path, or pass --weights "
        "/path/to/file. A timm/torchvision state dict (.pth/.pt/.safetensors) with 365 "
        "outputs works as well, and so does the Lasagne SqueezeNet file "
        "squeezenet_places365.params (--classifier squeezenet_places365)."
    )


def read_state_dict(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a classifier's weights file safely: ``(state_dict, info)``
    (:func:`semcolor.weights.read_weights`; a missing file says where to get CSAIL's).

    Raises:
        FileNotFoundError: no such file.
        WeightsFileError: a file that would need arbitrary unpickling, or is not weights.
    """
    return read_weights(path, missing=missing_weights_message(Path(path).expanduser()))


_OLD_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def _fix_old_densenet_keys(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Old torchvision DenseNet names ('norm.1.weight' -> 'norm1.weight'), as torchvision does."""
    out = {}
    for k, v in sd.items():
        m = _OLD_DENSENET_KEY.match(k)
        out[m.group(1) + m.group(2) if m else k] = v
    return out


def load_weights(model: nn.Module, state_dict: dict[str, torch.Tensor], name: str = "") -> None:
    """Strict ``load_state_dict``; a mismatch raises :class:`ClassifierError` saying what differs.

    BatchNorm ``num_batches_tracked`` buffers missing from old checkpoints are filled in by
    torch itself.
    """
    if any(_OLD_DENSENET_KEY.match(k) for k in state_dict):
        state_dict = _fix_old_densenet_keys(state_dict)
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [
        f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and state_dict[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if shapes:
            parts.append(f"{len(shapes)} shape mismatch(es): {'; '.join(shapes[:4])}")
        if missing:
            parts.append(f"{len(missing)} missing key(s): {', '.join(missing[:6])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {', '.join(unexpected[:6])}")
        raise ClassifierError(
            f"the weights do not fit classifier {name or type(model).__name__!r}: "
            + "; ".join(parts)
            + ". Check --classifier (the CSAIL files need: "
            + ", ".join(f"{f} -> {n}" for f, n in CSAIL_RELEASES.items())
            + ") and --num-classes (365 for Places365)."
        )
    model.load_state_dict(state_dict, strict=True)


def load_classifier(
    name: str | None,
    weights: str | os.PathLike[str],
    num_classes: int = C.NUM_PLACES365_CLASSES,
) -> tuple[nn.Module, str]:
    """Build ``name`` and load ``weights`` into it; ``(model in eval mode, name used)``.

    ``name=None`` takes it from the CSAIL file name (``resnet18_places365.pth.tar`` ->
    resnet18) or the checkpoint's ``arch`` entry.
    """
    if str(weights).endswith(LASAGNE_SUFFIX) or name == SQUEEZENET_PLACES365:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(missing_weights_message(path))
        state_dict, info = lasagne_squeezenet_state_dict(path), {"arch": SQUEEZENET_PLACES365}
    else:
        state_dict, info = read_state_dict(weights)
    guessed = guess_classifier_name(weights, info.get("arch"))
    if name is None:
        if guessed is None:
            raise ClassifierError(
                f"cannot tell which network {weights} is for: pass --classifier NAME"
            )
        name = guessed
        log.info("classifier: %s (from %s)", name, os.path.basename(str(weights)))
    elif guessed and guessed.startswith("wideresnet") and not name.endswith(guessed):
        # CSAIL's wideresnet18 has the same keys as resnet18: it would load silently and be
        # wrong (a max-pool too many).
        log.warning(
            "%s looks like CSAIL's %s, but --classifier is %s: the weights fit but the network "
            "differs (no stem max-pool); pass --classifier %s",
            weights, guessed, name, guessed,
        )  # fmt: skip
    model = build_classifier(name, num_classes)
    load_weights(model, state_dict, name)
    return model.eval(), name


# --------------------------------------------------------------------------- images
def _key_for(path: str, root: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        raise ValueError(
            f"image {path!r} is not under the root {root!r}: pass --root (the dataset root "
            "that the label keys are relative to)"
        )
    return normalize_name(rel)


def _list_line_path(line: str, root: str) -> str:
    """The path on a list-file line: the whole line if such a file exists, else its first
    whitespace-separated field (``path label`` lines)."""
    whole = line if os.path.isabs(line) else os.path.join(root, line)
    if os.path.exists(whole) or len(line.split()) == 1:
        return line
    return line.split()[0]


def collect_images(
    images: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> list[tuple[str, str]]:
    """``(key, file path)`` for every image to label, without duplicate keys, in order.

    Args:
        images: a folder (searched recursively, sorted, hidden files ignored), or a text
            file with one image path per line (blank lines and ``#`` comments ignored;
            ``path label`` lines use the path). Relative list paths are relative to ``root``.
        root: the dataset root the keys are relative to (``dataset.relpath(i)``: pass the
            ``root`` you give the dataset). Default: the folder itself, or the list file's
            folder.

    Raises:
        FileNotFoundError: ``images`` does not exist. ValueError: an image outside ``root``.
    """
    images = str(Path(images).expanduser())
    if os.path.isdir(images):
        base = str(Path(root).expanduser()) if root is not None else images
        pairs = [(_key_for(p, base), p) for p in list_images(images)]
    elif os.path.isfile(images):
        base = str(Path(root).expanduser()) if root is not None else os.path.dirname(images)
        pairs = []
        with open(images, encoding="utf-8") as f:
            for raw in f:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                rel = _list_line_path(line, base)
                if os.path.isabs(rel):
                    pairs.append((_key_for(rel, base), rel))
                else:
                    pairs.append((normalize_name(rel), os.path.join(base, rel)))
    else:
        raise FileNotFoundError(f"--images {images!r}: no such folder or list file")
    seen: dict[str, str] = {}
    for key, path in pairs:
        if key in seen:
            log.warning("duplicate image %s (listed twice): labelled once", key)
            continue
        seen[key] = path
    return list(seen.items())


def preprocess(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (H,W,3) -> float32 (3,224,224): CSAIL's ``Scale(256)``, ``CenterCrop(224)``,
    ``ToTensor``, ImageNet ``Normalize`` (PIL bilinear resize, as torchvision on PIL)."""
    im = TF.center_crop(TF.resize(Image.fromarray(rgb), RESIZE), CROP)
    return TF.normalize(TF.to_tensor(im), IMAGENET_MEAN, IMAGENET_STD)


def topk_renormalised(
    logits: torch.Tensor, k: int = C.SCENE_PSEUDO_LABEL_TOPK
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax, keep the top-k classes, renormalise them to sum 1 (the label smoothing).

    logits (B, num_classes) -> idx int64 (B,k) best first, prob float32 (B,k).
    """
    prob = torch.softmax(logits.float(), dim=1)
    top, idx = prob.topk(k, dim=1)
    top = top / top.sum(dim=1, keepdim=True)
    return idx.cpu().numpy().astype(np.int64), top.cpu().numpy().astype(np.float32)


class _ImageList(torch.utils.data.Dataset):
    def __init__(self, paths: Sequence[str]):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        try:
            return i, preprocess(load_rgb(self.paths[i])), ""
        except BadImageError as e:
            return i, torch.zeros(3, CROP, CROP), e.reason or "unreadable"


def _collate(items):
    idx = [i for i, _, _ in items]
    return idx, torch.stack([x for _, x, _ in items]), [r for _, _, r in items]


# --------------------------------------------------------------------------- labelling
def partial_path(out: str | os.PathLike[str]) -> Path:
    """Where progress is kept while labelling into ``out``."""
    return Path(f"{out}.partial.npz")


def _atomic_savez(path: Path, compress: bool = True, **arrays) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        (np.savez_compressed if compress else np.savez)(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _atomic_save_labels(path: Path, names, idx, prob, num_classes: int | None = None,
                        class_names: Sequence[str] | None = None) -> None:  # fmt: skip
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        save_scene_labels(tmp, names, idx, prob, num_classes=num_classes,
                          class_names=class_names)  # fmt: skip
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _table_arrays(table: dict[str, tuple[np.ndarray, np.ndarray]], order: Sequence[str], k: int):
    names = list(order)
    idx = np.stack([table[n][0] for n in names]) if names else np.zeros((0, k), np.int64)
    prob = np.stack([table[n][1] for n in names]) if names else np.zeros((0, k), np.float32)
    return names, idx, prob


@dataclass
class LabelResult:
    """What :func:`label_images` did."""

    out: Path
    labelled: int = 0  #: images classified in this call
    reused: int = 0  #: images taken from a progress file or the existing output
    total: int = 0  #: entries in the output file
    skipped: list[tuple[str, str]] = field(default_factory=list)  #: (path, reason)


def label_images(
    model: nn.Module,
    items: Sequence[tuple[str, str]],
    out: str | os.PathLike[str],
    *,
    signature: str = "",
    batch_size: int = 32,
    device: str | torch.device = "auto",
    num_workers: int = 0,
    topk: int = C.SCENE_PSEUDO_LABEL_TOPK,
    save_every: int = 20,
    save_interval: float = 0.0,
    update: bool = False,
    progress: bool = True,
    predict: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
    class_names: Sequence[str] | None = None,
) -> LabelResult:
    """Classify ``items`` and write their top-k soft labels to ``out`` (labels.npz).

    Resumable: progress goes to ``<out>.partial.npz`` (atomically) once ``save_every``
    batches *and* ``save_interval`` seconds have passed since the last write (the whole
    table is rewritten, so on a fast GPU the interval keeps that cheap), and whenever the
    loop stops on an exception (Ctrl-C included); a later call with
    the same ``out`` and ``signature`` skips what is there. The final file is written
    atomically (temp file + ``os.replace``), in ``items`` order (then any other entries kept
    from earlier runs), with no duplicate keys; then the progress file is removed.
    Unreadable images are skipped and returned (not written; a later run retries them).

    Args:
        model: the classifier (eval mode is set here).
        items: ``(key, path)`` from :func:`collect_images`.
        out: output file.
        signature: identifies the classifier + weights; a progress file made with another
            signature is refused (delete it, or pass the same classifier).
        update: also keep (and skip) the entries of an existing ``out``.
        predict: ``(model, batch) -> logits``; default ``model(batch)``.
        class_names: the classifier's class names by index, stored in the file (training
            then stores them in checkpoints); None keeps those of an existing ``out``.
    """
    if batch_size < 1 or save_every < 1 or topk < 1:
        raise ValueError("batch_size, save_every and topk must be >= 1")
    out = Path(out)
    num_classes: int | None = None  # the classifier's, once it has run (else the old file's)
    if out.is_file():
        try:
            num_classes = scene_label_classes(out)
            if class_names is None:
                class_names = scene_label_class_names(out) or None
        except ValueError:
            num_classes = None

    dev = resolve_device(device) if isinstance(device, str) else device
    part = partial_path(out)
    table: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if update and out.is_file():
        table.update(load_scene_labels(out))
    if part.is_file():
        with np.load(part, allow_pickle=False) as z:
            sig = str(z["signature"]) if "signature" in z.files else ""
        if sig != signature:
            raise ValueError(
                f"{part} holds progress made with {sig or 'an unknown classifier'!r}, not "
                f"{signature!r}: rerun with that classifier and weights to continue, or "
                "delete the file (or pass --force) to start afresh"
            )
        table.update(load_scene_labels(part))
        log.info("resuming: %d images already labelled in %s", len(table), part)
    reused = sum(1 for k, _ in items if k in table)
    todo = [(k, p) for k, p in items if k not in table]
    result = LabelResult(out=out, reused=reused)
    if table and topk != next(iter(table.values()))[0].shape[0]:
        raise ValueError(
            f"existing labels have top-{next(iter(table.values()))[0].shape[0]}, "
            f"not top-{topk}; start afresh (--force)"
        )
    order = [k for k, _ in items]
    extra = sorted(set(table) - set(order))

    def save_progress() -> None:
        names, idx, prob = _table_arrays(table, [k for k in order if k in table] + extra, topk)
        if not names:
            return
        _atomic_savez(
            part,
            compress=False,
            names=np.asarray(names, dtype=str),
            idx=idx,
            prob=prob,
            version=np.int64(PARTIAL_VERSION),
            signature=np.asarray(signature),
        )

    model = model.eval().to(dev)
    predict = predict or (lambda m, x: m(x))
    loader = torch.utils.data.DataLoader(
        _ImageList([p for _, p in todo]),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=_collate,
        pin_memory=dev.type == "cuda",
    )

    bar = tqdm(total=len(todo), unit="img", desc="label-scenes", disable=not progress)
    since, last = 0, time.monotonic()
    try:
        for positions, x, reasons in loader:
            good = [j for j, r in enumerate(reasons) if not r]
            for j, r in enumerate(reasons):
                if r:
                    result.skipped.append((todo[positions[j]][1], r))
                    log.warning("skipping %s: %s", todo[positions[j]][1], r)
            if good:
                with torch.inference_mode():
                    logits = predict(model, x[good].to(dev, non_blocking=True))
                num_classes = int(logits.shape[1])  # stored in the file: sizes the head
                idx, prob = topk_renormalised(logits, topk)
                for row, j in enumerate(good):
                    table[todo[positions[j]][0]] = (idx[row], prob[row])
                result.labelled += len(good)
            bar.update(len(positions))
            since += 1
            if since >= save_every and time.monotonic() - last >= save_interval:
                save_progress()
                since, last = 0, time.monotonic()
    except BaseException:
        try:
            save_progress()
        except Exception as e:  # never hide the original error
            log.error("could not save progress to %s: %s", part, e)
        log.warning(
            "interrupted: progress saved to %s (%d images); rerun the same command to continue",
            part,
            len(table),
        )
        raise
    finally:
        bar.close()
    names, idx, prob = _table_arrays(table, [k for k in order if k in table] + extra, topk)
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save_labels(out, names, idx, prob, num_classes=num_classes, class_names=class_names)
    part.unlink(missing_ok=True)
    result.total = len(names)
    return result


def weights_signature(name: str, weights: str | os.PathLike[str], num_classes: int) -> str:
    """A short identity of classifier + weights file (name, file name and size, classes)."""
    p = Path(weights)
    return f"{name}|{p.name}|{p.stat().st_size}|{num_classes}"
