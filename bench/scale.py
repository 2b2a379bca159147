"""Live tabs per worker: N tabs through real sockets, each running the counter demo's task, against a bare server.

One measurement starts a server (`bench.scale_servers`), opens N tabs from
a few client processes (`bench.scale_client`, about 500 tabs each), lets
every tab's counter tick for a while, then counts over a fixed window what
the tabs received: updates delivered per second, the interval between a
tab's ticks (the demo sleeps 0.5 s between them, so 0.5 s plus the block is
on time), and what went wrong (failed events, lost or out-of-order updates,
closed sockets). The server's CPU time and resident memory come from /proc,
over the same window; memory per tab is measured against the idle server.

The engine and the bare server run the same N one after the other, in
alternating order, on the same clients; then the engine runs on two
workers sharing one Redis.
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

__all__ = ["ScaleSettings", "measure", "percentile", "run_scale"]

TABS_PER_CLIENT = 500
MAX_CLIENTS = 4
TICK = 0.5  # the demo's sleep between ticks


@dataclasses.dataclass(frozen=True)
class ScaleSettings:
    """Sizes of one scale section: the tab counts, the window, and the two-worker run."""

    sizes: tuple[int, ...]
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


def _spawn_clients(url: str, tabs: int, label: str) -> list[LineProcess]:
    state, setter, toggle = _demo_names()
    count = min(MAX_CLIENTS, max(1, math.ceil(tabs / TABS_PER_CLIENT)))
    shares = [tabs // count + (1 if i < tabs % count else 0) for i in range(count)]
    return [
        LineProcess("bench.scale_client", [url, str(share), state, setter, toggle], f"{label}-client{i}",
                    env=child_env())
        for i, share in enumerate(shares)
    ]


_COUNTED = ("lost", "out_of_order", "counter_jumps", "resyncs", "failed_events", "failed_connects",
            "errors", "disconnects")


def measure(
    kind: str, tabs: int, settings: ScaleSettings, log: Callable[[str], None], *,
    workers: int = 1, redis_url: str | None = None, redis_pid: int | None = None,
) -> dict[str, Any]:
    """One server, `tabs` ticking tabs, one window; the figures described in the module docstring."""
    state, _setter, _toggle = _demo_names()
    server = ScaleServer(kind, tabs, workers=workers, redis_url=redis_url)
    clients: list[LineProcess] = []
    cpu_share, load = machine.cpu_share(0.5), machine.load_average()  # how busy the machine was just before
    try:
        server.start(state)
        idle = server.usage()
        log(f"scale: {server.label}: opening {tabs:,} tabs")
        clients = _spawn_clients(server.url, tabs, server.label)
        ready = [client.answer(timeout=60 + tabs * 0.1)["ready"] for client in clients]
        time.sleep(settings.settle_s)
        client_pids = [client.pid for client in clients]
        began = time.monotonic()
        before, clients_before = server.usage(), procstat.usage(client_pids)
        redis_before = procstat.usage([redis_pid]) if redis_pid else None
        log(f"scale: {server.label}: measuring for {settings.window_s:g} s")
        time.sleep(settings.window_s)
        ended = time.monotonic()
        after, clients_after = server.usage(), procstat.usage(client_pids)
        redis_after = procstat.usage([redis_pid]) if redis_pid else None
        reports = [client.request({"report": [began, ended]}, timeout=60) for client in clients]
    finally:
        for client in clients:
            client.close(timeout=30)
        server.stop()
    window = ended - began
    intervals = sorted(x for report in reports for x in report["intervals_ms"])
    delivered = sum(report["delivered"] for report in reports)
    result: dict[str, Any] = {
        "kind": kind,
        "tabs": tabs,
        "workers": workers,
        "window_s": window,
        "open_s": max(entry["open_s"] for entry in ready),
        "client_processes": len(clients),
        "delivered_per_s": delivered / window,
        "tabs_ticking": sum(report["tabs_ticking"] for report in reports),
        "expected_per_s": tabs / TICK,
        "interval_ms": {
            "samples": len(intervals),
            "p50": percentile(intervals, 0.50),
            "p90": percentile(intervals, 0.90),
            "p99": percentile(intervals, 0.99),
            "max": intervals[-1] if intervals else 0.0,
            "mean": statistics.fmean(intervals) if intervals else 0.0,
        },
        "server_cpu_cores": (after.cpu_s - before.cpu_s) / window,
        "server_rss_idle_bytes": idle.rss_bytes,
        "server_rss_bytes": after.rss_bytes,
        "server_processes": after.processes,
        "client_cpu_cores": (clients_after.cpu_s - clients_before.cpu_s) / window,
        "problems": {key: sum(report[key] for report in reports) for key in _COUNTED},
        "problem_samples": [sample for report in reports for sample in report["samples"]][:10],
        "server_log": server.log_counts(),
        "cpu_share_one_process_before": cpu_share,
        "load_average_before": load,
    }
    result["server_cpu_ms_per_tab_s"] = result["server_cpu_cores"] * 1000 / tabs
    result["rss_per_tab_bytes"] = (after.rss_bytes - idle.rss_bytes) / tabs
    if redis_before is not None and redis_after is not None:
        result["redis_cpu_cores"] = (redis_after.cpu_s - redis_before.cpu_s) / window
    problems = result["problems"]
    log(
        f"scale: {server.label}: {result['delivered_per_s']:,.0f} updates/s of {result['expected_per_s']:,.0f}, "
        f"interval p50 {result['interval_ms']['p50']:.0f} ms p99 {result['interval_ms']['p99']:.0f} ms, "
        f"server {result['server_cpu_cores']:.2f} cores; lost {problems['lost']}, "
        f"failed events {problems['failed_events']}, failed connects {problems['failed_connects']}"
    )
    return result


def run_scale(settings: ScaleSettings, log: Callable[[str], None], redis: Any | None) -> dict[str, Any]:
    """Engine and bare at each size (alternating which goes first), then two workers on `redis`."""
    section: dict[str, Any] = {"settings": dataclasses.asdict(settings), "sizes": {}, "notes": []}
    for index, tabs in enumerate(settings.sizes):
        order = ("engine", "bare") if index % 2 == 0 else ("bare", "engine")
        section["sizes"][str(tabs)] = {kind: measure(kind, tabs, settings, log) for kind in order}
    if redis is None:
        section["notes"].append("redis-server is not installed; the two-worker run is skipped")
        return section
    url = redis.start()
    try:
        section["two_workers"] = measure(
            "engine", settings.two_worker_tabs, settings, log, workers=2, redis_url=url,
            redis_pid=redis.pid,
        )
    finally:
        redis.close()
    return section
