"""Shared test fixtures: the real-data folder beside the checkout (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the repository; tests using it skip cleanly when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (real data lives beside the checkout)")
    return SHARED


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # CI machines have 2 cores; more threads only add contention.
    torch.set_num_threads(2)
    yield
