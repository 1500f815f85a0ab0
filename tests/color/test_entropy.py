"""The uncertainty map: normalised entropy of the 313-bin distribution (golden values)."""

from __future__ import annotations

import math

import pytest
import torch

from semcolor.color import entropy


def test_entropy_golden_values():
    logits = torch.full((1, 313, 1, 2), -1e4)
    logits[0, 7, 0, 0] = 0.0  # one bin certain
    logits[0, :, 0, 1] = 0.0  # all bins equal
    e = entropy(logits)
    assert e.shape == (1, 1, 1, 2)
    assert e[0, 0, 0, 0].item() == pytest.approx(0.0, abs=1e-6)
    assert e[0, 0, 0, 1].item() == pytest.approx(1.0, abs=1e-6)
    two = torch.full((1, 313, 1, 1), -1e4)
    two[0, :2] = 0.0  # two bins at 1/2: entropy log 2
    assert entropy(two).item() == pytest.approx(math.log(2) / math.log(313), rel=1e-5)


def test_entropy_checks_its_input():
    with pytest.raises(ValueError):
        entropy(torch.zeros(1, 10, 2, 2))
