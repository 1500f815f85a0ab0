"""Shared machinery of the fuzz tests (tests/data/test_fuzz_io.py,
tests/inference/test_fuzz_colorize.py): hypothesis profiles, per-example time limits, counters
of inputs tried, the pixel-limit environment.

Each module gets its own counter and end-of-module report::

    TRIED, _report_tried = tried_counter(__name__)
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from semcolor import constants as C

#: Per-example wall-clock limits: SIGALRM (fails the example) and faulthandler (kills a
#: process stuck in C code, with a traceback). Tiny inputs decode in milliseconds.
EXAMPLE_SECONDS = 30.0
HARD_KILL_SECONDS = 120.0
settings.register_profile(
    "semcolor-fuzz-ci",
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=10),  # generous: a loaded 2-core machine must not flake
    max_examples=100,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)  # fmt: skip
settings.register_profile(
    "semcolor-fuzz-long", settings.get_profile("semcolor-fuzz-ci"), derandomize=False
)


class FuzzTimeout(BaseException):
    """An example ran past EXAMPLE_SECONDS. A BaseException, so that the library's
    ``except Exception`` cannot turn a hang into an ordinary BadImageError."""


@contextlib.contextmanager
def time_limit(what: str, seconds: float = EXAMPLE_SECONDS):
    def on_alarm(signum, frame):
        raise FuzzTimeout(f"{what} took more than {seconds} s (a hang?)")

    has_alarm = hasattr(signal, "setitimer")
    if has_alarm:
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(HARD_KILL_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        if has_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def tried_counter(module: str):
    """(counter, autouse module fixture): tests add to ``counter[test_name]``; at the end of
    the module the fixture prints the inputs tried and, with ``SEMCOLOR_FUZZ_LOG=path``,
    appends them as a JSON line."""
    tried: Counter[str] = Counter()

    @pytest.fixture(scope="module", autouse=True)
    def _report_tried():
        t0 = time.perf_counter()
        yield
        seconds = time.perf_counter() - t0
        total = sum(tried.values())
        print(f"\n{module}: {total} inputs tried in {seconds:.1f} s: {dict(tried)}")
        log = os.environ.get("SEMCOLOR_FUZZ_LOG")
        if log:
            with open(log, "a") as f:
                f.write(json.dumps({"module": module, "inputs": total,
                                    "seconds": round(seconds, 1),
                                    "per_test": dict(tried)}) + "\n")  # fmt: skip

    return tried, _report_tried


def fuzz(body, ci: int, long: int, **strategies):
    """(CI test, slow test) running ``body`` over ``strategies`` with the two profiles."""
    fast = settings(settings.get_profile("semcolor-fuzz-ci"), max_examples=ci)(
        given(**strategies)(body)
    )
    slow = settings(settings.get_profile("semcolor-fuzz-long"), max_examples=long)(
        given(**strategies)(body)
    )
    return fast, pytest.mark.slow(slow)


@contextlib.contextmanager
def env_limit(limit: int | None):
    """SEMCOLOR_MAX_PIXELS set to ``limit`` (None: unset) for the block."""
    saved = os.environ.get(C.MAX_PIXELS_ENV)
    if limit is None:
        os.environ.pop(C.MAX_PIXELS_ENV, None)
    else:
        os.environ[C.MAX_PIXELS_ENV] = str(limit)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(C.MAX_PIXELS_ENV, None)
        else:
            os.environ[C.MAX_PIXELS_ENV] = saved
