"""`nox -s bench -- --quick` without Reflex: the sections that measure the engine alone still run end to end.

A change elsewhere (a new rate limit, a renamed setting) once broke the
round-trip section, and only the full bench found out. No figure is checked
against a target here: the run must finish, and every tab must have received
every update in order.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import ROOT

pytestmark = pytest.mark.slow


def test_the_quick_bench_runs_the_round_trip_and_the_live_tabs(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "roundtrip,scale", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["failures"] == []
    trip = results["round_trip"]
    assert not trip["errors"] and trip["ours"]["samples"] == trip["echo"]["samples"] > 0
    runs = [run for size in results["scale"]["sizes"].values() for run in (size["engine"], size["bare"])]
    if "two_workers" in results["scale"] and results["scale"]["two_workers"].get("engine"):
        runs.append(results["scale"]["two_workers"]["engine"])
    assert runs
    for run in runs:
        assert run["tabs_ticking"] == run["tabs"], run["kind"]
        assert not any(run["problems"].values()), (run["kind"], run["problems"])
