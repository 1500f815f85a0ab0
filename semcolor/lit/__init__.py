"""Training with PyTorch Lightning (imports Lightning; not imported by ``import semcolor``).

Room 9 of the house (README, "Layout"): it imports :mod:`semcolor.evaluation` (validation
scores with the bench's code), :mod:`semcolor.inference`, :mod:`semcolor.losses`,
:mod:`semcolor.data`, :mod:`semcolor.models`, :mod:`semcolor.metrics`, :mod:`semcolor.color`
and the root; only :mod:`semcolor.cli` is above.
"""

from semcolor.lit.module import NonFiniteLossError, SemColorModule, checkpoint_meta

__all__ = ["NonFiniteLossError", "SemColorModule", "checkpoint_meta"]
