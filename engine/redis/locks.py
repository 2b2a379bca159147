"""One lock per tab across every worker: a local queue in front of a leased Redis lock.

- Locally, this worker's tasks take turns on the tab (turns.py).
- In Redis, the lock key holds this worker's id with a lease. The task at
  the head of the local queue takes it with the ACQUIRE script, which also
  loads the state (scripts.py). When another worker has it, the task
  sleeps until the release wakes it (wakeup.py) or the lease runs out.
- Between this worker's own blocks the Redis lock is kept for a while
  instead of being released and taken again (holds.py).

Lock commands go through the worker's command stream (stream.py), behind
the commits queued before them: a release can never overtake a commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..errors import LockExpiredError, StateLockError, StateStoreError
from ..locks import TabLock
from ..settings import Settings
from . import scripts
from .client import PREFIX, StoreCall
from .holds import Hold, Holds
from .stream import CommandStream
from .turns import LocalTurns
from .wakeup import UnlockHub

__all__ = ["RedisTabLocks", "tab_keys"]

logger = logging.getLogger("engine.redis")

_RECHECK = 1.0  # longest sleep of a waiter between notifications (what a missed one costs)
_RECHECK_OFFLINE = 0.25  # the same while the notification subscription is down
_RELEASE_RETRY = 0.1  # seconds before the first retry of a release that failed (doubling)
_TURN_MS = 100  # after a release with waiters, how long the releaser lets another worker go first


def tab_keys(token: str, *names: str) -> tuple[str, ...]:
    """A tab's keys; `{token}` is a cluster hash tag, so they all live on one node."""
    return tuple(f"{PREFIX}:{{{token}}}:{name}" for name in names)


class RedisTabLocks:
    """Takes and gives back tabs' locks for one worker (see the module docstring).

    `busy(token)`: a background task of the tab runs on this worker (its hold
    is then kept for as long as its lease allows). `before_release` is awaited
    before a release: the updates this worker sent for its tabs must go out
    first (the Socket.IO relay's outbox), so the next holder's cannot overtake them.
    """

    def __init__(
        self, stream: CommandStream, listener: Redis, settings: Settings, worker: str, call: StoreCall,
        *, busy: Callable[[str], bool] | None = None, before_release: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.worker = worker
        self._settings = settings
        self._call = call
        self._lease = settings.lock_lease
        self._lease_ms = max(1, round(settings.lock_lease * 1000))
        self._stream = stream
        self._acquire_script = stream.script(scripts.ACQUIRE, "taking the lock of a tab")
        self._release_script = stream.script(scripts.RELEASE, "releasing a lock")
        self._channel = f"{PREFIX}:unlocked"
        self._wanted_prefix = f"{PREFIX}:wanted:"
        self.turns = LocalTurns(self._idle)
        self.holds = Holds(
            self._lease, in_use=self.turns.in_use, busy=busy or (lambda token: False), release=self.release
        )
        self.hub = UnlockHub(listener, self._channel, self._wanted_prefix + worker, on_wanted=self.holds.wanted)
        self._releasing: dict[str, asyncio.Task[None]] = {}
        self.counts = {"acquired": 0, "reused": 0, "waited": 0}
        self._before_release = before_release
        self._closed = False

    # -- the local queue ----------------------------------------------------------------
    async def enter(self, token: str, timeout: float) -> TabLock:
        """Wait for this process's turn on the tab; raises StateLockError after `timeout`."""
        try:
            return await self.turns.enter(token, timeout)
        except TimeoutError:
            raise self.timeout_error(token) from None

    def leave(self, token: str, lock: TabLock, *, held: bool) -> None:
        """Give the local turn to the next task; an idle tab's hold lingers, then is released."""
        self.turns.leave(token, lock, held=held)

    def _idle(self, token: str) -> None:
        if self._closed:
            self.release(token)
        else:
            self.holds.idle(token)

    def locked(self, token: str) -> bool:
        return self.turns.locked(token)

    def held(self) -> int:
        """Tabs whose lock a task of this process holds right now."""
        return self.turns.held()

    # -- the Redis lock -----------------------------------------------------------------------
    def reusable(self, token: str) -> bool:
        """Whether this worker still holds the tab's Redis lock with half its lease left."""
        if token in self._releasing or not self.holds.reusable(token):
            return False
        self.counts["reused"] += 1
        return True

    def must_release(self, token: str) -> bool:
        """Whether the hold has to end now rather than pass on or linger."""
        return self.holds.must_release(token)

    def hold_of(self, token: str) -> Hold | None:
        """This worker's current lease on the tab (compared by identity: a new lease is a new object)."""
        return self.holds.of(token)

    def committed(self, token: str, sent_at: float, awaited: bool) -> None:
        """A commit renewed the lease; `awaited`: another worker waits, so do not keep the lock."""
        self.holds.committed(token, sent_at, awaited)

    def lost(self, token: str) -> None:
        """The lock is no longer ours (a commit found another holder, or none)."""
        self.holds.end(token)

    async def acquire(self, token: str, deadline: float, args: tuple[Any, ...]) -> list[Any]:
        """Take the tab's Redis lock (ACQUIRE with `args` after the worker id), sleeping while it is taken.

        Returns the ACQUIRE reply (the state, see redis_scripts.py).
        """
        hub = self.hub
        hub.start()
        pending = self._releasing.get(token)
        if pending is not None:  # this worker's own release of the tab must land first
            await asyncio.shield(pending)
        loop = asyncio.get_running_loop()
        keys = tab_keys(token, "lock", "state", "waiting", "turn", "socket", "log")
        full_args = (self.worker, self._lease_ms, *args, token, self._wanted_prefix)
        ours = token in self.holds
        while True:
            wake = hub.register(token)
            try:
                hold = self.holds.begin(token)  # once the script is sent, it may be ours
                sent_at = loop.time()
                try:
                    reply: list[Any] = await self.reply(  # (waits out a Redis restart until the deadline)
                        self._acquire_script(keys=keys, args=full_args, within=max(0.0, deadline - sent_at)),
                        "taking the lock of tab", token,
                    )
                except StateStoreError:
                    if not ours:  # most likely never ran; if it did, the lease frees it
                        self.holds.end(token)
                    raise  # (a cancellation keeps the hold: the caller's cleanup releases it)
                if reply[0] in (1, 3):
                    hold.remote_socket = reply[0] == 3
                    reply[0] = 1
                    hold.lease_until = sent_at + self._lease
                    if not ours:
                        hold.reuses = 0
                    self.counts["acquired"] += 1
                    return reply
                self.holds.end(token)
                ours = False
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise self.timeout_error(token)
                left = int(reply[1]) / 1000  # the holder's lease, or the other worker's turn
                cap = _RECHECK if hub.live else _RECHECK_OFFLINE
                self.counts["waited"] += 1
                # asyncio.wait, not a timeout context: a cancellation can never be mistaken for
                # the timer, and a task cleaning up after its own cancellation can still wait here.
                await asyncio.wait((wake,), timeout=min(remaining, cap, left + 0.002 if left > 0 else cap))
            finally:
                hub.unregister(token, wake)

    def release(self, token: str, attempt: int = 0) -> asyncio.Task[None] | None:
        """End the hold now: release the Redis lock in a task of its own, which no cancellation stops."""
        hold = self.holds.end(token)
        if hold is None:
            return None
        if self._closed:  # the connections are closed: the lease frees the lock
            return None
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._release(token, hold, attempt), name=f"engine:release:{token[:8]}")
        self._releasing[token] = task

        def done(_: asyncio.Task[None]) -> None:
            if self._releasing.get(token) is task:
                del self._releasing[token]

        task.add_done_callback(done)
        return task

    async def _release(self, token: str, hold: Hold, attempt: int) -> None:
        """RELEASE; if it fails, the lock is still ours: keep the hold and try again shortly.

        Until the lease runs out the lock belongs to this worker whatever
        happened to the reply, so this worker's next block for the tab uses the
        hold at once instead of waiting out the lease, and the release is
        retried (with back-off) while the tab is idle here, so other workers
        get the tab as soon as Redis answers again, not only at the lease's end.
        """
        keys, args = tab_keys(token, "lock", "waiting", "turn"), (self.worker, self._channel, token, _TURN_MS)
        if self._before_release is not None:
            await self._before_release()
        try:
            # Sent once (within=0): a release that fails is retried here, with the hold kept meanwhile.
            released = self._release_script(keys=keys, args=args, within=0.0)
            await self.reply(released, "releasing the lock of tab", token)
        except StateStoreError as exc:
            loop = asyncio.get_running_loop()
            if loop.time() >= hold.lease_until or self._closed or token in self.holds:
                logger.warning("could not release the lock of tab %s in Redis (%s); its lease (lock_lease=%gs) "
                               "frees it", token[:8], exc, self._settings.lock_lease)
                return
            self.holds.keep(token, hold)  # still ours until the lease ends
            delay = min(_RELEASE_RETRY * 2**attempt, max(0.0, hold.lease_until - loop.time()))
            if attempt == 0:
                logger.warning("could not release the lock of tab %s in Redis (%s); keeping it for this worker "
                               "and trying again", token[:8], exc)
            loop.call_later(delay, self._retry_release, token, attempt + 1)

    def _retry_release(self, token: str, attempt: int) -> None:
        if self.turns.in_use(token):
            return  # a block of this worker uses the hold; it releases or passes it on when it ends
        if token in self.holds and token not in self._releasing:
            self.release(token, attempt)

    async def check_lease(self, token: str) -> None:
        """At the end of a block that stored nothing: `LockExpiredError` if the lease ran out meanwhile.

        A commit checks its lease in Redis; a block that changed nothing never
        asks, so it could believe it held the lock when it did not. While the
        lease surely lasts (by this worker's clock) nothing is sent; past that,
        Redis is asked who holds the lock.
        """
        hold = self.holds.of(token)
        if hold is None or asyncio.get_running_loop().time() <= hold.lease_until:
            return
        key = tab_keys(token, "lock")[0]
        holder = await self.reply(self._stream.send(("GET", key), "checking a lock"), "checking the lock of tab", token)
        if holder in (self.worker, self.worker.encode()):
            return
        self.lost(token)
        raise self.expired_error(token, "while this block held it; whatever it read may have changed since")

    async def reply(self, sent: Awaitable[Any], doing: str, token: str) -> Any:
        """The reply to a command sent on the stream; a failure becomes a `StateStoreError`."""
        try:
            return await sent
        except (RedisError, OSError) as exc:  # (the stream's own failures are StateStoreErrors already)
            self._call.failures += 1
            raise self._call.error(exc, f"{doing} {token[:8]}") from None

    def expired_error(self, token: str, what: str) -> LockExpiredError:
        return LockExpiredError(
            f"the lock of tab {token[:8]} expired (lease {self._settings.lock_lease:g}s, setting lock_lease) "
            f"{what}; keep `async with self` blocks short and await slow work outside them"
        )

    def timeout_error(self, token: str) -> StateLockError:
        return StateLockError(
            f"waited {self._settings.lock_timeout:g}s for the lock of tab {token[:8]} "
            "(setting lock_timeout); another handler, possibly on another worker, is holding it too long"
        )

    async def close(self) -> None:
        """Release every hold and wait (briefly) for the releases; stop listening.

        A block that ends after this cannot release its lock (the connections
        are closed); its lease frees it.
        """
        for token in self.holds.stop_lingering():
            self.release(token)
        if self._releasing:
            await asyncio.wait(set(self._releasing.values()), timeout=2.0)
        self._closed = True
        for task in list(self._releasing.values()):
            task.cancel()
        await self.hub.close()
