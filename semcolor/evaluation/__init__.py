"""Evaluation: the bench protocol, temperature calibration and ablation studies, one role per
module (the library side of ``semcolor-bench``, ``semcolor-calibrate`` and ``semcolor-ablate``).

- :mod:`~semcolor.evaluation.predict`: a model over ground truths -> predicted sRGB images,
  through the one inference path (:func:`semcolor.inference.predict_ab`); also what training
  validation scores with.
- :mod:`~semcolor.evaluation.evaluate`: the bench loop (:func:`evaluate_images`,
  :class:`BenchResult`): per-image metrics of :mod:`semcolor.metrics` for each method and the
  gray baseline (:data:`BASELINES`), Fréchet distances. The protocol is in its docstring and
  ``docs/metrics.md``.
- :mod:`~semcolor.evaluation.calibrate`: the annealed-mean temperature and the cast tilt,
  chosen on a choosing split (:func:`calibrate_temperature`).
- :mod:`~semcolor.evaluation.report`: ``summary.json``, the per-image CSV, the Markdown table
  and the comparison sheet.
- :mod:`~semcolor.evaluation.speed`: the speed mode.
- :mod:`~semcolor.evaluation.ablation`: study files, runs, paired intervals and the study's
  outputs. Not imported here: its statistics and plot (SciPy's ``stats``, Matplotlib's
  ``Figure``) add 0.8 s to an import (measured after torch on the 2-core Xeon), and only
  ``semcolor-ablate`` and ``benchmarks/compare_benches.py`` need them.

The data side of the protocol, the listing of a dataset split and the ground-truth loader
(:func:`list_dataset_images`, :func:`load_ground_truth`), lives below in
:mod:`semcolor.data.bench_images`, since training validation reads the same images; it is
re-exported here. Below this room: :mod:`semcolor.inference`, :mod:`semcolor.metrics`,
:mod:`semcolor.data`, :mod:`semcolor.models`. Above it: :mod:`semcolor.lit`, :mod:`semcolor.cli`.
"""

from __future__ import annotations

# isort: off
from semcolor.data.bench_images import (
    DATASETS, DEFAULT_SIZE, BenchError, list_dataset_images, load_ground_truth,
)
from semcolor.evaluation.calibrate import (
    CALIBRATION_TEMPERATURES, TILT_SOLVE_BACKTRACKS, TILT_SOLVE_ITERATIONS, TILT_SOLVE_STEP,
    TILT_SOLVE_TOLERANCE, calibrate_temperature, choose_temperature, decoding_name, solve_cast_tilt,
)
from semcolor.evaluation.evaluate import (
    BASELINES, FRECHET_KEYS, FRECHET_TITLES, METHOD_KEYS, BenchResult, evaluate_images,
    pool_features,
)
from semcolor.evaluation.predict import lab_of, predict_images, recombine
from semcolor.evaluation.report import (
    CSV_COLUMNS, SHEET_TITLE_H, build_summary, format_table, make_sheet, sheet_size, write_json,
    write_outputs, write_per_image_csv,
)
from semcolor.evaluation.speed import (
    DEFAULT_SPEED_ARCH, default_speed_model, format_speed_table, speed_benchmark,
)
# isort: on

__all__ = [
    "BASELINES", "CALIBRATION_TEMPERATURES", "CSV_COLUMNS", "DATASETS", "DEFAULT_SIZE",
    "DEFAULT_SPEED_ARCH", "FRECHET_KEYS", "FRECHET_TITLES", "METHOD_KEYS", "SHEET_TITLE_H",
    "TILT_SOLVE_BACKTRACKS", "TILT_SOLVE_ITERATIONS", "TILT_SOLVE_STEP", "TILT_SOLVE_TOLERANCE",
    "BenchError", "BenchResult", "build_summary", "calibrate_temperature", "choose_temperature",
    "decoding_name", "default_speed_model", "evaluate_images", "format_speed_table",
    "format_table", "lab_of", "list_dataset_images", "load_ground_truth", "make_sheet",
    "pool_features", "predict_images", "recombine", "sheet_size", "solve_cast_tilt",
    "speed_benchmark", "write_json", "write_outputs", "write_per_image_csv",
]  # fmt: skip
