"""Reflex 0.10.1's side of the state workloads, step for step like `bench.states.engine_side`.

Import it only in a worker process (`bench.states.worker`), which first sets the
environment Reflex reads at import: no telemetry, the state manager mode
(`memory`, or `redis` with `REFLEX_REDIS_URL`), and `REFLEX_OPLOCK_ENABLED`
(true for the `oplock` variant: its Redis manager then keeps a tab's lock
leased and its state cached in the worker, written back when the lease ends). Reflex runs headless: an
`rx.App()` without its frontend, its event processor started as its server's
lifespan would start it, and no tab connected (as on our side).
"""

from __future__ import annotations

import os

os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")

import asyncio
import contextlib
import importlib.metadata
import logging
from typing import Any

import reflex as rx
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex_base.environment import environment
from reflex_base.event import Event

from .big_reflex import BigReflexSide

__all__ = ["ReflexSide", "TwinBenchTaskState", "TwinState"]


class TwinState(rx.State):
    """Reflex's twin of demos.background_tasks.MyTaskState: the same vars and handlers."""

    counter: int = 0
    max_counter: int = 10
    running: bool = False
    _n_tasks: int = 0

    @rx.event
    def toggle_running(self):
        self.running = not self.running

    @rx.event
    def clear_counter(self):
        self.counter = 0


class TwinBenchTaskState(rx.State):
    """Twin of bench.states.engine_side.BenchTaskState (the same two background handlers)."""

    counter: int = 0
    max_counter: int = 10
    running: bool = False
    _n_tasks: int = 0

    @rx.event(background=True)
    async def count(self, n: int):
        for _ in range(n):
            async with self:
                self.counter += 1

    @rx.event(background=True)
    async def count_to(self, n: int):
        async with self:
            self.max_counter = n
            self.running = True
        for _ in range(n + 1):
            async with self:
                if self.counter >= self.max_counter:
                    self.running = False
                if not self.running:
                    return
                self.counter += 1
            await asyncio.sleep(0)  # the demo awaits here (0.5 s) outside the block


class ReflexSide(BigReflexSide):
    """Reflex behind the same methods as `bench.states.engine_side.EngineSide`."""

    name = "reflex"

    def __init__(self, mode: str, redis_url: str | None, variant: str = "") -> None:
        self.mode = mode
        self.variant = variant
        self.redis_url = redis_url
        self.app: Any = None
        self._processor: Any = None
        self._bg_state = TwinBenchTaskState.get_full_name()

    async def setup(self) -> dict[str, Any]:
        self.app = rx.App()
        # With no tab connected, each update would log "Attempting to send delta to
        # disconnected client"; our side sends nothing to a room without members either.
        logging.getLogger("reflex.app").setLevel(logging.ERROR)
        self._processor = self.app._setup_event_processor()  # the lifespan task of its server
        await self._processor.__aenter__()
        manager = self.app.state_manager
        expected = "StateManagerRedis" if self.mode == "redis" else "StateManagerMemory"
        if type(manager).__name__ != expected:
            raise RuntimeError(f"Reflex built a {type(manager).__name__}, expected {expected}")
        info: dict[str, Any] = {
            "framework": "reflex",
            "version": importlib.metadata.version("reflex"),
            "state_manager": type(manager).__name__,
            "env_mode": str(getattr(environment.REFLEX_ENV_MODE.get(), "value", "?")),
        }
        if self.mode == "redis":
            info["lock_expiration_ms"] = manager.lock_expiration
            info["oplock_enabled"] = manager._oplock_enabled
            info["oplock_hold_time_ms"] = manager.oplock_hold_time_ms
            if manager._oplock_enabled != (self.variant == "oplock"):
                raise RuntimeError(f"Reflex's oplock is {manager._oplock_enabled}, variant {self.variant!r}")
        return info

    def handle(self, token: str) -> BaseStateToken:
        return BaseStateToken(ident=token, cls=TwinState)

    async def increments(self, token: BaseStateToken, count: int, pause: str = "") -> None:
        """`count` separate `modify_state` blocks, each adding one to the twin's counter (see EngineSide)."""
        app = self.app
        inside, after = pause == "inside", pause == "after"
        for _ in range(count):
            async with app.modify_state(token) as root:
                (await root.get_state(TwinState)).counter += 1
                if inside:
                    await asyncio.sleep(0)
            if after:
                await asyncio.sleep(0)

    async def counter(self, token: BaseStateToken) -> int:
        async with self.app.modify_state(token) as root:
            return int((await root.get_state(TwinState)).counter)

    async def background(self, token: str, n: int, handler: str = "count") -> None:
        """Send the background event through Reflex's event processor and wait for the task to end."""
        future = await self.app.event_processor.enqueue(
            token, Event(name=f"{self._bg_state}.{handler}", payload={"n": n})
        )
        await future

    async def bg_counter(self, token: str) -> int:
        key = BaseStateToken(ident=token, cls=TwinBenchTaskState)
        async with self.app.modify_state(key) as root:
            return int((await root.get_state(TwinBenchTaskState)).counter)

    async def reset(self) -> None:
        """Drop every tab state (memory mode), with Reflex's own purge."""
        manager = self.app.state_manager
        if isinstance(manager, StateManagerMemory):
            for _deadline, token in list(manager._token_expires_at.values()):
                manager._purge_token(token)

    def tabs_held(self) -> int:
        manager = self.app.state_manager
        return len(manager.states) if isinstance(manager, StateManagerMemory) else -1

    async def close(self) -> None:
        if self._processor is not None:
            with contextlib.suppress(Exception):
                await self._processor.__aexit__(None, None, None)
        if self.app is not None:
            with contextlib.suppress(Exception):
                await self.app.state_manager.close()
