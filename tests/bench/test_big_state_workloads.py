"""The big-state workloads' engine side (bench/states/big*.py), in this process and without Reflex.

No rate is checked (that is `nox -s bench`'s job); each run must end exact, measure the update a tab
receives as the size of the change, not of the state, and on Redis count what Redis received.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.states import big, workloads
from bench.states.engine_side import EngineSide

WORKLOADS = [(kind, "task") for kind in sorted(big.KINDS)] + [(kind, "modify") for kind in big.MODIFY_KINDS]


@pytest.mark.parametrize(("kind", "via"), WORKLOADS)
async def test_each_workload_runs_exact_and_measures_a_small_update(kind: str, via: str) -> None:
    side = EngineSide("memory", None)
    await side.setup()
    try:
        small = await workloads.big_state(side, 50, kind=kind, items=10, via=via)
        large = await workloads.big_state(side, 50, kind=kind, items=2_000, via=via)
    finally:
        await side.close()
    for result in (small, large):
        assert result["ok"], result
        assert 0 < result["update_bytes"] <= 2 * result["item_bytes"] + 120, result
    assert large["update_bytes"] - small["update_bytes"] <= 4  # (a longer index in the path at most)


@pytest.mark.redis
async def test_on_redis_a_run_counts_the_bytes_redis_received(redis_server: Any) -> None:
    redis_server.flush()
    side = EngineSide("redis", redis_server.url)
    await side.setup()
    try:
        result = await workloads.big_state(side, 100, kind="table", items=2_000)
    finally:
        await side.close()
    assert result["ok"], result
    assert 0 < result["redis_bytes_per_block"] <= 4096, result
