"""Training callbacks semcolor adds to every run."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

#: Exit status of ``semcolor-train`` stopped by SIGTERM once its state is saved: 128 + 15,
#: what a shell reports for a process that SIGTERM ended. A retry loop or a Kubernetes
#: ``restartPolicy: OnFailure`` then restarts it (0 would read as "training finished").
PREEMPTED_EXIT_CODE = 128 + int(signal.SIGTERM)


class SaveFinalState(pl.Callback):
    """Writes ``last.ckpt`` at the end of training when the run's step count is not a multiple
    of ``every_n_train_steps``.

    Lightning's ``ModelCheckpoint(save_last=True)`` writes ``last.ckpt`` only with a periodic
    checkpoint, and at the end of training only if it never wrote one before: a run of 150
    steps saving every 100 ended with ``last.ckpt`` at step 100. This callback saves the final
    state over it, so ``last.ckpt`` is always the last step.
    """

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for cb in trainer.callbacks:
            if not isinstance(cb, ModelCheckpoint) or not cb.save_last or cb.dirpath is None:
                continue
            if getattr(cb, "_last_global_step_saved", None) == trainer.global_step:
                continue  # the periodic checkpoint already holds this step
            path = Path(cb.dirpath) / f"{cb.CHECKPOINT_NAME_LAST}{cb.FILE_EXTENSION}"
            _save_as_last(trainer, cb, path)


def _save_as_last(trainer: pl.Trainer, cb: ModelCheckpoint | None, path: Path) -> None:
    """Save the state to ``path`` as ``cb``'s ``last.ckpt``.

    ``cb.last_model_path`` is set first, as ``ModelCheckpoint`` does before its own save: the
    path is then part of the saved state, and ``ModelCheckpoint``'s next ``save_last``
    overwrites this file instead of writing ``last-v1.ckpt`` beside it (its version counter
    treats an existing ``last.ckpt`` it did not write as someone else's).
    """
    if cb is not None:
        cb.last_model_path = str(path)
    trainer.save_checkpoint(path)


def _last_checkpoint(trainer: pl.Trainer) -> tuple[ModelCheckpoint | None, Path]:
    """The run's ``ModelCheckpoint`` (the first, preferring one with ``save_last``) and where
    its ``last.ckpt`` lives; without one, ``<default_root_dir>/checkpoints/last.ckpt``."""
    cbs = [c for c in trainer.callbacks if isinstance(c, ModelCheckpoint) and c.dirpath]
    cbs.sort(key=lambda c: not c.save_last)
    if cbs:
        cb = cbs[0]
        return cb, Path(cb.dirpath) / f"{cb.CHECKPOINT_NAME_LAST}{cb.FILE_EXTENSION}"
    return None, Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"


class SaveOnSigterm(pl.Callback):
    """On SIGTERM (pre-emption, a cluster's time limit, ``kill PID``) save ``last.ckpt`` at the
    end of the current batch; the run then stops and ``semcolor-train`` exits with
    :data:`PREEMPTED_EXIT_CODE`.

    Lightning 2.6 by itself only notes the signal (``_SignalConnector._sigterm_notifier_fn``
    sets ``trainer.received_sigterm``) and raises ``SIGTERMException`` at the end of the batch
    (``TrainingEpochLoop.on_advance_end``): the run stops but saves nothing, so every step
    since the last periodic checkpoint is lost. Under SLURM with auto-requeue it additionally
    ignores SIGTERM's default action, and saves ``hpc_ckpt_N.ckpt`` on the requeue signal
    (SIGUSR1), not on SIGTERM.

    The save is made in ``on_train_batch_end``, the very point where ``ModelCheckpoint``
    saves, so the resume is the well-trodden one.

    In a distributed run every rank must save and stop at the same step, or a collective
    waits forever. Lightning's notifier cannot ensure it: it runs a ``broadcast`` from rank 0
    inside the signal handler, i.e. at an arbitrary point of the receiving rank's program
    (one rank issues a collective the others do not, and their sequences no longer pair
    up), and it stops only the rank that received the signal (or, through its per-step
    broadcast, every rank when rank 0 did, at the start of a batch and without a save). So
    with several processes this callback replaces that notifier (before Lightning installs
    it) by one that only notes the signal and forwards it to the ranks Lightning launched
    (as Lightning's does); at each training batch end the ranks agree in one collective (any
    rank signalled = all save at this batch), each sets ``received_sigterm`` and Lightning
    then stops all of them at that batch. A signal during validation is acted on at the
    next training batch end. A single-process run keeps Lightning's notifier (no collective
    to keep in step), and a SIGTERM that arrives after the batch-end check (during
    validation, say) is saved from ``on_exception``.
    """

    def __init__(self) -> None:
        self._agreed = False
        self._saved_step: int | None = None
        self._signalled = False

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning registers its SIGTERM handler after on_fit_start, from this attribute.
        connector = getattr(trainer, "_signal_connector", None)
        if trainer.world_size > 1 and connector is not None:
            self._signalled = False
            connector._sigterm_notifier_fn = self._make_notifier(trainer)

    def _make_notifier(self, trainer: pl.Trainer):
        def note_sigterm(signum: int, frame: Any) -> None:
            # A signal handler: a flag and os.kill only, never a collective.
            if not self._signalled:
                launcher = trainer.strategy.launcher
                if launcher is not None:
                    launcher.kill(signum)  # the ranks Lightning spawned, as Lightning does
            self._signalled = True

        return note_sigterm

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        mine = self._signalled or bool(trainer.received_sigterm)
        stop = trainer.strategy.reduce_boolean_decision(mine, all=False)
        if not stop:
            return
        self._agreed = True
        connector = getattr(trainer, "_signal_connector", None)
        if connector is not None:  # so that every rank raises SIGTERMException at this batch
            connector.received_sigterm = True
        self._save(trainer)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:  # fmt: skip
        if not isinstance(exception, SIGTERMException) or self._saved_step == trainer.global_step:
            return
        if trainer.world_size > 1 and not self._agreed:
            log.warning(
                "SIGTERM outside a training batch in a %d-process run: not saved; resume "
                "from the latest periodic checkpoint",
                trainer.world_size,
            )
            return
        self._save(trainer)

    def _save(self, trainer: pl.Trainer) -> None:
        if self._saved_step == trainer.global_step:
            return
        cb, path = _last_checkpoint(trainer)
        _save_as_last(trainer, cb, path)
        self._saved_step = trainer.global_step
        if trainer.is_global_zero:
            log.warning(
                "SIGTERM: saved step %d to %s; stopping (exit status %d). To continue, run the "
                "same command with ckpt_path=auto (or ckpt_path=%s)",
                trainer.global_step,
                path,
                PREEMPTED_EXIT_CODE,
                path,
            )
