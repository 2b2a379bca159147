"""Overload: more live tabs than one process can tick on time, against bare python-socketio on the same load.

For each size (by default 2,000 tabs, about what one process keeps up
with on the reference machine, and 5,000, well past it), the engine's docs
server and the bare server (`bench.scale.bare_server`) each get that many
counter tabs, one fleet at a time, in alternating windows as in the scale
section. In each window every counter runs; a sample of tabs clicks Stop
(and Start again), spread over the window, and the time to each Stop's
acknowledgement is kept; at the end all counters stop and every tab asks
for a full copy, whose counter must equal the one it built from its
updates. Reported per side and size: Stop acknowledged (p50, p99, max),
messages and counter ticks delivered per second (a merged update moves a
counter several ticks at once), and how many tabs ended right.

Past saturation nobody can tick every counter on time; what is measured is
whether clicks are still answered quickly and whether throughput holds
(ticks per second at the largest size against the smallest), rather than
collapsing.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from typing import Any

from .. import machine
from .fleet import TICK, Fleet, percentile

__all__ = ["OverloadSettings", "run_overload"]

Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class OverloadSettings:
    sizes: tuple[int, ...]
    rounds: int
    window_s: float
    settle_s: float
    stops: int  # tabs that click Stop in each window


def _summary(fleet: Fleet, windows: list[dict[str, Any]]) -> dict[str, Any]:
    acks = sorted(x for w in windows for x in w["stop_ack_ms"])
    return {
        "kind": fleet.kind,
        "tabs": fleet.tabs,
        "windows": len(windows),
        "expected_ticks_per_s": fleet.tabs / TICK,
        "delivered_per_s": statistics.median(w["delivered_per_s"] for w in windows),
        "ticks_per_s": statistics.median(w["ticks_per_s"] for w in windows),
        "stop_ack_ms": {"samples": len(acks), "p50": percentile(acks, 0.5), "p99": percentile(acks, 0.99),
                        "max": acks[-1] if acks else 0.0},
        "stops_clicked": sum(w["stops_clicked"] for w in windows),
        "stops_answered": len(acks),
        "tabs_checked": min(w["checked"] for w in windows),
        "tabs_right": min(w["right"] for w in windows),
        "server_cpu_cores": statistics.median(w["server_cpu_cores"] for w in windows),
        "server_waiting_share": statistics.median(w["server_waiting_share"] for w in windows),
        "client_processes": len(fleet.clients),
        "client_cpu_cores": statistics.median(sum(w["client_cpu_cores"]) for w in windows),
        "client_cpu_busiest_process": max(max(w["client_cpu_cores"]) for w in windows),
        "open_s": max(entry["open_s"] for entry in fleet.ready),
        "problems": windows[-1]["problems"],
        "problem_samples": windows[-1]["problem_samples"],
        "server_log": fleet.server.log_counts(),
    }


def _describe(label: str, window: dict[str, Any]) -> str:
    acks, clients = window["stop_ack_ms"], window["client_cpu_cores"]
    return (f"{label}: Stop ack p50 {percentile(acks, 0.5):,.0f} ms p99 {percentile(acks, 0.99):,.0f} ms, "
            f"{window['ticks_per_s']:,.0f} ticks/s in {window['delivered_per_s']:,.0f} messages/s, "
            f"{window['right']:,} of {window['checked']:,} tabs right; server {window['server_cpu_cores']:.2f} "
            f"cores (waited for one {window['server_waiting_share']:.0%} of the time), clients "
            f"{sum(clients):.2f} (busiest {max(clients):.2f})")


def run_overload(settings: OverloadSettings, log: Log) -> dict[str, Any]:
    """Engine beside bare at each size; the summaries, and the ratios the targets read."""
    section: dict[str, Any] = {"settings": dataclasses.asdict(settings), "sizes": {}}
    for tabs in settings.sizes:
        fleets = [Fleet("engine", tabs, tag="overload"), Fleet("bare", tabs, tag="overload")]
        windows: dict[str, list[dict[str, Any]]] = {fleet.label: [] for fleet in fleets}
        load_before = machine.load_average()
        try:
            for fleet in fleets:
                fleet.start()
            log(f"overload: opening {tabs:,} tabs on each of the engine and the bare server")
            for fleet in fleets:
                fleet.wait_open()
            for round_ in range(settings.rounds):
                for fleet in fleets if round_ % 2 == 0 else list(reversed(fleets)):
                    window = fleet.overload_window(settings.settle_s, settings.window_s, settings.stops)
                    windows[fleet.label].append(window)
                    log(f"overload: window {round_ + 1}/{settings.rounds}, " + _describe(fleet.label, window))
        finally:
            for fleet in fleets:
                fleet.close()
        engine, bare = (_summary(fleet, windows[fleet.label]) for fleet in fleets)
        section["sizes"][str(tabs)] = {"tabs": tabs, "engine": engine, "bare": bare,
                                       "load_average_before": load_before, "load_average_after": machine.load_average()}
    if len(settings.sizes) >= 2:
        low, high = (section["sizes"][str(n)] for n in (min(settings.sizes), max(settings.sizes)))
        section["throughput_held"] = {
            side: high[side]["ticks_per_s"] / low[side]["ticks_per_s"] if low[side]["ticks_per_s"] else 0.0
            for side in ("engine", "bare")
        }
    return section
