"""Checkpoint files that are complete or absent, never half-written: :class:`AtomicCheckpointIO`.

Why not Lightning's own writer? ``TorchCheckpointIO.save_checkpoint`` calls
``lightning_fabric.utilities.cloud_io._atomic_save``, which writes inside an fsspec
transaction. For a local path that transaction (``fsspec.implementations.local.
LocalFileOpener``) writes to ``tempfile.mkstemp()`` — a file in ``$TMPDIR``, not in the
checkpoint folder — and commits with ``shutil.move``. That is an atomic ``rename`` only when
``$TMPDIR`` and the checkpoint folder share a file system; otherwise (``/tmp`` on a local
disk, checkpoints on NFS/Lustre, the usual cluster layout) ``shutil.move`` *copies* the
bytes into ``last.ckpt`` itself, so a kill during the copy leaves a truncated ``last.ckpt``.
Nothing is fsync'd either, and the temporary file of a killed run stays in ``$TMPDIR``
(a full checkpoint's size) for good.

This writer puts the temporary file in the checkpoint's own folder, fsyncs it, renames it
into place with :func:`os.replace` (atomic on POSIX), then fsyncs the folder so that the
rename itself survives a machine crash. Temporary files are named
``.semcolor-partial-<pid>-<random>.tmp``: hidden, and matched by none of the names a resume
looks for (``last*.ckpt``, ``step*.ckpt``, ``hpc_ckpt_*``). Those a killed run left behind
are deleted before this process first writes into that folder.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import IO, Any

import fsspec.utils
import torch
from pytorch_lightning.plugins.io import CheckpointIO, TorchCheckpointIO

log = logging.getLogger(__name__)

#: Name start and end of a checkpoint being written (see the module docstring).
TEMP_PREFIX = ".semcolor-partial-"
TEMP_SUFFIX = ".tmp"
#: Glob matching the temporary files, for the clean-up of those a killed run left.
TEMP_GLOB = f"{TEMP_PREFIX}*{TEMP_SUFFIX}"
#: Mode of a new checkpoint before the umask, as ``open(path, "wb")`` would create it.
FILE_MODE = 0o666


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` whose local writes are atomic and durable (see the module doc).

    Remote paths (``s3://`` and the like) go to Lightning's own writer, where the object
    store's upload is what makes them atomic. Loading and removal are Lightning's.
    """

    def __init__(self) -> None:
        super().__init__()
        self._swept: set[Path] = set()

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or fsspec.utils.get_protocol(str(path)) != "file":
            super().save_checkpoint(checkpoint, path, storage_options=storage_options)
            return
        path = Path(str(path).removeprefix("file://"))
        folder = path.parent
        folder.mkdir(parents=True, exist_ok=True)
        if folder not in self._swept:  # before our first write there, so none of them is ours
            remove_partial_files(folder)
            self._swept.add(folder)
        tmp = folder / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "wb") as f:
                self.dump(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # an exception, not a kill: nothing to leave behind
            raise
        _fsync_folder(folder)

    def dump(self, checkpoint: dict[str, Any], file: IO[bytes]) -> None:
        """Serialise ``checkpoint`` into the open temporary file (tests override this to write
        slowly, so that a kill can land inside a write)."""
        torch.save(checkpoint, file)


def remove_partial_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary checkpoint files a killed writer left in ``folder``; returns them.

    Only call it where no other process is writing checkpoints into ``folder`` (in a
    distributed run only global rank 0 writes, and only it calls this, from its writer).
    """
    removed = []
    for p in Path(folder).glob(TEMP_GLOB):
        try:
            p.unlink()
        except FileNotFoundError:
            continue
        removed.append(p)
    if removed:
        log.info("removed %d partial checkpoint file(s) a killed run left in %s",
                 len(removed), folder)  # fmt: skip
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; a no-op where folders cannot be opened or synced
    (Windows, some network file systems): the rename is atomic all the same."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def with_atomic_checkpoint_io(plugins: list[Any]) -> list[Any]:
    """``plugins`` plus an :class:`AtomicCheckpointIO`, unless they already hold a
    ``CheckpointIO`` (a user's own, or a test's slow writer), which is then left to do it."""
    if any(isinstance(p, CheckpointIO) for p in plugins):
        return list(plugins)
    return [*plugins, AtomicCheckpointIO()]
