"""Training with PyTorch Lightning (imports Lightning; not imported by ``import semcolor``)."""

from semcolor.lit.module import NonFiniteLossError, SemColorModule, checkpoint_meta

__all__ = ["NonFiniteLossError", "SemColorModule", "checkpoint_meta"]
