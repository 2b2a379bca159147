"""The workers that share one Redis, as the runner's task control sees them.

Which worker this is, whether another worker is alive (the tab directory's
heartbeats), and how to ask the others to cancel a tab's tasks (an
announcement on the directory's channel). The runner uses it to drop task
copies that died with their worker, to cancel copies of a task wherever they
run, and to stop a closed tab's tasks on a worker it has left.
"""

from __future__ import annotations

from collections.abc import Callable

from .directory import RedisTabDirectory

__all__ = ["RedisCluster"]


class RedisCluster:
    shared = True

    def __init__(self, directory: RedisTabDirectory) -> None:
        self.directory = directory
        self.worker = directory.worker

    def on_cancel(self, cancel_here: Callable[[str, str | None], None]) -> None:
        """When another worker asks to cancel a tab's tasks: one handler's copies at once, or (None) the
        tab's, which it asks once the tab has been gone its grace period, unless it came back meanwhile."""

        def asked(token: str, handler: str | None) -> None:
            if handler is not None or token not in self.directory:
                cancel_here(token, handler)

        self.directory.on_cancel = asked

    def ask_resume(self, token: str) -> None:
        """A restart stopped a resumable run of the tab: its socket may be on another worker already."""
        self.directory.announce_resume(token)

    def on_resume(self, resume_here: Callable[[str], None]) -> None:
        """When another worker says so of a tab whose socket is here: start its stopped runs again."""
        self.directory.on_resume = lambda token: resume_here(token) if self.directory.serves(token) else None

    def alive(self, worker: str) -> bool:
        return self.directory.alive(worker)

    @property
    def cut_offs(self) -> int:
        return self.directory.peers.cut_offs

    def cut_off_lately(self) -> bool:
        return self.directory.cut_off_lately()

    def cancel_elsewhere(self, token: str, handler: str | None) -> None:
        self.directory.announce_cancel(token, handler)
