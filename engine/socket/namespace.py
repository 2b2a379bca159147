"""The Socket.IO side: tabs connect, are bound to a token, send events and receive updates.

Every message's shape is in engine/protocol.py. Each tab joins a room named
after its token, so any coroutine (or, with Redis, any worker) reaches the
tab with `emit(..., room=token)` wherever it is connected. This layer turns
messages into runner calls and runner outcomes into messages; it never runs
a handler itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from .. import protocol
from ..directory import TabDirectory
from ..errors import EngineError, EventError, LimitExceededError
from ..runner import EventResult, Runner
from ..settings import Settings
from .bucket import TokenBucket
from .inspector import Inspector, shown_values
from .limits import ClientLimits, client_address
from .tickets import TicketSigner, new_tab_id

__all__ = ["EventNamespace"]

logger = logging.getLogger("engine.socket")


class _Connection:
    """What the server keeps per live socket."""

    __slots__ = ("address", "allowance", "bad", "client_id", "inspector", "states", "token")

    def __init__(self, address: str, token: str, client_id: str | None, states: list[str], rate: float) -> None:
        self.address = address
        self.token = token
        self.client_id = client_id
        self.states = states
        self.allowance = TokenBucket(rate)
        self.bad = 0
        self.inspector: Inspector | None = None


class EventNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Binds sockets to tab tokens and turns socket messages into runner calls.

    `token_to_sid` maps each live tab token to its socket id; a background
    task can check `token in app.event_namespace.token_to_sid` to notice that
    its tab has gone.
    """

    def __init__(
        self, runner: Runner, tickets: TicketSigner, settings: Settings, directory: TabDirectory
    ) -> None:
        super().__init__(protocol.NAMESPACE)
        self.runner = runner
        self.tickets = tickets
        self.settings = settings
        self.token_to_sid = directory  # tabs of every worker
        self._connections: dict[str, _Connection] = {}
        self.clients = ClientLimits(settings)
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Future[None]] = set()

    def connected_here(self, token: str) -> bool:
        """Whether a socket of this process serves the tab."""
        binding = self.token_to_sid.entries.get(token)  # (a dict lookup, not a call: every commit asks)
        return binding is not None and binding.sid in self._connections

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
        elif event == protocol.EVENT:
            return await self.on_event(*args)
        elif event == protocol.RESYNC:
            return await self.on_resync(*args)
        elif event == protocol.INSPECT:
            return await self.on_inspect(*args)
        connection = self._connections.get(sid) if isinstance(sid, str) else None
        if isinstance(sid, str) and connection is not None:
            await self._count_bad(sid, connection)
        shown = str(event)[:40]
        return protocol.ack(
            refused=f"unknown message {shown!r}; a tab may send only 'event', 'resync' and 'inspect'"
        )

    # -- connecting ------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Bind the socket to a tab; a tab that cannot be served is told why and refused."""
        address = client_address(environ, self.settings.trusted_proxies)
        try:
            self.clients.connect(address)
        except LimitExceededError as exc:
            logger.warning("refused a tab: %s", exc)
            await self.emit(protocol.ERROR, protocol.error(str(exc)), to=sid)
            raise socketio.exceptions.ConnectionRefusedError(str(exc)) from None
        try:
            await self._connect(sid, address, protocol.read_auth(auth))
        except Exception as exc:
            if sid not in self._connections:  # counted above but never bound (_unbind uncounts a bound one)
                self.clients.disconnect(address)
            message = str(exc) if isinstance(exc, EngineError) else "the server could not open this tab"
            if isinstance(exc, EngineError):
                logger.warning("refused a tab: %s", exc)
            else:
                logger.error("connecting a tab failed", exc_info=True)
            await self._unbind(sid)
            await self.emit(protocol.ERROR, protocol.error(message), to=sid)
            raise socketio.exceptions.ConnectionRefusedError(message) from None

    async def _connect(self, sid: str, address: str, auth: protocol.Auth) -> None:
        token = self.tickets.verify(auth.ticket)
        if token is not None and token in self.token_to_sid:
            if auth.client is None or self.token_to_sid.client_of(token) != auth.client:
                token = None  # a live tab's ticket from another page: a duplicated tab
            elif self.token_to_sid[token] in self._connections:
                # The same page, reconnecting before the server noticed its old socket go: close that one.
                old = self.token_to_sid[token]
                await self._unbind(old)
                await self.disconnect(old)
        if token is None:
            self.clients.new_tab(address)
            token = new_tab_id()
        timer = self._expiry.pop(token, None)
        if timer is not None:
            timer.cancel()
        self._connections[sid] = _Connection(address, token, auth.client, auth.states, self.settings.events_per_second)
        self.token_to_sid.bind(token, sid, auth.client)
        await self.enter_room(sid, token)
        await self.emit(protocol.HELLO, protocol.hello(self.tickets.issue(token)), to=sid)
        await self.send_full(sid, token, auth.states)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self._unbind(sid)

    async def _unbind(self, sid: str) -> None:
        connection = self._connections.pop(sid, None)
        if connection is None:
            return
        self.clients.disconnect(connection.address)
        if connection.inspector is not None:
            connection.inspector.close()
        token = connection.token
        if self.token_to_sid.unbind(token, sid):
            loop = asyncio.get_running_loop()
            self._expiry[token] = loop.call_later(self.settings.tab_grace, self._expire, token)
        await self.leave_room(sid, token)

    def _expire(self, token: str) -> None:
        """The tab stayed away for the grace period: stop the background tasks that end with it."""
        self._expiry.pop(token, None)
        if token not in self.token_to_sid:
            cancelled = self.runner.tab_gone(token)
            if cancelled:
                logger.info("tab %s gone for %.0fs: cancelled %d tasks", token[:8], self.settings.tab_grace, cancelled)

    async def send_full(self, sid: str, token: str, states: list[str]) -> None:
        """Send a tab the current values of the states it shows (under its lock, so in order)."""

        async def send(seq: int, full: dict[str, dict[str, Any]]) -> None:
            await self.emit(protocol.UPDATE, protocol.update_full(seq, full), to=sid)

        await self.runner.snapshot(token, states, send)

    # -- messages from the tab ---------------------------------------------------
    async def on_event(self, sid: str, *payload: Any) -> dict[str, Any]:
        connection = self._connections.get(sid)
        if connection is None:
            return protocol.ack(refused="this connection has no tab; reconnect")
        try:
            self._spend(connection)
            message = protocol.read_event(payload, self.settings.max_json_depth)
            spec = self.runner.prepare(message.name, message.args)
        except (EventError, LimitExceededError) as exc:
            await self._count_bad(sid, connection)
            return protocol.ack(refused=str(exc))
        result = EventResult(spec.handler, message.id)
        try:
            await self.runner.submit(connection.token, spec, result)
        except asyncio.CancelledError:
            # The task running the handler was cancelled. python-socketio would swallow that and
            # acknowledge with nothing at all; say what happened instead (`result` knows).
            pass
        return protocol.ack(result)

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
            connection.states = protocol.read_states(data.get("states"))
        await self.send_full(sid, connection.token, connection.states)

    async def on_inspect(self, sid: str, *payload: Any) -> dict[str, Any]:
        """Turn this tab's inspector on (with the states its table shows) or off."""
        connection = self._connections.get(sid)
        if connection is None:
            return protocol.ack(refused="this connection has no tab; reconnect")
        try:
            self._spend(connection)
        except LimitExceededError as exc:
            await self._count_bad(sid, connection)
            return protocol.ack(refused=str(exc))
        request = protocol.read_inspect(payload)
        if connection.inspector is not None:
            connection.inspector.close()
            connection.inspector = None
        if request.on:

            async def send(message: dict[str, Any]) -> None:
                await self.emit(protocol.TRACE, message, to=sid)

            # The first table is read before subscribing, so the inspector's own read is not on its timeline.
            first = await self.runner.read(connection.token, lambda root: shown_values(root, request.states))
            if connection.inspector is None and sid in self._connections:
                inspector = connection.inspector = Inspector(
                    self.runner.parts.observers, connection.token, request.states, send
                )
                inspector.show(first)
        return protocol.ack(ok=True)

    def resend_all(self) -> None:
        """Send every tab of this worker a full copy of its state (after updates may have been lost)."""
        task = asyncio.ensure_future(self._resend_all())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def resend(self, token: str) -> None:
        """Send one tab a full copy of its state, if its socket is on this worker."""
        task = asyncio.ensure_future(self._resend_all(token))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _resend_all(self, token: str | None = None) -> None:
        for sid, connection in list(self._connections.items()):
            if token is not None and connection.token != token:
                continue
            try:
                await self.send_full(sid, connection.token, connection.states)
            except Exception:  # that tab asks again on its next gap; the others still get theirs
                logger.warning("could not resend tab %s its state", connection.token[:8], exc_info=True)

    def _spend(self, connection: _Connection) -> None:
        """One event from the connection's allowance and from its address's, or LimitExceededError."""
        self.clients.spend(connection.address)
        if not connection.allowance.take():
            rate = connection.allowance.rate
            raise LimitExceededError(f"too many events from this tab (setting events_per_second={rate:g}); slow down")

    async def _count_bad(self, sid: str, connection: _Connection) -> None:
        connection.bad += 1
        limit = self.settings.max_bad_events
        if connection.bad != limit:
            return
        logger.warning("closing socket of tab %s after %d refused events", connection.token[:8], connection.bad)
        message = f"this page sent {limit} events the server refused (setting max_bad_events); it was disconnected"
        await self.emit(protocol.ERROR, protocol.error(message), to=sid)
        # Close once the refused event's acknowledgement has gone out, so the tab hears why.
        closing = asyncio.ensure_future(self._close_soon(sid))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close_soon(self, sid: str) -> None:
        await asyncio.sleep(0)
        await self.disconnect(sid)
