"""The Redis connections this worker uses, and their failures as engine errors."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from ..errors import StateStoreError
from ..settings import Settings
from .sentinel import is_sentinel_url, parse_sentinel_url, sentinel_pool_kwargs

__all__ = ["COMMAND_TIMEOUT", "CONNECT_TIMEOUT", "PREFIX", "Pool", "StoreCall", "connect", "describe", "new_worker_id"]

PREFIX = "engine"  # every key and channel the engine uses starts with it

CONNECT_TIMEOUT = 2.0  # seconds: Redis unreachable -> the event fails instead of hanging
COMMAND_TIMEOUT = 5.0  # seconds: a command that takes longer means Redis is in trouble

T = TypeVar("T")


def new_worker_id() -> str:
    """This worker's name in lock keys, versions, task records and announcements."""
    return secrets.token_hex(8)


LISTENER_POOL = 4  # connections of a pub/sub client: a subscription holds one for as long as it lasts
NO_CONNECTION = "No connection available."  # what redis-py's blocking pool raises when none came free in time


class Pool(NamedTuple):
    """How many connections a client may open (`size`), and how long a command waits for one (`timeout`)."""

    size: int
    timeout: float

    @classmethod
    def of(cls, settings: Settings) -> Pool:
        return cls(settings.redis_pool_size, settings.redis_pool_timeout)


def connect(url: str, pool: Pool, *, listener: bool = False) -> Redis:
    """A client that queues for a connection under load, and fails fast when Redis is down.

    Its pool holds at most `pool.size` connections; a command that finds them
    all busy waits up to `pool.timeout` for one instead of failing at once
    (redis-py's default pool refuses the 101st with "Too many connections").
    One immediate retry covers a pooled connection that died with a restarted
    Redis; anything more would make a tab wait through an outage. The
    `socket_timeout` (5 s by default in redis-py) is switched off on purpose:
    redis-py enforces it with `asyncio.wait_for`, which on Python 3.11 can
    swallow a cancellation that arrives as a command completes (the cancelled
    task would run on). Commands are bounded by `StoreCall` instead. A
    `listener` (pub/sub) client checks its idle connection's health now and then.
    A `redis+sentinel://` URL makes every connection find the primary through
    the Sentinels first (sentinel.py).
    """
    options: dict[str, Any] = {
        "max_connections": LISTENER_POOL if listener else pool.size,
        "timeout": pool.timeout,
        "socket_timeout": None,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "health_check_interval": 30 if listener else 0,
    }
    if is_sentinel_url(url):
        connections = BlockingConnectionPool(**sentinel_pool_kwargs(url), **options)
    else:
        connections = BlockingConnectionPool.from_url(url, **options)
    return Redis.from_pool(connections)


def describe(url: str) -> str:
    """`host:port/db` of a Redis URL (the Sentinels and service of a Sentinel URL), without credentials."""
    if is_sentinel_url(url):
        return parse_sentinel_url(url).describe()
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or ''}"


class StoreCall:
    """Runs Redis commands in bounded time; a failure becomes a `StateStoreError` a tab can read.

    A command may first wait up to `pool_timeout` for a free connection, then
    gets `COMMAND_TIMEOUT` for Redis to answer. When every connection was busy
    the message says so and names the setting: Redis itself was fine.
    """

    def __init__(self, where: str, pool: Pool) -> None:
        self.where = where
        self.pool = pool
        self.failures = 0
        self.busy = 0  # failures because no connection came free in time

    async def __call__(self, command: Callable[[], Awaitable[T]], doing: str) -> T:
        try:
            async with asyncio.timeout(self.pool.timeout + COMMAND_TIMEOUT):
                return await command()
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            self.failures += 1
            raise self.error(exc, doing) from None

    def error(self, exc: BaseException, doing: str) -> StateStoreError:
        if isinstance(exc, RedisConnectionError) and str(exc) == NO_CONNECTION:
            self.busy += 1
            return StateStoreError(
                f"this worker's {self.pool.size} connections to Redis at {self.where} were all busy for "
                f"{self.pool.timeout:g}s while {doing} (settings redis_pool_size, redis_pool_timeout); "
                "nothing was changed. Redis is reachable: try again in a moment"
            )
        if isinstance(exc, TimeoutError) and not str(exc):
            detail = f"no answer within {COMMAND_TIMEOUT:g}s"
        else:
            detail = str(exc) or type(exc).__name__
        return StateStoreError(
            f"the state store (Redis at {self.where}) failed while {doing}: {detail}; "
            "nothing was changed. Try again once Redis is reachable"
        )
