"""What one websocket was given to send and has not sent yet, and how to cut it off.

Data for a socket waits in three places on its way out, all in this
process's memory, and the kernel holds more:

1. python-engineio's queue of packets for the socket: the Socket.IO server
   puts every packet there, and the socket's writer task takes them out one
   at a time and hands each to the web server;
2. a write the web server has not taken yet: uvicorn makes `send` wait
   while its transport buffer is above the high-water mark (64 KiB), so the
   writer, and behind it the queue, waits too;
3. the transport's write buffer (up to the high-water mark plus the last
   message), read from the transport where the web server exposes it
   (uvicorn's protocol object is the `send` callable's owner).

The first two are counted here in bytes (`queued`: a packet is counted when
it is queued and uncounted once the web server took it); the third is read
from the transport. `cut()` aborts the connection: closing it politely
would wait for the buffers to drain, which they never do for a peer that
does not read. The kernel's socket buffers (a few MiB on loopback) are let
go at once too: the abort resets the connection instead of lingering.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["OUTBOX", "Outbox", "encoded_size"]

OUTBOX = "engine.outbox"  # the key of a websocket's Outbox in its ASGI scope (and so in engineio's environ)

_MESSAGE = 4  # the Engine.IO packet type of a message (text frames "4..."; binary frames are messages too)
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets and frees the kernel's buffers

Send = Callable[[dict[str, Any]], Awaitable[None]]


def encoded_size(pkt: Any) -> int:
    """The bytes an Engine.IO message packet takes on the wire (0 for other packets, not counted here)."""
    if pkt.packet_type != _MESSAGE:
        return 0
    data = pkt.data
    if isinstance(data, str):
        return len(data) + 1  # "4" + the Socket.IO packet (JSON, ASCII: one byte a character)
    return len(data) if isinstance(data, bytes) else 0


class Outbox:
    """One websocket's unsent bytes and whether its writer waits for the web server (see the module docstring)."""

    __slots__ = ("_clock", "_send", "_transport", "blocked_since", "cut_off", "held", "on_drained", "queued", "sid")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._transport = _transport_of(send)
        self._clock = asyncio.get_running_loop().time
        self.sid: str | None = None  # the Engine.IO session, once it is open
        self.queued = 0  # bytes of messages queued for the socket and not yet taken by the web server
        self.blocked_since: float | None = None  # loop time a write began that the web server has not taken
        self.cut_off = False
        # Background updates held while the socket is behind (behind.py), and how they go out once
        # everything queued before them has been taken by the web server.
        self.held: Any = None  # (a behind.Held: typed loosely, as this module is beneath that one)
        self.on_drained: Callable[[], Awaitable[None]] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        """The ASGI `send` the socket's writer uses: the web server's, counting what it takes."""
        if message["type"] != "websocket.send":
            if not self.cut_off:  # (a close after the cut: the connection is gone already)
                await self._send(message)
            return
        if self.cut_off:
            raise ConnectionError("this socket was closed for not reading what it was sent")
        text = message.get("text")
        size = 0
        if text is not None:
            size = len(text) if text[:1] == "4" else 0
        elif message.get("bytes") is not None:
            size = len(message["bytes"])
        self.blocked_since = self._clock()
        try:
            await self._send(message)
        finally:
            self.blocked_since = None
            self.queued -= size
        if self.on_drained is not None and self.queued <= 0:  # (only while an update is held: behind.py)
            drained, self.on_drained = self.on_drained, None
            await drained()

    @property
    def blocked(self) -> bool:
        """Whether the socket's writer waits for the web server to take a write (the socket is not draining)."""
        return self.blocked_since is not None

    def blocked_for(self) -> float:
        """Seconds the current write has waited for the web server (0 when none waits)."""
        since = self.blocked_since
        return 0.0 if since is None else self._clock() - since

    def unsent(self) -> int:
        """Bytes given to this socket that have not left the process: queued, waiting, held and merged, and
        in the transport."""
        transport = self._transport
        buffered = transport.get_write_buffer_size() if transport is not None and not transport.is_closing() else 0
        held = self.held.size() if self.held is not None else 0  # (merged updates waiting: behind.py)
        return self.queued + buffered + held

    def cut(self) -> None:
        """Abort the connection (at once, buffers and all); its page reconnects when it reads again."""
        if self.cut_off:
            return
        self.cut_off = True
        transport = self._transport
        if transport is None:
            return  # (a web server that does not show its transport: the Engine.IO close is all there is)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
            except OSError:  # already closed: nothing to let go of
                pass
        transport.abort()


def _transport_of(send: Send) -> asyncio.WriteTransport | None:
    """The transport under an ASGI `send`, where the web server's protocol object is its owner (uvicorn)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if all(hasattr(transport, name) for name in ("abort", "get_write_buffer_size", "is_closing", "get_extra_info")):
        return transport  # type: ignore[no-any-return]
    return None
