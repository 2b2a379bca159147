"""A tab's grace period: a tab away longer than `tab_grace` loses the background tasks that end with it.

A reload or a network blip drops the socket for a moment; the tab's tasks
should carry on. So a tab that loses its last socket gets a timer instead
of an immediate cancel; coming back (on any worker) before it fires keeps
everything running.
"""

from __future__ import annotations

import asyncio
import logging

from ..directory import TabDirectory
from ..runner import Runner

__all__ = ["GraceTimers"]

logger = logging.getLogger("engine.socket")


class GraceTimers:
    """One timer per tab that is away; `away()` starts it, `back()` stops it."""

    def __init__(self, runner: Runner, directory: TabDirectory, grace: float) -> None:
        self._runner = runner
        self._directory = directory
        self._grace = grace
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def away(self, token: str) -> None:
        """The tab's last socket here went: cancel its tasks unless it is back within the grace period."""
        previous = self._timers.pop(token, None)
        if previous is not None:
            previous.cancel()
        self._timers[token] = asyncio.get_running_loop().call_later(self._grace, self._expire, token)

    def back(self, token: str) -> None:
        """The tab has a socket again: its tasks stay."""
        timer = self._timers.pop(token, None)
        if timer is not None:
            timer.cancel()

    def _expire(self, token: str) -> None:
        self._timers.pop(token, None)
        if token in self._directory:  # back on another worker meanwhile
            return
        cancelled = self._runner.tab_gone(token)
        if cancelled:
            logger.info("tab %s gone for %.0fs: cancelled %d tasks", token[:8], self._grace, cancelled)
