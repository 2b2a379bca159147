"""One side of a scale pair: a server (engine or bare) and the client processes holding its N live tabs.

`Fleet.window` clicks every tab's start, lets the counters settle, measures
one window (updates delivered, tick intervals, what went wrong, the server's
CPU and memory from /proc), then clicks stop; `Fleet.summary` folds its
windows into the figures of the section.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from ..child_process import LineProcess, child_env
from . import procstat
from .servers import ScaleServer

__all__ = ["TICK", "Fleet", "percentile"]

TABS_PER_CLIENT = 500
MAX_CLIENTS = 4
TICK = 0.5  # the demo's sleep between ticks


def percentile(ordered: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of an already sorted list; 0 for an empty one."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _demo_names() -> tuple[str, str, str]:
    from demos.background_tasks import MyTaskState

    state = MyTaskState.get_full_name()
    return state, f"{state}.set_max_counter", f"{state}.toggle_running"


_COUNTED = ("lost", "out_of_order", "counter_jumps", "merged", "resyncs", "failed_events", "failed_connects",
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
            LineProcess("bench.scale.client", [self.server.url, str(share), state, setter, toggle],
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

    def window(self, settle_s: float, window_s: float, redis_pid: int | None) -> dict[str, Any]:
        """Start every counter, let them settle `settle_s`, measure `window_s`, stop them; that window's figures."""
        self.click_all()
        time.sleep(settle_s)
        client_pids = [client.pid for client in self.clients]
        began = time.monotonic()
        server, clients = self.server.usage(), procstat.usage(client_pids)
        redis = procstat.usage([redis_pid]) if redis_pid else None
        time.sleep(window_s)
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

    def overload_window(self, settle_s: float, window_s: float, stops: int) -> dict[str, Any]:
        """Start every counter; in the measured window `stops` tabs click Stop (and Start again), spread out;
        then stop them all, and check every tab's counter against the server's. That window's figures."""
        self.click_all()
        time.sleep(settle_s)
        client_pids = [client.pid for client in self.clients]
        began = time.monotonic()
        server, clients = self.server.usage(), [procstat.usage([pid]) for pid in client_pids]
        shares = [stops // len(self.clients) + (1 if i < stops % len(self.clients) else 0)
                  for i in range(len(self.clients))]
        for client, share in zip(self.clients, shares, strict=True):
            client.send({"stop_sample": [share, window_s * 0.8]})
        sampled = [client.answer(timeout=120 + window_s)["result"] for client in self.clients]
        time.sleep(max(0.0, began + window_s - time.monotonic()))
        ended = time.monotonic()
        server_end, clients_end = self.server.usage(), [procstat.usage([pid]) for pid in client_pids]
        reports = [client.request({"report": [began, ended]}, timeout=120) for client in self.clients]
        self.click_all()
        time.sleep(settle_s)  # (what was on its way arrives)
        checks = [client.request({"check": True}, timeout=120 + self.tabs * 0.05) for client in self.clients]
        seconds = ended - began
        return {
            "window_s": seconds,
            "delivered_per_s": sum(r["delivered"] for r in reports) / seconds,
            "ticks_per_s": sum(r["ticks"] for r in reports) / seconds,
            "stop_ack_ms": sorted(x for r in sampled for x in r["latencies_ms"]),
            "stops_clicked": sum(r["clicked"] for r in sampled),
            "checked": sum(c["checked"] for c in checks),
            "right": sum(c["right"] for c in checks),
            "server_cpu_cores": (server_end.cpu_s - server.cpu_s) / seconds,
            "server_waiting_share": (server_end.waiting_s - server.waiting_s) / seconds,
            # (each client process is one thread: near 1 core, it would be the one falling behind)
            "client_cpu_cores": [(end.cpu_s - start.cpu_s) / seconds for start, end in zip(clients, clients_end,
                                                                                            strict=True)],
            "problems": {key: sum(r[key] for r in reports) for key in _COUNTED},
            "problem_samples": [sample for r in reports for sample in r["samples"]][:10],
        }

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
