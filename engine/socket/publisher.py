"""The runner's publisher over Socket.IO: updates and errors go to the room named after the tab's token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import socketio

from .. import protocol
from ..delta import Delta

__all__ = ["SocketPublisher"]


class SocketPublisher:
    """Emits to a tab's room; `shared` (several workers on Redis) means the tab may be on another worker."""

    def __init__(self, sio: socketio.AsyncServer, connected_here: Callable[[str], bool], *, shared: bool) -> None:
        self._sio = sio
        self._here = connected_here  # whether a socket of this process serves the tab (binding.py)
        self._shared = shared

    def update(self, token: str, seq: int, delta: Delta) -> Awaitable[None] | None:
        """The sending of an update to the tab's room; None when no socket could receive it.

        (Not a coroutine itself: a commit nobody can see, a script's or a test's
        `modify_state`, makes no coroutine and awaits nothing.)
        """
        if not self._shared and not self._here(token):
            return None  # one process and no socket for this tab
        return self._send_update(token, seq, delta)

    async def _send_update(self, token: str, seq: int, delta: Delta) -> None:
        await self._sio.emit(protocol.UPDATE, protocol.update_delta(seq, delta), room=token,
                             namespace=protocol.NAMESPACE)

    def remote_update(self, token: str, seq: int, delta: Delta, full: Delta | None, elsewhere: bool) -> str | None:
        """The update as the Redis relay publishes it, when the tab's socket may be on another worker.

        A commit publishes it in the same step as its write (engine.redis),
        so no worker shows a tab a change Redis does not hold. None when the
        tab is connected here (it is sent after the commit) or there is no
        other worker; "" when Redis says no worker has the tab's socket
        (`elsewhere` False): there is nobody to send it to.
        """
        if not self._shared or self._here(token):
            return None
        if not elsewhere:
            return ""
        data = protocol.update_full(seq, full) if full is not None else protocol.update_delta(seq, delta)
        return self._sio.manager.remote(protocol.UPDATE, data, protocol.NAMESPACE, token)  # type: ignore[no-any-return]

    async def replace(self, token: str, seq: int, full: Delta) -> None:
        await self._sio.emit(protocol.UPDATE, protocol.update_full(seq, full), room=token,
                             namespace=protocol.NAMESPACE)

    async def error(self, token: str, message: str, event: str | None = None) -> None:
        await self._sio.emit(protocol.ERROR, protocol.error(message, event), room=token, namespace=protocol.NAMESPACE)
