"""Regular event handlers: generators, chaining, ordering and the tab lock."""

from __future__ import annotations

import asyncio

import pytest

import engine as rx
from engine.testing import TabClient
from tests.engine.gates import gate
from tests.engine.server_side import server_values
from tests.support.tabs import RecordingTab

# Per tab: [handlers running now, most ever running at once].
_concurrency: dict[str, list[int]] = {}


class SpecHandlerState(rx.State):
    value: int = 0
    step: int = 0
    log: list[str] = []

    def put(self, value: int):
        self.value = value

    async def put_later(self, value: int):
        await asyncio.sleep(0.02)
        self.value = value

    def steps(self):
        for step in (1, 2, 3):
            self.step = step
            yield

    async def steps_async(self):
        self.step = 1
        yield
        await gate(self.get_token(), "steps").wait_here()
        self.step = 2
        yield
        self.step = 3

    def steps_then_fail(self):
        self.step = 1
        yield
        self.step = 2
        raise RuntimeError("failed after the first yield")

    def note(self, word: str):
        self.log.append(word)

    def bump(self):
        self.log.append("bump")

    def chain_by_return(self):
        self.log.append("first")
        return SpecHandlerState.bump

    def chain_by_return_with_args(self):
        self.log.append("first")
        return SpecHandlerState.note("returned")

    def chain_list(self):
        self.log.append("first")
        return [SpecHandlerState.note("a"), SpecHandlerState.bump, SpecHandlerState.note("b")]

    def chain_by_yield(self):
        self.log.append("first")
        yield SpecHandlerState.note("y1")
        self.log.append("second")
        yield [SpecHandlerState.note("y2"), SpecHandlerState.note("y3")]

    async def chain_async(self):
        await asyncio.sleep(0)
        self.log.append("first")
        return [SpecHandlerState.chain_by_return, SpecHandlerState.note("last")]

    def return_nonsense(self):
        self.value = 1
        return 42

    async def slow_note(self, word: str, delay: float):
        counter = _concurrency.setdefault(self.get_token(), [0, 0])
        counter[0] += 1
        counter[1] = max(counter)
        try:
            await asyncio.sleep(delay)
            self.log.append(word)
        finally:
            counter[0] -= 1

    async def hold(self):
        self.log.append("start")
        await gate(self.get_token(), "hold").wait_here()
        self.log.append("end")


async def _log_under_lock(app: rx.App, token: str) -> list[str]:
    return (await server_values(app, token, SpecHandlerState))["log"]


# -- sync and async handlers -------------------------------------------------------------


async def test_a_sync_handler_changes_the_tabs_state(app):
    async with TabClient(app) as tab:
        assert await tab.send(SpecHandlerState.put, 3) == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["value"] == 3)


async def test_an_async_handler_changes_the_tabs_state(app):
    async with TabClient(app) as tab:
        assert await tab.send(SpecHandlerState.put_later, 4) == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["value"] == 4)


async def test_handler_arguments_are_converted_to_their_annotations(app):
    async with TabClient(app) as tab:
        await tab.send(SpecHandlerState.put, "8")
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["value"] == 8)
        assert (await server_values(app, tab.token, SpecHandlerState))["value"] == 8


async def test_an_event_with_wrong_arguments_is_refused_before_it_runs(app):
    async with RecordingTab(app) as tab:
        ack = await tab.send(SpecHandlerState.put, 1, 2)
        assert ack["ok"] is False
        assert "SpecHandlerState.put" in ack["error"]
        ack = await tab.send(SpecHandlerState.put, "one")
        assert ack["ok"] is False
        assert "SpecHandlerState.put" in ack["error"]
        assert "value" in ack["error"]
        assert tab.deltas() == []


# -- generators: each yield sends the changes so far -----------------------------------------


async def test_each_yield_of_a_generator_handler_sends_the_changes_so_far(app):
    async with RecordingTab(app) as tab:
        start = tab.seq
        await tab.send(SpecHandlerState.steps)
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["step"] == 3)

        assert tab.values_of(SpecHandlerState, "step") == [1, 2, 3]
        seqs = [update["seq"] for update in tab.updates if "delta" in update]
        assert seqs == [start + 1, start + 2, start + 3]


async def test_an_async_generator_handlers_intermediate_update_arrives_while_it_still_runs(app):
    async with RecordingTab(app) as tab:
        held = gate(tab.token, "steps")
        sending = asyncio.create_task(tab.send(SpecHandlerState.steps_async))
        await held.reached()
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["step"] == 1)
        assert not sending.done()

        held.open()
        assert await sending == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["step"] == 3)
        # The changes after the last yield are sent when the handler ends.
        assert tab.values_of(SpecHandlerState, "step") == [1, 2, 3]


async def test_a_generator_that_fails_keeps_what_it_yielded_and_discards_the_rest(app):
    async with RecordingTab(app) as tab:
        ack = await tab.send(SpecHandlerState.steps_then_fail)

        assert ack["ok"] is False and "failed after the first yield" in ack["error"]
        assert tab.values_of(SpecHandlerState, "step") == [1]
        assert (await server_values(app, tab.token, SpecHandlerState))["step"] == 1


# -- chaining: returned or yielded handler references run in order ---------------------------


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (SpecHandlerState.chain_by_return, ["first", "bump"]),
        (SpecHandlerState.chain_by_return_with_args, ["first", "returned"]),
        (SpecHandlerState.chain_list, ["first", "a", "bump", "b"]),
        (SpecHandlerState.chain_by_yield, ["first", "second", "y1", "y2", "y3"]),
        # Chained events join the end of the queue, as the browser's event queue does.
        (SpecHandlerState.chain_async, ["first", "first", "last", "bump"]),
    ],
    ids=["return", "return-with-args", "return-list", "yield", "async-chain-of-chains"],
)
async def test_returned_or_yielded_handlers_run_in_order_after_the_handler(app, handler, expected):
    async with TabClient(app) as tab:
        assert await tab.send(handler) == {"ok": True}
        # The acknowledgement comes after the whole chain, so its effects are all there.
        assert await _log_under_lock(app, tab.token) == expected
        await tab.send(SpecHandlerState.note, "next")
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["log"] == [*expected, "next"])


async def test_returning_something_that_is_not_a_handler_is_a_clear_error(app):
    async with TabClient(app) as tab:
        ack = await tab.send(SpecHandlerState.return_nonsense)
        assert ack["ok"] is False
        assert "SpecHandlerState.return_nonsense" in ack["error"]
        assert "42" in ack["error"]
        assert (await server_values(app, tab.token, SpecHandlerState))["value"] == 0


# -- one at a time, in the order sent ---------------------------------------------------------


async def test_a_tabs_events_run_one_at_a_time_in_the_order_sent(app):
    async with TabClient(app) as tab:
        # Later events sleep less: if they overlapped, they would finish first.
        sends = [tab.send(SpecHandlerState.slow_note, str(i), (9 - i) * 0.004) for i in range(10)]
        acks = await asyncio.gather(*sends)

        assert acks == [{"ok": True}] * 10
        assert await _log_under_lock(app, tab.token) == [str(i) for i in range(10)]
        assert _concurrency[tab.token][1] == 1
        await tab.wait_for(lambda t: len(t.state(SpecHandlerState)["log"]) == 10)


async def test_a_quick_event_waits_for_a_slow_one_sent_before_it(app):
    async with TabClient(app) as tab:
        await asyncio.gather(tab.send(SpecHandlerState.put_later, 1), tab.send(SpecHandlerState.put, 2))
        assert (await server_values(app, tab.token, SpecHandlerState))["value"] == 2
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["value"] == 2)


async def test_events_of_different_tabs_do_not_wait_for_each_other(app):
    async with TabClient(app) as slow, TabClient(app) as quick:
        held = gate(slow.token, "hold")
        sending = asyncio.create_task(slow.send(SpecHandlerState.hold))
        await held.reached()
        assert await asyncio.wait_for(quick.send(SpecHandlerState.put, 5), 5) == {"ok": True}
        held.open()
        await sending


async def test_a_regular_handler_holds_the_tabs_lock_for_its_whole_run(app):
    async with TabClient(app) as tab:
        held = gate(tab.token, "hold")
        sending = asyncio.create_task(tab.send(SpecHandlerState.hold))
        await held.reached()

        reader = asyncio.create_task(_log_under_lock(app, tab.token))
        queued = asyncio.create_task(tab.send(SpecHandlerState.note, "queued"))
        await asyncio.sleep(0.05)
        assert not reader.done()
        assert not queued.done()

        held.open()
        assert await reader == ["start", "end"]
        assert await sending == {"ok": True}
        assert await queued == {"ok": True}
        await tab.wait_for(lambda t: t.state(SpecHandlerState)["log"] == ["start", "end", "queued"])
