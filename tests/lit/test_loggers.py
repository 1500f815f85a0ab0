"""semcolor.lit.loggers.CSVLogger: a resumed run's metrics.csv keeps its history."""

from __future__ import annotations

import csv

from semcolor.lit.loggers import CSVLogger


def _write(path, rows, header):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_resume_keeps_the_earlier_steps_and_appends(tmp_path):
    metrics = tmp_path / "csv" / "metrics.csv"
    # steps 0..5 logged by the first process; its last checkpoint was at global step 4
    _write(metrics, [{"step": s, "train/loss": 1.0 / (s + 1)} for s in range(6)],
           ["step", "train/loss"])  # fmt: skip
    logger = CSVLogger(str(tmp_path), name="csv", version="")
    logger.resume_from_step(4)
    logger.log_metrics({"train/loss": 0.5, "val/psnr": 20.0}, step=4)  # a new key too
    logger.save()
    rows = _read(metrics)
    assert [int(r["step"]) for r in rows] == [0, 1, 2, 3, 4]  # 4 and 5 of the old run dropped
    assert rows[0]["train/loss"] == "1.0" and rows[-1]["val/psnr"] == "20.0"
    assert rows[0]["val/psnr"] == ""


def test_resume_with_nothing_to_log_keeps_the_file(tmp_path):
    metrics = tmp_path / "csv" / "metrics.csv"
    _write(metrics, [{"step": s, "train/loss": 1.0} for s in range(3)], ["step", "train/loss"])
    logger = CSVLogger(str(tmp_path), name="csv", version="")
    logger.resume_from_step(3)
    logger.log_hyperparams({"lr": 0.1})  # creates the writer, as a fit does
    logger.save()
    logger.finalize("success")
    assert [int(r["step"]) for r in _read(metrics)] == [0, 1, 2]


def test_a_fresh_run_in_an_old_folder_starts_a_new_file(tmp_path):
    metrics = tmp_path / "csv" / "metrics.csv"
    _write(metrics, [{"step": 7, "train/loss": 1.0}], ["step", "train/loss"])
    logger = CSVLogger(str(tmp_path), name="csv", version="")
    logger.log_metrics({"train/loss": 2.0}, step=0)
    logger.save()
    assert [r["step"] for r in _read(metrics)] == ["0"]
