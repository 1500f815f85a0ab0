"""The bench's outputs: ``summary.json``, the per-image CSV, the Markdown table and the comparison
sheet (``semcolor-bench --out``).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

import semcolor
from semcolor import constants as C
from semcolor.evaluation.calibrate import decoding_name
from semcolor.evaluation.evaluate import (
    BASELINES,
    FRECHET_KEYS,
    FRECHET_TITLES,
    METHOD_KEYS,
    BenchResult,
)  # fmt: skip

#: Height of the column-title strip of the comparison sheet, in pixels.
SHEET_TITLE_H = 22


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


