"""The Redis connections this worker uses, and their failures as engine errors."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from ..errors import StateStoreError

__all__ = ["COMMAND_TIMEOUT", "CONNECT_TIMEOUT", "PREFIX", "StoreCall", "connect", "describe", "new_worker_id"]

PREFIX = "engine"  # every key and channel the engine uses starts with it

CONNECT_TIMEOUT = 2.0  # seconds: Redis unreachable -> the event fails instead of hanging
COMMAND_TIMEOUT = 5.0  # seconds: a command that takes longer means Redis is in trouble

T = TypeVar("T")


def new_worker_id() -> str:
    """This worker's name in lock keys, versions, task records and announcements."""
    return secrets.token_hex(8)


def connect(url: str, *, listener: bool = False) -> Redis:
    """A client that fails fast when Redis is down and reconnects by itself when it is back.

    One immediate retry covers a pooled connection that died with a restarted
    Redis; anything more would make a tab wait through an outage. The
    `socket_timeout` (5 s by default in redis-py) is switched off on purpose:
    redis-py enforces it with `asyncio.wait_for`, which on Python 3.11 can
    swallow a cancellation that arrives as a command completes (the cancelled
    task would run on). Commands are bounded by `StoreCall` instead. A
    `listener` (pub/sub) client checks its idle connection's health now and then.
    """
    return Redis.from_url(
        url,
        socket_timeout=None,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        health_check_interval=30 if listener else 0,
    )


def describe(url: str) -> str:
    """`host:port/db` of a Redis URL, without credentials, for messages."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or ''}"


class StoreCall:
    """Runs Redis commands within `COMMAND_TIMEOUT`; a failure becomes a `StateStoreError` a tab can read."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.failures = 0

    async def __call__(self, command: Callable[[], Awaitable[T]], doing: str) -> T:
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                return await command()
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            self.failures += 1
            raise self.error(exc, doing) from None

    def error(self, exc: BaseException, doing: str) -> StateStoreError:
        if isinstance(exc, TimeoutError) and not str(exc):
            detail = f"no answer within {COMMAND_TIMEOUT:g}s"
        else:
            detail = str(exc) or type(exc).__name__
        return StateStoreError(
            f"the state store (Redis at {self.where}) failed while {doing}: {detail}; "
            "nothing was changed. Try again once Redis is reachable"
        )
