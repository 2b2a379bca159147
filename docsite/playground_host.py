"""The playground worker's Python side: the page's demos, the reader's edits among them, on a LocalApp.

It runs in the reader's browser only (Pyodide, in the Web Worker that
docsite/static/playground/worker.mjs starts), never on the server. The
worker calls three things, with JSON text both ways:

- `run(sources)`: stop whatever ran before (its tasks, its tabs, its state
  classes), then import every demo module from the code given, on a new
  `LocalApp`. A syntax error or an exception while importing comes back with
  its module and line, for the editor to point at.
- `connect(tab, auth, send)`: a page's runtime connected on a port; `send`
  posts a message to it.
- `receive(tab, name, data)`: a message from that page; returns the ack.

Re-running is clean because everything a run made is dropped first: the
state classes the demos declared are taken off the engine's tree, the
modules off `sys.modules`, and the old App is shut down.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from engine import inspector
from engine.local import LocalApp
from engine.port import PortTab
from engine.state import State

__all__ = ["Host"]

STOP_TIMEOUT = 0.5  # seconds the tasks of the run being replaced get to finish before they are cancelled


class Host:
    """What the worker drives: one run of the demos at a time, and the pages connected to it."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)  # where the `demos` package lives in the worker's file system
        self.app: LocalApp | None = None
        self.tabs: dict[int, PortTab] = {}
        self._base_children = dict(State._rx_children)  # what the engine holds before any demo ran
        self._base_shown = set(inspector._SHOWN_BACKEND)
        sys.dont_write_bytecode = True  # an edit of the same size in the same second must not reuse a stale .pyc

    async def run(self, sources_json: str) -> str:
        """Replace the running demos with these modules' code: `{"demos.x": "code", ...}`."""
        sources: dict[str, str] = json.loads(sources_json)
        await self.stop()
        for module, code in sources.items():
            try:
                compile(code, self._path(module).as_posix(), "exec")
            except SyntaxError as exc:
                return _answer(False, kind="syntax", module=module, line=exc.lineno or 1,
                               column=exc.offset or 1, message=f"SyntaxError: {exc.msg}")
        self._forget_demos()
        for module, code in sources.items():
            self._path(module).write_text(code, encoding="utf-8")
        importlib.invalidate_caches()
        self.app = LocalApp()
        for module in sources:
            try:
                importlib.import_module(module)
            except Exception as exc:  # the reader's code failed as it was imported: say where
                failed = _failed_module(exc, self.root) or module
                return _answer(False, kind="error", module=failed, line=_failed_line(exc, self._path(failed)),
                               message=f"{type(exc).__name__}: {exc}")
        return _answer(True, modules=list(sources))

    async def stop(self) -> None:
        """End the current run: its pages' tabs close, its tasks get STOP_TIMEOUT, then are cancelled."""
        for tab in self.tabs.values():
            tab.close()
        self.tabs.clear()
        if self.app is not None:
            app, self.app = self.app, None
            await app.shutdown(STOP_TIMEOUT)

    async def connect(self, tab_id: int, auth_json: str, send: Any) -> None:
        """A page connected on a port: `send(name, json_text)` reaches it."""
        if self.app is None:
            send("error", json.dumps({"message": "nothing runs yet: press Run code", "event": None}))
            return
        tab = self.app.tab(lambda name, data: send(name, json.dumps(data)))
        self.tabs[tab_id] = tab
        await tab.connect(json.loads(auth_json))

    def disconnect(self, tab_id: int) -> None:
        tab = self.tabs.pop(tab_id, None)
        if tab is not None:
            tab.close()

    async def receive(self, tab_id: int, name: str, data_json: str) -> str:
        """A message from a page; its acknowledgement as JSON (`null` for one that has none)."""
        tab = self.tabs.get(tab_id)
        if tab is None:
            return json.dumps({"ok": False, "error": "this page has no tab here; press Run code again"})
        return json.dumps(await tab.receive(name, json.loads(data_json)))

    def _path(self, module: str) -> Path:
        return self.root.joinpath(*module.split(".")).with_suffix(".py")

    def _forget_demos(self) -> None:
        """Drop what the last run declared, so that its classes and modules leave nothing behind."""
        State._rx_children.clear()
        State._rx_children.update(self._base_children)
        inspector._SHOWN_BACKEND.clear()
        inspector._SHOWN_BACKEND.update(self._base_shown)
        for name in [name for name in sys.modules if name.startswith("demos.") and name != "demos.pace"]:
            del sys.modules[name]


def _answer(ok: bool, **fields: Any) -> str:
    return json.dumps({"ok": ok, **fields})


def _failed_line(exc: BaseException, path: Path) -> int | None:
    """The line of `path` where the exception was raised from, if it went through that file."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    if line is None and isinstance(exc, SyntaxError) and exc.filename == path.as_posix():
        line = exc.lineno
    return line


def _failed_module(exc: BaseException, root: Path) -> str | None:
    """The demo module whose code raised, when it is another than the one being imported."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if root in path.parents and path.suffix == ".py":
            found = ".".join(path.relative_to(root).with_suffix("").parts)
    return found if found and found.startswith("demos.") else None
