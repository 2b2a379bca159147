"""A loop-lag watchdog: notices when a handler blocks the event loop, and names it.

A heartbeat task on the loop stamps the time every `interval`; a daemon
thread checks the stamp. When the loop has not stamped for longer than
`loop_lag_warn` seconds, the thread looks at the loop thread's stack, finds
the innermost frame that belongs to a State handler, and logs its name (once
per stall). The stall ends, and the server carries on, when the handler
returns control to the loop.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from types import CodeType, FrameType

from .state import State

__all__ = ["LoopWatchdog"]

logger = logging.getLogger("engine.watchdog")


def _handler_codes() -> dict[CodeType, str]:
    codes: dict[CodeType, str] = {}
    for cls in State.class_tree():
        for handler in cls._rx_handlers.values():
            code = getattr(handler.fn, "__code__", None)
            if code is not None:
                codes[code] = handler.qualname
    return codes


def blocking_handler(frame: FrameType | None) -> str | None:
    """The qualified name of the innermost State handler on a stack, if any."""
    codes = _handler_codes()
    while frame is not None:
        name = codes.get(frame.f_code)
        if name is not None:
            return name
        frame = frame.f_back
    return None


class LoopWatchdog:
    """Start with `start()` from inside the loop; `stop()` ends both halves."""

    def __init__(self, threshold: float, interval: float | None = None) -> None:
        self.threshold = threshold
        self.interval = interval or min(0.1, threshold / 4)
        self.stalls: list[tuple[float, str | None]] = []  # (seconds blocked, handler), for tests
        self._beat = time.monotonic()
        self._loop_thread = 0
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._heartbeat(), name="engine:watchdog")
        self._thread = threading.Thread(target=self._watch, name="engine-watchdog", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=1)

    async def _heartbeat(self) -> None:
        while True:
            self._beat = time.monotonic()
            await asyncio.sleep(self.interval)

    def _watch(self) -> None:
        reported_beat = None
        while not self._stop.wait(self.interval):
            beat = self._beat
            lag = time.monotonic() - beat - self.interval
            if lag < self.threshold or beat == reported_beat:
                continue
            reported_beat = beat
            frame = sys._current_frames().get(self._loop_thread)
            name = blocking_handler(frame)
            self.stalls.append((lag, name))
            logger.warning(
                "event loop blocked for %.1fs by %s; handlers must not call blocking code "
                "such as time.sleep (use `await asyncio.sleep`, or run it in a thread)",
                lag,
                name or "code outside any State handler",
            )
