"""How an event ended, as a value the socket layer turns into an acknowledgement."""

from __future__ import annotations

import enum

from ..errors import EngineError
from ..handler import EventHandler

__all__ = ["EventResult", "Outcome", "failure_message"]


class Outcome(enum.Enum):
    PENDING = "pending"  # not finished yet
    COMMITTED = "committed"  # ran to its end; its changes are stored and were sent
    STARTED = "started"  # a background task was started (or queued, or is waiting for a slot)
    SKIPPED = "skipped"  # a background task's policy ("skip") ignored the trigger: a copy already runs
    DROPPED = "dropped"  # cancelled before its last commit: what it had not committed is gone
    FAILED = "failed"  # raised or was refused; nothing since its last checkpoint is kept


class EventResult:
    """One event's outcome, filled in by the runner as it goes.

    It is a mutable record the caller holds, so that when the caller itself is
    cancelled mid-event it can still tell whether the change was stored
    (COMMITTED) or not (DROPPED) without the runner swallowing the cancellation.
    """

    __slots__ = ("error", "event", "generation", "handler", "outcome")

    def __init__(self, handler: EventHandler, event: str | None = None, *, generation: int = 0) -> None:
        self.handler = handler
        self.event = event  # the id the tab gave the event: errors it causes later point at its box
        self.generation = generation  # background tasks in the chain that led to it (0: a click)
        self.outcome = Outcome.PENDING
        self.error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.COMMITTED, Outcome.STARTED, Outcome.SKIPPED)

    def fail(self, error: BaseException) -> None:
        self.outcome = Outcome.FAILED
        self.error = error

    def interrupted(self) -> None:
        """The event was cancelled: committed if its final commit had landed, else dropped."""
        if self.outcome is not Outcome.COMMITTED:
            self.outcome = Outcome.DROPPED

    @property
    def message(self) -> str:
        """What the tab is told when it did not go well, or was skipped ("" when it went well)."""
        if self.outcome is Outcome.FAILED and self.error is not None:
            return failure_message(self.handler, self.error)
        if self.outcome is Outcome.DROPPED:
            return f"{self.handler.qualname} was cancelled; changes it had not committed were dropped"
        if self.outcome is Outcome.SKIPPED:
            return f'{self.handler.qualname} was skipped: a copy of it already runs for this tab (concurrency="skip")'
        return ""

    def __repr__(self) -> str:
        return f"<EventResult {self.handler.qualname}: {self.outcome.value}>"


def failure_message(handler: EventHandler | None, exc: BaseException) -> str:
    """`Handler failed: Type: message`; engine errors already carry a full message."""
    if isinstance(exc, EngineError):
        return str(exc)
    text = str(exc)
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{handler.qualname} failed: {what}" if handler is not None else what
