"""What one worker tells the others about its tabs: its hash, its announcements and its heartbeat.

Each worker keeps its own connections in a hash of its own with a TTL (read
by workers that start later), announces every change on the directory's
pub/sub channel, and sends a heartbeat every `beat` seconds (its score in the
workers' sorted set, and a message on the channel). What it has to say waits
in an ordered outbox and goes out in batches from a task of its own, so
binding a tab never waits for Redis. After a gap (Redis out of reach, or the
others may have missed what was said) the whole hash is written again. The
tab directory (directory.py) listens to the others and uses this for its own
side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..directory import Binding
from .client import COMMAND_TIMEOUT, PREFIX
from .wakeup import check_cancelled

__all__ = ["CHANNEL", "WORKERS_KEY", "Announcer", "hash_of"]

logger = logging.getLogger("engine.directory")

CHANNEL = f"{PREFIX}:conns"  # every worker's announcements
WORKERS_KEY = f"{PREFIX}:workers"  # worker -> wall-clock time of its last heartbeat
_BACKOFF_MAX = 2.0


def hash_of(worker: str) -> str:
    """The key of a worker's hash of its tabs (token -> socket id and page)."""
    return f"{PREFIX}:conns:{worker}"


class Announcer:
    """This worker's side of the tab directory (see the module docstring).

    Args:
        dead_after: seconds after which the others take a silent worker for dead; its hash lives as long.
    """

    def __init__(self, redis: Redis, worker: str, beat: float, dead_after: float) -> None:
        self.worker = worker
        self.beat = beat
        self.dead_after = dead_after
        self.local: dict[str, Binding] = {}  # this worker's own bindings: the truth it announces (read only)
        self._redis = redis
        self._outbox: deque[tuple[str, str, Binding]] = deque()
        self._kick = asyncio.Event()
        self._kick.set()
        self._announce_all = True

    # -- what there is to say ------------------------------------------------------------------
    def bind(self, token: str, binding: Binding) -> None:
        self.local[token] = binding
        self._send("bind", token, binding)

    def unbind(self, token: str, sid: str) -> bool:
        """The socket `sid` of the tab left this worker; whether that is news (not if the tab has another here)."""
        mine = self.local.get(token)
        if mine is None or mine.sid != sid:
            return False
        del self.local[token]
        self._send("unbind", token, mine)
        return True

    def moved(self, token: str) -> None:
        """The page reconnected to another worker: this worker's old socket no longer serves it."""
        mine = self.local.pop(token, None)
        if mine is not None:
            self._send("unbind", token, mine)

    def resume(self, token: str) -> None:
        self._send("resume", token, Binding("", None, self.worker))

    def cancel(self, token: str, handler: str | None) -> None:
        self._send("cancel", token, Binding(handler or "", None, self.worker))

    def resync(self) -> None:
        """Write the whole hash again and say so: the others may have missed what was said."""
        self._announce_all = True
        self._kick.set()

    def _send(self, op: str, token: str, binding: Binding) -> None:
        self._outbox.append((op, token, binding))
        self._kick.set()

    @property
    def pending(self) -> bool:
        """Whether something waits in the outbox."""
        return bool(self._outbox)

    # -- saying it -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Send what there is to say and the heartbeats, until cancelled; Redis out of reach: retry."""
        loop = asyncio.get_running_loop()
        next_beat = loop.time()
        backoff = 0.1
        while True:
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):  # a stalled Redis: retry, do not hang
                    if self._announce_all:
                        self._announce_all = False
                        self._outbox.clear()  # the full announcement covers them
                        await self._write_all()
                    if loop.time() >= next_beat:
                        started = loop.time()
                        await self._heartbeat()
                        # One beat from its start, not its end: over a slow link beats keep their pace,
                        # and this worker hears its own every beat (liveness.py counts on it).
                        next_beat = max(started + self.beat, loop.time())
                    if self._outbox:
                        await self.write_changes()
                if not self._outbox:
                    self._kick.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(0.0, next_beat - loop.time())):
                            await self._kick.wait()
                    check_cancelled()
                if backoff > 0.1:
                    logger.info("sharing this worker's tabs through Redis again")
                backoff = 0.1
            except (RedisError, OSError) as exc:
                if backoff == 0.1:
                    logger.warning("could not share this worker's tabs through Redis (%s); retrying", exc)
                self._announce_all = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    async def write_changes(self) -> None:
        """Send the oldest changes in the outbox (up to 500) in one round trip."""
        ops = [self._outbox.popleft() for _ in range(min(len(self._outbox), 500))]
        own = hash_of(self.worker)
        pipe = self._redis.pipeline(transaction=False)
        for op, token, binding in ops:
            if op in ("cancel", "resume"):  # (binding.sid: the handler's name, "" for every tab-lifetime task)
                pipe.publish(CHANNEL, json.dumps({"op": op, "w": self.worker, "t": token, "h": binding.sid}))
                continue
            if op == "bind":
                pipe.hset(own, token, json.dumps({"s": binding.sid, "c": binding.client}))
            else:
                pipe.hdel(own, token)
            pipe.publish(CHANNEL, json.dumps(
                {"op": op, "w": self.worker, "t": token, "s": binding.sid, "c": binding.client}
            ))
        pipe.pexpire(own, round(self.dead_after * 1000))
        await pipe.execute()

    async def _write_all(self) -> None:
        own = hash_of(self.worker)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(own)
        if self.local:
            entries = {t: json.dumps({"s": b.sid, "c": b.client}) for t, b in self.local.items()}
            pipe.hset(own, mapping=entries)  # type: ignore[arg-type]
            pipe.pexpire(own, round(self.dead_after * 1000))
        pipe.publish(CHANNEL, json.dumps({"op": "sync", "w": self.worker}))
        await pipe.execute()

    async def _heartbeat(self) -> None:
        now = time.time()
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(WORKERS_KEY, {self.worker: now})
        pipe.zremrangebyscore(WORKERS_KEY, "-inf", now - self.dead_after)
        pipe.pexpire(WORKERS_KEY, round(self.dead_after * 2000))
        pipe.pexpire(hash_of(self.worker), round(self.dead_after * 1000))
        pipe.publish(CHANNEL, json.dumps({"op": "beat", "w": self.worker}))
        await pipe.execute()

    async def bye(self) -> None:
        """This worker stops: its hash and heartbeat go, and the others forget its tabs at once."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(hash_of(self.worker))
        pipe.zrem(WORKERS_KEY, self.worker)
        pipe.publish(CHANNEL, json.dumps({"op": "bye", "w": self.worker}))
        await pipe.execute()
