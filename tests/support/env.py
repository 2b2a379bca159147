"""What this run has and asks for: the checkout, whether it is CI, how big the load tests are, the demos' pace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LOAD_SCALE = float(os.environ.get("LOAD_SCALE", "1"))  # `nox -s soak` sets it; CI runs the small version


def load(count: int) -> int:
    """A load test's size: `count` in CI, LOAD_SCALE times more in a soak run."""
    return max(1, round(count * LOAD_SCALE))


def need(condition: bool, reason: str) -> None:
    """Skip when something the test needs is missing, but fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be installed, see .ci/run)")
    pytest.skip(reason)
