"""How a commit goes to Redis: the COMMIT script's arguments, the version it writes, and whether to wait for it.

A commit is one EVALSHA on the worker's command stream (stream.py). Each
names the version it was built on and the new version it writes
(`worker.number`), so Redis refuses a change built on a state that is no
longer current (scripts.COMMIT). When the tab's socket is on another worker,
the update for it is published by the script itself, in the same atomic
step as the write, so no worker shows a tab a change Redis does not hold.

In replicated mode (`redis_commit_mode`) a WAIT for `redis_min_replicas`
replicas follows each commit on the stream, and the update for another
worker is published only once the replicas have the change (`publish`):
no tab is shown a change a failover could lose.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

from ..changes import Commitment
from ..delta import Delta, every_public_value
from ..settings import Settings
from ..state import State
from . import scripts
from .holds import Hold
from .locks import RedisTabLocks, tab_keys
from .stored import changed_fields, every_field
from .stream import WITHIN, CommandStream

__all__ = ["Announce", "CommitWriter", "Sent"]

# What a commit publishes for a tab on another worker: (token, seq, delta, every value when the tab
# must be sent its whole state, whether another worker may have the tab's socket) -> the relay's
# message; "" when no worker has the socket; None when the socket is here (sent after the commit).
Announce = Callable[[str, int, Delta, "Delta | None", bool], "str | None"]


class Sent(NamedTuple):
    """A commit on its way: the script's reply to come, the version it writes, the lease it was made under."""

    write: asyncio.Future[Any]
    version: str
    hold: object
    sent_at: float  # loop time: a lease renewed by this commit lasts from here
    published: bool  # the script also publishes the tab's update for the worker that has its socket
    logged: int  # bytes it appends to the tab's operation log (0: it writes the state whole, emptying the log)
    replicated: asyncio.Future[Any] | None  # replicated mode: the WAIT's reply (how many replicas have it)
    keys: tuple[str, ...]  # the script call, to send it again unchanged (it recognises its own version)
    args: tuple[Any, ...]
    update: str  # replicated mode: the update to publish once replicas have the change ('' for none)


class CommitWriter:
    """Writes commits for one worker (see the module docstring)."""

    def __init__(
        self, stream: CommandStream, locks: RedisTabLocks, settings: Settings, worker: str,
        *, announce: Announce | None = None, channel: str = "",
    ) -> None:
        self.worker = worker
        self._stream = stream
        self._locks = locks
        self.script = stream.script(scripts.COMMIT, "saving a tab")  # (a test may wrap it to delay replies)
        self._versions = itertools.count(1)
        self.ttl_ms = max(1, round(settings.state_ttl * 1000))
        self.lease = settings.lock_lease
        self._lease_ms = max(1, round(settings.lock_lease * 1000))
        self._depth = settings.redis_pipeline_depth
        self.pipelined = settings.redis_commit_mode == "pipelined"
        self.replicas = settings.replicas_to_wait_for  # 0 unless in replicated mode
        self._announce = announce
        self.channel = channel  # where the updates it publishes go (the Socket.IO relay's channel)
        self.bytes_written = 0  # what the commits sent to Redis (keys and arguments), for the benchmarks

    def may_pipeline(self) -> bool:
        """Whether a block may go on before Redis answers its commit (pipelined mode, within the depth)."""
        return self.pipelined and self._stream.pending <= self._depth

    def send(
        self, token: str, built_on: str, seq: int, root: State, changes: Commitment, replace: bool, whole: bool,
        logged: bool = False,
    ) -> Sent:
        """Send the COMMIT of `changes` (of the whole `root` if `whole`) as seq `seq`, built on `built_on`.

        `logged`: the tab's operation log in Redis is not empty (stored.changed_fields).
        """
        delta = changes.delta
        number = next(self._versions)
        version = f"{self.worker}.{number}"
        hold = self._locks.hold_of(token)
        update, published = "", False
        announce = self._announce
        if announce is not None and (delta or replace):
            # Built and published with the write only when the tab's socket was on another
            # worker when this lease began (see locks._Hold); "" when no worker has it.
            elsewhere = hold is None or hold.remote_socket
            full = every_public_value(root) if replace and elsewhere else None
            message = announce(token, seq, delta, full, elsewhere)
            if message is not None:  # the tab's socket is not here: this commit is all it gets
                update, published = message, True
        later = update if self.replicas else ""
        if later:
            update = ""  # published by `publish` once replicas have the change
        log: list[str]
        if whole:
            fields, log = every_field(root), []
        else:
            fields, log = changed_fields(changes.stored, logged)
        args = (self.worker, built_on, version, seq, "whole" if whole else "changes", self.ttl_ms, self._lease_ms,
                number, self.channel, update, len(fields) // 2, *fields, *log)
        sent_at = asyncio.get_running_loop().time()
        keys = tab_keys(token, "lock", "state", "waiting", "socket", "log")
        self.bytes_written += sum(map(len, fields)) + sum(map(len, log)) + len(update)
        # A lost connection is retried while the lease lasts (after it, Redis would refuse the commit anyway).
        within = self._within(hold, sent_at)
        write = asyncio.ensure_future(self.script(keys=keys, args=args, within=within))
        replicated = self._wait_for_replicas(within) if self.replicas else None
        return Sent(write, version, hold, sent_at, published, sum(map(len, log)), replicated, keys, args, later)

    @staticmethod
    def _within(hold: object, now: float) -> float:
        """Seconds a commit may wait out a lost connection: its lease (after it, Redis would refuse it anyway)."""
        return hold.lease_until - now if isinstance(hold, Hold) and hold.lease_until > now else WITHIN

    def _wait_for_replicas(self, within: float) -> asyncio.Future[Any]:
        return self._stream.wait_for_replicas(self.replicas, within, "waiting for replicas to take a change")

    def again(self, sent: Sent) -> tuple[asyncio.Future[Any], asyncio.Future[Any]]:
        """Replicated mode: send a commit once more, and a WAIT after it (the first WAIT was answered on
        another connection than the commit, maybe by a new primary that lacks it)."""
        within = self._within(sent.hold, asyncio.get_running_loop().time())
        write = asyncio.ensure_future(self.script(keys=sent.keys, args=sent.args, within=within))
        return write, self._wait_for_replicas(within)

    def publish(self, update: str) -> None:
        """Replicated mode: publish an update for another worker once replicas have its change."""
        self._stream.send(("PUBLISH", self.channel, update), "publishing an update").add_done_callback(_quiet)


def _quiet(future: asyncio.Future[Any]) -> None:
    """A lost update publication heals like the relay's gaps: the tab resyncs when it sees a gap."""
    if not future.cancelled():
        future.exception()
