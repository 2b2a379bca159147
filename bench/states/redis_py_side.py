"""The physical limit of the Redis rows: bare redis-py, one `EVALSHA` per increment, no framework.

A framework that keeps a tab's state durable in Redis has to wait for at
least one round trip per block (or pipeline them). This side does exactly
that and nothing else, through the same side methods as `bench.states.engine_side`, so the
same workloads measure it: `one_token` is the sequential limit (one
`EVALSHA` awaited after another), `many_tokens` the limit with 100
coroutines at once (redis-py opens a connection per concurrent command), and
`contended` 50 coroutines on one key.

The script is a fenced commit, the least a durable block needs: check that
the caller still holds the tab's lock, renew it, and write the tab's state
(here a counter in a hash, so the workloads can check exact totals).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import secrets
from typing import Any

from redis.asyncio import Redis

from .workloads import Unavailable

__all__ = ["FENCED_INCREMENT", "RedisPySide"]

# KEYS: lock, state. ARGV: holder id, lease ms. Returns the new counter, or nil
# when the caller does not hold the lock (nothing is written then).
FENCED_INCREMENT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return nil
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HINCRBY', KEYS[2], 'counter', 1)
"""

LEASE_MS = 10_000


class RedisPySide:
    """Round trips only: the same side methods as `EngineSide`, each block one `EVALSHA`."""

    name = "redis-py"

    def __init__(self, mode: str, redis_url: str | None, variant: str = "") -> None:
        if mode != "redis" or not redis_url:
            raise Unavailable("the round-trip limit is measured on Redis only")
        self.redis_url = redis_url
        self.holder = secrets.token_hex(8)
        self.redis: Any = None
        self.sha = ""
        self.tokens: set[str] = set()

    async def setup(self) -> dict[str, Any]:
        self.redis = Redis.from_url(self.redis_url)
        self.sha = await self.redis.script_load(FENCED_INCREMENT)
        return {
            "framework": "redis-py",
            "version": importlib.metadata.version("redis"),
            "script": "fenced increment (GET lock, PEXPIRE lock, HINCRBY state)",
        }

    def handle(self, token: str) -> str:
        return token

    async def _hold(self, token: str) -> None:
        if token not in self.tokens:
            self.tokens.add(token)
            await self.redis.set(f"limit:{token}:lock", self.holder, px=LEASE_MS)

    async def increments(self, token: str, count: int, pause: str = "") -> None:
        """`count` round trips in a row; `pause` yields to the other coroutines after each."""
        await self._hold(token)
        redis, sha, keys = self.redis, self.sha, (f"limit:{token}:lock", f"limit:{token}:state")
        for _ in range(count):
            if await redis.evalsha(sha, 2, *keys, self.holder, LEASE_MS) is None:
                raise RuntimeError(f"the fenced increment of {token} was refused")
            if pause:
                await asyncio.sleep(0)

    async def counter(self, token: str) -> int:
        return int(await self.redis.hget(f"limit:{token}:state", "counter") or 0)

    async def reset(self) -> None:
        """Nothing to drop between runs: every run uses new tokens."""

    def tabs_held(self) -> int:
        return len(self.tokens)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
