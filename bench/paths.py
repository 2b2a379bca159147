"""Where the bench runs and writes: this checkout, its results, and the figures the docs publish."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PUBLISHED", "RESULTS", "ROOT"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"  # every run: latest.json, the charts, the worker and server logs
PUBLISHED = ROOT / "docs" / "assets" / "bench"  # with --publish: what the Performance page shows
