"""`LocalApp`: the engine without a server, for one reader's page in a browser (Pyodide, a Web Worker).

The same states, runner and memory manager as `App`, with tabs on message
ports (engine/port.py) instead of Socket.IO: nothing here imports
python-socketio, starts a thread (a browser's Python has none) or listens on
a socket. Handlers and tasks see it as `rx.get_app()`, and
`app.event_namespace.token_to_sid` still says whether a tab is there.
"""

from __future__ import annotations

import types
from typing import Any

from .app import App, resolve_settings
from .directory import TabDirectory
from .managers import MemoryStateManager
from .port import PortPublisher, PortTab, Send
from .runner import InOrder, Observers, Pacer, Parts, Runner, TaskRegistry
from .settings import Settings

__all__ = ["LocalApp"]


class LocalApp(App):
    """An App whose tabs are pages on message ports: `tab(send)` opens one."""

    def __init__(self, *, settings: Settings | None = None, **overrides: Any) -> None:
        # (App.__init__ is not called: it builds the Socket.IO server, which a port needs none of.)
        self.settings = settings = resolve_settings(settings, None, overrides)
        self.observers = Observers()
        self.directory = TabDirectory()
        self.event_namespace = types.SimpleNamespace(token_to_sid=self.directory)  # type: ignore[assignment]
        self.publisher = PortPublisher()
        tasks = TaskRegistry(settings, self.observers)
        self.state_manager = MemoryStateManager(settings, protect=self._in_use)
        self.pacer = Pacer(0)  # (one reader's tabs: nothing to pace)
        parts = Parts(self.state_manager, self.publisher, self.observers, settings, self._enter, InOrder(), self.pacer)
        self.runner = Runner(parts, None, tasks=tasks)
        self._watchdog = None
        self._sweeper = None
        self._stopping = None

    def tab(self, send: Send) -> PortTab:
        """A new tab for a page whose messages go out through `send(name, data)`; call its `connect`."""
        return PortTab(self.runner, self.publisher, self.directory, send)

    async def startup(self) -> None:
        """Nothing to start: no watchdog thread, and one reader's states need no sweeping."""

    async def _stop(self, timeout: float | None) -> dict[str, int]:
        counts = await self.runner.shutdown(self.settings.shutdown_timeout if timeout is None else timeout)
        await self.state_manager.close()
        return counts

    def asgi(self, other_asgi_app: Any = None, *, on_startup: Any = None, hosts: Any = ()) -> Any:
        raise TypeError("a LocalApp serves pages on message ports, not HTTP; use rx.App() for a server")
