"""A bare Socket.IO v5 / Engine.IO v4 client on one websocket, cheap enough to hold thousands of tabs in a process.

A python-socketio `AsyncClient` per tab costs a reader task, a ping task and
several layers of packet objects per message; at a few thousand tabs on the
machine that runs the server, the clients starve before the server does and
their late pongs and acks are measured as the server's. Here each tab is one
`asyncio.Protocol`: frames are parsed in `data_received` and the packets
handled there, synchronously (no task per tab or per message), the
Engine.IO ping (`2`) answered with `3` at once.

What goes over the wire is what the browser runtime sends (docs/site/protocol.md):
the websocket upgrade of `/socket.io/?EIO=4&transport=websocket`, then
`40/engine,{auth}`; events as `42/engine,["name",data]`, or with an ack id
`42/engine,ID["name",data]`, answered by `43/engine,ID[answer]`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any

__all__ = ["EngineSocket", "open_socket"]

NAMESPACE = "/engine"
_EVENT = f"42{NAMESPACE},"
_ACK = f"43{NAMESPACE},"
_CONNECTED = f"40{NAMESPACE}"
_CONNECT_ERROR = f"44{NAMESPACE}"
_DISCONNECTED = f"41{NAMESPACE}"
_TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x1, 0x2, 0x8, 0x9, 0xA

OnEvent = Callable[[str, Any], None]


def _frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: final, masked (as every client frame must be)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    mask = os.urandom(4)
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + masked


class EngineSocket(asyncio.Protocol):
    """One tab's socket: `joined` resolves with the namespace's connect answer; events go to `on_event`."""

    def __init__(self, host: str, on_event: OnEvent, on_close: Callable[[str], None]) -> None:
        loop = asyncio.get_running_loop()
        self.host = host
        self.on_event = on_event
        self.on_close = on_close
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.parts: list[bytes] = []  # a fragmented message, until its final frame
        self.auth: dict[str, Any] = {}
        self.joined: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.acks: dict[int, asyncio.Future[tuple[Any, float]]] = {}
        self.next_ack = 0
        self.closed = False

    # -- the websocket ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[:buffer.find(b"\r\n")])
            del buffer[:end + 4]
            if b" 101 " not in status + b" ":
                self._fail(f"websocket refused: {status.decode(errors='replace')}")
                return
            self.upgraded = True
        start, size = 0, len(buffer)
        while size - start >= 2:
            first, second = buffer[start], buffer[start + 1]
            length, at = second & 0x7F, start + 2
            if length == 126:
                if size - at < 2:
                    break
                length, at = struct.unpack_from("!H", buffer, at)[0], at + 2
            elif length == 127:
                if size - at < 8:
                    break
                length, at = struct.unpack_from("!Q", buffer, at)[0], at + 8
            if second & 0x80:  # (a server never masks; read past a mask anyway)
                at += 4
            if size - at < length:
                break
            self._frame_in(first, bytes(buffer[at:at + length]))
            start = at + length
            if self.closed:
                return
        del buffer[:start]

    def _frame_in(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        if opcode == _PING:
            self._write(_frame(_PONG, payload))
        elif opcode == _CLOSE:
            self._fail("the server closed the websocket")
        elif opcode in (_TEXT, _BINARY, 0):
            self.parts.append(payload)
            if first & 0x80:
                message, self.parts = b"".join(self.parts), []
                self._packet(message.decode())

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc}" if exc else "connection closed")

    def _write(self, frame: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(frame)

    def _fail(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        error = ConnectionError(why)
        if not self.joined.done():
            self.joined.set_exception(error)
        for ack in self.acks.values():
            if not ack.done():
                ack.set_exception(error)
        self.acks.clear()
        self.on_close(why)

    # -- Engine.IO and Socket.IO packets ---------------------------------------------------------------

    def send_packet(self, packet: str) -> None:
        self._write(_frame(_TEXT, packet.encode()))

    def _packet(self, packet: str) -> None:
        kind = packet[:1]
        if kind == "2":  # ping
            self.send_packet("3")
        elif kind == "0":  # open: join the namespace
            self.send_packet(f"40{NAMESPACE}," + json.dumps(self.auth))
        elif kind == "1":
            self._fail("the server closed the Engine.IO session")
        elif packet.startswith(_EVENT):
            body = packet[len(_EVENT):]
            if body[:1].isdigit():  # (the server asks for no acks; skip an id if one came)
                body = body[body.index("["):]
            name, *args = json.loads(body)
            self.on_event(name, args[0] if args else None)
        elif packet.startswith(_ACK):
            body = packet[len(_ACK):]
            split = body.index("[")
            ack = self.acks.pop(int(body[:split]), None)
            if ack is not None and not ack.done():
                answer = json.loads(body[split:])
                ack.set_result((answer[0] if answer else None, time.monotonic()))
        elif packet.startswith(_CONNECTED):
            if not self.joined.done():
                self.joined.set_result(json.loads(packet[len(_CONNECTED) + 1:] or "{}"))
        elif packet.startswith(_CONNECT_ERROR):
            self._fail(f"connection refused: {packet[len(_CONNECT_ERROR) + 1:][:200]}")
        elif packet.startswith(_DISCONNECTED):
            self._fail("the server disconnected the namespace")

    def emit(self, event: str, data: Any) -> None:
        self.send_packet(_EVENT + json.dumps([event, data]))

    async def call(self, event: str, data: Any, timeout: float) -> tuple[Any, float]:
        """Send an event with an ack id; its answer and the `time.monotonic()` it arrived at."""
        if self.closed:
            raise ConnectionError("the socket is closed")
        self.next_ack += 1
        ack_id = self.next_ack
        future: asyncio.Future[tuple[Any, float]] = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = future
        self.send_packet(f"{_EVENT}{ack_id}" + json.dumps([event, data]))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.acks.pop(ack_id, None)

    def close(self) -> None:
        """Leave the namespace and close the websocket (what a closing browser tab does)."""
        if not self.closed:
            self.send_packet(f"41{NAMESPACE},")
            self._write(_frame(_CLOSE, struct.pack("!H", 1000)))
            self.closed = True
            if self.transport is not None:
                self.transport.close()


async def open_socket(
    host: str, port: int, auth: dict[str, Any], on_event: OnEvent, on_close: Callable[[str], None],
    timeout: float,
) -> EngineSocket:
    """Connect, upgrade, and join `/engine` with `auth`; the socket once the server accepted it."""
    loop = asyncio.get_running_loop()

    def protocol() -> EngineSocket:
        sock = EngineSocket(f"{host}:{port}", on_event, on_close)
        sock.auth = auth
        return sock

    opened: list[EngineSocket] = []
    try:
        async with asyncio.timeout(timeout):
            _transport, sock = await loop.create_connection(protocol, host, port)
            opened.append(sock)
            await sock.joined
    except BaseException:
        for sock in opened:
            sock.close()
        raise
    return sock
