"""The stack's own limit for the scale workload: a bare python-socketio server, no engine.

`python -m bench.scale.bare_server PORT STATE_NAME` serves Socket.IO on 127.0.0.1:PORT
with what the docs server uses (uvicorn, python-socketio's ASGI app,
websocket transport, namespace /engine) and speaks just enough of the
protocol (docs/site/protocol.md) for the scale clients: `hello` and a full
`update` on connect, an acknowledged `event` for the counter demo's setter
and toggle, `resync`, and then, per tab, the demo's tick: a delta with the
next `seq` and `counter`, every 0.5 s. No state is stored or locked; what
is left is the cost of the server stack pushing the same messages. It
collects garbage as the engine's App does (the young generation's threshold
raised to the engine's default `gc_young_threshold`, engine/gctune.py):
at Python's 700, thousands of tabs in flight make full collections that
would be measured here as the stack's cost.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import secrets
import sys
from typing import Any

import socketio
import uvicorn

NAMESPACE = "/engine"
TICK = 0.5  # seconds, the counter demo's sleep
GC_YOUNG_THRESHOLD = 50_000  # the engine's default gc_young_threshold


class _Tab:
    __slots__ = ("seq", "counter", "max_counter", "running", "ticker")

    def __init__(self) -> None:
        self.seq = 0
        self.counter = 0
        self.max_counter = 10
        self.running = False
        self.ticker: asyncio.Task[None] | None = None


class BareServer:
    """Per socket: a tab's few values and, once running, one ticking task."""

    def __init__(self, state_name: str) -> None:
        self.state = state_name
        self.sio = socketio.AsyncServer(
            async_mode="asgi", transports=["websocket"], cors_allowed_origins="*", always_connect=True
        )
        self.tabs: dict[str, _Tab] = {}
        for name, handler in (
            ("connect", self.on_connect), ("disconnect", self.on_disconnect),
            ("event", self.on_event), ("resync", self.on_resync),
        ):
            self.sio.on(name, handler, namespace=NAMESPACE)

    def _values(self, tab: _Tab) -> dict[str, Any]:
        return {"counter": tab.counter, "max_counter": tab.max_counter, "running": tab.running}

    async def _send(self, sid: str, tab: _Tab, changed: dict[str, Any]) -> None:
        tab.seq += 1
        await self.sio.emit("update", {"seq": tab.seq, "delta": {self.state: changed}}, to=sid, namespace=NAMESPACE)

    async def on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        self.tabs[sid] = _Tab()
        await self.sio.emit("hello", {"token": secrets.token_urlsafe(18)}, to=sid, namespace=NAMESPACE)
        await self.on_resync(sid)

    async def on_resync(self, sid: str, *payload: Any) -> None:
        tab = self.tabs.get(sid)
        if tab is not None:
            full = {"seq": tab.seq, "full": {self.state: self._values(tab)}}
            await self.sio.emit("update", full, to=sid, namespace=NAMESPACE)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        tab = self.tabs.pop(sid, None)
        if tab is not None and tab.ticker is not None:
            tab.ticker.cancel()

    async def on_event(self, sid: str, data: Any) -> dict[str, Any]:
        tab = self.tabs.get(sid)
        name = data.get("name", "") if isinstance(data, dict) else ""
        if tab is None:
            return {"ok": False, "error": "no tab"}
        if name.endswith(".set_max_counter"):
            tab.max_counter = int(data["args"][0])
            await self._send(sid, tab, {"max_counter": tab.max_counter})
        elif name.endswith(".toggle_running"):
            tab.running = not tab.running
            await self._send(sid, tab, {"running": tab.running})
            if tab.running and tab.ticker is None:
                tab.ticker = asyncio.create_task(self._tick(sid, tab))
        else:
            return {"ok": False, "error": f"unknown event {name[:80]!r}"}
        return {"ok": True}

    async def _tick(self, sid: str, tab: _Tab) -> None:
        """The demo's loop: one change and one update, then 0.5 s asleep."""
        try:
            while tab.running and tab.counter < tab.max_counter:
                tab.counter += 1
                await self._send(sid, tab, {"counter": tab.counter})
                await asyncio.sleep(TICK)
        finally:
            tab.ticker = None


def main(argv: list[str]) -> None:
    port, state_name = int(argv[0]), argv[1]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    server = BareServer(state_name)
    config = uvicorn.Config(
        socketio.ASGIApp(server.sio), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1:])
