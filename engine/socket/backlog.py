"""The bound on what a socket may leave unsent: a tab that stops reading is cut off, not queued for.

A stalled browser (a frozen tab, a dead network) would make the server
keep every update for it without end, and its pings could not be written
either, so nothing else would ever close it. Every packet queued for a
socket goes through python-engineio's `send_packet`: that is the one place
the bound is checked, once per packet. A socket is cut off (outbox.py: the
connection aborted, its memory let go at once) when

- more than `max_queued_updates` packets wait in its queue, or
- its writer waits for the web server (it is not draining) and more than
  `max_unsent_bytes` bytes wait unsent (a single update larger than that,
  to a tab that reads, is sent), or
- a write has waited for the web server longer than `drain_timeout` seconds
  (checked by a sweep every fraction of it: a socket that is sent nothing
  more must not stay stalled for ever); the same sweep counts the updates
  merged for a socket that is behind (behind.py), which are not packets.

Its page reconnects when it reads again and gets one full update instead
of the backlog.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NamedTuple

import engineio

from ..settings import Settings
from .outbox import OUTBOX, Outbox, encoded_size

__all__ = ["BoundedEngineServer", "UnsentLimits"]

logger = logging.getLogger("engine.socket")


class UnsentLimits(NamedTuple):
    """What one socket may leave unsent (None: no such bound)."""

    max_packets: int | None = None
    max_bytes: int | None = None
    drain_timeout: float | None = None

    @classmethod
    def of(cls, settings: Settings) -> UnsentLimits:
        return cls(settings.max_queued_updates, settings.max_unsent_bytes, settings.drain_timeout)


class BoundedEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server, cutting off a socket that leaves more than `unsent` allows unsent."""

    def __init__(self, *args: Any, unsent: UnsentLimits | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unsent = unsent or UnsentLimits()
        self._open: set[Outbox] = set()  # every websocket being served
        self._outboxes: dict[str, Outbox] = {}  # by Engine.IO session id, once the session is open
        self._sweep: asyncio.TimerHandle | None = None
        self._cutting: set[asyncio.Future[None]] = set()

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        """Serve a request; a websocket's `send` goes through an Outbox that counts what waits unsent."""
        scope = args[0] if len(args) == 3 else None
        if not isinstance(scope, dict) or scope.get("type") != "websocket":
            return await super().handle_request(*args, **kwargs)
        outbox = scope[OUTBOX] = Outbox(args[2])
        self._open.add(outbox)
        self._sweep_soon()
        try:
            return await super().handle_request(scope, args[1], outbox.send, **kwargs)
        finally:
            self._open.discard(outbox)
            if outbox.sid is not None:
                self._outboxes.pop(outbox.sid, None)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "connect" and len(args) >= 2:  # (sid, environ): the session of a websocket's Outbox
            scope = args[1].get("asgi.scope")
            outbox = scope.get(OUTBOX) if isinstance(scope, dict) else None
            if isinstance(outbox, Outbox):
                outbox.sid = args[0]
                self._outboxes[args[0]] = outbox
        return await super()._trigger_event(event, *args, **kwargs)

    async def send_packet(self, sid: str, pkt: Any) -> None:
        await super().send_packet(sid, pkt)
        socket = self.sockets.get(sid)
        if socket is None or socket.closing or socket.closed:
            return
        outbox = self._outboxes.get(sid)
        if outbox is not None:
            outbox.queued += encoded_size(pkt)
        reason = self._over(socket, outbox)
        if reason is not None:
            await self._cut(socket, outbox, reason)

    def _over(self, socket: Any, outbox: Outbox | None) -> str | None:
        """Why this socket is past its bound, or None."""
        limits = self.unsent
        if limits.max_packets is not None and socket.queue.qsize() > limits.max_packets:
            return f"more than {limits.max_packets} updates wait unsent (setting max_queued_updates)"
        if limits.max_bytes is not None and outbox is not None and outbox.blocked:
            unsent = outbox.unsent()
            if unsent > limits.max_bytes:
                return f"{unsent} bytes wait unsent (setting max_unsent_bytes={limits.max_bytes})"
        return None

    async def _cut(self, socket: Any, outbox: Outbox | None, reason: str) -> None:
        logger.warning("closing a socket that does not read what it is sent: %s; its tab resyncs when it reads "
                       "again", reason)
        if outbox is not None:
            outbox.cut()
        if socket is None:
            return
        if not socket.closed:
            await socket.close(wait=False, abort=True)
        # Let go of what was queued now: the socket object itself lingers until its ping timer ends.
        while not socket.queue.empty():
            socket.queue.get_nowait()
            socket.queue.task_done()

    # -- the drain timeout ------------------------------------------------------------------------
    def _sweep_soon(self) -> None:
        """Check the open websockets' writes in a while (a timer, not a task: nothing to stop at the end)."""
        timeout = self.unsent.drain_timeout
        if timeout is None or self._sweep is not None or not self._open:
            return
        self._sweep = asyncio.get_running_loop().call_later(min(1.0, timeout / 4), self._check_drains)

    def _check_drains(self) -> None:
        self._sweep = None
        timeout = self.unsent.drain_timeout
        assert timeout is not None
        max_bytes = self.unsent.max_bytes
        for outbox in list(self._open):
            waited = outbox.blocked_for()
            if outbox.cut_off or not waited:
                continue
            reason = None
            if waited > timeout:
                reason = f"a write has waited {waited:.1f}s to be sent (setting drain_timeout={timeout:g})"
            elif max_bytes is not None and outbox.held is not None and outbox.unsent() > max_bytes:
                # (updates merged for it are not sent as packets, so only this sweep sees them grow)
                reason = f"{outbox.unsent()} bytes wait unsent (setting max_unsent_bytes={max_bytes})"
            if reason is not None:
                socket = self.sockets.get(outbox.sid) if outbox.sid is not None else None
                task = asyncio.ensure_future(self._cut(socket, outbox, reason))
                self._cutting.add(task)
                task.add_done_callback(self._cut_done)
        self._sweep_soon()

    async def shutdown(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        await super().shutdown()

    def _cut_done(self, task: asyncio.Future[None]) -> None:
        self._cutting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("closing a stalled socket failed", exc_info=task.exception())
