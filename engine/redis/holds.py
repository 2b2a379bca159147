"""When this worker keeps a tab's Redis lock between its own blocks, and when it lets go.

Between this worker's own blocks the Redis lock is kept (a *hold*: a lease
this worker keeps) instead of being released and taken again: passed to the
next local task in line, or kept after the last one, so the tab's next block
needs no ACQUIRE at all and its state is still in the cache. An idle tab's
hold is kept for `LINGER` seconds, or, while the tab is busy here (`busy`:
a background task of it runs on this worker), for as long as more than half
of its lease is left. A hold ends, and the lock is released for real, as
soon as another worker wants the tab (its ACQUIRE publishes on this
worker's "wanted" channel, or a commit reports it waiting): at once when the
tab is idle here, else when the running block ends. It also ends after
`MAX_REUSES` blocks in a row that did not commit, when a block fails, or
when the linger passes. Every commit renews the lease (scripts.COMMIT), and
a hold is reused only while at least half of its lease is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["LINGER", "MAX_REUSES", "Hold", "Holds"]

MAX_REUSES = 16  # blocks of this worker in a row, without a commit, before a real release
LINGER = 0.005  # seconds an idle tab's lock is kept after this worker's last block, for its next one


class Hold:
    """This worker holds (or, after a lost reply, may hold) a tab's Redis lock."""

    __slots__ = ("idle_since", "lease_until", "remote_socket", "reuses")

    def __init__(self) -> None:
        # The tab's socket was last registered by another worker when this lease began (ACQUIRE
        # says so). No worker can register a socket and read the tab for it without taking the
        # lock, so this holds for the whole lease: commits publish their updates only then.
        self.remote_socket = True
        self.lease_until = 0.0  # loop time until which the lease surely lasts (sent before Redis set it)
        self.reuses = 0  # blocks in a row without a commit
        self.idle_since = 0.0  # loop time when this worker's last block of the tab ended


class Holds:
    """This worker's holds and their linger timers (see the module docstring).

    `in_use(token)`: a local task holds or waits for the tab; `busy(token)`:
    a background task of it runs here; `release(token)`: end the hold for
    real (the Redis release, in locks.py).
    """

    def __init__(
        self, lease: float, *, in_use: Callable[[str], bool], busy: Callable[[str], bool],
        release: Callable[[str], object],
    ) -> None:
        self._lease = lease
        self._in_use = in_use
        self._busy = busy
        self._release = release
        self._holds: dict[str, Hold] = {}
        self._lingering: dict[str, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._holds)

    def __contains__(self, token: object) -> bool:
        return token in self._holds

    def of(self, token: str) -> Hold | None:
        """This worker's current lease on the tab (compared by identity: a new lease is a new object)."""
        return self._holds.get(token)

    def begin(self, token: str) -> Hold:
        """The tab's hold, made if there is none (once ACQUIRE is sent, the lock may be ours)."""
        hold = self._holds.get(token)
        if hold is None:
            hold = self._holds[token] = Hold()
        return hold

    def keep(self, token: str, hold: Hold) -> None:
        """Put back a hold whose release failed: the lock is still ours until its lease ends."""
        self._holds[token] = hold
        hold.reuses = 0

    def end(self, token: str) -> Hold | None:
        """Forget the tab's hold (and its linger timer); the hold, if there was one."""
        linger = self._lingering.pop(token, None)
        if linger is not None:
            linger.cancel()
        return self._holds.pop(token, None)

    def reusable(self, token: str) -> bool:
        """Whether the hold may serve this block: not worn out, at least half its lease left (counts a reuse)."""
        hold = self._holds.get(token)
        if hold is None or hold.reuses >= MAX_REUSES:
            return False
        if asyncio.get_running_loop().time() > hold.lease_until - self._lease / 2:
            return False
        hold.reuses += 1
        return True

    def must_release(self, token: str) -> bool:
        """Whether the hold has to end now rather than pass on or linger."""
        hold = self._holds.get(token)
        return hold is not None and hold.reuses >= MAX_REUSES

    def committed(self, token: str, sent_at: float, awaited: bool) -> None:
        """A commit renewed the lease; `awaited`: another worker waits, so do not keep the lock."""
        hold = self._holds.get(token)
        if hold is not None:
            hold.lease_until = sent_at + self._lease
            hold.reuses = MAX_REUSES if awaited else 0

    def wanted(self, token: str) -> None:
        """Another worker waits for this tab: let go now if it is idle here, else when its block ends."""
        hold = self._holds.get(token)
        if hold is None:
            return
        hold.reuses = MAX_REUSES
        if not self._in_use(token):
            self._release(token)

    # -- an idle tab's hold lingers ---------------------------------------------------------
    def idle(self, token: str) -> None:
        """No local task holds or waits for the tab any more: keep its hold a moment, then release."""
        hold = self._holds.get(token)
        if hold is None:
            return
        now = hold.idle_since = asyncio.get_running_loop().time()
        timer = self._lingering.get(token)
        if timer is None:
            self._linger(token, LINGER)
        elif timer.when() > now + LINGER and not self._busy(token):  # kept for a task that has ended
            timer.cancel()
            self._linger(token, LINGER)

    def _linger(self, token: str, delay: float) -> None:
        self._lingering[token] = asyncio.get_running_loop().call_later(delay, self._linger_over, token)

    def _linger_over(self, token: str) -> None:
        self._lingering.pop(token, None)
        if self._in_use(token):
            return  # in use again: its block's end lingers anew
        hold = self._holds.get(token)
        if hold is not None and hold.reuses < MAX_REUSES:
            now = asyncio.get_running_loop().time()
            if now < hold.idle_since + LINGER:  # used again since this timer was set: linger on
                self._linger(token, hold.idle_since + LINGER - now)
                return
            keep = hold.lease_until - self._lease / 2 - now
            if keep > 0 and self._busy(token):  # a task of the tab runs here: its next block will want the lock
                self._linger(token, keep)
                return
        self._release(token)

    def stop_lingering(self) -> list[str]:
        """Cancel every linger timer (closing); the tabs still held, to release."""
        for linger in self._lingering.values():
            linger.cancel()
        self._lingering.clear()
        return list(self._holds)
