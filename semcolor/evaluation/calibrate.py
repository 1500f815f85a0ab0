"""Temperature calibration of the annealed-mean decoding and the cast tilt on a choosing split
(``semcolor-calibrate``; README, "The default model"): one network forward per batch, every
temperature decoded from it and scored with the bench's metric code
(:func:`semcolor.metrics.evaluate_pair`), so each row equals what the bench reports.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from semcolor.color import ab_bins_tensor
from semcolor.data.bench_images import DEFAULT_SIZE, BenchError, load_ground_truth
from semcolor.data.io import BadImageError
from semcolor.evaluation.predict import lab_of, recombine
from semcolor.inference.predict import (
    annealed_mean_per_image,
    decode_outputs,
    network_outputs,
    resolve_precision,
)  # fmt: skip
from semcolor.metrics import colorfulness, evaluate_pair, grayscale_baseline, is_colourless

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
    :func:`~semcolor.evaluation.evaluate.evaluate_images`. Use a split meant for choosing (e.g.
    imagen1k/val), never a report split. ``precision`` ("auto", "fp32", "bf16") is resolved as
    the bench and ``semcolor.colorize`` resolve it, so each row equals the bench's figure at that
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


