"""Which host names the server answers to: a defence against DNS rebinding.

A page on `evil.example` can make a browser resolve `evil.example` to this
server's address; its requests then carry `Host: evil.example` and the same
`Origin`, so a same-origin check alone lets them in. The server refuses any
Host header that is not one of its own names: `allowed_hosts`, or by default
localhost and the addresses the server was started for.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

__all__ = ["LOCAL_NAMES", "HostGuard", "host_name"]

logger = logging.getLogger("engine.socket")

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def host_name(header: str) -> str:
    """The name in a Host header, lower case, without its port (`[::1]:8000` -> `::1`)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


class HostGuard:
    """ASGI middleware: requests and websockets with another Host header get a 400 or a closed socket."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self._app = app
        self.allowed = frozenset(name.strip().lower() for name in allowed if name.strip())
        self._any = "*" in self.allowed

    def allows(self, scope: dict[str, Any]) -> bool:
        if self._any:
            return True
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"host", b"").decode("latin-1")
        return host_name(header) in self.allowed

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or self.allows(scope):
            await self._app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        shown = headers.get(b"host", b"").decode("latin-1")[:80]
        logger.warning("refused a request for host %r (setting allowed_hosts)", shown)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = (f"this server does not answer to host {shown!r}; add it to the allowed_hosts setting "
                "(ENGINE_ALLOWED_HOSTS) if it is one of its names\n").encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": body})
