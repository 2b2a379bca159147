"""Where a run's results are written: bench-results/ after every run, docs/assets/bench with `--publish`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..paths import PUBLISHED, RESULTS
from . import charts

__all__ = ["write_results"]


def write_results(results: dict[str, Any], out: Path, publish: bool) -> list[Path]:
    """`out` and the charts under bench-results/charts; with `publish` also the charts, the results and the
    printed table (`results["table"]`) for the docs, unless a section failed. Returns the charts written last."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    written = charts.write_all(results, RESULTS / "charts")
    if publish and results["failures"]:
        print("Not published: a section failed (the docs show only complete runs)", file=sys.stderr)
    elif publish:
        written = charts.write_all(results, PUBLISHED)
        (PUBLISHED / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (PUBLISHED / "table.txt").write_text(results["table"] + "\n")  # the Performance page includes it as printed
    return written
