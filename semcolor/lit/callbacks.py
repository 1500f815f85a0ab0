"""Training callbacks semcolor adds to every run."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint


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
            trainer.save_checkpoint(path)
