"""Live tabs per worker: N tabs through real sockets, each running the counter demo's task, against a bare server.

For each N, two fleets are opened at once: the engine's docs server with N
tabs, and the bare python-socketio server (`bench.scale.bare_server`) with N tabs,
each tab a client of `bench.scale.client` (about 500 tabs per client
process). The counters then run on one fleet at a time, in alternating
windows (engine, bare, bare, engine, ...): a fleet's tabs all click start,
their counters tick for a settling moment and then for the measured window,
and all click stop. Pairs of windows a few seconds apart see the same
machine, so on a shared machine the noise falls on both; the ratio of a
pair is the figure, and the median over pairs is reported.

Per window: updates delivered per second, the interval between a tab's
ticks (the demo sleeps 0.5 s between them, so 0.5 s plus the block is on
time), and what went wrong (failed events, lost or out-of-order updates,
closed sockets); the server's CPU time and resident memory come from /proc
(memory per tab against the idle server before its tabs opened). Then the
same with the engine on two workers sharing one Redis, beside the bare server.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from typing import Any

from .. import machine
from .fleet import TICK, Fleet, percentile

__all__ = ["ScaleSettings", "run_scale"]

Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class ScaleSettings:
    """Sizes of one scale section: tab counts, windows, and the two-worker run."""

    sizes: tuple[int, ...]
    rounds: int  # windows per fleet
    window_s: float
    settle_s: float
    two_worker_tabs: int


def _describe(label: str, window: dict[str, Any], tabs: int) -> str:
    intervals = window["intervals_ms"]
    problems = window["problems"]
    return (
        f"{label}: {window['delivered_per_s']:,.0f} updates/s of {tabs / TICK:,.0f}, interval p50 "
        f"{percentile(intervals, 0.5):.0f} ms p99 {percentile(intervals, 0.99):.0f} ms, server "
        f"{window['server_cpu_cores']:.2f} cores; lost {problems['lost']}, failed events {problems['failed_events']}"
    )


def measure_pair(
    fleets: list[Fleet], settings: ScaleSettings, log: Log, redis_pid: int | None = None
) -> dict[str, Any]:
    """Open both fleets, then alternate their windows; each fleet's summary and the paired delivery ratios."""
    engine, bare = fleets
    windows: dict[str, list[dict[str, Any]]] = {fleet.label: [] for fleet in fleets}
    share, load = machine.cpu_share(0.5), machine.load_average()  # how busy the machine was just before
    try:
        for fleet in fleets:
            fleet.start()
        log(f"scale: opening {engine.tabs:,} tabs on each of {engine.label} and {bare.label}")
        for fleet in fleets:
            fleet.wait_open()
        for round_ in range(settings.rounds):
            for fleet in fleets if round_ % 2 == 0 else list(reversed(fleets)):
                window = fleet.window(settings.settle_s, settings.window_s, redis_pid if fleet is engine else None)
                windows[fleet.label].append(window)
                log(f"scale: window {round_ + 1}/{settings.rounds}, " + _describe(fleet.label, window, fleet.tabs))
    finally:
        for fleet in fleets:
            fleet.close()
    ratios = [e["delivered_per_s"] / b["delivered_per_s"] if b["delivered_per_s"] else 0.0
              for e, b in zip(windows[engine.label], windows[bare.label], strict=True)]
    return {
        "tabs": engine.tabs,
        "engine": engine.summary(windows[engine.label]),
        "bare": bare.summary(windows[bare.label]),
        "paired_delivery_ratios": ratios,
        "delivery_ratio": statistics.median(ratios),
        "cpu_share_one_process_before": share,
        "load_average_before": load,
    }


def run_scale(settings: ScaleSettings, log: Log, redis: Any | None) -> dict[str, Any]:
    """Engine beside bare at each size, then the engine on two workers sharing `redis` beside bare."""
    section: dict[str, Any] = {"settings": dataclasses.asdict(settings), "sizes": {}, "notes": []}
    for tabs in settings.sizes:
        section["sizes"][str(tabs)] = measure_pair([Fleet("engine", tabs), Fleet("bare", tabs)], settings, log)
    if redis is None:
        section["notes"].append("redis-server is not installed; the two-worker run is skipped")
        return section
    url = redis.start()
    try:
        tabs = settings.two_worker_tabs
        fleets = [Fleet("engine", tabs, workers=2, redis_url=url), Fleet("bare", tabs, tag="beside-2w")]
        section["two_workers"] = measure_pair(fleets, settings, log, redis_pid=redis.pid)
    finally:
        redis.close()
    return section
