"""A background task's lifecycle: an enum with checked transitions, read on the task's handle."""

from __future__ import annotations

import enum

from .errors import TransitionError

__all__ = ["TaskState"]


class TaskState(enum.Enum):
    """pending -> running -> done | failed | cancelled (pending -> cancelled if it never ran)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return not _EDGES[self]

    def to(self, other: TaskState) -> TaskState:
        """`other`, if this state may become it; else `TransitionError`."""
        if other not in _EDGES[self]:
            raise TransitionError(f"a task cannot go from {self.value} to {other.value}")
        return other


_EDGES: dict[TaskState, frozenset[TaskState]] = {
    TaskState.PENDING: frozenset({TaskState.RUNNING, TaskState.CANCELLED}),
    TaskState.RUNNING: frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED}),
    TaskState.DONE: frozenset(),
    TaskState.FAILED: frozenset(),
    TaskState.CANCELLED: frozenset(),
}
