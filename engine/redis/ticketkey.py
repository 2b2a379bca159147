"""The key that signs tab tickets, kept in Redis so that every worker and every restart share it.

Without a configured `token_secret`, each process would make a key of its
own at start, and a deploy would turn every visitor's ticket into a stranger's:
the tab would come back as a fresh one at defaults while its state waited in
Redis until its TTL. The first worker to start stores a random key (`SET NX`:
created once, never replaced); every other worker, and every later restart,
reads the same one. It has no TTL; deleting it invalidates every ticket. A
configured `token_secret` always wins (the App never asks Redis then).
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from redis.exceptions import RedisError

from .client import COMMAND_TIMEOUT, PREFIX, Pool, connect

__all__ = ["TICKET_KEY", "shared_ticket_key"]

logger = logging.getLogger("engine.redis")

TICKET_KEY = f"{PREFIX}:ticket-key"


async def shared_ticket_key(url: str, *, wait: float = 10.0) -> bytes | None:
    """The shared signing key (made now if no worker made one yet); None if Redis did not answer within `wait`."""
    client = connect(url, Pool(1, 2.0))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    delay = 0.1
    try:
        while True:
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    await client.set(TICKET_KEY, secrets.token_urlsafe(32), nx=True)
                    key = await client.get(TICKET_KEY)
                if key:
                    return key if isinstance(key, bytes) else str(key).encode()
            except (RedisError, OSError) as exc:
                if loop.time() + delay > deadline:
                    logger.error("could not read the ticket key from Redis (%s)", exc)
                    return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    finally:
        await client.aclose()
