"""Helpers for the Redis tests: Apps on a private Redis, a raw client, a recording tab, worker processes."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import redis.asyncio

import engine as rx
from engine.patch import apply_ops
from engine.testing import TabClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


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


class RecordingTab(TabClient):
    """A TabClient that keeps every `update` message it received, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.updates: list[dict[str, Any]] = []

    async def _on_update(self, data: dict[str, Any]) -> None:
        self.updates.append(copy.deepcopy(data))
        await super()._on_update(data)

    def fulls(self) -> list[dict[str, Any]]:
        return [update for update in self.updates if "full" in update]

    def shown(self, state: str, var: str) -> list[Any]:
        """Every value of `state`'s `var` the tab was sent, in the order it was sent."""
        values = []
        for update in self.updates:
            changed = update.get("full") or update.get("delta") or {}
            if var in changed.get(state, {}):
                values.append(changed[state][var])
        return values


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


async def until(predicate: Any, timeout: float, what: str, step: float = 0.02) -> None:
    """Check `predicate()` (sync or async) until it is true; fail with `what` after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        await asyncio.sleep(step)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Worker:
    """A server process (tests/redis/redis_scale_server.py, or any command) with its log in a file."""

    def __init__(self, port: int, env: dict[str, str], log: Path, command: list[str] | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.command = command or [sys.executable, str(HERE / "redis_scale_server.py"), str(port)]
        self.env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE}", **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> Worker:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker on port {self.port} did not start:\n{self.log_text()}")
            time.sleep(0.05)
        return self

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode
