"""The Redis side of the tests: Apps on a private Redis, a raw client, and where the engine keeps a tab."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio

import engine as rx
from engine.patch import apply_ops


@asynccontextmanager
async def redis_app(url: str, **settings: Any) -> AsyncIterator[rx.App]:
    """An App on the Redis at `url`, shut down afterwards."""
    app = rx.App(redis_url=url, **settings)
    try:
        yield app
    finally:
        await app.shutdown(timeout=2)


@asynccontextmanager
async def raw_redis(url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client, to look at (and tamper with) what the engine stored."""
    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        yield client
    finally:
        await client.aclose()


def state_key(token: str) -> str:
    return f"engine:{{{token}}}:state"


def lock_key(token: str) -> str:
    return f"engine:{{{token}}}:lock"


def log_key(token: str) -> str:
    return f"engine:{{{token}}}:log"


async def stored_tree(raw: redis.asyncio.Redis, token: str) -> dict[str, dict[str, Any]]:
    """A tab's state as Redis holds it: each var's field, with the tab's operation log applied."""
    values: dict[str, dict[str, Any]] = {}
    for key, value in (await raw.hgetall(state_key(token))).items():
        if key.startswith(b"v:"):
            state, _, var = key[2:].decode().rpartition(":")
            values.setdefault(state, {})[var] = json.loads(value)
    for entry in await raw.lrange(log_key(token), 0, -1):
        state, var, ops = json.loads(entry)
        values.setdefault(state, {})[var] = apply_ops(values[state].get(var), ops)
    return values


async def stored_var(raw: redis.asyncio.Redis, token: str, state: str, var: str) -> Any:
    """One var of a tab's state as Redis holds it."""
    return (await stored_tree(raw, token))[state][var]
