"""A loop-lag watchdog: notices when the event loop falls behind, and says whether a handler blocks it.

A heartbeat task on the loop stamps the time every `interval`; a daemon
thread checks the stamp. When the loop has not stamped for longer than
`loop_lag_warn` seconds, the thread looks at the loop thread's stack a few
times. If the same frame of one State handler is running in every look, that
handler is blocking the loop (`time.sleep`, a long computation), and it is
named. Otherwise the loop is merely saturated: many short callbacks, none of
them at fault, and the warning says so instead of blaming whichever handler
happened to be running (one stall, one line). When the watching thread itself
woke up late by as much, nothing in the process ran at all (SIGSTOP, a VM
freeze, swapping): the warning says the process was paused.
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

_LOOKS = 3  # looks at the loop thread's stack per stall
_LOOK_GAP = 0.02  # seconds between two looks
_PAUSED_AFTER = 1.0  # seconds this thread must oversleep to call it a pause (a busy machine delays it a little)


def _handler_codes() -> dict[CodeType, str]:
    codes: dict[CodeType, str] = {}
    for cls in State.class_tree():
        for handler in cls._rx_handlers.values():
            code = getattr(handler.fn, "__code__", None)
            if code is not None:
                codes[code] = handler.qualname
    return codes


def handler_frame(frame: FrameType | None, codes: dict[CodeType, str]) -> tuple[FrameType, str] | None:
    """The innermost frame of a State handler on a stack, and the handler's name, if any."""
    while frame is not None:
        name = codes.get(frame.f_code)
        if name is not None:
            return frame, name
        frame = frame.f_back
    return None


def blocking_handler(frame: FrameType | None) -> str | None:
    """The qualified name of the innermost State handler on a stack, if any."""
    found = handler_frame(frame, _handler_codes())
    return found[1] if found is not None else None


class LoopWatchdog:
    """Start with `start()` from inside the loop; `stop()` ends both halves."""

    def __init__(self, threshold: float, interval: float | None = None) -> None:
        self.threshold = threshold
        self.interval = interval or min(0.1, threshold / 4)
        self.stalls: list[tuple[float, str | None]] = []  # (seconds blocked, handler), for tests
        self.pauses: list[float] = []  # seconds the whole process was stopped, for tests
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
        try:
            self._thread.start()
        except RuntimeError:  # a Python without threads (Pyodide): the loop serves all the same, unwatched
            self._thread = None
            logger.info("this Python cannot start threads: the loop-lag watchdog is off")

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
        woke = time.monotonic()
        while not self._stop.wait(self.interval):
            slept, woke = woke, time.monotonic()
            paused = woke - slept - self.interval  # this thread, too, was held up: nothing ran
            beat = self._beat
            lag = woke - beat - self.interval
            if paused >= max(self.threshold, _PAUSED_AFTER):
                reported_beat = beat
                self.pauses.append(paused)
                logger.warning(
                    "this process was paused for %.1fs (SIGSTOP, a frozen VM or swapping: nothing in it ran, "
                    "not even this watchdog); the event loop is not at fault", paused,
                )
                continue
            if lag < self.threshold or beat == reported_beat:
                continue
            reported_beat = beat
            name = self._blocker(beat)
            self.stalls.append((lag, name))
            if name is not None:
                logger.warning(
                    "event loop blocked for %.1fs by %s; handlers must not call blocking code "
                    "such as time.sleep (use `await asyncio.sleep`, or run it in a thread)",
                    lag, name,
                )
            else:
                logger.warning(
                    "event loop %.1fs behind: it is saturated (many short steps, no single one blocking); "
                    "this process has more work than one core can do, so spread tabs over more workers",
                    lag,
                )

    def _blocker(self, beat: float) -> str | None:
        """The handler whose one frame runs through the whole stall, or None (saturated, or outside handlers)."""
        codes = _handler_codes()
        seen: FrameType | None = None
        name = None
        for look in range(_LOOKS):
            if look:
                time.sleep(_LOOK_GAP)
                if self._beat != beat:
                    return None  # the loop moved on between two looks: nothing holds it
            found = handler_frame(sys._current_frames().get(self._loop_thread), codes)
            if found is None or (seen is not None and found[0] is not seen):
                return None
            seen, name = found
        return name
