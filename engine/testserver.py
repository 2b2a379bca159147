"""The loopback server a test's tabs talk to: uvicorn in the test's own event loop, one per App."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .app import App

__all__ = ["SERVERS", "SharedServer", "serve"]


@asynccontextmanager
async def serve(asgi_app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn in this event loop; yields its base URL.

    uvicorn's own proxy headers are off: it would otherwise take the client's
    address from `X-Forwarded-For` for any connection from 127.0.0.1, and the
    engine's `trusted_proxies` setting is what a test means to try.
    """
    import uvicorn  # (imported here: a Python without sockets, such as Pyodide, has none, and needs none)

    config = uvicorn.Config(asgi_app, host=host, port=port, log_level="warning", lifespan="off",
                            proxy_headers=False)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
    task = asyncio.create_task(server.serve(), name="engine:test-server")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("test server stopped before it started")
            await asyncio.sleep(0.005)
        sock = server.servers[0].sockets[0]
        bound_port = sock.getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await task


class SharedServer:
    """One loopback server per App, shared by every TabClient of that App.

    Tabs entered at once (`asyncio.gather`) all wait for the one start; the
    last to leave stops it, and a tab entered after that starts a new one.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.users = 0
        self._cm: Any = None
        self._started: asyncio.Future[str] | None = None

    async def acquire(self) -> str:
        self.users += 1
        try:
            if self._started is None:
                self._started = asyncio.ensure_future(self._start())
            return await asyncio.shield(self._started)
        except BaseException:
            await self.release()
            raise

    async def _start(self) -> str:
        self._cm = serve(self.app.asgi())
        url: str = await self._cm.__aenter__()
        return url

    async def release(self) -> None:
        self.users -= 1
        if self.users > 0:
            return
        if SERVERS.get(id(self.app)) is self:
            del SERVERS[id(self.app)]  # (a tab entered from now on starts a server of its own)
        started, self._started = self._started, None
        if started is not None and not started.done():
            started.cancel()
        if self._cm is not None and started is not None and not started.cancelled() and started.exception() is None:
            cm, self._cm = self._cm, None
            await cm.__aexit__(None, None, None)


SERVERS: dict[int, SharedServer] = {}  # id(app) -> the server its tabs share while any is entered
