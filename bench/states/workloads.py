"""The workloads, written once for both frameworks: each side supplies the same few methods.

A side (`engine_side.EngineSide`, `reflex_side.ReflexSide`, `redis_py_side.RedisPySide`) gives `handle(token)`,
`increments(handle, count)` (count `modify_state` blocks adding one to the
counter demo's `counter`), `counter(handle)`, `background(token, n)` (trigger
the background handler that counts to n and wait for it), `bg_counter(token)`,
`reset()` and `tabs_held()`. Every run checks the exact final counters: a lost
update shows as `ok: false`, never as a faster figure.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import secrets
import time
import tracemalloc
from typing import Any

from . import big

__all__ = ["RUNS", "Unavailable", "memory", "new_token"]


class Unavailable(RuntimeError):
    """This side cannot run in this mode; the runner prints the reason and skips it."""


def new_token() -> str:
    """A tab token of the engine's format (144 random bits), used by both sides alike."""
    return secrets.token_urlsafe(18)


async def _timed(side: Any, coro: Any, ops: int) -> dict[str, Any]:
    """Wall-clock rate (the figure) and CPU-time rate (what the run cost this process).

    On a shared machine the process may wait for a core: that lowers the
    wall-clock rate but not the CPU-time one, which is reported beside it.
    """
    gc.collect()
    cpu = time.process_time()
    began = time.perf_counter()
    await coro
    seconds = time.perf_counter() - began
    cpu_seconds = time.process_time() - cpu
    return {
        "ops": ops,
        "seconds": seconds,
        "rate": ops / seconds if seconds > 0 else 0.0,
        "cpu_seconds": cpu_seconds,
        "cpu_rate": ops / cpu_seconds if cpu_seconds > 0 else 0.0,
    }


async def one_token(side: Any, n: int) -> dict[str, Any]:
    """n increments in a row on one tab."""
    await side.reset()
    handle = side.handle(new_token())
    await side.increments(handle, 1)  # the tab exists before the clock starts
    result = await _timed(side, side.increments(handle, n), n)
    got = await side.counter(handle)
    result.update(expected=n + 1, got=got, ok=got == n + 1)
    return result


async def many_tokens(side: Any, n: int, tokens: int = 100) -> dict[str, Any]:
    """`tokens` tabs at once, one task each, n increments in all; each task yields after each block."""
    await side.reset()
    per = n // tokens
    handles = [side.handle(new_token()) for _ in range(tokens)]
    for handle in handles:
        await side.increments(handle, 1)
    work = asyncio.gather(*(side.increments(handle, per, "after") for handle in handles))
    result = await _timed(side, work, per * tokens)
    got = [await side.counter(handle) for handle in handles]
    result.update(expected=(per + 1) * tokens, got=sum(got), ok=all(g == per + 1 for g in got))
    return result


async def contended(side: Any, n: int, tasks: int = 50) -> dict[str, Any]:
    """`tasks` tasks incrementing one tab, n increments in all.

    Each block yields once while it holds the tab's lock, so the other tasks
    really queue for it (without an await in the block, an in-memory lock is
    never contended: each task would run all its blocks in one go).
    """
    await side.reset()
    per = n // tasks
    handle = side.handle(new_token())
    await side.increments(handle, 1)
    work = asyncio.gather(*(side.increments(handle, per, "inside") for _ in range(tasks)))
    result = await _timed(side, work, per * tasks)
    got = await side.counter(handle)
    result.update(expected=per * tasks + 1, got=got, ok=got == per * tasks + 1)
    return result


async def background(side: Any, n: int, handler: str = "count") -> dict[str, Any]:
    """One background task: n `async with self` blocks in a row, each adding one."""
    await side.reset()
    token = new_token()
    result = await _timed(side, side.background(token, n, handler), n)
    got = await side.bg_counter(token)
    result.update(expected=n, got=got, ok=got == n)
    return result


async def background_demo(side: Any, n: int) -> dict[str, Any]:
    """The counter demo's loop (its checks, and `await asyncio.sleep(0)` for its 0.5 s between blocks)."""
    return await background(side, n, "count_to")


async def asyncio_floor(side: Any, n: int) -> dict[str, Any]:
    """What asyncio alone costs in the two workloads that await inside the loop (no framework).

    `lock_rate`: 50 tasks taking one `asyncio.Lock`, each block awaiting once
    inside (the contended workload's shape); `loop_rate`: one task awaiting
    `sleep(0)` per iteration (the demo loop's shape). Both sides pay these.
    """
    lock = asyncio.Lock()
    per = n // 50

    async def contender() -> None:
        for _ in range(per):
            async with lock:
                await asyncio.sleep(0)

    async def looper() -> None:
        for _ in range(n):
            await asyncio.sleep(0)

    contended_run = await _timed(side, asyncio.gather(*(contender() for _ in range(50))), per * 50)
    loop_run = await _timed(side, looper(), n)
    return {
        "ops": n, "rate": contended_run["rate"], "lock_rate": contended_run["rate"],
        "lock_cpu_rate": contended_run["cpu_rate"], "loop_rate": loop_run["rate"],
        "loop_cpu_rate": loop_run["cpu_rate"], "ok": True,
    }


async def _redis_input_bytes(url: str | None) -> int | None:
    """What Redis has received from every client so far (INFO stats): the same count for every side."""
    if not url:
        return None
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        return int((await client.info("stats"))["total_net_input_bytes"])
    finally:
        await client.aclose()


_UPDATE_BYTES: dict[str, int | None] = {}  # (per worker) one probe per workload


async def big_state(side: Any, n: int, kind: str, items: int, via: str = "task") -> dict[str, Any]:
    """A state of `items` items (filled before the clock), then n blocks, one change each (`bench.states.big`),
    in one background task or (`via="modify"`) as `modify_state` blocks; blocks per second, the update one
    block sends, on Redis the bytes sent to it."""
    key = big.run_key(kind, items, via)
    if key not in _UPDATE_BYTES:
        _UPDATE_BYTES[key] = await side.big_update_bytes(kind, items, via)
    await side.reset()
    token = new_token()
    await side.big_fill(token, kind, items)
    url = getattr(side, "redis_url", None) if getattr(side, "mode", "memory") == "redis" else None
    before = await _redis_input_bytes(url)
    blocks = side.big_blocks if via == "task" else side.big_modify
    result = await _timed(side, blocks(token, kind, n), n)
    after = await _redis_input_bytes(url)
    expected, got = big.check(kind, items, n, await side.big_read(token))
    result.update(expected=repr(expected), got=repr(got), ok=expected == got, update_bytes=_UPDATE_BYTES[key],
                  item_bytes=big.item_json(kind))
    if before is not None and after is not None:
        result["redis_bytes_per_block"] = (after - before) / n
    return result


RUNS: dict[str, Any] = {
    "one_token": one_token,
    "many_tokens": many_tokens,
    "contended": contended,
    "background": background,
    "background_demo": background_demo,
    "asyncio_floor": asyncio_floor,
}
for _kind in big.KINDS:
    for _items in big.ITEMS:
        RUNS[big.run_key(_kind, _items)] = functools.partial(big_state, kind=_kind, items=_items)
        if _kind in big.MODIFY_KINDS:
            RUNS[big.run_key(_kind, _items, "modify")] = functools.partial(
                big_state, kind=_kind, items=_items, via="modify")


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import resource

    return pages * resource.getpagesize()


async def memory(side: Any, tabs: int, method: str) -> dict[str, Any]:
    """Bytes held per idle tab after `tabs` tabs were each touched once through `modify_state`.

    `method` is `tracemalloc` (Python allocations still held) or `rss` (the
    process's resident set); run each in a fresh process. Tokens are made
    inside the measured span, so a tab's cost includes its token as stored.
    """
    await side.reset()
    for _ in range(20):  # warm up caches that a first tab builds once per process
        await side.increments(side.handle(new_token()), 1)
    await side.reset()
    gc.collect()
    if method == "tracemalloc":
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = _rss()
    for _ in range(tabs):
        await side.increments(side.handle(new_token()), 1)
    await asyncio.sleep(0)
    gc.collect()
    if method == "tracemalloc":
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    else:
        after = _rss()
    held = side.tabs_held()
    return {
        "method": method,
        "tabs": tabs,
        "tabs_held": held,
        "bytes": after - before,
        "per_tab": (after - before) / tabs,
        "ok": held == tabs,
    }
