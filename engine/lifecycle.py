"""Lifecycles as enums with checked transitions: background tasks and tabs."""

from __future__ import annotations

import enum

__all__ = ["TabState", "TaskState", "TransitionError"]


class TransitionError(RuntimeError):
    """A lifecycle was asked to move along an edge it does not have."""


class _Lifecycle(enum.Enum):
    def can_become(self, other: _Lifecycle) -> bool:
        return other.name in _EDGES[type(self).__name__][self.name]

    def to(self, other: _Lifecycle) -> _Lifecycle:
        if not self.can_become(other):
            raise TransitionError(
                f"{type(self).__name__} cannot go from {self.name.lower()} to {other.name.lower()}"
            )
        return other

    @property
    def terminal(self) -> bool:
        return not _EDGES[type(self).__name__][self.name]


class TaskState(_Lifecycle):
    """A background task: pending -> running -> done | failed | cancelled."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TabState(_Lifecycle):
    """A browser tab as the server sees it."""

    CONNECTING = "connecting"
    LIVE = "live"
    DETACHED = "detached"
    EXPIRED = "expired"


_EDGES: dict[str, dict[str, set[str]]] = {
    "TaskState": {
        "PENDING": {"RUNNING", "CANCELLED"},
        "RUNNING": {"DONE", "FAILED", "CANCELLED"},
        "DONE": set(),
        "FAILED": set(),
        "CANCELLED": set(),
    },
    "TabState": {
        "CONNECTING": {"LIVE", "DETACHED"},
        "LIVE": {"DETACHED"},
        "DETACHED": {"LIVE", "EXPIRED"},
        "EXPIRED": set(),
    },
}
