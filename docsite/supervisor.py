"""Keep N worker processes running until the parent is told to stop.

A worker that exits while the site is meant to be up (a crash, the OOM
killer, a stray SIGKILL) is started again after a delay. The delay doubles
each time the worker in that place dies young, up to a cap, so a worker
that cannot start does not spin the CPU or flood the log; one that stayed
up for a while starts again from the first delay.

SIGTERM or SIGINT to the parent ends the supervision: the signal is passed
to every worker, nothing is restarted any more, and `run` returns once all
of them have exited.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

__all__ = ["Backoff", "Supervisor", "describe_exit"]

logger = logging.getLogger("docsite")

TICK = 0.1  # seconds between two looks at the workers: how late a death or a due restart is noticed
CLEAN_EXITS = (0, 130, -signal.SIGTERM, -signal.SIGINT)  # what a worker asked to stop may exit with

Process = subprocess.Popen[bytes]  # a started worker


@dataclass(frozen=True)
class Backoff:
    """How long to wait before restarting a worker that died."""

    first: float = 0.5  # seconds before the first restart
    cap: float = 30.0  # the longest wait, however often a worker dies
    stable_after: float = 30.0  # a worker up this long had recovered: its next death starts from `first`

    def delay(self, previous: float | None, uptime: float) -> float:
        """The wait before the next restart, given the wait before this one (None: none yet)."""
        if previous is None or uptime >= self.stable_after:
            return self.first
        return min(previous * 2, self.cap)


@dataclass
class _Slot:
    """One of the N places a worker runs in, with the history its back-off needs."""

    process: Process | None = None
    started_at: float = 0.0
    last_delay: float | None = None  # the wait before the current worker started; None for the first one
    restart_at: float = 0.0  # while empty: when the next worker starts
    last_pid: int | None = None  # the worker that died, for the log line of its replacement


def describe_exit(code: int) -> str:
    """An exit status as a reader wants it: 'status 1', 'killed by SIGKILL'."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


class Supervisor:
    """Start `workers` processes with `start`, restart any that exits, stop them all on SIGTERM/SIGINT."""

    def __init__(self, start: Callable[[], Process], workers: int, backoff: Backoff | None = None) -> None:
        self._start = start
        self._slots = [_Slot() for _ in range(workers)]
        self._backoff = backoff or Backoff()
        self._stop_signal: int | None = None
        self._signalled: set[int] = set()  # pids already sent the stop signal

    def run(self) -> int:
        """Supervise until a stop signal, then wait for every worker; 0 if all of them stopped cleanly."""
        # Handlers first: a SIGTERM that arrives while workers start must not kill the parent alone.
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for slot in self._slots:
            self._launch(slot)
        pids = ", ".join(str(slot.process.pid) for slot in self._slots if slot.process is not None)
        logger.info("started %d workers (pids %s); a worker that exits is restarted until SIGTERM or SIGINT",
                    len(self._slots), pids)
        while self._stop_signal is None:
            now = time.monotonic()
            for slot in self._slots:
                self._look_after(slot, now)
            time.sleep(TICK)
        return self._shut_down(self._stop_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Stop supervising and pass the signal on (again on a second Ctrl-C: uvicorn then stops at once)."""
        if self._stop_signal is None:
            self._stop_signal = signum
        self._forward(signum)

    def _forward(self, signum: int, *, only_new: bool = False) -> None:
        for slot in self._slots:
            process = slot.process
            if process is None or (only_new and process.pid in self._signalled):
                continue
            process.send_signal(signum)  # does nothing once the process is known to have exited
            self._signalled.add(process.pid)

    def _look_after(self, slot: _Slot, now: float) -> None:
        """Notice a worker that exited and schedule its restart, or start the one that is due."""
        if slot.process is None:
            if now >= slot.restart_at:
                self._launch(slot)
            return
        code = slot.process.poll()
        if code is None:
            return
        uptime = now - slot.started_at
        slot.last_delay = self._backoff.delay(slot.last_delay, uptime)
        slot.restart_at = now + slot.last_delay
        slot.last_pid, slot.process = slot.process.pid, None
        logger.warning(
            "worker %d exited unexpectedly (%s) after %.1f s; starting a new worker in its place in %.1f s",
            slot.last_pid, describe_exit(code), uptime, slot.last_delay,
        )

    def _launch(self, slot: _Slot) -> None:
        try:
            slot.process = self._start()
        except OSError as error:  # out of processes or memory: try again later, like a worker that died
            slot.last_delay = self._backoff.delay(slot.last_delay, 0.0)
            slot.restart_at = time.monotonic() + slot.last_delay
            logger.error("could not start a worker (%s); trying again in %.1f s", error, slot.last_delay)
            return
        slot.started_at = time.monotonic()
        if slot.last_pid is not None:
            logger.warning("worker %d started in place of worker %d", slot.process.pid, slot.last_pid)

    def _shut_down(self, signum: int) -> int:
        """Pass the stop signal to any worker that missed it, then wait for all of them."""
        running = [slot.process for slot in self._slots if slot.process is not None]
        logger.info("received %s: no more restarts; stopping workers %s", signal.Signals(signum).name,
                    ", ".join(str(process.pid) for process in running) or "(none running)")
        self._forward(signum, only_new=True)  # one started while the signal was being handled
        status = 0
        for process in running:
            code = process.wait()  # a further signal meanwhile is forwarded by `_on_signal`
            if code not in CLEAN_EXITS:
                logger.warning("worker %d exited with %s while stopping", process.pid, describe_exit(code))
                status = 1
        logger.info("all workers have exited")
        return status
