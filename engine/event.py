"""How a method is declared an event handler: `@rx.event(...)`, `@rx.background`, and what they may say.

The options are read when the method's State class is created (declare.py),
which makes each method an `EventHandler` (handler.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from .errors import StateDefinitionError

__all__ = ["CONCURRENCY", "LIFETIMES", "TASK_VARS", "EventOptions", "background", "event", "event_options", "task_var"]

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "_rx_event"
CONCURRENCY = ("parallel", "skip", "replace", "queue")  # what a new trigger does while a copy runs
LIFETIMES = ("tab", "detached")  # whether a task ends when its tab has been gone longer than tab_grace
# A background handler's status, per tab: name -> (type, default).
TASK_VARS: dict[str, tuple[Any, Any]] = {
    "status": (str, "idle"), "running": (bool, False), "progress": (float | None, None), "error": (str, ""),
}


BACKEND_TASK_VARS = ("copies", "resume", "args")  # the engine's own records of a handler, never sent to the tab


def task_var(handler_name: str, what: str) -> str:
    """The name of one of a background handler's status vars (`run@status`), or of its records
    (`_run@copies`: the copies that run; `_run@resume`: the arguments of a run a restart stopped;
    `_run@args`: a `resume=True` handler's, the arguments of each copy that runs, by copy)."""
    return f"_{handler_name}@{what}" if what in BACKEND_TASK_VARS else f"{handler_name}@{what}"


class EventOptions:
    """What `@rx.event(...)` says about a method, read when its State class is created."""

    __slots__ = ("background", "concurrency", "lifetime", "resume")

    def __init__(self, background: bool, concurrency: str | None, lifetime: str | None, resume: bool = False) -> None:
        self.background = background
        self.concurrency = concurrency
        self.lifetime = lifetime
        self.resume = resume

    def check(self, where: str) -> None:
        """Refuse a policy or lifetime that cannot apply (`where` names the method)."""
        given = [name for name in ("concurrency", "lifetime") if getattr(self, name) is not None]
        given += ["resume"] if self.resume else []
        if given and not self.background:
            raise StateDefinitionError(
                f"{where}: {' and '.join(given)}= apply to background handlers only; "
                "add background=True or remove them"
            )
        if self.concurrency is not None and self.concurrency not in CONCURRENCY:
            raise StateDefinitionError(
                f"{where}: concurrency={self.concurrency!r} is not a policy; use one of {', '.join(CONCURRENCY)}"
            )
        if self.lifetime is not None and self.lifetime not in LIFETIMES:
            raise StateDefinitionError(
                f"{where}: lifetime={self.lifetime!r} is not a lifetime; use one of {', '.join(LIFETIMES)}"
            )


@overload
def event(
    fn: F, *, background: bool = False, concurrency: str | None = None, lifetime: str | None = None,
    resume: bool = False,
) -> F: ...
@overload
def event(
    fn: None = None, *, background: bool = False, concurrency: str | None = None, lifetime: str | None = None,
    resume: bool = False,
) -> Callable[[F], F]: ...
def event(
    fn: F | None = None, *, background: bool = False, concurrency: str | None = None, lifetime: str | None = None,
    resume: bool = False,
) -> F | Callable[[F], F]:
    """Mark a State method as an event handler; `background=True` runs it as a task.

    Background handlers must be `async def` (optionally async generators);
    a sync one is refused when its class is created. `concurrency` says what
    a new trigger does while a copy of the task runs for the tab: "parallel"
    (the default: run side by side), "skip" (ignore the trigger), "replace"
    (cancel the running copy, then start), "queue" (run after it, in order).
    `lifetime` is "tab" (the default: cancelled once the tab has been gone
    longer than `tab_grace`) or "detached" (runs to its end). `resume=True`:
    a run that a server's shutdown (a deploy) cancels is started again, from
    the beginning with the same arguments and the tab's current values, by the
    worker that next serves the tab (within `tab_grace`); without it, such a
    run ends "cancelled" with an error saying a restart stopped it.
    """

    def mark(func: F) -> F:
        setattr(func, _MARK, EventOptions(background, concurrency, lifetime, resume))
        return func

    return mark(fn) if fn is not None else mark


def background(fn: F) -> F:
    """The older spelling of `@event(background=True)`."""
    return event(fn, background=True)


def event_options(fn: Any) -> EventOptions | None:
    """The options `@rx.event` put on a method, or None for an undecorated one."""
    options = getattr(fn, _MARK, None)
    return options if isinstance(options, EventOptions) else None
