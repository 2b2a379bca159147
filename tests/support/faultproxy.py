"""`FaultProxy`: a TCP proxy in front of a server (a redis-server) that cuts, black-holes or slows the link.

One proxy per worker process: pointing each worker's Redis URL at a proxy
of its own cuts one worker off while the others keep Redis. It runs its own
event loop in a thread, so the test's loop (its tabs) never delays it, and
its controls are plain calls:

- `cut()`: a hard cut, as when a host refuses connections: every connection
  is reset (RST) and new ones are reset as soon as they are accepted;
- `black_hole()`: what a real partition looks like: connections stay open and
  new ones are accepted, but nothing gets through in either direction. What
  is sent meanwhile is held, as TCP keeps retransmitting it, and arrives
  when the link heals (a stale command reaching Redis late, which fencing
  must make harmless); a side that closes its end meanwhile closes the other
  end only after the held data went through;
- `delay(seconds)`: every chunk arrives that much later, in each direction
  (latency, not a bandwidth cap: chunks keep their order and overlap);
- `heal()`: back to a plain pipe (the delay is kept until `delay(0)`).

Chosen over network namespaces and `tc netem`: it needs no root, no
namespace plumbing for the worker processes, and it cuts one worker's
connections and not the other's while both stay on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections import deque
from typing import Any

from tests.support.ports import free_port

__all__ = ["FaultProxy"]

_CHUNK = 65536


class _Pipe:
    """One direction of one connection: chunks read from one side, written to the other when due and open."""

    def __init__(self, proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.reader = reader
        self.writer = writer
        self.chunks: deque[tuple[float, bytes]] = deque()  # (loop time due, data); b"" for the end
        self.more = asyncio.Event()

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await self.reader.read(_CHUNK)
                self.chunks.append((loop.time() + self.proxy.latency, data))
                self.more.set()
                if not data:
                    return
        except (ConnectionError, OSError):
            self.chunks.append((loop.time(), b""))
            self.more.set()

    async def write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self.chunks:
                self.more.clear()
                await self.more.wait()
            due, data = self.chunks[0]
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await self.proxy.flowing.wait()  # black-holed: held until the link heals
            self.chunks.popleft()
            if not data:
                with contextlib.suppress(OSError):
                    self.writer.write_eof()
                return
            self.writer.write(data)
            await self.writer.drain()


class FaultProxy:
    """`with FaultProxy(target_port) as proxy:` ... `proxy.url` is a Redis URL through it."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.port = free_port()
        self.latency = 0.0
        self.mode = "open"  # "open", "cut" or "black hole"
        self.accepted = 0
        self.reset = 0  # connections this proxy reset (hard cuts)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter | None]] = set()
        self.flowing: asyncio.Event

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    # -- controls (from any thread) -----------------------------------------------------------
    def cut(self) -> None:
        """Reset every connection, and every new one as it is accepted."""
        self._run(self._cut())

    def black_hole(self) -> None:
        """Keep connections and accept new ones, but let nothing through until `heal()`."""
        self._run(self._set_mode("black hole"))

    def heal(self) -> None:
        self._run(self._set_mode("open"))

    def delay(self, seconds: float) -> None:
        """Each chunk from now on arrives `seconds` later, in both directions."""
        self.latency = seconds

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        self._run(self._start())
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._run(self._stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- inside the proxy's loop -------------------------------------------------------------------
    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _start(self) -> None:
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for client, upstream in list(self._conns):
            _reset(client)
            if upstream is not None:
                _reset(upstream)
        self._conns.clear()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode == "open":
            self.flowing.set()
        else:
            self.flowing.clear()

    async def _cut(self) -> None:
        await self._set_mode("cut")
        for client, upstream in list(self._conns):
            _reset(client)
            if upstream is not None:
                _reset(upstream)
            self.reset += 1
        self._conns.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # (stopped: asyncio's callback must not see it cancelled)
            await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "cut":
            self.reset += 1
            _reset(writer)
            return
        entry: tuple[asyncio.StreamWriter, asyncio.StreamWriter | None] = (writer, None)
        self._conns.add(entry)
        try:
            await self.flowing.wait()  # black-holed: the handshake to the server waits too
            if self.mode == "cut" or entry not in self._conns:
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._conns.discard(entry)
            _reset(writer)
            return
        self._conns.discard(entry)
        if self.mode == "cut":
            _reset(writer)
            _reset(up_writer)
            return
        entry = (writer, up_writer)
        self._conns.add(entry)
        pipes = [_Pipe(self, reader, up_writer), _Pipe(self, up_reader, writer)]
        try:
            await asyncio.gather(*(step for pipe in pipes for step in (pipe.read(), pipe.write())))
        except (ConnectionError, OSError):
            pass
        finally:
            self._conns.discard(entry)
            for side in (writer, up_writer):
                with contextlib.suppress(Exception):
                    side.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a refusing host or a dropped route does."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
