"""One browser tab driven from a test: its socket, its lifecycle and the events it sends.

It speaks the protocol as the browser runtime does (see the protocol page):
it applies the updates it receives in `seq` order into the mirror its
reading half keeps (`view.py`) and asks for a full copy on a gap.

Its connection is a real socket to a loopback server, or, where there are no
sockets (Pyodide) or `transport="in-process"` says so, the App's ASGI app
called in this process (inprocess.py): the same server side either way.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import sys
from collections.abc import Callable
from typing import Any

import socketio

from .. import protocol
from ..app import App
from ..handler import EventHandler, EventSpec
from ..protocol import NAMESPACE, Applied
from ..state import State
from ..testserver import SERVERS, SharedServer
from .inprocess import InProcessClient
from .refusal import Refusal, TabRefusedError
from .view import TabView

__all__ = ["TRANSPORTS", "TabClient"]


_ids = itertools.count(1)
TRANSPORTS = ("socket", "in-process")
TRANSPORT_ENV = "ENGINE_TAB_TRANSPORT"  # the default transport of every TabClient of the run


def _default_transport() -> str:
    """A real socket, unless the environment says otherwise or this Python has no sockets (Pyodide)."""
    return os.environ.get(TRANSPORT_ENV) or ("in-process" if sys.platform == "emscripten" else "socket")


class TabClient(TabView):
    """One browser tab, driven from a test.

    Args:
        app: the App to talk to; a loopback server is started for it unless `url` is given.
        url: the base URL of a server that is already running.
        states: state classes (or full names) the tab shows; by default every state.
        ticket: a ticket from an earlier tab (`tab.ticket`), to come back as that tab.
        headers: extra HTTP headers of the connection (`X-Forwarded-For` behind a trusted proxy...).
        local_address: the local IP address the tab's socket connects from (`"127.0.0.2"`: any of
            127.0.0.0/8 is this machine), so that tests can be many visitors on one machine.
        transport: `"socket"` (a loopback server and a Socket.IO client) or `"in-process"` (the
            App's ASGI app called directly, for a Python without sockets); by default the
            `ENGINE_TAB_TRANSPORT` environment variable, else in-process on Pyodide only.

    Entering (or `connect()`) raises `TabRefusedError` (a `ConnectionRefusedError`) with
    the server's reason when the server refuses the tab (a limit, an unknown host...).
    """

    def __init__(
        self,
        app: App | None = None,
        *,
        url: str | None = None,
        states: list[type[State] | str] | None = None,
        ticket: str | None = None,
        headers: dict[str, str] | None = None,
        local_address: str | None = None,
        transport: str | None = None,
    ) -> None:
        if app is None and url is None:
            raise TypeError("TabClient needs an App or the url of a running server")
        self.transport = transport or _default_transport()
        if self.transport not in TRANSPORTS:
            raise ValueError(f"TabClient transport must be one of {TRANSPORTS}, got {self.transport!r}")
        if self.transport == "in-process" and app is None:
            raise TypeError("an in-process TabClient needs the App itself (TabClient(app)), not a url: "
                            "nothing listens on a socket here")
        self.app = app
        self.url = url
        self.ticket = ticket
        self.headers = dict(headers or {})
        self.local_address = local_address
        self.token: str = ""
        self.errors: list[str] = []
        self.traces: list[dict[str, Any]] = []  # `trace` messages, while the inspector is on
        self.seq = -1
        self.resyncs = 0
        self.update_count = 0  # `update` messages received (a merged one counts once)
        self.merged_count = 0  # of those, updates that stood for several commits (with `from`)
        self._states = [s if isinstance(s, str) else s.get_full_name() for s in states] if states else None
        self._client_id = secrets.token_urlsafe(9)
        self._values: dict[str, dict[str, Any]] = {}
        self._waiters: set[asyncio.Future[None]] = set()
        self._sio: socketio.AsyncClient | InProcessClient | None = None
        self._greeted = False  # the server sent this connection its hello: the tab was not refused
        self.lost: str | None = None  # why the server's side of the connection went away, until connect()
        self._answers: set[asyncio.Future[Any]] = set()  # acknowledgements still awaited
        self._shared: SharedServer | None = None

    # -- lifecycle -------------------------------------------------------------
    async def __aenter__(self) -> TabClient:
        if self.url is None and self.transport == "socket":
            assert self.app is not None
            self._shared = SERVERS.setdefault(id(self.app), SharedServer(self.app))
            self.url = await self._shared.acquire()
        try:
            await self.connect()
        except BaseException:
            await self._release_server()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.disconnect()
        await self._release_server()

    async def _release_server(self) -> None:
        if self._shared is not None:
            shared, self._shared = self._shared, None
            await shared.release()

    @property
    def state_names(self) -> list[str]:
        if self._states is None:
            return [cls.get_full_name() for cls in State.class_tree() if cls is not State]
        return list(self._states)

    async def connect(self) -> None:
        """Open the socket (again) with this tab's ticket and wait for the full state.

        Raises `TabRefusedError` with the server's reason if it refuses the tab.
        """
        if self.transport == "in-process":
            assert self.app is not None
            sio: socketio.AsyncClient | InProcessClient = InProcessClient(
                self.app.asgi(), local_address=self.local_address)
        elif not self.url:
            raise RuntimeError("this TabClient has no server yet: enter it (`async with`) or give it url=...")
        else:
            sio = self._socket_client()
        sio.on(protocol.HELLO, self._on_hello, namespace=NAMESPACE)
        sio.on(protocol.UPDATE, self._on_update, namespace=NAMESPACE)
        sio.on(protocol.ERROR, self._on_error, namespace=NAMESPACE)
        sio.on(protocol.TRACE, self._on_trace, namespace=NAMESPACE)
        refusal = Refusal(self, greeted=lambda: self._greeted)
        lost = self._on_lost(sio)

        async def disconnected(*reason: Any) -> None:
            refusal.disconnected(*reason)
            self._wake()
            await lost(*reason)

        sio.on("connect_error", refusal.connect_error, namespace=NAMESPACE)
        sio.on("disconnect", disconnected, namespace=NAMESPACE)
        self._sio = sio
        self.seq = -1
        self._greeted = False
        self.lost = None
        auth = {"token": self.ticket, "states": self.state_names, "client": self._client_id}
        try:
            await sio.connect(
                self.url, namespaces=[NAMESPACE], transports=["websocket"], auth=auth, wait_timeout=10,
                headers=self.headers,
            )
        except socketio.exceptions.ConnectionError as exc:
            self._sio = None
            raise TabRefusedError(refusal.reason(exc)) from None
        await self.wait_for(lambda tab: tab.seq >= 0 or refusal.refused, timeout=10)
        if self.seq < 0:
            self._sio = None
            await sio.disconnect()
            raise TabRefusedError(refusal.reason(None))

    def _socket_client(self) -> socketio.AsyncClient:
        import aiohttp  # (only the socket transport needs it: Pyodide has none)

        # The server puts no cap on what it sends (an update is as big as what changed), so neither does
        # the tab: aiohttp's own 4 MiB cap would drop the connection on a big update, with no word why.
        options: dict[str, Any] = {"websocket_extra_options": {"max_msg_size": 0}}
        if self.local_address is not None:
            local = (self.local_address, 0)
            # A factory: engineio makes the session when it connects and closes it when the socket ends.
            options["http_session"] = lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=local))
        return socketio.AsyncClient(reconnection=False, **options)

    async def disconnect(self) -> None:
        """Close the socket, as closing the browser tab would."""
        if self._sio is not None:
            sio, self._sio = self._sio, None
            await sio.disconnect()

    async def reconnect(self) -> None:
        """Drop the connection and come back as the same tab (like a network blip or a reload)."""
        await self.disconnect()
        await self.connect()

    # -- talking to the server -----------------------------------------------------
    async def send(self, event: EventHandler | EventSpec, *args: Any, timeout: float = 30) -> dict[str, Any]:
        """Send an event as a click would; returns the server's acknowledgement.

        A refused or failed event is also recorded in `errors`.
        """
        if isinstance(event, EventSpec):
            name, args = event.handler.full_name, tuple(event.args) + args
        elif isinstance(event, EventHandler):
            name = event.full_name
        else:
            raise TypeError(f"send() takes a handler reference such as MyState.handler, got {event!r}")
        return await self.send_raw({"id": f"t{next(_ids)}", "name": name, "args": list(args)}, timeout=timeout)

    async def send_raw(self, payload: Any, *, timeout: float = 30) -> dict[str, Any]:
        """Send any payload as an `event` message (for tests of hostile input)."""
        if self._sio is None:
            raise RuntimeError("this tab is not connected")
        self._check_connection("before sending an event")
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def answered(*data: Any) -> None:
            if not answer.done():
                answer.set_result(data[0] if len(data) == 1 else list(data))

        self._answers.add(answer)  # (a lost connection fails it at once: see _on_lost)
        try:
            await self._sio.emit(protocol.EVENT, payload, namespace=NAMESPACE, callback=answered)
            ack = await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise TimeoutError(f"the server did not answer within {timeout}s") from None
        finally:
            self._answers.discard(answer)
        if not isinstance(ack, dict):
            raise RuntimeError(f"server answered an event with {ack!r}")
        if not ack.get("ok"):
            self.errors.append(str(ack.get("error")))
            self._wake()
        return ack

    async def inspect(self, on: bool = True, states: list[type[State] | str] | None = None) -> dict[str, Any]:
        """Turn the inspector on (for `states`, by default the tab's) or off; traces arrive in `traces`."""
        if self._sio is None:
            raise RuntimeError("this tab is not connected")
        names = [s if isinstance(s, str) else s.get_full_name() for s in states] if states else self.state_names
        ack = await self._sio.call(protocol.INSPECT, {"on": on, "states": names}, namespace=NAMESPACE, timeout=10)
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise RuntimeError(f"the server refused the inspector: {ack!r}")
        return ack

    def _on_lost(self, sio: socketio.AsyncClient | InProcessClient) -> Callable[..., Any]:
        async def lost(reason: Any = None) -> None:
            if sio is not self._sio:  # this tab closed it itself (disconnect, reconnect)
                return
            self.lost = f"{reason or 'the connection dropped'}; call reconnect() to open it again"
            self.errors.append(f"lost the connection to the server ({self.lost})")
            for answer in self._answers:  # events sent on it will never be answered
                if not answer.done():
                    answer.set_exception(ConnectionError(
                        f"the server's side of this tab's connection went away before it answered: {self.lost}"
                    ))
            self._wake()

        return lost

    # -- messages from the server ---------------------------------------------------
    async def _on_hello(self, data: dict[str, Any]) -> None:
        self._greeted = True
        self.ticket = data["token"]
        self.token = self.ticket.split(".")[0]

    async def _on_update(self, data: dict[str, Any]) -> None:
        self.update_count += 1
        if "from" in data:
            self.merged_count += 1
        applied, self.seq = protocol.apply_update(self._values, self.seq, data)
        if applied is Applied.GAP:
            self.resyncs += 1
            if self._sio is not None:
                await self._sio.emit(protocol.RESYNC, {"states": self.state_names}, namespace=NAMESPACE)
        elif applied is Applied.APPLIED:
            self._wake()

    async def _on_trace(self, data: dict[str, Any]) -> None:
        self.traces.append(data)
        self._wake()

    async def _on_error(self, data: dict[str, Any]) -> None:
        self.errors.append(str(data.get("message")))
        self._wake()
