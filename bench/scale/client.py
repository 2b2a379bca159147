"""Many live tabs in one process, for the scale workload: `python -m bench.scale.client URL TABS STATE SETTER TOGGLE`.

Each tab is its own websocket (`bench.scale.wire`: a bare Socket.IO client,
one `asyncio.Protocol` per tab, cheap enough that the clients on the
server's machine do not starve first) speaking the protocol of
docs/site/protocol.md as the browser runtime does: `auth` {token, states,
client}, then `hello` and a full `update`, then updates applied in `seq`
order with `engine.protocol.apply_update` (merged ones by their `from`), a
`resync` on a gap. Once connected, a tab raises the counter demo's
`max_counter` with its setter event (so the counter runs through the whole
measurement); the toggle event starts and stops the task, as clicks would.

Like `bench.states.worker`, it reads JSON commands on stdin and answers JSON lines
on stdout: first `{"ready": ...}` once every tab is open (its counter not yet
running); `{"toggle": true}` clicks every tab's start/stop button (the demo's
`toggle_running`) and answers once every click was acknowledged;
`{"report": [T0, T1]}` (times of `time.monotonic()`, the same clock in every
process) answers what arrived in that window and every error since the
start; on `{"quit": true}` the tabs disconnect and the process exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import sys
import time
from array import array
from bisect import bisect_left, bisect_right
from typing import Any
from urllib.parse import urlsplit

from engine.protocol import Applied, apply_update

from .wire import EngineSocket, open_socket

CONNECTS_AT_ONCE = 20
CLICKS_AT_ONCE = 50
EVENT_TIMEOUT = 30.0
HIGH_MAX_COUNTER = 1_000_000_000
MAX_ERROR_SAMPLES = 10


class Totals:
    """What every tab of this process saw: arrivals, intervals and anything that went wrong."""

    def __init__(self) -> None:
        self.arrivals = array("d")  # time of every delta, in order of arrival
        self.advances = array("l")  # per arrival: how many ticks it moved the counter (more than 1: merged)
        self.merged = 0  # updates that stood for several seqs (with `from`)
        self.interval_ends = array("d")  # time of each delta that closed a tick interval
        self.intervals = array("d")  # seconds since the same tab's previous delta
        self.lost = 0  # seq numbers skipped (each one an update the tab never saw)
        self.out_of_order = 0  # deltas older than what the tab already applied
        self.counter_jumps = 0  # consecutive counter deltas whose values were not n, n+1
        self.resyncs = 0
        self.failed_events = 0
        self.failed_connects = 0
        self.errors = 0  # `error` messages from the server
        self.disconnects = 0  # sockets that closed before the run asked them to
        self.samples: list[str] = []

    def note(self, message: str) -> None:
        if len(self.samples) < MAX_ERROR_SAMPLES:
            self.samples.append(message[:300])


class Tab:
    """One browser tab: its socket, its copy of the values (built with `engine.protocol.apply_update`),
    and the timing of its ticks."""

    def __init__(self, url: str, state: str, totals: Totals) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.state = state
        self.totals = totals
        self.values: dict[str, dict[str, Any]] = {}
        self.seq = -1
        self.counter: int | None = None
        self.last_tick = 0.0
        self.leaving = False
        self.checking: asyncio.Future[bool] | None = None  # `check`: whether the server's counter is the copy's
        self.full = asyncio.Event()
        self.sock: EngineSocket | None = None

    @property
    def connected(self) -> bool:
        return self.sock is not None and not self.sock.closed

    async def open(self, setter: str) -> None:
        auth = {"token": None, "states": [self.state], "client": secrets.token_urlsafe(9)}
        self.sock = await open_socket(self.host, self.port, auth, self.on_event, self.on_close, EVENT_TIMEOUT)
        await asyncio.wait_for(self.full.wait(), EVENT_TIMEOUT)
        await self.send(setter, HIGH_MAX_COUNTER)

    async def send(self, name: str, *args: Any) -> float | None:
        """Send an event; the `time.monotonic()` its acknowledgement arrived at, or None if it was refused."""
        payload = {"id": secrets.token_hex(4), "name": name, "args": list(args)}
        arrived = None
        try:
            assert self.sock is not None
            ack, arrived = await self.sock.call("event", payload, EVENT_TIMEOUT)
        except Exception as exc:  # no acknowledgement: the socket is gone or the server too slow
            ack = f"{type(exc).__name__}: {exc}"
        if not (isinstance(ack, dict) and ack.get("ok")):
            self.totals.failed_events += 1
            self.totals.note(f"event {name.rsplit('.', 1)[-1]} refused: {ack!r}")
            return None
        return arrived

    def on_event(self, name: str, data: Any) -> None:
        if name == "update":
            self.on_update(data)
        elif name == "error":
            self.totals.errors += 1
            self.totals.note(f"error message: {data!r}")

    def on_update(self, data: dict[str, Any]) -> None:
        now = time.monotonic()
        if "full" in data:
            self.values.clear()
            _applied, self.seq = apply_update(self.values, self.seq, data)
            full_counter = self.values.get(self.state, {}).get("counter")
            if self.checking is not None and not self.checking.done():
                self.checking.set_result(full_counter == self.counter)
            self.counter = full_counter
            self.last_tick = 0.0  # no interval spans a resync
            self.full.set()
            return
        if self.seq < 0:
            return  # a resync is on its way; the full update it brings covers this one
        before = self.seq
        applied, self.seq = apply_update(self.values, before, data)
        if applied is Applied.OLD:
            self.totals.out_of_order += 1
            return
        first = data.get("from", data["seq"])  # (a merged update stands for the seqs from `from` to `seq`)
        if applied is Applied.GAP:
            self.totals.lost += max(0, first - before - 1)
            self.totals.resyncs += 1
            self.seq = -1
            assert self.sock is not None
            self.sock.emit("resync", {"states": [self.state]})
            return
        if first != data["seq"]:
            self.totals.merged += 1
        if "counter" not in data.get("delta", {}).get(self.state, {}):
            return  # the setter's or the toggle's update, not a tick
        counter = self.values[self.state]["counter"]
        if self.counter is not None and counter != self.counter + 1 and first == data["seq"]:
            self.totals.counter_jumps += 1
        advance = counter - self.counter if self.counter is not None else 1
        self.counter = counter
        totals = self.totals
        totals.arrivals.append(now)
        totals.advances.append(advance)
        if self.last_tick:
            totals.interval_ends.append(now)
            totals.intervals.append(now - self.last_tick)
        self.last_tick = now

    def on_close(self, why: str) -> None:
        if not self.leaving:
            self.totals.disconnects += 1
            self.totals.note(f"socket closed before the run ended: {why}")

    def close(self) -> None:
        self.leaving = True
        if self.sock is not None:
            self.sock.close()


def _window(totals: Totals, tabs: list[Tab], began: float, ended: float) -> dict[str, Any]:
    arrivals = totals.arrivals
    first, last = bisect_left(arrivals, began), bisect_right(arrivals, ended)
    delivered = last - first
    low, high = bisect_left(totals.interval_ends, began), bisect_right(totals.interval_ends, ended)
    return {
        "delivered": delivered,
        "ticks": sum(totals.advances[first:last]),
        "tabs_ticking": sum(1 for tab in tabs if tab.last_tick >= began),
        "intervals_ms": [round(x * 1000, 2) for x in totals.intervals[low:high]],
    }


def _raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))


async def _click_all(tabs: list[Tab], toggle: str) -> dict[str, Any]:
    """Every open tab clicks start/stop; no tick interval spans the click (a stopped counter is not late)."""
    gate = asyncio.Semaphore(CLICKS_AT_ONCE)
    began = time.monotonic()

    async def click(tab: Tab) -> bool:
        async with gate:
            tab.last_tick = 0.0
            done = await tab.send(toggle) is not None
            tab.last_tick = 0.0
            return done

    clicked = await asyncio.gather(*(click(tab) for tab in tabs if tab.full.is_set()))
    return {"clicked": sum(clicked), "refused": len(clicked) - sum(clicked), "took_s": time.monotonic() - began}


async def _stop_sample(tabs: list[Tab], toggle: str, count: int, spread_s: float) -> dict[str, Any]:
    """`count` running tabs click Stop, spread over `spread_s` seconds, each then Start again; the Stops' acks.

    What a visitor feels on a saturated server: how long a click waits for its answer.
    """
    chosen = [tab for tab in tabs if tab.full.is_set()][:count]
    latencies: list[float] = []

    async def stop_then_start(tab: Tab, delay: float) -> None:
        await asyncio.sleep(delay)
        tab.last_tick = 0.0
        began = time.monotonic()
        arrived = await tab.send(toggle)
        if arrived is not None:
            latencies.append((arrived - began) * 1000)
        tab.last_tick = 0.0
        await tab.send(toggle)
        tab.last_tick = 0.0

    gap = spread_s / max(1, len(chosen))
    await asyncio.gather(*(stop_then_start(tab, i * gap) for i, tab in enumerate(chosen)))
    return {"latencies_ms": sorted(round(x, 2) for x in latencies), "clicked": len(chosen)}


async def _check_all(tabs: list[Tab]) -> dict[str, Any]:
    """Every tab asks for a full copy; how many mirrors (built from the deltas) equal the server's counter."""
    loop = asyncio.get_running_loop()
    open_tabs = [tab for tab in tabs if tab.full.is_set() and tab.connected]
    for tab in open_tabs:
        tab.checking = loop.create_future()
    gate = asyncio.Semaphore(CLICKS_AT_ONCE)

    async def ask(tab: Tab) -> bool:
        async with gate:
            assert tab.sock is not None
            tab.sock.emit("resync", {"states": [tab.state]})
            assert tab.checking is not None
            try:
                return await asyncio.wait_for(tab.checking, EVENT_TIMEOUT)
            except TimeoutError:
                return False

    right = await asyncio.gather(*(ask(tab) for tab in open_tabs))
    return {"tabs": len(tabs), "checked": len(open_tabs), "right": sum(right)}


async def run(url: str, count: int, state: str, setter: str, toggle: str, out: Any) -> None:
    def answer(payload: dict[str, Any]) -> None:
        out.write(json.dumps(payload) + "\n")
        out.flush()

    totals = Totals()
    tabs = [Tab(url, state, totals) for _ in range(count)]
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def open_tab(tab: Tab) -> None:
        async with gate:
            try:
                await tab.open(setter)
            except Exception as exc:
                totals.failed_connects += 1
                totals.note(f"opening a tab failed: {type(exc).__name__}: {exc}")

    began = time.monotonic()
    await asyncio.gather(*(open_tab(tab) for tab in tabs))
    answer({"ready": {"tabs": count, "open_s": time.monotonic() - began, "failed_connects": totals.failed_connects}})
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line.strip():
                break
            command = json.loads(line)
            if command.get("quit"):
                break
            if command.get("toggle"):
                answer({"result": await _click_all(tabs, toggle)})
                continue
            if "stop_sample" in command:
                count, spread_s = command["stop_sample"]
                answer({"result": await _stop_sample(tabs, toggle, count, spread_s)})
                continue
            if command.get("check"):
                answer({"result": await _check_all(tabs)})
                continue
            t0, t1 = command["report"]
            report = _window(totals, tabs, t0, t1)
            report.update({
                key: getattr(totals, key)
                for key in ("lost", "out_of_order", "counter_jumps", "merged", "resyncs", "failed_events",
                            "failed_connects", "errors", "disconnects", "samples")
            })
            report["ticks_total"] = len(totals.arrivals)
            answer({"result": report})
    finally:
        for tab in tabs:
            tab.close()
        await asyncio.sleep(0.5)  # (the close frames go out before the process exits)


def main(argv: list[str]) -> None:
    url, count, state, setter, toggle = argv[0], int(argv[1]), argv[2], argv[3], argv[4]
    _raise_open_files(count * 2 + 100)
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    asyncio.run(run(url, count, state, setter, toggle, out))


if __name__ == "__main__":
    main(sys.argv[1:])
