"""The Performance page's charts, drawn from the bench's results: `python -m bench.report.charts RESULTS.json OUT_DIR`.

`nox -s bench` calls `write_all` after every run (into bench-results/charts,
and with `--publish` into docs/assets/bench beside a copy of the results),
so a chart always shows the figures of the run it was made from.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..states.contenders import REDIS_CONTENDERS, REDIS_WORKLOADS, STATE_WORKLOADS
from .svg import Group, bar_chart

__all__ = ["write_all"]


def _plain(label: str) -> str:
    return label.replace("`", "")


def _per_second(value: float) -> str:
    return f"{value:,.0f}/s"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms"


def _source(results: dict[str, Any]) -> str:
    return f"nox -s bench, {results['date']}."


def _describe(groups: list[Group], series: list[str], fmt: Callable[[float], str]) -> str:
    parts = []
    for group in groups:
        figures = ", ".join(f"{series[i]} {fmt(v)}" for i, v in enumerate(group.values) if v is not None)
        mark = f" ({group.marker[1]} {fmt(group.marker[0])})" if group.marker else ""
        parts.append(f"{group.label}: {figures}{mark}")
    return "; ".join(parts) + "."


def _memory(results: dict[str, Any]) -> Iterator[tuple[str, str]]:
    workloads = (results.get("memory_manager") or {}).get("workloads", {})
    series = ["ours", "Reflex 0.10.1"]
    groups = [
        Group(_plain(label), [workloads[key].get(who, {}).get("median") for who in ("ours", "reflex")])
        for key, label in STATE_WORKLOADS if key in workloads
    ]
    if groups:
        title = "State changes per second, state kept in memory (longer is faster)"
        desc = _describe(groups, series, _per_second)
        yield "memory.svg", bar_chart(title, desc, series, groups, _per_second, note=_source(results))


def _redis(results: dict[str, Any]) -> Iterator[tuple[str, str]]:
    section = results.get("redis") or {}
    workloads = section.get("workloads", {})
    measured = [c for c in REDIS_CONTENDERS if c.key in section.get("sides", {})]
    series = [c.label for c in measured]
    groups = [
        Group(_plain(label), [workloads[key].get(c.key, {}).get("median") for c in measured])
        for key, label in REDIS_WORKLOADS if key in workloads
    ]
    if groups:
        title = "State changes per second, state kept in Redis (longer is faster)"
        note = ("Reflex oplock keeps changes in the worker until its lease ends; redis-py round trips is one "
                "fenced write per change and nothing else. " + _source(results))
        yield "redis.svg", bar_chart(title, _describe(groups, series, _per_second), series, groups, _per_second,
                                     note=note)


def _scale_groups(results: dict[str, Any], pick: Callable[[dict[str, Any]], float],
                  marker: Callable[[int], tuple[float, str]]) -> list[Group]:
    scale = results.get("scale") or {}
    pairs = list(scale.get("sizes", {}).values()) + ([scale["two_workers"]] if scale.get("two_workers") else [])
    groups = []
    for pair in pairs:
        workers = pair["engine"]["workers"]
        where = "one worker" if workers == 1 else f"{workers} workers sharing Redis"
        groups.append(Group(f"{pair['tabs']:,} tabs, {where}", [pick(pair["engine"]), pick(pair["bare"])],
                            marker(pair["tabs"])))
    return groups


def _scale(results: dict[str, Any]) -> Iterator[tuple[str, str]]:
    series = ["engine (docs server)", "bare python-socketio"]
    delivered = _scale_groups(
        results, lambda run: run["delivered_per_s"], lambda tabs: (tabs * 2.0, "every tick on time")
    )
    if delivered:
        title = "Counter updates delivered per second to live tabs (longer is better)"
        yield "live-tabs.svg", bar_chart(title, _describe(delivered, series, _per_second), series, delivered,
                                         _per_second, note="Each tab's counter ticks every 0.5 s. " + _source(results))
    late = _scale_groups(results, lambda run: run["interval_ms"]["p99"], lambda tabs: (500.0, "the demo's 0.5 s"))
    if late:
        title = "Time between a tab's ticks, 99th percentile (shorter is better)"
        yield "tick-interval.svg", bar_chart(title, _describe(late, series, _ms), series, late, _ms,
                                             note="A tick on time comes 0.5 s after the last. " + _source(results))


def write_all(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write every chart the results have figures for; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for make in (_memory, _redis, _scale):
        for name, svg in make(results):
            path = out_dir / name
            path.write_text(svg, encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])):
        print(written_path)
