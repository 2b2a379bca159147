"""The engine's second transport: one page's tab over a message port, for the engine run in a browser.

The socket layer (engine/socket/) serves many tabs over Socket.IO. When the
docs site runs a reader's edited demo in a Web Worker (Pyodide), the page
talks to the engine through a `MessagePort` instead: same messages, same
shapes (engine/protocol.py), no network. This module is that transport's
engine side. It turns what the page posts (`event`, `resync`, `inspect`)
into runner calls and runner outcomes into what the page is sent
(`update`, `error`, `trace`, acknowledgements), exactly as the socket layer
does, without Socket.IO: there is one page, the reader's own, so there are
no tickets, rooms, limits per address or backpressure to keep.

`send(name, data)` is how a message leaves (in the worker: `postMessage` of
JSON text); `PortTab.receive` is how one comes in.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from . import protocol
from .delta import Delta
from .directory import TabDirectory
from .errors import EventError, LimitExceededError
from .inspector import Inspector, shown_values
from .runner import EventResult, Runner

__all__ = ["PORT_SID", "PortPublisher", "PortTab", "Send"]

Send = Callable[[str, dict[str, Any]], None]
PORT_SID = "port"  # the one "socket" a port's tab has, as `token_to_sid` shows it


class PortPublisher:
    """The runner's publisher for tabs on ports: each tab's messages go to its page's `send`."""

    def __init__(self) -> None:
        self._sends: dict[str, Send] = {}

    def attach(self, token: str, send: Send) -> None:
        self._sends[token] = send

    def detach(self, token: str) -> None:
        self._sends.pop(token, None)

    def update(self, token: str, seq: int, delta: Delta) -> Awaitable[None] | None:
        send = self._sends.get(token)
        if send is None:
            return None  # nobody to tell: the commit awaits nothing
        return _now(send, protocol.UPDATE, protocol.update_delta(seq, delta))

    def background_update(self, token: str, seq: int, delta: Delta) -> Awaitable[None] | None:
        """A port has no socket buffer to fall behind on: a background change goes out as any other."""
        return self.update(token, seq, delta)

    def replace(self, token: str, seq: int, full: Delta) -> Awaitable[None]:
        return self._post(token, protocol.UPDATE, protocol.update_full(seq, full))

    def error(self, token: str, message: str, event: str | None = None) -> Awaitable[None]:
        return self._post(token, protocol.ERROR, protocol.error(message, event))

    async def _post(self, token: str, name: str, data: dict[str, Any]) -> None:
        send = self._sends.get(token)
        if send is not None:
            send(name, data)


async def _now(send: Send, name: str, data: dict[str, Any]) -> None:
    send(name, data)


class PortTab:
    """One page's tab: what the socket layer's namespace does for a socket, for the page on a port."""

    def __init__(self, runner: Runner, publisher: PortPublisher, directory: TabDirectory, send: Send) -> None:
        self.runner = runner
        self.token = secrets.token_urlsafe(16)  # (never leaves the worker: the page needs no ticket)
        self.states: list[str] = []
        self._publisher = publisher
        self._directory = directory
        self._send = send
        self._inspector: Inspector | None = None

    async def connect(self, auth: object) -> None:
        """The page connected with its `auth`: the tab exists, and is sent the values it shows."""
        self.states = protocol.read_auth(auth).states
        self._publisher.attach(self.token, self._send)
        self._directory.bind(self.token, PORT_SID, None)
        await self._send_full()

    def close(self) -> None:
        """The page went away (Reset, another Run): its tab is gone, as a closed socket's would be."""
        if self._inspector is not None:
            self._inspector.close()
            self._inspector = None
        self._directory.unbind(self.token, PORT_SID)
        self._publisher.detach(self.token)

    async def receive(self, name: str, payload: Any) -> dict[str, Any] | None:
        """A message from the page; returns its acknowledgement (None for `resync`, which has none)."""
        if name == protocol.EVENT:
            return await self._event(payload)
        if name == protocol.RESYNC:
            if isinstance(payload, dict) and "states" in payload:
                try:
                    self.states = protocol.read_states(payload.get("states"))
                except LimitExceededError as exc:
                    self._send(protocol.ERROR, protocol.error(str(exc)))  # the tab keeps the states it had
                    return None
            await self._send_full()
            return None
        if name == protocol.INSPECT:
            return await self._inspect(payload)
        shown = str(name)[:40]
        return protocol.ack(refused=f"unknown message {shown!r}; a tab may send only 'event', 'resync' and 'inspect'")

    async def _send_full(self) -> None:
        async def send(seq: int, full: dict[str, dict[str, Any]]) -> None:
            self._send(protocol.UPDATE, protocol.update_full(seq, full))

        await self.runner.snapshot(self.token, self.states, send)

    async def _event(self, payload: Any) -> dict[str, Any]:
        try:
            message = protocol.read_event((payload,), self.runner.parts.settings.max_json_depth)
            spec = self.runner.prepare(message.name, message.args)
        except (EventError, LimitExceededError) as exc:
            return protocol.ack(refused=str(exc))
        result = EventResult(spec.handler, message.id)
        try:
            await self.runner.submit(self.token, spec, result)
        except asyncio.CancelledError:
            pass  # the handler's task was cancelled: `result` says so
        return protocol.ack(result)

    async def _inspect(self, payload: Any) -> dict[str, Any]:
        try:
            request = protocol.read_inspect((payload,))
        except LimitExceededError as exc:
            return protocol.ack(refused=str(exc))
        if self._inspector is not None:
            self._inspector.close()
            self._inspector = None
        if request.on:

            async def send(message: dict[str, Any]) -> None:
                self._send(protocol.TRACE, message)

            first = await self.runner.read(self.token, lambda root: shown_values(root, request.states))
            if self._inspector is None:
                self._inspector = Inspector(self.runner.parts.observers, self.token, request.states, send)
                self._inspector.show(first)
        return protocol.ack(ok=True)
