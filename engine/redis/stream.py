"""One pipelined connection for the scripts on tabs' keys: commands go out as they come, replies come back in order.

redis-py sends a command and waits for its reply on a connection taken from
a pool, so a hundred concurrent commits hold a hundred connections and each
pays a full client round. Redis answers the commands of one connection in
the order it received them, so one connection can carry every lock and
commit of a worker: a command goes out at once when nothing is on its way, else
with the others queued in the same turn of the event loop, in one write;
replies are parsed as they arrive (link.py, resp.py), each going to the oldest
command still waiting. Order on the connection is order in Redis: a tab's release
queued after its commits runs after them, and a commit sent without waiting
(pipelined mode) is fenced by the ones before it.

A connection that breaks is replaced and the commands that had no reply are
sent again, in order (every script is safe to repeat, see scripts.py). While
Redis refuses connections (a restart, a failover) the stream tries again with
back-off, and the commands wait: each has a deadline of its own (`within`,
from when it was sent: a block's `lock_timeout` to take a lock, its lease to
commit) and fails with `StateStoreError` only once that has passed, so an
outage shorter than the deadline costs a wait, not an error. A reply that
takes longer than COMMAND_TIMEOUT means Redis is in trouble: the connection
is dropped in the same way, and so is one whose server answers READONLY (a
primary demoted by a failover, see sentinel.py).

In replicated mode a commit is followed by a WAIT for replicas
(`wait_for_replicas`); the WAITs asked for in one turn of the loop are one, sent
last in the write, which covers every write before it on the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from ..errors import StateStoreError
from .client import COMMAND_TIMEOUT, StoreCall
from .command import WITHIN, Command, Reply, StreamScript, uncancelled
from .link import Link
from .resp import pack

__all__ = ["WITHIN", "CommandStream", "Reply", "StreamScript", "uncancelled"]

logger = logging.getLogger("engine.redis")

_TRIES = 8  # sends of one command at most: one that breaks connection after connection is given up
_CHECK_EVERY = 1.0  # seconds between checks for a reply that is overdue
_BACKOFF_FIRST = 0.05  # seconds before the first new connection after a refused one (doubling)
_BACKOFF_MAX = 1.0


class CommandStream:
    """Sends commands to Redis on one connection without waiting between them (see the module docstring).

    Args:
        client: the client whose connection settings (URL, credentials, TLS) the stream copies.
        call: turns a failure into the engine's `StateStoreError` and counts it.
    """

    def __init__(self, client: Redis, call: StoreCall) -> None:
        pool = client.connection_pool
        # redis-py opens the connection and does the handshake (AUTH, SELECT, TLS); then the stream reads
        # the socket itself (Link), so no health checks: a PING's reply would be taken for a command's.
        kwargs = {**pool.connection_kwargs, "socket_timeout": None, "health_check_interval": 0}
        self._new_connection: Callable[[], Any] = lambda: pool.connection_class(**kwargs)
        self._backoff_max = getattr(pool.connection_class, "backoff_max", _BACKOFF_MAX)
        self._wait: Command | None = None  # the WAIT for replicas that goes last in the next write
        self._call = call
        self._scripts: dict[str, str] = {}  # sha -> source, loaded on each new connection
        self._link: Link | None = None
        self._queue: list[Command] = []  # waiting for the next write
        self._in_flight: deque[Command] = deque()  # written, oldest first, waiting for a reply
        self._flush_soon = False
        self._connecting: asyncio.Task[None] | None = None
        self._checker: asyncio.TimerHandle | None = None
        self._backoff = 0.0  # seconds to wait before the next connection attempt (0: Redis answered last time)
        self._closed = False
        self.reconnects = 0
        self.refused = 0  # connection attempts that failed (Redis restarting, or gone)

    def script(self, source: str, doing: str) -> StreamScript:
        """A script to call on this stream; `doing` completes error messages ("saving a tab")."""
        script = StreamScript(self.send, source, doing)
        self._scripts[script.sha] = source
        return script

    @property
    def pending(self) -> int:
        """Commands queued or written that have no reply yet."""
        return len(self._queue) + len(self._in_flight)

    def send(self, args: tuple[Any, ...], doing: str, within: float = WITHIN) -> Reply:
        """Queue a command; it is written at once when nothing is on its way, else with this turn's others.

        `within`: seconds it may wait out a lost connection before it fails.
        """
        future = Reply()
        if self._closed:
            future.set_exception(StateStoreError(f"the state store was closed while {doing}; nothing was changed"))
            return future
        loop = asyncio.get_running_loop()
        self._queue.append(Command(args, doing, future, loop.time() + within))
        if not self._in_flight and not self._flush_soon:
            self._flush()  # nothing on its way: write now, one turn of the loop sooner
        elif not self._flush_soon:
            self._flush_soon = True  # replies are due: gather this turn's commands into one write
            loop.call_soon(self._flush)
        return future

    def wait_for_replicas(self, replicas: int, timeout: float, doing: str) -> Reply:
        """A WAIT for `replicas` replicas, `timeout` seconds at most, after every command queued so far.

        Its reply is the number of replicas that have every write this connection made before it.
        """
        wait = self._wait
        if wait is not None and wait.args[1] == replicas:
            return wait.future  # type: ignore[return-value]
        timeout_ms = max(1, round(timeout * 1000))
        wait = self._wait = Command(("WAIT", replicas, timeout_ms), doing, Reply(),
                                     asyncio.get_running_loop().time() + timeout + WITHIN)
        self._queue.append(wait)
        if not self._flush_soon:
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)
        return wait.future  # type: ignore[return-value]

    # -- writing ------------------------------------------------------------------------
    def _flush(self) -> None:
        self._flush_soon = False
        if not self._queue or self._closed:
            return
        link = self._link
        if link is None or link.transport.is_closing():
            if self._connecting is None or self._connecting.done():
                self._connecting = asyncio.get_running_loop().create_task(self._connect(), name="engine:redis-stream")
            return  # the connection's first write sends what is queued
        self._write(link)

    def _write(self, link: Link) -> None:
        batch, self._queue = self._queue, []
        wait, self._wait = self._wait, None
        if wait is not None and batch[-1] is not wait and wait in batch:
            batch.remove(wait)  # last: it covers the commits queued after it was asked for
            batch.append(wait)
        loop = asyncio.get_running_loop()
        now = loop.time()
        for command in batch:
            command.tries += 1
            command.sent_at = now
        self._in_flight.extend(batch)
        try:
            link.transport.write(b"".join([pack(command.args) for command in batch]))
        except Exception as exc:  # the transport is closing: connection_lost follows
            self._broken(link, exc)
            return
        if self._checker is None:
            self._checker = loop.call_later(_CHECK_EVERY, self._check_overdue, link)

    async def _connect(self) -> None:
        """Open a connection, load the scripts on it (ahead of anything else), then write the queue.

        Refused (Redis restarting): the commands whose deadline has passed fail,
        the others wait, and a new attempt follows after a back-off.
        """
        loop = asyncio.get_running_loop()
        while True:
            if self._backoff:
                await asyncio.sleep(self._backoff)
            connection: Any = self._new_connection()
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):  # (a stopped Redis accepts, then never answers)
                    await connection.connect()
            except (RedisError, OSError) as exc:  # TimeoutError is an OSError
                self.refused += 1
                if self._backoff == 0:
                    logger.warning("could not connect to Redis (%s); retrying while commands can wait", exc)
                self._backoff = min(self._backoff_max, max(_BACKOFF_FIRST, self._backoff * 2))
                now = loop.time()
                expired = [command for command in self._queue if command.deadline <= now]
                if expired:
                    self._fail(expired, exc)
                    self._queue = [command for command in self._queue if command.deadline > now]
                if not self._queue or self._closed:
                    return  # nothing waits: the next command connects again (after the back-off)
                continue
            break
        if self._backoff:
            logger.info("connected to Redis again")
        self._backoff = 0.0
        if self._closed:
            await connection.disconnect()
            return
        link = Link(connection, self._answer, self._broken)
        self._link = link
        self._queue[:0] = self._script_loads()
        self._write(link)

    # -- reading ------------------------------------------------------------------------
    def _answer(self, link: Link, reply: Any) -> bool:
        """Give a reply to the oldest command waiting; False when this link is done for."""
        if self._link is not link:
            return False
        in_flight = self._in_flight
        if not in_flight:
            self._broken(link, RedisError("Redis sent a reply to no command"))
            return False
        command = in_flight.popleft()
        future = command.future
        if future.done():  # (its caller stopped waiting; Redis ran it all the same)
            return True
        if isinstance(reply, ResponseError) and str(reply).startswith("READONLY"):
            in_flight.appendleft(command)  # a demoted primary: ask the new one, on a new connection
            self._broken(link, reply)
            return False
        if isinstance(future, Reply):
            future.generation = self.reconnects
        if isinstance(reply, ResponseError):
            self._call.failures += 1
            if isinstance(reply, NoScriptError):  # SCRIPT FLUSH: load them again before the next command
                self._reload_scripts()
            future.set_exception(self._call.error(reply, command.doing))
        else:
            future.set_result(reply)
        return True

    def _script_loads(self) -> list[Command]:
        """SCRIPT LOAD of every script, to go ahead of anything else (a new connection, a SCRIPT FLUSH)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WITHIN
        loads = [Command(("SCRIPT", "LOAD", source), "loading the engine's scripts", loop.create_future(), deadline)
                 for source in self._scripts.values()]
        for load in loads:
            load.future.add_done_callback(_quiet)
        return loads

    def _reload_scripts(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue[:0] = self._script_loads()
        if not self._flush_soon:
            self._flush_soon = True
            loop.call_soon(self._flush)

    def _check_overdue(self, link: Link) -> None:
        self._checker = None
        if self._link is not link or not self._in_flight:
            return
        loop = asyncio.get_running_loop()
        oldest = self._in_flight[0]
        allowed = COMMAND_TIMEOUT + (oldest.args[2] / 1000 if oldest.args[0] == "WAIT" else 0)
        if loop.time() - oldest.sent_at > allowed:
            self._broken(link, TimeoutError(f"no answer within {COMMAND_TIMEOUT:g}s"))
            return
        self._checker = loop.call_later(_CHECK_EVERY, self._check_overdue, link)

    # -- failures -------------------------------------------------------------------------
    def _broken(self, link: Link, exc: BaseException) -> None:
        """The connection is lost: send what had no reply again on a new one, within each command's deadline."""
        if self._link is not link:
            return
        self._link = None
        if self._checker is not None:
            self._checker.cancel()
            self._checker = None
        link.close()
        unanswered = [command for command in self._in_flight if not command.future.done()]
        self._in_flight.clear()
        now = asyncio.get_running_loop().time()
        again = [command for command in unanswered
                 if command.tries < _TRIES and command.deadline > now and command.args[0] != "SCRIPT"]
        self._fail([command for command in unanswered if command not in again], exc)
        if self._closed:
            self._fail(again + self._queue, exc)
            self._queue = []
            return
        self.reconnects += 1
        logger.warning("lost the connection to Redis (%s); sending %d commands again", exc, len(again))
        self._queue[:0] = again
        if self._queue:
            self._flush()

    def _fail(self, commands: list[Command], exc: BaseException) -> None:
        for command in commands:
            if not command.future.done():
                self._call.failures += 1
                command.future.set_exception(self._call.error(exc, command.doing))

    async def close(self) -> None:
        """Wait briefly for the replies still due, then close; later sends fail at once."""
        if self.pending:
            futures = [command.future for command in (*self._in_flight, *self._queue)]
            await asyncio.wait(futures, timeout=2.0)
        self._closed = True
        link, self._link = self._link, None
        self._fail([*self._in_flight, *self._queue], StateStoreError("closed"))
        self._in_flight.clear()
        self._queue = []
        if self._checker is not None:
            self._checker.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
        if link is not None:
            link.close()


def _quiet(future: asyncio.Future[Any]) -> None:
    """A script load's failure shows up as NOSCRIPT on the commands after it; do not log it twice."""
    if not future.cancelled():
        future.exception()
