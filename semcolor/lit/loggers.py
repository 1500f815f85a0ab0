"""A CSV logger that keeps a run's whole history across resumes (``logger/csv.yaml``).

Lightning's ``CSVLogger`` deletes ``metrics.csv`` whenever its folder already holds files,
so a run resumed with ``ckpt_path=`` kept only the steps trained after the resume, and a
resume with nothing left to train left no file at all. :class:`CSVLogger` appends instead:
``semcolor-train`` tells it the global step of the checkpoint it resumes from
(:meth:`CSVLogger.resume_from_step`), and the rows of earlier steps stay. Rows logged at or
after that step, by the interrupted process after its last checkpoint, are dropped: those
steps are trained again and logged anew, so no step appears twice.
"""

from __future__ import annotations

import csv
import logging
import math
from typing import Any

from pytorch_lightning.loggers import CSVLogger as _LightningCSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.utilities.rank_zero import rank_zero_only

log = logging.getLogger("semcolor.train")

__all__ = ["CSVLogger"]


def _step_of(row: dict[str, Any]) -> float:
    try:
        return float(row.get("step") or math.inf)
    except ValueError:
        return math.inf


class _HistoryWriter(ExperimentWriter):
    """Lightning's writer, except that an existing ``metrics.csv`` is kept up to
    ``keep_before`` (exclusive) and appended to; with ``keep_before=None`` (a fresh run) it
    is replaced, as Lightning does."""

    def __init__(self, log_dir: str, keep_before: int | None) -> None:
        self._keep_before = keep_before
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:  # called by the base __init__
        if not self._fs.isfile(self.metrics_file_path):
            return
        if self._keep_before is None:
            self._fs.rm_file(self.metrics_file_path)  # a fresh run in an old folder
            return
        with self._fs.open(self.metrics_file_path, "r", newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            rows = list(reader)
        kept = [r for r in rows if _step_of(r) < self._keep_before]
        if len(kept) != len(rows):
            log.info("%s: kept the %d rows before step %d, dropped %d logged after that "
                     "checkpoint (those steps run again)", self.metrics_file_path, len(kept),
                     self._keep_before, len(rows) - len(kept))  # fmt: skip
            with self._fs.open(self.metrics_file_path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=header)
                writer.writeheader()
                writer.writerows(kept)
        # The base class appends under this header and rewrites the file if new keys come.
        self.metrics_keys = header


class CSVLogger(_LightningCSVLogger):
    """``pytorch_lightning.loggers.CSVLogger`` (same arguments) that keeps the history of a
    resumed run in its ``metrics.csv`` (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keep_before: int | None = None

    def resume_from_step(self, step: int) -> None:
        """Keep the rows of steps before ``step`` (the resumed checkpoint's global step).
        Call before anything is logged."""
        if self._experiment is not None:
            raise RuntimeError("resume_from_step must be called before anything is logged")
        self._keep_before = int(step)

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            if rank_zero_only.rank > 0:  # as Lightning's @rank_zero_experiment: a dummy
                return super().experiment
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _HistoryWriter(self.log_dir, self._keep_before)
        return self._experiment
