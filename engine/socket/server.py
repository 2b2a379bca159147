"""python-socketio's server and ASGI app, refusing malformed packets and frames instead of crashing on them."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from .backlog import BoundedEngineServer

__all__ = ["GuardedASGIApp", "SocketServer"]

logger = logging.getLogger("engine.socket")

_MAX_ATTACHMENTS = 8  # binary parts one Socket.IO packet may announce (binary arguments are refused anyway)
_ENGINEIO_TYPES = frozenset("0123456")  # the first character of every valid Engine.IO text frame
_ENGINEIO_CLOSE = "1"  # the Engine.IO packet by which a client closes its connection


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, refusing malformed packets instead of logging them as crashes.

    python-socketio raises (and logs with a traceback) on a packet it cannot
    decode: bad JSON, JSON nested too deep, numbers too long, unknown packet
    types. It also buffers as many binary attachments as a packet announces.
    Here such a connection is closed with one warning, and a packet may
    announce at most a few attachments, so a hostile client costs little.

    Its Engine.IO server cuts off a socket that leaves too much unsent
    (backlog.py): the `unsent` keyword (an `UnsentLimits`) is passed on to it.
    """

    def _engineio_server_class(self) -> type[BoundedEngineServer]:
        return BoundedEngineServer

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
            await self._refuse_packet(eio_sid, f"a malformed Socket.IO packet ({type(exc).__name__})")
            return
        pending = self._binary_packet.get(eio_sid)
        if pending is not None and pending.attachment_count > _MAX_ATTACHMENTS:
            await self._refuse_packet(eio_sid, f"a packet announcing {pending.attachment_count} binary parts")

    async def _refuse_packet(self, eio_sid: str, what: str) -> None:
        self._binary_packet.pop(eio_sid, None)
        logger.warning("closing a socket that sent %s", what)
        await self.eio.disconnect(eio_sid)


class GuardedASGIApp(socketio.ASGIApp):  # type: ignore[misc]
    """The Socket.IO ASGI app, closing websockets that send frames Engine.IO cannot parse.

    python-engineio lets an empty or non-numeric text frame escape as an
    exception from the ASGI app (logged as a server error); such a frame
    ends the connection here instead, as if the client had left.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)  # type: ignore[no-any-return]
        refused = False

        async def checked_receive() -> dict[str, Any]:
            nonlocal refused
            if refused:
                return {"type": "websocket.disconnect", "code": 1008}
            message: dict[str, Any] = await receive()
            text = message.get("text") if message["type"] == "websocket.receive" else None
            if text is not None and (not text or text[0] not in _ENGINEIO_TYPES):
                refused = True
                logger.warning("closing a socket that sent a malformed Engine.IO frame")
                return {"type": "websocket.disconnect", "code": 1008}
            if text == _ENGINEIO_CLOSE:  # the client says goodbye: end the connection now, as if it had gone
                refused = True
                return {"type": "websocket.disconnect", "code": 1000}
            return message

        await super().__call__(scope, checked_receive, send)
