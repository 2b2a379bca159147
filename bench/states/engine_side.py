"""The engine's side of the state workloads: `App.modify_state` and `async with self`, counter demo state."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
from typing import Any

import engine as rx
from demos.background_tasks import MyTaskState

from .big_engine import BigEngineSide
from .workloads import Unavailable

__all__ = ["BenchTaskState", "EngineSide", "commit_modes"]

COMMIT_MODE_SETTING = "redis_commit_mode"
# The big-state workloads hold up to 10,000 items and grow them by a block per change; Reflex has no such bound.
BIG_STATE_BYTES = 64 * 2**20


def _size_bound() -> dict[str, int]:
    """max_state_bytes for the big states, on an engine that has the setting (`--against` runs older ones)."""
    has = any(field.name == "max_state_bytes" for field in dataclasses.fields(rx.Settings))
    return {"max_state_bytes": BIG_STATE_BYTES} if has else {}


def commit_modes() -> list[str]:
    """The Redis commit modes this engine has (the setting's choices), or confirm only before the setting."""
    for field in dataclasses.fields(rx.Settings):
        if field.name == COMMIT_MODE_SETTING:
            return list(field.metadata.get("choices") or ("confirm", "pipelined"))
    return ["confirm"]


class BenchTaskState(rx.State):
    """The counter demo's vars, and two background handlers.

    `count(n)`: n `async with self` blocks in a row. `count_to(n)`: the
    demo's own loop, with `await asyncio.sleep(0)` in place of its 0.5 s.
    """

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
        for _ in range(n + 1):  # bounded: the demo's loop ends itself at max_counter
            async with self:
                if self.counter >= self.max_counter:
                    self.running = False
                if not self.running:
                    return
                self.counter += 1
            await asyncio.sleep(0)  # the demo awaits here (0.5 s) outside the block


class EngineSide(BigEngineSide):
    """What the workload driver needs from one framework (the same methods on `ReflexSide`)."""

    name = "ours"

    def __init__(self, mode: str, redis_url: str | None, variant: str = "") -> None:
        self.mode = mode
        self.redis_url = redis_url
        self.commit_mode = variant or "confirm"
        self.app: Any = None
        self.path = MyTaskState.get_full_name().split(".")
        self.bg_path = BenchTaskState.get_full_name().split(".")

    async def setup(self) -> dict[str, Any]:
        if self.mode == "redis":
            if self.commit_mode not in commit_modes():
                raise Unavailable(
                    f"rx.Settings has no {COMMIT_MODE_SETTING} yet; only the confirm mode is measured"
                )
            options = {COMMIT_MODE_SETTING: self.commit_mode} if len(commit_modes()) > 1 else {}
            try:
                self.app = rx.App(redis_url=self.redis_url, **_size_bound(), **options)
            except ImportError as exc:  # an engine without its Redis manager
                raise Unavailable(f"the engine cannot use Redis here ({exc}); our Redis figures are skipped") from None
        else:
            self.app = rx.App(**_size_bound())
        await self.app.startup()  # what the server's lifespan does
        info = {
            "framework": "engine",
            "version": importlib.metadata.version("live-background-docs"),
            "state_manager": type(self.app.state_manager).__name__,
        }
        if self.mode == "redis":
            info["commit_mode"] = getattr(self.app.settings, COMMIT_MODE_SETTING, "confirm (no setting yet)")
        return info

    def handle(self, token: str) -> str:
        return token

    async def increments(self, token: str, count: int, pause: str = "") -> None:
        """`count` separate `modify_state` blocks, each adding one to the demo's counter.

        `pause` lets other tasks run once per block: "after" it (tabs interleave),
        or "inside" it, holding the lock (the other tasks queue for it).
        """
        app, path = self.app, self.path
        inside, after = pause == "inside", pause == "after"
        for _ in range(count):
            async with app.modify_state(token) as root:
                root.get_substate(path).counter += 1
                if inside:
                    await asyncio.sleep(0)
            if after:
                await asyncio.sleep(0)

    async def counter(self, token: str) -> int:
        async with self.app.modify_state(token) as root:
            return int(root.get_substate(self.path).counter)

    async def background(self, token: str, n: int, handler: str = "count") -> None:
        """Trigger a background handler (as a tab's event would start it) and wait for it to end."""
        task = self.app.start_background(token, rx.EventSpec(getattr(BenchTaskState, handler), (n,)))
        await task

    async def bg_counter(self, token: str) -> int:
        async with self.app.modify_state(token) as root:
            return int(root.get_substate(self.bg_path).counter)

    async def reset(self) -> None:
        """Drop every tab state (memory mode), so each run starts from an empty manager."""
        manager = self.app.state_manager
        if isinstance(manager, rx.MemoryStateManager):
            manager.evict_idle(now=float("inf"))

    def tabs_held(self) -> int:
        return int(self.app.state_manager.stats().get("tabs", -1))

    async def close(self) -> None:
        if self.app is not None:
            await self.app.shutdown(timeout=1.0)
            await asyncio.sleep(0)
