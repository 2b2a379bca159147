"""A raw Engine.IO/Socket.IO websocket client (wsproto over asyncio streams).

For what the real clients cannot do: stop reading (a stalled browser, with a
tiny receive buffer so the server's backpressure shows at once), or send
frames and packets that no Socket.IO library would produce.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

NAMESPACE = "/engine"


class RawSocket:
    """One websocket to `/socket.io/`; `recv()` returns whole frames, text or bytes."""

    def __init__(self, url: str, *, rcvbuf: int | None = None, local_address: str | None = None) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.rcvbuf = rcvbuf
        self.local_address = local_address  # (any of 127.0.0.0/8: another visitor on this machine)
        self.conn = WSConnection(ConnectionType.CLIENT)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.inbox: list[str | bytes] = []
        self._part: Any = None  # the message being received, until its last part
        self.closed = False

    async def open(self, headers: list[tuple[str, str]] | None = None) -> str:
        """Open the websocket; returns the Engine.IO open packet."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf is not None:  # set before connecting, so the TCP window stays small
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        if self.local_address is not None:
            sock.bind((self.local_address, 0))
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (self.host, self.port))
        self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=self.rcvbuf or 2**16)
        target = "/socket.io/?EIO=4&transport=websocket"
        self.writer.write(self.conn.send(Request(host=f"{self.host}:{self.port}", target=target,
                                                 extra_headers=headers or [])))
        await self.writer.drain()
        async with asyncio.timeout(10):
            while True:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("closed during the websocket handshake")
                self.conn.receive_data(data)
                for event in self.conn.events():
                    if isinstance(event, AcceptConnection):
                        return str(await self.recv())
                    if isinstance(event, RejectConnection):
                        raise ConnectionRefusedError(f"websocket refused with HTTP {event.status_code}")

    async def join(self, auth: dict[str, Any] | None = None) -> list[str]:
        """Connect to the engine namespace; returns the connect, hello and first update packets."""
        await self.send(f"40{NAMESPACE}," + json.dumps(auth or {}))
        return [str(await self.recv()) for _ in range(3)]

    async def send(self, frame: str | bytes) -> None:
        assert self.writer is not None
        self.writer.write(self.conn.send(Message(data=frame)))
        await self.writer.drain()

    async def emit(self, event: str, *args: Any, ack: int | None = None) -> None:
        ack_id = "" if ack is None else str(ack)
        await self.send(f"42{NAMESPACE},{ack_id}" + json.dumps([event, *args]))

    async def recv(self, timeout: float = 5) -> str | bytes:
        assert self.reader is not None and self.writer is not None
        async with asyncio.timeout(timeout):
            while not self.inbox:
                data = await self.reader.read(65536)
                if not data:
                    self.closed = True
                    raise ConnectionError("the server closed the connection")
                self.conn.receive_data(data)
                for event in self.conn.events():
                    if isinstance(event, (TextMessage, BytesMessage)):  # (a long message comes in parts)
                        self._part = event.data if self._part is None else self._part + event.data
                        if event.message_finished:
                            self.inbox.append(self._part)
                            self._part = None
                    elif isinstance(event, Ping):
                        self.writer.write(self.conn.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        self.closed = True
                        raise ConnectionError(f"the server closed the websocket ({event.code})")
        return self.inbox.pop(0)

    async def recv_until_closed(self, timeout: float = 5) -> list[str | bytes]:
        """Read until the server closes (the websocket, or Engine.IO's close packet) or goes quiet."""
        frames: list[str | bytes] = []
        try:
            while True:
                frame = await self.recv(timeout)
                frames.append(frame)
                if frame == "1":  # Engine.IO close
                    self.closed = True
                    return frames
        except (ConnectionError, TimeoutError):
            return frames

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
            self.writer = None

    async def __aenter__(self) -> RawSocket:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        # Always drop the connection: a test server waits for every open connection to close.
        await self.close()
