"""The Socket.IO side: tabs connect, are bound to a token, send events and receive updates.

The protocol is written down in docs/site/protocol.md. Each tab joins a
room named after its token, so any coroutine (or, with Redis, any worker)
reaches the tab with `emit(..., room=token)` wherever it is connected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import socketio

from .errors import EventError, LimitExceededError, UnknownStateError
from .messages import failure_message
from .state import State
from .tickets import new_tab_id

if TYPE_CHECKING:
    from .app import App

__all__ = ["NAMESPACE", "EventNamespace"]

NAMESPACE = "/engine"
logger = logging.getLogger("engine.socket")

_MAX_STATES = 64


class _Connection:
    """What the server keeps per live socket."""

    __slots__ = ("token", "client_id", "states", "allowance", "checked", "bad")

    def __init__(self, token: str, client_id: str | None, states: list[str], rate: float) -> None:
        self.token = token
        self.client_id = client_id
        self.states = states
        self.allowance = rate * 2
        self.checked = time.monotonic()
        self.bad = 0


class EventNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Binds sockets to tab tokens and turns socket messages into engine calls.

    `token_to_sid` maps each live tab token to its socket id; a background
    task can check `token in app.event_namespace.token_to_sid` to notice that
    its tab has gone.
    """

    def __init__(self, app: App, namespace: str = NAMESPACE) -> None:
        super().__init__(namespace)
        self.app = app
        self.token_to_sid: dict[str, str] = {}
        self._connections: dict[str, _Connection] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}

    # -- connecting ------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        states = _state_names(auth.get("states"))
        client_id = auth.get("client") if isinstance(auth.get("client"), str) else None
        token = self.app.tickets.verify(auth.get("token"))
        if token is not None and token in self.token_to_sid:
            previous = self._connections.get(self.token_to_sid[token])
            if previous is None or client_id is None or previous.client_id != client_id:
                token = None  # a live tab's ticket from another page: a duplicated tab
            else:
                await self._unbind(self.token_to_sid[token])  # the same page, reconnecting
        if token is None:
            token = new_tab_id()
        timer = self._expiry.pop(token, None)
        if timer is not None:
            timer.cancel()
        self._connections[sid] = _Connection(token, client_id, states, self.app.settings.events_per_second)
        self.token_to_sid[token] = sid
        await self.enter_room(sid, token)
        await self.emit("hello", {"token": self.app.tickets.issue(token)}, to=sid)
        await self.send_full(sid, token, states)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self._unbind(sid)

    async def _unbind(self, sid: str) -> None:
        connection = self._connections.pop(sid, None)
        if connection is None:
            return
        token = connection.token
        if self.token_to_sid.get(token) == sid:
            del self.token_to_sid[token]
            loop = asyncio.get_running_loop()
            self._expiry[token] = loop.call_later(self.app.settings.tab_grace, self._expire, token)
        await self.leave_room(sid, token)

    def _expire(self, token: str) -> None:
        """The tab stayed away for the grace period: stop its background tasks."""
        self._expiry.pop(token, None)
        if token not in self.token_to_sid:
            cancelled = self.app.tasks.cancel_tab(token)
            if cancelled:
                logger.info("tab %s gone for %.0fs: cancelled %d tasks", token[:8], self.app.settings.tab_grace, cancelled)

    async def send_full(self, sid: str, token: str, states: list[str]) -> None:
        """Send a tab the current values of the states it shows (under its lock, so in order)."""
        async with self.app.state_manager.modify(token) as tx:
            full = {}
            for name in states:
                try:
                    state_cls = State.find_class(name)
                except UnknownStateError:
                    continue
                full[name] = tx.root.get_substate(state_cls.get_full_name().split(".")).public_values()
            await self.emit("update", {"seq": tx.seq, "full": full}, to=sid)

    # -- messages from the tab ---------------------------------------------------
    async def on_event(self, sid: str, data: Any) -> dict[str, Any]:
        connection = self._connections.get(sid)
        if connection is None:
            return {"ok": False, "error": "this connection has no tab; reconnect"}
        try:
            self._spend(connection)
            name, args = _event_fields(data, self.app.settings.max_json_depth)
            spec = self.app.prepare(name, args)
        except (EventError, LimitExceededError) as exc:
            await self._count_bad(sid, connection)
            return {"ok": False, "error": str(exc)}
        try:
            await self.app.submit(connection.token, spec)
        except Exception as exc:
            return {"ok": False, "error": failure_message(spec.handler, exc)}
        return {"ok": True}

    async def on_resync(self, sid: str, data: Any) -> None:
        connection = self._connections.get(sid)
        if connection is None:
            return
        if isinstance(data, dict) and "states" in data:
            connection.states = _state_names(data.get("states"))
        await self.send_full(sid, connection.token, connection.states)

    async def check_backlog(self, token: str) -> None:
        """Close this worker's socket of a tab that stopped reading its updates.

        A stalled browser would otherwise make the server queue updates for
        it without end. Closed, its runtime reconnects and gets one full
        update instead of the backlog.
        """
        sid = self.token_to_sid.get(token)
        if sid is None or sid not in self._connections:
            return
        eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        eio_socket = self.server.eio.sockets.get(eio_sid) if eio_sid else None
        if eio_socket is None:
            return
        limit = self.app.settings.max_queued_updates
        if eio_socket.queue.qsize() > limit:
            logger.warning(
                "tab %s has more than %d unsent updates (setting max_queued_updates); "
                "closing its socket so it resyncs",
                token[:8], limit,
            )
            await eio_socket.close(wait=False, abort=True)

    def _spend(self, connection: _Connection) -> None:
        rate = self.app.settings.events_per_second
        now = time.monotonic()
        connection.allowance = min(rate * 2, connection.allowance + (now - connection.checked) * rate)
        connection.checked = now
        if connection.allowance < 1:
            raise LimitExceededError(
                f"too many events from this tab (setting events_per_second={rate:g}); slow down"
            )
        connection.allowance -= 1

    async def _count_bad(self, sid: str, connection: _Connection) -> None:
        connection.bad += 1
        if connection.bad >= self.app.settings.max_bad_events:
            logger.warning("closing socket of tab %s after %d refused events", connection.token[:8], connection.bad)
            await self.disconnect(sid)


def _state_names(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [name for name in value[:_MAX_STATES] if isinstance(name, str) and len(name) <= 200]


def _event_fields(data: Any, max_depth: int) -> tuple[str, list[Any]]:
    if not isinstance(data, dict):
        raise EventError(f"an event must be an object with 'name' and 'args', got {type(data).__name__}")
    name, args = data.get("name"), data.get("args", [])
    if not isinstance(name, str):
        raise EventError("an event needs a 'name' string")
    if not isinstance(args, list):
        raise EventError(f"{name[:80]}: 'args' must be a list")
    _check_json(args, max_depth)
    return name, args


def _check_json(value: Any, limit: int) -> None:
    """Refuse anything but plain JSON (no binary attachments) nested at most `limit` deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise EventError(f"event arguments are nested deeper than {limit} levels (setting max_json_depth)")
        if isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise EventError("event arguments must be plain JSON: object keys must be strings")
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, float) and item != item:
            raise EventError("event arguments must be plain JSON: NaN is not allowed")
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            raise EventError(f"event arguments must be plain JSON, got {type(item).__name__}")
