"""A tab's Socket.IO connection inside the test's own process: the App's ASGI app called directly, no socket.

Where a test cannot open sockets (Pyodide, CPython in WebAssembly, has no
aiohttp, uvicorn or network), a `TabClient` still talks to the whole server
side, Socket.IO layer included: this client calls the App's ASGI app with a
websocket scope and speaks Engine.IO 4 and Socket.IO 5 to it, each frame a
message on a queue. It has the part of `socketio.AsyncClient` a TabClient
uses (`on`, `connect`, `emit`, `call`, `disconnect`), calls its handlers the
same way and raises the same errors. The server's frames are read in order
by one task, as a socket's would be, so the server never waits on the test.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections.abc import Callable
from typing import Any

from engineio import packet as eio
from socketio import exceptions
from socketio import packet as sio

__all__ = ["InProcessClient"]

logger = logging.getLogger("engine.testing")
_ports = itertools.count(40000)  # each connection's client port, as the scope shows it (nothing is bound)
_CLOSED = None  # what the frame queue holds once the server's side of the websocket has ended


class InProcessClient:
    """One Socket.IO client on one namespace, connected to `asgi_app` in this event loop."""

    def __init__(self, asgi_app: Any, *, local_address: str | None = None) -> None:
        self._asgi = asgi_app
        self._client = (local_address or "127.0.0.1", next(_ports))
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._namespace = "/"
        self._to_server: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_server: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._acks: dict[int, Callable[..., Any]] = {}
        self._ids = itertools.count(1)
        self._joined: asyncio.Future[bool] | None = None
        self._server: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._open = False  # the websocket is up (until either side closes it)
        self.connected = False  # the namespace was joined and connect() returned

    def on(self, event: str, handler: Callable[..., Any], namespace: str | None = None) -> None:
        self._namespace = namespace or "/"
        self._handlers[event] = handler

    async def connect(
        self, url: str | None = None, *, headers: dict[str, str] | None = None, auth: Any = None,
        transports: Any = None, namespaces: list[str] | None = None, wait_timeout: float = 1, **_: Any,
    ) -> None:
        """Open the websocket, join the namespace with `auth`; raise `ConnectionError` if the server refuses."""
        if namespaces:
            self._namespace = namespaces[0]
        loop = asyncio.get_running_loop()
        self._joined = loop.create_future()
        self._open = True
        self._server = asyncio.create_task(self._asgi(self._scope(headers or {}), self._to_server.get, self._send),
                                           name="engine:in-process-server")
        self._server.add_done_callback(self._server_ended)
        self._reader = asyncio.create_task(self._read(), name="engine:in-process-reader")
        self._to_server.put_nowait({"type": "websocket.connect"})
        self._frame(eio.MESSAGE, sio.Packet(sio.CONNECT, data=auth, namespace=self._namespace).encode())
        try:
            joined = await asyncio.wait_for(asyncio.shield(self._joined), wait_timeout)
        except TimeoutError:
            joined = False
        if not joined:
            await self.disconnect()
            raise exceptions.ConnectionError(f"One or more namespaces failed to connect: {self._namespace}")
        self.connected = True

    async def emit(self, event: str, data: Any = None, namespace: str | None = None,
                   callback: Callable[..., Any] | None = None) -> None:
        """Send an event (a tuple is several arguments, as python-socketio reads it); `callback` gets the ack."""
        if not self._open:
            raise exceptions.BadNamespaceError(f"{self._namespace} is not a connected namespace.")
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        ack_id = None
        if callback is not None:
            ack_id = next(self._ids)
            self._acks[ack_id] = callback
        self._frame(eio.MESSAGE, sio.Packet(sio.EVENT, data=[event, *args], namespace=self._namespace,
                                            id=ack_id).encode())

    async def call(self, event: str, data: Any = None, namespace: str | None = None, timeout: float = 60) -> Any:
        """Send an event and return its acknowledgement (one value, a list of several, or None)."""
        answer: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

        def answered(*args: Any) -> None:
            if not answer.done():
                answer.set_result(args)

        await self.emit(event, data, callback=answered)
        try:
            args = await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise exceptions.TimeoutError() from None
        return args[0] if len(args) == 1 else list(args) if args else None

    async def disconnect(self) -> None:
        """Leave the namespace and close the websocket, then wait for the server's side to end."""
        if self._open:
            self._frame(eio.MESSAGE, sio.Packet(sio.DISCONNECT, namespace=self._namespace).encode())
            self._frame(eio.CLOSE)
            self._to_server.put_nowait({"type": "websocket.disconnect", "code": 1000})
            await self._lost("client disconnect")
        for task in (self._server, self._reader):
            if task is not None and task is not asyncio.current_task():
                await asyncio.wait([task], timeout=10)

    # -- the websocket's two directions ----------------------------------------------------------
    def _scope(self, headers: dict[str, str]) -> dict[str, Any]:
        sent = [(b"host", b"127.0.0.1"), (b"connection", b"Upgrade"), (b"upgrade", b"websocket")]
        sent += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        return {
            "type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
            "path": "/socket.io/", "raw_path": b"/socket.io/", "root_path": "",
            "query_string": b"EIO=4&transport=websocket", "headers": sent, "subprotocols": [],
            "client": self._client, "server": ("127.0.0.1", 80), "state": {},
        }

    def _frame(self, kind: int, data: Any = None) -> None:
        """One Engine.IO packet to the server (a Socket.IO packet with binary parts is several frames)."""
        parts = data if isinstance(data, list) else [data]
        self._to_server.put_nowait({"type": "websocket.receive", "text": f"{kind}{parts[0] or ''}"})
        for attachment in parts[1:]:
            self._to_server.put_nowait({"type": "websocket.receive", "bytes": attachment})

    async def _send(self, message: dict[str, Any]) -> None:
        """The ASGI app's `send`: what the server writes to the websocket."""
        if message["type"] == "websocket.send":
            self._from_server.put_nowait(message.get("text") or message.get("bytes") or "")
        elif message["type"] == "websocket.close":
            self._from_server.put_nowait(_CLOSED)

    def _server_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("the App's ASGI app failed serving an in-process tab", exc_info=task.exception())
        self._from_server.put_nowait(_CLOSED)

    async def _read(self) -> None:
        while (frame := await self._from_server.get()) is not _CLOSED:
            if isinstance(frame, bytes):
                await self._lost("the server sent a binary frame, which no engine message is")
                return
            kind, data = (int(frame[0]) if frame[:1].isdigit() else eio.NOOP), frame[1:]
            if kind == eio.PING:
                self._frame(eio.PONG, data)
            elif kind == eio.CLOSE:
                break
            elif kind == eio.MESSAGE:
                await self._message(sio.Packet(encoded_packet=data))
        await self._lost("transport close")

    async def _message(self, packet: sio.Packet) -> None:
        kind, data = packet.packet_type, packet.data
        if kind == sio.CONNECT:
            self._settle(True)
        elif kind == sio.CONNECT_ERROR:
            await self._call("connect_error", data)
            self._settle(False)
        elif kind == sio.DISCONNECT:
            await self._lost("server disconnect")
        elif kind == sio.EVENT and isinstance(data, list) and data:
            result = await self._call(str(data[0]), *data[1:])
            if packet.id is not None:
                reply = list(result) if isinstance(result, tuple) else [] if result is None else [result]
                self._frame(eio.MESSAGE, sio.Packet(sio.ACK, data=reply, namespace=self._namespace,
                                                    id=packet.id).encode())
        elif kind == sio.ACK and packet.id in self._acks:
            self._acks.pop(packet.id)(*(data or []))

    async def _call(self, event: str, *args: Any) -> Any:
        handler = self._handlers.get(event)
        result = handler(*args) if handler is not None else None
        return await result if inspect.isawaitable(result) else result

    def _settle(self, joined: bool) -> None:
        if self._joined is not None and not self._joined.done():
            self._joined.set_result(joined)

    async def _lost(self, reason: str) -> None:
        """The connection is over: the `disconnect` handler hears why, once, if connect() had returned."""
        if not self._open:
            return
        self._open = False
        self._settle(False)
        self._acks.clear()
        if self.connected:
            self.connected = False
            await self._call("disconnect", reason)
        if reason != "client disconnect":  # the server's side ended: close the client's half too
            self._to_server.put_nowait({"type": "websocket.disconnect", "code": 1000})
