"""Every target the bench checks, as a ratio (or a count) measured side by side in one run.

Targets live here, never in timed tests: a shared 2-core machine makes
absolute figures meaningless, so each target compares two things measured
in the same run. `evaluate(results)` lists each target with its figure; a
target whose figures were not measured in this run is left out.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from ..states import big
from ..states.contenders import REDIS_WORKLOADS, STATE_WORKLOADS

__all__ = ["Target", "big_figure", "evaluate"]

MEMORY_SPEEDUP = 3.0  # in-memory rows, ours / Reflex
TAB_BYTES = 1 / 3  # memory per idle tab, ours / Reflex
ROUND_TRIP = 1.3  # event round trip, ours / bare echo
REDIS_SPEEDUP = 2.0  # every Redis row in confirm mode, ours / Reflex default
ROUND_TRIP_SHARE = 0.8  # confirm mode, 1 token and 50 tasks, ours / sequential EVALSHA limit
OPLOCK_PARITY = 1.0  # ours / Reflex with its oplock
DELIVERY_SHARE = 0.9  # live tabs, updates delivered per second, engine / bare server
BIG_SPEEDUP = 3.0  # big states in memory, at the largest size: blocks per second, ours / Reflex
BIG_FLAT = 0.5  # big states in memory: ours at the largest size / ours at the smallest
UPDATE_ITEM_SHARE = 1.0  # an update / (2 x the changed item's JSON + UPDATE_ENVELOPE)
UPDATE_ENVELOPE = 120  # bytes of an update that are not the item: seq, the state's name, the path
UPDATE_BYTES = 1024  # an update for one changed item, at most
REDIS_BLOCK_BYTES = 4096  # bytes sent to Redis per block at the largest size, at most
STOP_ACK_SHARE = 1.0  # overload: Stop acknowledged p99, engine / bare server
THROUGHPUT_HELD = 1.0  # overload: ticks delivered per second, largest size / smallest
STOP_ACK_P99_MS = 250.0  # overload: Stop acknowledged p99 at the largest size, the figure (ms)


@dataclass(frozen=True)
class Target:
    """One checked figure: `value` against `needed`, higher or lower better (or a count that must be 0)."""

    group: str
    label: str
    value: float
    needed: float
    better: str  # "higher", "lower" or "zero"
    unit: str = "x"  # "x" (a ratio), "B" (bytes) or "ms"

    @property
    def met(self) -> bool:
        if self.better == "higher":
            return self.value >= self.needed
        if self.better == "lower":
            return self.value <= self.needed
        return self.value == 0

    @property
    def needed_text(self) -> str:
        if self.better == "zero":
            return "0"
        sign = ">=" if self.better == "higher" else "<="
        if self.unit in ("B", "ms"):
            return f"{sign} {self.needed:,.0f} {self.unit}"
        return f"{sign} {self.needed:.2g}x"

    @property
    def value_text(self) -> str:
        if self.unit in ("B", "ms"):
            return f"{self.value:,.0f} {self.unit}"
        return f"{self.value:,.0f}" if self.better == "zero" else f"{self.value:.2f}x"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def _median(section: dict[str, Any] | None, workload: str, who: str) -> float | None:
    entry = (section or {}).get("workloads", {}).get(workload, {}).get(who)
    return entry["median"] if entry else None


def _ratio(group: str, label: str, ours: float | None, theirs: float | None, needed: float,
           better: str = "higher") -> Iterator[Target]:
    if ours and theirs:
        yield Target(group, label, ours / theirs, needed, better)


def _memory_targets(results: dict[str, Any]) -> Iterator[Target]:
    section = results.get("memory_manager")
    for key, label in STATE_WORKLOADS:
        yield from _ratio("In memory, vs Reflex", label, _median(section, key, "ours"),
                          _median(section, key, "reflex"), MEMORY_SPEEDUP)
    tabs = results.get("memory_per_tab") or {}
    for method, how in (("tracemalloc", "tracemalloc"), ("rss", "RSS delta")):
        entry = tabs.get(method, {})
        if "ours" in entry and "reflex" in entry:
            yield from _ratio("In memory, vs Reflex", f"memory per idle tab ({how})", entry["ours"]["per_tab"],
                              entry["reflex"]["per_tab"], TAB_BYTES, "lower")
    rt = results.get("round_trip")
    if rt:
        for pct in ("p50", "p99"):
            yield from _ratio("Event round trip, vs a bare echo", f"round trip {pct}", rt["ours"][f"{pct}_us"],
                              rt["echo"][f"{pct}_us"], ROUND_TRIP, "lower")


def _redis_targets(results: dict[str, Any]) -> Iterator[Target]:
    section = results.get("redis")
    limit = _median(section, "one_token", "redis-py")
    oplock = {key: _median(section, key, "reflex-oplock") for key, _ in REDIS_WORKLOADS}
    default = {key: _median(section, key, "reflex") for key, _ in REDIS_WORKLOADS}
    labels = dict(REDIS_WORKLOADS)
    group = "Redis, confirm mode"
    for key in ("one_token", "contended"):
        yield from _ratio(group, f"{labels[key]} vs the sequential round-trip limit",
                          _median(section, key, "ours"), limit, ROUND_TRIP_SHARE)
    yield from _ratio(group, f"{labels['many_tokens']} vs Reflex with oplock",
                      _median(section, "many_tokens", "ours"), oplock["many_tokens"], OPLOCK_PARITY)
    for key, label in REDIS_WORKLOADS:
        yield from _ratio(group, f"{label} vs Reflex default", _median(section, key, "ours"), default[key],
                          REDIS_SPEEDUP)
    group = "Redis, pipelined mode"
    for key, label in REDIS_WORKLOADS:
        yield from _ratio(group, f"{label} vs Reflex with oplock", _median(section, key, "ours-pipelined"),
                          oplock[key], OPLOCK_PARITY)


def _scale_targets(results: dict[str, Any]) -> Iterator[Target]:
    """Delivery as the median of paired windows (engine / bare, a few seconds apart)."""
    scale = results.get("scale") or {}
    for tabs, pair in scale.get("sizes", {}).items():
        if "delivery_ratio" in pair:
            yield Target("Live tabs, vs a bare server", f"{int(tabs):,} tabs: updates delivered per second",
                         pair["delivery_ratio"], DELIVERY_SHARE, "higher")
    two = scale.get("two_workers")
    if two:
        group, tabs = "Live tabs, two workers on Redis", f"{two['tabs']:,} tabs"
        # the "the same on two workers": delivery against the bare server, as at every N
        yield Target(group, f"{tabs}: updates delivered per second vs the bare server", two["delivery_ratio"],
                     DELIVERY_SHARE, "higher")
        problems = two["engine"]["problems"]
        failed = problems["failed_events"] + problems["failed_connects"] + problems["errors"]
        yield Target(group, f"{tabs}: failed events (refused, unopened, or reported as errors)", failed, 0, "zero")
        yield Target(group, f"{tabs}: lost updates", problems["lost"] + problems["counter_jumps"], 0, "zero")


def big_figure(section: dict[str, Any] | None, key: str, who: str, field: str) -> float | None:
    """The median over a big-state workload's runs of `field` (`update_bytes`, `redis_bytes_per_block`)."""
    entry = (section or {}).get("workloads", {}).get(key, {}).get(who)
    values = [run[field] for run in (entry or {}).get("runs", []) if run.get(field) is not None]
    return statistics.median(values) if values else None


def _big_targets(results: dict[str, Any]) -> Iterator[Target]:
    part = results.get("bigstate") or {}
    memory, redis = part.get("memory"), part.get("redis")
    keys = list((memory or redis or {}).get("workloads", {}))
    sizes = sorted({big.parse_key(key)[1] for key in keys})
    if not sizes:
        return
    small, large = sizes[0], sizes[-1]
    for key in keys:
        kind, items, via = big.parse_key(key)
        if items != large:
            continue
        name = big.label(kind, large, via).rsplit(", ", 1)[0] + f", {large:,} items"
        yield from _ratio("Big states, in memory", f"{name}: blocks per second vs Reflex",
                          _median(memory, key, "ours"), _median(memory, key, "reflex"), BIG_SPEEDUP)
        if small != large:
            yield from _ratio("Big states, in memory", f"{name}: blocks per second vs ours at {small:,} items",
                              _median(memory, key, "ours"), _median(memory, big.run_key(kind, small, via), "ours"),
                              BIG_FLAT)
        update = big_figure(memory, key, "ours", "update_bytes") or big_figure(redis, key, "ours", "update_bytes")
        if update is not None and kind != "counter":
            item = big.item_json(kind)
            yield Target("Big states, an update", f"{name}: update / (2 x the item's {item} B + "
                         f"{UPDATE_ENVELOPE} B)", update / (2 * item + UPDATE_ENVELOPE), UPDATE_ITEM_SHARE, "lower")
            yield Target("Big states, an update", f"{name}: bytes of the update", update, UPDATE_BYTES, "lower", "B")
        written = big_figure(redis, key, "ours", "redis_bytes_per_block")
        if written is not None:
            yield Target("Big states, on Redis", f"{name}: bytes sent to Redis per block", written,
                         REDIS_BLOCK_BYTES, "lower", "B")


def _overload_targets(results: dict[str, Any]) -> Iterator[Target]:
    overload = results.get("overload") or {}
    group = "Overload, one process, vs a bare server"
    for tabs, pair in overload.get("sizes", {}).items():
        engine, bare = pair["engine"], pair["bare"]
        yield from _ratio(group, f"{int(tabs):,} tabs: Stop acknowledged p99", engine["stop_ack_ms"]["p99"],
                          bare["stop_ack_ms"]["p99"], STOP_ACK_SHARE, "lower")
        wrong = engine["tabs_checked"] - engine["tabs_right"] + engine["stops_clicked"] - engine["stops_answered"]
        yield Target(group, f"{int(tabs):,} tabs: tabs ending on a wrong counter, or Stops unanswered", wrong, 0,
                     "zero")
    sizes = sorted(int(n) for n in overload.get("sizes", {}))
    if sizes:
        largest = overload["sizes"][str(sizes[-1])]["engine"]
        yield Target(group, f"{sizes[-1]:,} tabs: Stop acknowledged p99, in ms (the issue's figure)",
                     largest["stop_ack_ms"]["p99"], STOP_ACK_P99_MS, "lower", "ms")
    held = overload.get("throughput_held")
    if held:
        yield Target(group, f"ticks delivered per second, {sizes[-1]:,} tabs / {sizes[0]:,} tabs", held["engine"],
                     THROUGHPUT_HELD, "higher")


def evaluate(results: dict[str, Any]) -> list[Target]:
    return [*_memory_targets(results), *_redis_targets(results), *_scale_targets(results), *_big_targets(results),
            *_overload_targets(results)]
