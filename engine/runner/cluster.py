"""The workers that share tab states, as task control sees them (one process: there are no others).

Which worker this is, whether another worker is alive, how to ask the others
to cancel a tab's tasks, and how to hear when they ask this one (with Redis:
engine/redis/cluster.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["Cluster", "LocalCluster"]


class Cluster(Protocol):
    """The workers that share tab states: who we are, who is alive, how to reach the others."""

    worker: str
    shared: bool  # other workers may run this tab's tasks: a copy's place in the tab's status may be taken

    def alive(self, worker: str) -> bool: ...

    @property
    def cut_offs(self) -> int:
        """Times this worker was cut off from the store the workers share (its tabs moved elsewhere)."""

    def cut_off_lately(self) -> bool:
        """Whether it is cut off now, or was less than a lock's lease ago."""

    def cancel_elsewhere(self, token: str, handler: str | None) -> None: ...

    def on_cancel(self, cancel_here: Callable[[str, str | None], None]) -> None:
        """Call `cancel_here(token, handler)` when another worker asks this one to cancel tasks."""

    def ask_resume(self, token: str) -> None:
        """Tell the worker serving the tab that a restart stopped a run of it that may start again."""

    def on_resume(self, resume_here: Callable[[str], None]) -> None:
        """Call `resume_here(token)` when another worker says so of a tab connected here."""


class LocalCluster:
    """One process: there is no other worker to ask or to tell."""

    worker = "local"
    shared = False

    cut_offs = 0

    def alive(self, worker: str) -> bool:
        return False

    def cut_off_lately(self) -> bool:
        return False

    def cancel_elsewhere(self, token: str, handler: str | None) -> None:
        return None

    def on_cancel(self, cancel_here: Callable[[str, str | None], None]) -> None:
        return None

    def ask_resume(self, token: str) -> None:
        return None

    def on_resume(self, resume_here: Callable[[str], None]) -> None:
        return None
