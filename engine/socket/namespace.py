"""The Socket.IO side: tabs connect, are bound to a token, send events and receive updates.

Every message's shape is in engine/protocol.py. Each tab joins a room named
after its token, so any coroutine (or, with Redis, any worker) reaches the
tab with `emit(..., room=token)` wherever it is connected. This layer turns
messages into runner calls and runner outcomes into messages; it never runs
a handler itself. What it keeps is in rooms of its own: the binding of
sockets to tabs (binding.py), a tab's grace period (grace.py), refused events
(abuse.py), the limits per address (limits.py) and its share of the tab
table (shares.py), resending tabs their state (resend.py) and the bound on
what waits unsent (backlog.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NoReturn

import socketio

from .. import protocol
from ..errors import EngineError, EventError, LimitExceededError, StateStoreError
from ..runner import EventResult, Runner
from ..settings import Settings
from .abuse import BadEvents
from .binding import Bindings
from .connection import Connection
from .grace import GraceTimers
from .inspector import Inspector, shown_values
from .limits import client_address
from .outbox import OUTBOX
from .resend import Resender
from .shares import TabShares

__all__ = ["EventNamespace"]

logger = logging.getLogger("engine.socket")


class EventNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Binds sockets to tab tokens and turns socket messages into runner calls.

    `token_to_sid` maps each live tab token to its socket id; a background
    task can check `token in app.event_namespace.token_to_sid` to notice that
    its tab has gone.
    """

    def __init__(self, runner: Runner, settings: Settings, bindings: Bindings, *, relay: Any = None) -> None:
        """`bindings`: which socket serves which tab (also the publisher's); `relay`: the Socket.IO relay
        between workers, which tells the namespace when updates may have been lost (None: one process)."""
        super().__init__(protocol.NAMESPACE)
        self.runner = runner
        self.settings = settings
        self.bindings = bindings
        self.token_to_sid = bindings.directory  # tabs of every worker
        self.clients = bindings.clients
        self.shares = TabShares(runner.parts.manager, settings)  # (a no-op on a store without a table: Redis)
        self._connections = bindings.connections
        self._grace = GraceTimers(runner, bindings.directory, settings.tab_grace)
        self._bad = BadEvents(settings.max_bad_events, self._tell, self.disconnect)
        self._resender = Resender(self._connections, self.send_full)
        if relay is not None:  # updates published while the relay was away are lost: send every tab its state
            relay.on_resubscribed = self.resend_all
        bindings.directory.when_cut_off(self._cut_off)
        self._closing: set[asyncio.Task[None]] = set()

    def connected_here(self, token: str) -> bool:
        """Whether a socket of this process serves the tab."""
        return self.bindings.connected_here(token)

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
            await self._bad.count(sid, connection)
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
            await self._refuse(sid, exc)
        try:
            scope = environ.get("asgi.scope")
            outbox = scope.get(OUTBOX) if isinstance(scope, dict) else None
            await self._connect(sid, address, protocol.read_auth(auth), outbox)
        except Exception as exc:
            if sid not in self._connections:  # counted above but never bound (unbinding uncounts a bound one)
                self.clients.disconnect(address)
            await self._unbind(sid)
            await self._refuse(sid, exc)

    async def _refuse(self, sid: str, exc: Exception) -> NoReturn:
        """Tell the page why it gets no tab, and refuse its connection."""
        if isinstance(exc, EngineError):
            message = str(exc)
            logger.warning("refused a tab: %s", exc)
        else:
            message = "the server could not open this tab"
            logger.error("connecting a tab failed", exc_info=exc)
        await self._tell(sid, message)
        raise socketio.exceptions.ConnectionRefusedError(message) from None

    async def _connect(self, sid: str, address: str, auth: protocol.Auth, outbox: Any = None) -> None:
        if self.bindings.directory.cut_off:
            raise StateStoreError(
                "this server has lost its connection to the state store (Redis) and cannot open tabs; "
                "the page connects again, to another server"
            )
        token, replaces = self.bindings.claim(address, auth)
        self.shares.admit(address, token)
        if replaces is not None:
            await self._unbind(replaces)
            await self.disconnect(replaces)
        self._grace.back(token)
        self.bindings.bind(sid, address, token, auth, outbox)
        await self.enter_room(sid, token)
        await self.emit(protocol.HELLO, protocol.hello(self.bindings.ticket(token)), to=sid)
        await self.send_full(sid, token, auth.states)

    def _cut_off(self) -> None:
        """This worker is cut off from Redis (the directory says so): it can serve no tab, and the other
        workers have taken it for dead. Close every socket here, so each page reconnects (its runtime
        retries with a back-off; a load balancer sends it to a worker that reaches Redis), and the
        worker that gets it resumes the tab's resumable tasks there."""
        sids = list(self._connections)
        if sids:
            logger.warning("cut off from Redis: closing the sockets of %d tabs so that they reconnect elsewhere",
                           len(sids))
        for sid in sids:
            task = asyncio.get_running_loop().create_task(self.disconnect(sid), name="engine:cut-off")
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self._unbind(sid)

    async def _unbind(self, sid: str) -> None:
        connection, away = self.bindings.unbind(sid)
        if connection is None:
            return
        if away:
            self._grace.away(connection.token)
        await self.leave_room(sid, connection.token)

    async def send_full(self, sid: str, token: str, states: list[str]) -> None:
        """Send a tab the current values of the states it shows (under its lock, so in order)."""

        async def send(seq: int, full: dict[str, dict[str, Any]]) -> None:
            await self.emit(protocol.UPDATE, protocol.update_full(seq, full), to=sid)

        await self.runner.snapshot(token, states, send)

    async def _tell(self, sid: str, message: str) -> None:
        """Send the page an error message (shown to its visitor)."""
        await self.emit(protocol.ERROR, protocol.error(message), to=sid)

    # -- messages from the tab ---------------------------------------------------
    async def on_event(self, sid: str, *payload: Any) -> dict[str, Any]:
        connection = await self._charge(sid)
        if isinstance(connection, str):
            return protocol.ack(refused=connection)
        try:
            message = protocol.read_event(payload, self.settings.max_json_depth)
            spec = self.runner.prepare(message.name, message.args)
        except (EventError, LimitExceededError) as exc:
            await self._bad.count(sid, connection)
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
        connection = await self._charge(sid)
        if isinstance(connection, str):
            return
        data = payload[0] if len(payload) == 1 else None
        if isinstance(data, dict) and "states" in data:
            try:
                connection.states = protocol.read_states(data.get("states"))
            except LimitExceededError as exc:
                await self._tell(sid, str(exc))  # the tab keeps the states it had
                return
        await self.send_full(sid, connection.token, connection.states)

    async def on_inspect(self, sid: str, *payload: Any) -> dict[str, Any]:
        """Turn this tab's inspector on (with the states its table shows) or off."""
        connection = await self._charge(sid)
        if isinstance(connection, str):
            return protocol.ack(refused=connection)
        try:
            request = protocol.read_inspect(payload)
        except LimitExceededError as exc:
            return protocol.ack(refused=str(exc))
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

    async def _charge(self, sid: str) -> Connection | str:
        """The socket's connection, one message spent from its and its address's allowances; or why not.

        A message over an allowance is refused, and counted as a refused event.
        """
        connection = self._connections.get(sid)
        if connection is None:
            return "this connection has no tab; reconnect"
        try:
            self.clients.spend(connection.address)
        except LimitExceededError as exc:
            await self._bad.count(sid, connection)
            return str(exc)
        if not connection.allowance.take():
            await self._bad.count(sid, connection)
            return f"too many events from this tab (setting events_per_second={connection.allowance.rate:g}); slow down"
        return connection

    # -- sending tabs their state again -------------------------------------------
    def resend_all(self) -> None:
        """Send every tab of this worker a full copy of its state (after updates may have been lost)."""
        self._resender.soon(None)

    def resend(self, token: str) -> None:
        """Send one tab a full copy of its state, if its socket is on this worker."""
        self._resender.soon(token)
