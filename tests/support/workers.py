"""The xdist workers of one test run: the directory they share, and taking turns for the load tests.

Every test holds the run's lock shared while it runs (its setup and teardown
too, where servers start and stop); a load test (or one marked `alone`) holds
it exclusively, so the other worker's next test waits until it is over: such
a test measures how the server copes, and must not measure another test's
work instead. A gate taken first gives a waiting one its turn before any new
test starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def under_xdist() -> bool:
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temporary directory: the one every xdist worker of the run shares."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if under_xdist() else base  # a worker's is a directory of its own in the run's


def worker_run_dir(config: pytest.Config) -> Path:
    """`run_dir` as an xdist worker finds it from its configuration (in hooks, which have no fixtures)."""
    return Path(config.option.basetemp).parent


@contextlib.contextmanager
def turn(directory: Path, *, alone: bool) -> Iterator[None]:
    """Hold the run's lock for one test: shared, or `alone` (exclusive)."""
    with open(directory / "turns.gate", "w") as gate, open(directory / "turns.lock", "w") as lock:
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(gate, fcntl.LOCK_UN)
