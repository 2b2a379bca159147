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

from .directory import TabDirectory, make_directory
from .errors import EngineError, EventError, LimitExceededError, UnknownStateError
from .messages import failure_message
from .state import State
from .tickets import new_tab_id

if TYPE_CHECKING:
    from .app import App

COMMITTED = "committed before it was cancelled"  # = engine.app.COMMITTED (not imported: a cycle)

__all__ = ["NAMESPACE", "EventNamespace", "GuardedASGIApp", "SocketServer"]

NAMESPACE = "/engine"
logger = logging.getLogger("engine.socket")

_MAX_STATES = 64
_CLIENT_EVENTS = frozenset({"event", "resync"})  # all a tab may emit; see docs/site/protocol.md
_MAX_ATTACHMENTS = 8  # binary parts one Socket.IO packet may announce (binary arguments are refused anyway)
_ENGINEIO_TYPES = frozenset("0123456")  # the first character of every valid Engine.IO text frame


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, refusing malformed packets instead of logging them as crashes.

    python-socketio raises (and logs with a traceback) on a packet it cannot
    decode: bad JSON, JSON nested too deep, numbers too long, unknown packet
    types. It also buffers as many binary attachments as a packet announces.
    Here such a connection is closed with one warning, and a packet may
    announce at most a few attachments, so a hostile client costs little.
    """

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
            await self._refuse_packet(eio_sid, f"a malformed Socket.IO packet ({type(exc).__name__})")
            return
        pending = self._binary_packet.get(eio_sid)
        if pending is not None and pending.attachment_count > _MAX_ATTACHMENTS:
            await self._refuse_packet(eio_sid, f"a packet announcing {pending.attachment_count} binary parts")

    async def _refuse_packet(self, eio_sid: str, what: str) -> None:
        self._binary_packet.pop(eio_sid, None)
        logger.warning("closing a socket that sent %s", what)
        await self.eio.disconnect(eio_sid)


class GuardedASGIApp(socketio.ASGIApp):  # type: ignore[misc]
    """The Socket.IO ASGI app, closing websockets that send frames Engine.IO cannot parse.

    python-engineio lets an empty or non-numeric text frame escape as an
    exception from the ASGI app (logged as a server error); such a frame
    ends the connection here instead, as if the client had left.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)  # type: ignore[no-any-return]
        refused = False

        async def checked_receive() -> dict[str, Any]:
            nonlocal refused
            if refused:
                return {"type": "websocket.disconnect", "code": 1008}
            message: dict[str, Any] = await receive()
            text = message.get("text") if message["type"] == "websocket.receive" else None
            if text is not None and (not text or text[0] not in _ENGINEIO_TYPES):
                refused = True
                logger.warning("closing a socket that sent a malformed Engine.IO frame")
                return {"type": "websocket.disconnect", "code": 1008}
            return message

        await super().__call__(scope, checked_receive, send)


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
        self.token_to_sid: TabDirectory = make_directory(app.settings)  # tabs of every worker
        self._connections: dict[str, _Connection] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Future[None]] = set()

    # -- dispatch ----------------------------------------------------------------
    async def trigger_event(self, event: Any, *args: Any) -> Any:
        """Route a socket message: the server's own connect/disconnect, or a tab's `event`/`resync`.

        python-socketio calls `on_<name>` for any name a client emits, so a
        client could otherwise fake `connect` or `disconnect` (unbinding its
        tab while its socket stays open). Those two run only when the server
        itself raises them: a real connect passes the socket's own environ
        object, and a real disconnect comes after the socket left the
        namespace. Anything else a tab emits is refused with an error.
        """
        sid = args[0] if args else None
        if event == "connect":
            if len(args) >= 2 and args[1] is self.server.get_environ(sid, self.namespace):
                return await self.on_connect(*args)
        elif event == "disconnect":
            if sid is not None and not self.server.manager.is_connected(sid, self.namespace):
                return await self.on_disconnect(*args)
        elif event == "event":
            return await self.on_event(*args)
        elif event == "resync":
            return await self.on_resync(*args)
        connection = self._connections.get(sid) if isinstance(sid, str) else None
        if isinstance(sid, str) and connection is not None:
            await self._count_bad(sid, connection)
        shown = str(event)[:40]
        return {"ok": False, "error": f"unknown message {shown!r}; a tab may send only 'event' and 'resync'"}

    # -- connecting ------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Bind the socket to a tab; a tab that cannot be served is told why and refused."""
        try:
            await self._connect(sid, auth)
        except Exception as exc:
            message = str(exc) if isinstance(exc, EngineError) else "the server could not open this tab"
            if isinstance(exc, EngineError):
                logger.warning("refused a tab: %s", exc)
            else:
                logger.error("connecting a tab failed", exc_info=True)
            await self._unbind(sid)
            await self.emit("error", {"message": message, "event": None}, to=sid)
            raise socketio.exceptions.ConnectionRefusedError(message) from None

    async def _connect(self, sid: str, auth: Any) -> None:
        auth = auth if isinstance(auth, dict) else {}
        states = _state_names(auth.get("states"))
        client_id = auth.get("client") if isinstance(auth.get("client"), str) else None
        token = self.app.tickets.verify(auth.get("token"))
        if token is not None and token in self.token_to_sid:
            if client_id is None or self.token_to_sid.client_of(token) != client_id:
                token = None  # a live tab's ticket from another page: a duplicated tab
            elif self.token_to_sid[token] in self._connections:
                await self._unbind(self.token_to_sid[token])  # the same page, reconnecting
        if token is None:
            token = new_tab_id()
        timer = self._expiry.pop(token, None)
        if timer is not None:
            timer.cancel()
        self._connections[sid] = _Connection(token, client_id, states, self.app.settings.events_per_second)
        self.token_to_sid.bind(token, sid, client_id)
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
        if self.token_to_sid.unbind(token, sid):
            loop = asyncio.get_running_loop()
            self._expiry[token] = loop.call_later(self.app.settings.tab_grace, self._expire, token)
        await self.leave_room(sid, token)

    def _expire(self, token: str) -> None:
        """The tab stayed away for the grace period: stop its background tasks."""
        self._expiry.pop(token, None)
        if token not in self.token_to_sid:
            cancelled = self.app.tasks.cancel_tab(token)
            if cancelled:
                logger.info(
                    "tab %s gone for %.0fs: cancelled %d tasks", token[:8], self.app.settings.tab_grace, cancelled
                )

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
    async def on_event(self, sid: str, *payload: Any) -> dict[str, Any]:
        connection = self._connections.get(sid)
        if connection is None:
            return {"ok": False, "error": "this connection has no tab; reconnect"}
        try:
            self._spend(connection)
            if len(payload) != 1:
                raise EventError(f"an event is one object with 'name' and 'args', got {len(payload)} values")
            name, args = _event_fields(payload[0], self.app.settings.max_json_depth)
            spec = self.app.prepare(name, args)
        except (EventError, LimitExceededError) as exc:
            await self._count_bad(sid, connection)
            return {"ok": False, "error": str(exc)}
        try:
            await self.app.submit(connection.token, spec)
        except asyncio.CancelledError as exc:
            # The task running the handler was cancelled. python-socketio would swallow that and
            # acknowledge with nothing at all; say what happened instead.
            if exc.args and exc.args[0] == COMMITTED:
                return {"ok": True}  # cut short after its changes were stored: it ran
            return {"ok": False, "error": f"{spec.handler.qualname} was cancelled; changes it had not "
                                          "committed were dropped"}
        except Exception as exc:
            return {"ok": False, "error": failure_message(spec.handler, exc)}
        finally:
            await self._check_socket(sid, connection.token)
        return {"ok": True}

    async def on_resync(self, sid: str, *payload: Any) -> None:
        connection = self._connections.get(sid)
        if connection is None:
            return
        try:
            self._spend(connection)
        except LimitExceededError:
            await self._count_bad(sid, connection)
            return
        data = payload[0] if len(payload) == 1 else None
        if isinstance(data, dict) and "states" in data:
            connection.states = _state_names(data.get("states"))
        await self.send_full(sid, connection.token, connection.states)
        await self._check_socket(sid, connection.token)

    async def check_backlog(self, token: str) -> None:
        """Close this worker's socket of a tab that stopped reading its updates.

        A stalled browser would otherwise make the server queue updates for
        it without end. Closed, its runtime reconnects and gets one full
        update instead of the backlog.
        """
        sid = self.token_to_sid.get(token)
        if sid is not None:
            await self._check_socket(sid, token)

    async def _check_socket(self, sid: str, token: str) -> None:
        if sid not in self._connections:
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
        limit = self.app.settings.max_bad_events
        if connection.bad != limit:
            return
        logger.warning("closing socket of tab %s after %d refused events", connection.token[:8], connection.bad)
        await self.emit("error", {
            "message": f"this page sent {limit} events the server refused (setting max_bad_events); "
                       "it was disconnected",
            "event": None,
        }, to=sid)
        # Close once the refused event's acknowledgement has gone out, so the tab hears why.
        closing = asyncio.ensure_future(self._close_soon(sid))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close_soon(self, sid: str) -> None:
        await asyncio.sleep(0)
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
