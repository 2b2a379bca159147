"""A background handler's status vars on one state instance, written by the engine through the block's log.

`run@status`, `run@running`, `run@progress`, `run@error` are public (the page
binds them); `_run@copies` lists the copies that run or wait, each
`worker/copy-id` (`~worker/copy-id` while it waits); a `resume=True`
handler's `_run@args` keeps each running copy's arguments, by copy.
"""

from __future__ import annotations

import math
from typing import Any

from ..changes import Changes
from ..errors import InvalidArgumentError
from ..event import task_var
from ..handler import EventHandler, EventSpec
from ..state import State

__all__ = [
    "RESUMES_AFTER_LOSS", "Status", "copies_vars", "forget_args", "path_of", "progress_fraction", "resume_lost",
    "runs_to_resume", "set_running", "store_copies",
]

RESUMES_AFTER_LOSS = "its server was lost (killed, or cut off from Redis); it starts again where the tab is served"


class Status:
    """One background handler's status vars on one state instance (written by the engine, into the block's log)."""

    __slots__ = ("_log", "_name", "_node")

    def __init__(self, node: State, handler: EventHandler, log: Changes) -> None:
        self._node = node
        self._name = handler.name
        self._log = log

    def __getitem__(self, what: str) -> Any:
        return self._node._rx_values[task_var(self._name, what)]

    def __setitem__(self, what: str, value: Any) -> None:
        name = task_var(self._name, what)
        if self._node._rx_values[name] != value or type(self._node._rx_values[name]) is not type(value):
            self._log.assign(self._node, name, value)


def set_running(status: Status) -> None:
    """The handler's status says running (a new run: progress and error start over, unless one runs)."""
    if not status["running"]:
        status["status"], status["running"], status["progress"], status["error"] = "running", True, None, ""


def store_copies(status: Status, copies: list[str], *, outcome: str, more: bool = False) -> bool:
    """Record the copies that still run or wait; when none is left (and no `more` are on their way),
    set the outcome. Whether anything changed."""
    changed: bool = copies != status["copies"]
    if changed:
        status["copies"] = copies
    if not copies and not more and status["running"]:
        status["running"] = False
        status["status"] = outcome
        changed = True
    return changed


def forget_args(status: Status, copies: list[str]) -> None:
    """Drop the recorded arguments of these copies (ended, or dropped) of a `resume=True` handler."""
    record = status["args"] or {}
    kept = {copy: args for copy, args in record.items() if copy not in copies}
    if kept != record:
        status["args"] = kept or None


def resume_lost(status: Status, alive: list[str], *, running: bool) -> bool:
    """Copies of a `resume=True` handler died with their worker (killed, or cut off from Redis): unless
    another copy still `running`, leave the arguments of one of them as the run to resume, as a restart
    does, so the worker serving the tab starts it again (`runs_to_resume`) instead of showing it
    "cancelled". Whether anything changed."""
    record = status["args"] or {}
    dead = [copy for copy in status["copies"] if copy not in alive and copy in record]
    if not dead:
        return False
    if not running and status["resume"] is None:
        status["resume"] = record[dead[-1]]
        status["error"] = RESUMES_AFTER_LOSS
    forget_args(status, dead)
    return True


def runs_to_resume(root: State, log: Changes) -> list[EventSpec]:
    """The runs a restart stopped that are to start again (their records cleared, under the lock)."""
    found = []
    for node in root.walk():
        for handler, _ in copies_vars(type(node)):
            if not handler.resume:
                continue
            status = Status(node, handler, log)
            args = status["resume"]
            if args is None:
                continue
            status["resume"] = None
            if status["copies"]:  # started again meanwhile (a visitor pressed Start): nothing to resume
                continue
            status["error"] = ""
            found.append(EventSpec(handler, tuple(args)))
    return found


_background_handlers: dict[type[State], tuple[EventHandler, ...]] = {}


def _background(state_cls: type[State]) -> tuple[EventHandler, ...]:
    handlers = _background_handlers.get(state_cls)
    if handlers is None:
        handlers = _background_handlers[state_cls] = tuple(
            handler for handler in state_cls._rx_handlers.values() if handler.background
        )
    return handlers


_copies_of: dict[type[State], tuple[tuple[EventHandler, str], ...]] = {}


def copies_vars(state_cls: type[State]) -> tuple[tuple[EventHandler, str], ...]:
    """Each background handler of the class with the name of its var of running copies."""
    found = _copies_of.get(state_cls)
    if found is None:
        found = _copies_of[state_cls] = tuple((h, task_var(h.name, "copies")) for h in _background(state_cls))
    return found


def path_of(handler: EventHandler) -> tuple[str, ...]:
    assert handler.state_cls is not None
    return handler.state_cls._rx_path


def progress_fraction(handler: EventHandler, done: float, total: float) -> float:
    for name, value in (("done", done), ("total", total)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidArgumentError(
                f"{handler.qualname}: set_progress {name} must be a finite number, got {value!r}"
            )
    if total <= 0:
        raise InvalidArgumentError(f"{handler.qualname}: set_progress total must be more than 0, got {total!r}")
    if done < 0:
        raise InvalidArgumentError(f"{handler.qualname}: set_progress done must not be negative, got {done!r}")
    return min(1.0, done / total)
