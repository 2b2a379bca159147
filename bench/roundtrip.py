"""Event round trip: send an event, then see its update, through `TabClient` and through a bare echo.

`python -m bench.roundtrip SAMPLES` prints one JSON line. Both servers run on
the same stack in this process: uvicorn (`engine.testing.serve`) and
python-socketio's ASGI server, websocket transport, loopback. Both clients
are python-socketio clients in the same event loop.

- ours: `TabClient(app)` sends `MyTaskState.set_max_counter(i)` and waits
  (`tab.wait_for`) until the tab shows `max_counter == i`.
- echo: a bare `socketio.AsyncServer` whose `event` handler emits the same
  shape of `update` straight back and acknowledges, as ours does; the
  client waits for that update.

The clock runs from the send until the update is seen; the acknowledgement
that follows is awaited outside the clock on both sides. Samples are taken
in alternating blocks of 50 after a warm-up, so both see the same noise.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from typing import Any

import socketio

from demos.background_tasks import MyTaskState
from engine import App
from engine.protocol import NAMESPACE
from engine.settings import Settings
from engine.testing import TabClient, serve

BLOCK = 50
WARMUP = 100
TIMEOUT = 10.0


class _Echo:
    """The bare baseline: no state, no engine, the same messages on the wire."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncServer(async_mode="asgi", transports=["websocket"], cors_allowed_origins="*")
        self.seq = 0
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("update", self._on_update, namespace=NAMESPACE)
        self.waiting: asyncio.Future[Any] | None = None

    async def _on_event(self, sid: str, data: Any) -> dict[str, Any]:
        self.seq += 1
        value = data["args"][0]
        delta = {MyTaskState.get_full_name(): {"max_counter": value}}
        await self.sio.emit("update", {"seq": self.seq, "delta": delta}, to=sid, namespace=NAMESPACE)
        return {"ok": True}

    async def _on_update(self, data: Any) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(data)

    async def round_trip(self, value: int) -> float:
        self.waiting = asyncio.get_running_loop().create_future()
        payload = {"id": f"e{value}", "name": "echo", "args": [value]}
        began = time.perf_counter()
        ack = asyncio.ensure_future(self.client.call("event", payload, namespace=NAMESPACE, timeout=TIMEOUT))
        await asyncio.wait_for(self.waiting, TIMEOUT)
        elapsed = time.perf_counter() - began
        await ack
        return elapsed


async def _ours_round_trip(tab: TabClient, value: int) -> float:
    began = time.perf_counter()
    ack = asyncio.ensure_future(tab.send(MyTaskState.set_max_counter, value, timeout=TIMEOUT))
    await tab.wait_for(lambda t: t.state(MyTaskState).get("max_counter") == value, timeout=TIMEOUT)
    elapsed = time.perf_counter() - began
    result = await ack
    if not result.get("ok"):
        raise RuntimeError(f"the engine refused the event: {result}")
    return elapsed


def _summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1e6

    return {
        "samples": len(ordered),
        "p50_us": pick(0.50),
        "p90_us": pick(0.90),
        "p99_us": pick(0.99),
        "mean_us": sum(ordered) / len(ordered) * 1e6,
        "max_us": ordered[-1] * 1e6,
    }


async def measure(samples: int) -> dict[str, Any]:
    # The rate limits per connection (50 events/s) and per client address (100/s) would pace
    # this loop; the round trip is what is measured here, so they are lifted for this App only.
    app = App(settings=Settings(events_per_second=1e6, client_events_per_second=1e6))
    echo = _Echo()
    ours: list[float] = []
    bare: list[float] = []
    async with serve(socketio.ASGIApp(echo.sio)) as echo_url:
        await echo.client.connect(echo_url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=10)
        try:
            async with TabClient(app, states=[MyTaskState]) as tab:
                value = 1000
                for _ in range(WARMUP):
                    value += 1
                    await _ours_round_trip(tab, value)
                    await echo.round_trip(value)
                gc.collect()
                blocks = max(1, samples // BLOCK)
                for block in range(blocks):
                    order = ("ours", "echo") if block % 2 == 0 else ("echo", "ours")
                    for who in order:
                        for _ in range(BLOCK):
                            value += 1
                            if who == "ours":
                                ours.append(await _ours_round_trip(tab, value))
                            else:
                                bare.append(await echo.round_trip(value))
                errors = list(tab.errors)
                resyncs = tab.resyncs
        finally:
            await echo.client.disconnect()
    await app.shutdown(timeout=1.0)
    return {
        "ours": _summary(ours),
        "echo": _summary(bare),
        "errors": errors,
        "resyncs": resyncs,
        "events_per_second_setting": app.settings.events_per_second,
        "client_events_per_second_setting": app.settings.client_events_per_second,
    }


def main(argv: list[str]) -> None:
    samples = int(argv[0]) if argv else 1000
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    result = asyncio.run(asyncio.wait_for(measure(samples), 240))
    out.write(json.dumps(result) + "\n")
    out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
