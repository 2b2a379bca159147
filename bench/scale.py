"""Live tabs per worker: N tabs through real sockets, each running the counter demo's task, against a bare server.

For each N, two fleets are opened at once: the engine's docs server with N
tabs, and the bare python-socketio server (`bench.scale_bare`) with N tabs,
each tab a client of `bench.scale_client` (about 500 tabs per client
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
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

from . import machine, procstat
from .remote import LineProcess, child_env
from .scale_servers import ScaleServer

__all__ = ["ScaleSettings", "percentile", "run_scale"]

TABS_PER_CLIENT = 500
MAX_CLIENTS = 4
TICK = 0.5  # the demo's sleep between ticks

Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class ScaleSettings:
    """Sizes of one scale section: tab counts, windows, and the two-worker run."""

    sizes: tuple[int, ...]
    rounds: int  # windows per fleet
    window_s: float
    settle_s: float
    two_worker_tabs: int


def percentile(ordered: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of an already sorted list; 0 for an empty one."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _demo_names() -> tuple[str, str, str]:
    from demos.background_tasks import MyTaskState

    state = MyTaskState.get_full_name()
    return state, f"{state}.set_max_counter", f"{state}.toggle_running"


_COUNTED = ("lost", "out_of_order", "counter_jumps", "resyncs", "failed_events", "failed_connects",
            "errors", "disconnects")


class Fleet:
    """One server and the client processes that hold its tabs."""

    def __init__(
        self, kind: str, tabs: int, *, workers: int = 1, redis_url: str | None = None, tag: str = ""
    ) -> None:
        self.kind = kind
        self.tabs = tabs
        self.server = ScaleServer(kind, tabs, workers=workers, redis_url=redis_url, tag=tag)
        self.label = self.server.label
        self.clients: list[LineProcess] = []
        self.idle: procstat.Usage | None = None
        self.ready: list[dict[str, Any]] = []
        self.clicks_refused = 0

    def start(self) -> None:
        """The server, then the client processes opening the tabs (answered later by `wait_open`)."""
        state, setter, toggle = _demo_names()
        self.server.start(state)
        self.idle = self.server.usage()
        count = min(MAX_CLIENTS, max(1, math.ceil(self.tabs / TABS_PER_CLIENT)))
        shares = [self.tabs // count + (1 if i < self.tabs % count else 0) for i in range(count)]
        self.clients = [
            LineProcess("bench.scale_client", [self.server.url, str(share), state, setter, toggle],
                        f"{self.label}-client{i}", env=child_env())
            for i, share in enumerate(shares)
        ]

    def wait_open(self) -> None:
        self.ready = [client.answer(timeout=60 + self.tabs * 0.1)["ready"] for client in self.clients]

    def click_all(self) -> None:
        for client in self.clients:
            client.send({"toggle": True})
        for client in self.clients:
            self.clicks_refused += client.answer(timeout=60 + self.tabs * 0.05)["result"]["refused"]

    def window(self, settings: ScaleSettings, redis_pid: int | None) -> dict[str, Any]:
        """Start every counter, measure one window, stop them; that window's figures."""
        self.click_all()
        time.sleep(settings.settle_s)
        client_pids = [client.pid for client in self.clients]
        began = time.monotonic()
        server, clients = self.server.usage(), procstat.usage(client_pids)
        redis = procstat.usage([redis_pid]) if redis_pid else None
        time.sleep(settings.window_s)
        ended = time.monotonic()
        server_end, clients_end = self.server.usage(), procstat.usage(client_pids)
        redis_end = procstat.usage([redis_pid]) if redis_pid else None
        reports = [client.request({"report": [began, ended]}, timeout=60) for client in self.clients]
        self.click_all()
        seconds = ended - began
        result = {
            "window_s": seconds,
            "delivered_per_s": sum(r["delivered"] for r in reports) / seconds,
            "tabs_ticking": sum(r["tabs_ticking"] for r in reports),
            "intervals_ms": sorted(x for r in reports for x in r["intervals_ms"]),
            "server_cpu_cores": (server_end.cpu_s - server.cpu_s) / seconds,
            "client_cpu_cores": (clients_end.cpu_s - clients.cpu_s) / seconds,
            "server_rss_bytes": server_end.rss_bytes,
            "server_processes": server_end.processes,
            "problems": {key: sum(r[key] for r in reports) for key in _COUNTED},  # since the tabs opened
            "problem_samples": [sample for r in reports for sample in r["samples"]][:10],
        }
        if redis is not None and redis_end is not None:
            result["redis_cpu_cores"] = (redis_end.cpu_s - redis.cpu_s) / seconds
        return result

    def close(self) -> None:
        for client in self.clients:
            client.close(timeout=30)
        self.server.stop()

    def summary(self, windows: list[dict[str, Any]]) -> dict[str, Any]:
        """The fleet over all its windows: medians of the rates, percentiles of every interval."""
        intervals = sorted(x for w in windows for x in w["intervals_ms"])
        last = windows[-1]
        assert self.idle is not None
        result: dict[str, Any] = {
            "kind": self.kind,
            "tabs": self.tabs,
            "workers": self.server.workers,
            "windows": len(windows),
            "window_s": statistics.fmean(w["window_s"] for w in windows),
            "open_s": max(entry["open_s"] for entry in self.ready),
            "client_processes": len(self.clients),
            "delivered_per_s": statistics.median(w["delivered_per_s"] for w in windows),
            "expected_per_s": self.tabs / TICK,
            "tabs_ticking": min(w["tabs_ticking"] for w in windows),
            "interval_ms": {
                "samples": len(intervals),
                "p50": percentile(intervals, 0.50),
                "p90": percentile(intervals, 0.90),
                "p99": percentile(intervals, 0.99),
                "max": intervals[-1] if intervals else 0.0,
                "mean": statistics.fmean(intervals) if intervals else 0.0,
            },
            "server_cpu_cores": statistics.median(w["server_cpu_cores"] for w in windows),
            "client_cpu_cores": statistics.median(w["client_cpu_cores"] for w in windows),
            "server_rss_idle_bytes": self.idle.rss_bytes,
            "server_rss_bytes": last["server_rss_bytes"],
            "server_processes": last["server_processes"],
            "problems": last["problems"],
            "clicks_refused": self.clicks_refused,
            "problem_samples": last["problem_samples"],
            "server_log": self.server.log_counts(),
            "per_window": [{k: v for k, v in w.items() if k not in ("intervals_ms", "problem_samples")}
                           for w in windows],
        }
        result["server_cpu_ms_per_tab_s"] = result["server_cpu_cores"] * 1000 / self.tabs
        result["rss_per_tab_bytes"] = (last["server_rss_bytes"] - self.idle.rss_bytes) / self.tabs
        if "redis_cpu_cores" in last:
            result["redis_cpu_cores"] = statistics.median(w["redis_cpu_cores"] for w in windows)
        return result


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
                window = fleet.window(settings, redis_pid if fleet is engine else None)
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
