"""The runner's publisher over Socket.IO: updates and errors go to the room named after the tab's token.

A background task's update to a tab whose socket is behind is held and
merged (behind.py); every other update goes out at once, after what was held.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import socketio

from .. import protocol
from ..delta import Delta
from .behind import hold, take
from .connection import Connection

__all__ = ["SocketPublisher"]


class SocketPublisher:
    """Emits to a tab's room; `shared` (several workers on Redis) means the tab may be on another worker."""

    def __init__(
        self, sio: socketio.AsyncServer, connection_of: Callable[[str], Connection | None], *, shared: bool
    ) -> None:
        self._sio = sio
        self._connection = connection_of  # the tab's socket on this process, if any (binding.py)
        self._shared = shared

    def update(self, token: str, seq: int, delta: Delta) -> Awaitable[None] | None:
        """The sending of an update to the tab's room; None when no socket could receive it.

        (Not a coroutine itself: a commit nobody can see, a script's or a test's
        `modify_state`, makes no coroutine and awaits nothing.) Background
        updates held for the tab go out merged into this one.
        """
        connection = self._connection(token)
        if connection is None:
            return self._send_update(token, seq, delta) if self._shared else None
        outbox = connection.outbox
        if outbox is not None and outbox.held is not None:
            held = take(outbox)
            assert held is not None
            held.add(seq, delta)
            return self._send_update(token, seq, held.delta, held.first)
        return self._send_update(token, seq, delta)

    def background_update(self, token: str, seq: int, delta: Delta) -> Awaitable[None] | None:
        """`update`, for a background task's change: held and merged while the tab's socket is behind."""
        connection = self._connection(token)
        if connection is None:
            return self._send_update(token, seq, delta) if self._shared else None
        outbox = connection.outbox
        if outbox is None or (not outbox.queued and outbox.held is None):  # (the usual case: nothing unsent)
            return self._send_update(token, seq, delta)
        held = outbox.held
        if held is not None:
            held.add(seq, delta)
        else:
            hold(outbox, seq, delta, partial(self._send_update, token))
        return None

    async def _send_update(self, token: str, seq: int, delta: Delta, first: int | None = None) -> None:
        await self._sio.emit(protocol.UPDATE, protocol.update_delta(seq, delta, first), room=token,
                             namespace=protocol.NAMESPACE)

    def remote_update(self, token: str, seq: int, delta: Delta, full: Delta | None, elsewhere: bool) -> str | None:
        """The update as the Redis relay publishes it, when the tab's socket may be on another worker.

        A commit publishes it in the same step as its write (engine.redis),
        so no worker shows a tab a change Redis does not hold. None when the
        tab is connected here (it is sent after the commit) or there is no
        other worker; "" when Redis says no worker has the tab's socket
        (`elsewhere` False): there is nobody to send it to.
        """
        if not self._shared or self._connection(token) is not None:
            return None
        if not elsewhere:
            return ""
        data = protocol.update_full(seq, full) if full is not None else protocol.update_delta(seq, delta)
        return self._sio.manager.remote(protocol.UPDATE, data, protocol.NAMESPACE, token)  # type: ignore[no-any-return]

    async def replace(self, token: str, seq: int, full: Delta) -> None:
        connection = self._connection(token)
        if connection is not None and connection.outbox is not None:
            take(connection.outbox)  # (older than the full copy: the tab would ignore it anyway)
        await self._sio.emit(protocol.UPDATE, protocol.update_full(seq, full), room=token,
                             namespace=protocol.NAMESPACE)

    async def error(self, token: str, message: str, event: str | None = None) -> None:
        await self._sio.emit(protocol.ERROR, protocol.error(message, event), room=token, namespace=protocol.NAMESPACE)
