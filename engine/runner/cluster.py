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

    def cancel_elsewhere(self, token: str, handler: str | None) -> None: ...

    def on_cancel(self, cancel_here: Callable[[str, str | None], None]) -> None:
        """Call `cancel_here(token, handler)` when another worker asks this one to cancel tasks."""


class LocalCluster:
    """One process: there is no other worker to ask or to tell."""

    worker = "local"
    shared = False

    def alive(self, worker: str) -> bool:
        return False

    def cancel_elsewhere(self, token: str, handler: str | None) -> None:
        return None

    def on_cancel(self, cancel_here: Callable[[str, str | None], None]) -> None:
        return None
