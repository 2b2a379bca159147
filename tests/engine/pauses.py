"""A demo's pause as the page writes it, for the few tests that race it against a loaded machine.

The suite runs the demos faster (DEMO_PACE, tests/conftest.py). A test that
compares a counter's rate with its tick needs the tick to dwarf the time a
block takes on a busy machine; at half the tick, two copies of a counter on
Redis were once hardly faster than one could be.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from demos import pace


def as_written(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str) -> float:
    """Run the demo pause `module.name` as written for this test; returns it in seconds."""
    written = float(getattr(module, name)) / pace.factor()
    monkeypatch.setattr(module, name, written)
    return written
