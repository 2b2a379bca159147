"""Real states at the cost of what changed: an update grows with the change, not with the state.

The three programs users write with big states (10,000 lines or rows, a transcript of long messages), through a
real socket on both managers: a log that gets a line per block, a table
whose rows change one field at a time, a chat reply streamed token by token
into the last message. Each block's update must be about the size of the
item that changed (at most twice its JSON, and under 1 KiB), and the tab's
copy, built only from what it was sent, must equal the server's state. On
Redis, what a block writes must not grow with the state either. (How long a
block takes is measured by `nox -s bench`, not here.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import engine as rx
from tests.engine.server_side import server_values
from tests.support.tabs import RecordingTab

ITEMS = 10_000


class BigLogState(rx.State):
    lines: list[str] = []


class GrowingTaskState(rx.State):
    log: str = ""

    @rx.event(background=True)
    async def keep_logging(self):
        for _ in range(10_000):
            async with self:
                self.log += "one more line of the log\n"


class DroppedLogState(rx.State):
    lines: list[str] | None = None
    more: list[str] = []


class BigTableState(rx.State):
    rows: list[dict[str, str]] = []


class BigChatState(rx.State):
    messages: list[dict[str, str]] = []
    draft: str = ""


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


async def _fill(app: rx.App, token: str, state: type[rx.State], var: str, value: Any) -> None:
    async with app.modify_state(token) as root:
        setattr(root.get_substate(state.get_full_name().split(".")), var, value)


async def _blocks(app: rx.App, token: str, state: type[rx.State], change: Any, times: int) -> None:
    path = state.get_full_name().split(".")
    for i in range(times):
        async with app.modify_state(token) as root:
            change(root.get_substate(path), i)


def _covers(frame: dict[str, Any]) -> int:
    """How many commits an update stands for (several, merged, when the tab's socket was behind)."""
    return int(frame["seq"]) - int(frame.get("from", frame["seq"])) + 1


def _frames(tab: RecordingTab, since: int) -> list[dict[str, Any]]:
    return tab.updates[since:]


WORKLOADS = {
    "log": (BigLogState, "lines", lambda n: [f"{i:05d} GET /items/{i} 200 in 3 ms" for i in range(n)],
            lambda s, i: s.lines.append(f"{i:05d} GET /items/{i} 200 in 4 ms"),
            lambda i: f"{i:05d} GET /items/{i} 200 in 4 ms"),
    "table": (BigTableState, "rows",
              lambda n: [{"id": str(i), "customer": f"customer {i}", "status": "open"} for i in range(n)],
              lambda s, i: s.rows[i * 97 % ITEMS].__setitem__("status", "paid"),
              lambda i: {"id": str(i), "customer": f"customer {i}", "status": "paid"}),
    "chat": (BigChatState, "messages",
             lambda n: [{"role": "user" if i % 2 else "assistant", "text": "A sentence of an answer. " * 40}
                        for i in range(50)],  # (a transcript of 50 long messages)
             lambda s, i: s.messages[-1].__setitem__("text", s.messages[-1]["text"] + f" token{i}"),
             lambda i: f" token{i}"),
}


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
async def test_an_update_carries_the_changed_item_not_the_state(app: rx.App, workload: str) -> None:
    state, var, fill, change, item = WORKLOADS[workload]
    async with RecordingTab(app, states=[state]) as tab:
        await _fill(app, tab.token, state, var, fill(ITEMS))
        await tab.wait_for(lambda t: len(t.state(state)[var]) == len(fill(ITEMS)), timeout=20)
        since, seq = len(tab.updates), tab.seq
        await _blocks(app, tab.token, state, change, 20)
        await tab.wait_for(lambda t: t.seq - seq >= 20, timeout=10)
        frames = _frames(tab, since)
        # (Blocks made faster than the tab's socket sends merge: a frame may stand for several.)
        assert sum(_covers(frame) for frame in frames) == 20
        for frame in frames:
            size, blocks = _size(frame), _covers(frame)
            assert size <= blocks * (2 * _size(item(0)) + 120) and size <= blocks * 1024, (workload, size, frame)
            assert "ops" in frame and state.get_full_name() in frame["ops"]
        # The tab's copy, built only from those operations, is the server's state.
        assert tab.state(state)[var] == (await server_values(app, tab.token, state))[var]


async def test_a_block_that_only_reads_a_big_list_sends_and_stores_nothing(app: rx.App) -> None:
    async with RecordingTab(app, states=[BigTableState]) as tab:
        await _fill(app, tab.token, BigTableState, "rows", WORKLOADS["table"][2](ITEMS))
        await tab.wait_for(lambda t: len(t.state(BigTableState)["rows"]) == ITEMS, timeout=20)
        since, seq = len(tab.updates), tab.seq
        total = 0
        path = BigTableState.get_full_name().split(".")
        for _ in range(5):
            async with app.modify_state(tab.token) as root:
                rows = root.get_substate(path).rows
                total += sum(1 for row in rows if row["status"] == "open")
        await tab.settle()
        assert total == 5 * ITEMS and len(tab.updates) == since and tab.seq == seq


async def test_a_change_made_and_undone_in_one_block_sends_nothing(app: rx.App) -> None:
    async with RecordingTab(app, states=[BigLogState]) as tab:
        await _fill(app, tab.token, BigLogState, "lines", ["a", "b"])
        await tab.wait_for(lambda t: t.state(BigLogState)["lines"] == ["a", "b"])
        since = len(tab.updates)

        def there_and_back(state: Any, _: int) -> None:
            state.lines.append("c")
            state.lines.pop()

        await _blocks(app, tab.token, BigLogState, there_and_back, 3)
        await tab.settle()
        assert tab.updates[since:] == []


async def test_a_tab_whose_copy_does_not_fit_an_update_asks_for_the_whole_state(app: rx.App) -> None:
    async with RecordingTab(app, states=[BigLogState]) as tab:
        await _fill(app, tab.token, BigLogState, "lines", ["a"] * 100)
        await tab.wait_for(lambda t: len(t.state(BigLogState)["lines"]) == 100)
        tab._values[BigLogState.get_full_name()]["lines"] = "not a list any more"  # the copy drifted
        resyncs = tab.resyncs
        await _blocks(app, tab.token, BigLogState, lambda s, i: s.lines.append("b"), 1)
        await tab.wait_for(lambda t: isinstance(t.state(BigLogState)["lines"], list), timeout=5)
        assert tab.resyncs == resyncs + 1
        assert tab.state(BigLogState)["lines"] == ["a"] * 100 + ["b"]


@pytest.mark.redis
@pytest.mark.parametrize("workload", sorted(WORKLOADS))
async def test_on_redis_a_block_writes_what_changed_not_the_state(redis_server: Any, workload: str) -> None:
    state, var, fill, change, _ = WORKLOADS[workload]
    redis_server.flush()
    app = rx.App(redis_url=redis_server.url)
    try:
        await _fill(app, "big-redis", state, var, fill(ITEMS))
        manager = app.state_manager
        before = manager.stats()["bytes_written"]
        blocks = 300
        await _blocks(app, "big-redis", state, change, blocks)
        written = manager.stats()["bytes_written"] - before
        assert written / blocks <= 4096, (workload, written / blocks)
        # And what Redis holds, read back by a fresh worker, is the state.
        other = rx.App(redis_url=redis_server.url)
        try:
            root = await other.state_manager.peek("big-redis")
            assert root is not None
            expected = (await server_values(app, "big-redis", state))[var]
            assert getattr(root.get_substate(state.get_full_name().split(".")), var) == expected
        finally:
            await other.shutdown(timeout=1)
    finally:
        await app.shutdown(timeout=1)


async def test_a_state_that_would_outgrow_max_state_bytes_fails_naming_the_var(app: rx.App) -> None:
    small = rx.App(redis_url=app.settings.redis_url, max_state_bytes=20_000) if app.settings.redis_url else \
        rx.App(max_state_bytes=20_000)
    try:
        async with RecordingTab(small, states=[BigLogState]) as tab:
            path = BigLogState.get_full_name().split(".")
            grew = 0
            with pytest.raises(rx.LimitExceededError) as raised:
                while True:
                    async with small.modify_state(tab.token) as root:
                        root.get_substate(path).lines.append("x" * 100)
                    grew += 1
                    assert grew < 1000, "the limit never tripped"
            message = str(raised.value)
            assert "BigLogState.lines" in message and "max_state_bytes=20,000" in message
            assert "rolled back" in message
            await tab.wait_for(lambda t: len(t.state(BigLogState)["lines"]) == grew, timeout=10)  # what was stored
            assert len((await server_values(small, tab.token, BigLogState))["lines"]) == grew
            await tab.wait_for(lambda t: len(t.state(BigLogState)["lines"]) == grew, timeout=10)
            async with small.modify_state(tab.token) as root:  # and shrinking it makes room again
                del root.get_substate(path).lines[:10]
            async with small.modify_state(tab.token) as root:
                root.get_substate(path).lines.append("y")
    finally:
        await small.shutdown(timeout=1)


async def test_a_big_value_given_up_for_none_no_longer_counts_against_max_state_bytes(app: rx.App) -> None:
    """A block that only sets plain values (None here) still gives back what the value they replace counted."""
    small = rx.App(redis_url=app.settings.redis_url, max_state_bytes=20_000) if app.settings.redis_url else \
        rx.App(max_state_bytes=20_000)
    big = ["x" * 100 for _ in range(150)]  # about 15,500 bytes: two of them do not fit
    try:
        async with RecordingTab(small, states=[DroppedLogState]) as tab:
            await _fill(small, tab.token, DroppedLogState, "lines", big)
            await _fill(small, tab.token, DroppedLogState, "lines", None)
            await _fill(small, tab.token, DroppedLogState, "more", big)  # room again: None counts nothing
            assert await server_values(small, tab.token, DroppedLogState) == {"lines": None, "more": big}
            with pytest.raises(rx.LimitExceededError):  # (and the bound still holds)
                await _fill(small, tab.token, DroppedLogState, "lines", big)
    finally:
        await small.shutdown(timeout=1)


async def test_a_task_that_outgrows_max_state_bytes_ends_failed_and_its_tab_works_on(app: rx.App) -> None:
    """The task's status (the engine's own, small and bounded) is not counted: the failure can always be recorded."""
    small = rx.App(redis_url=app.settings.redis_url, max_state_bytes=3_000) if app.settings.redis_url else \
        rx.App(max_state_bytes=3_000)
    try:
        async with RecordingTab(small, states=[GrowingTaskState]) as tab:
            await tab.send(GrowingTaskState.keep_logging)
            await tab.settle(timeout=10)  # (before the fix: "still running" for good)
            (error,) = tab.errors
            assert "GrowingTaskState.log" in error and "max_state_bytes=3,000" in error, error
            shown = tab.state(GrowingTaskState)
            task = tab.task(GrowingTaskState.keep_logging)
            assert task["status"] == "failed", task
            assert 2_500 < len(shown["log"]) <= 3_000  # what was stored before the block that tripped it
            assert (await server_values(small, tab.token, GrowingTaskState))["log"] == shown["log"]
            assert await tab.send(GrowingTaskState.set_log, "") == {"ok": True}  # the tab works on
            assert tab.state(GrowingTaskState)["log"] == ""
    finally:
        await small.shutdown(timeout=1)
