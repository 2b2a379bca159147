"""The App: its manager, background_tasks, token_to_sid, modify_state, get_app."""

from __future__ import annotations

import asyncio
import secrets

import pytest

import engine as rx
from engine.testing import TabClient
from tests.engine.server_side import server_values
from tests.support.polling import eventually
from tests.support.tabs import RecordingTab

# Which App each tab's handlers saw through rx.get_app(), per token.
_apps_seen: dict[str, list[rx.App]] = {}
# Tabs whose watching task noticed the tab had gone.
_stopped: set[str] = set()


class SpecAppState(rx.State):
    value: int = 0
    items: list[int] = []
    ticks: int = 0

    def record_app(self):
        _apps_seen.setdefault(self.get_token(), []).append(rx.get_app())
        return SpecAppState.record_app_in_task

    @rx.event(background=True)
    async def record_app_in_task(self):
        await asyncio.sleep(0)
        _apps_seen.setdefault(self.get_token(), []).append(rx.get_app())
        async with self:
            self.value += 1

    @rx.event(background=True)
    async def watch_tab(self):
        # The closed-tab check from the reference page, as written there.
        while self.get_token() in rx.get_app().event_namespace.token_to_sid:
            async with self:
                self.ticks += 1
            await asyncio.sleep(0.01)
        _stopped.add(self.get_token())


class SpecAppOtherState(rx.State):
    flag: bool = False


def _path(state_cls: type[rx.State]) -> list[str]:
    return state_cls.get_full_name().split(".")


# -- the state manager ----------------------------------------------------------------------------


async def test_an_app_keeps_state_in_memory_by_default(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("ENGINE_REDIS_URL", raising=False)
    app = rx.App()
    try:
        assert isinstance(app.state_manager, rx.MemoryStateManager)
        assert isinstance(app.state_manager, rx.StateManager)
    finally:
        await app.shutdown(timeout=1)


async def test_an_app_takes_any_state_manager(app):
    manager = rx.MemoryStateManager()
    other = rx.App(state_manager=manager)
    try:
        assert other.state_manager is manager
        async with TabClient(other) as tab:
            await tab.send(SpecAppState.set_value, 3)
            assert (await manager.peek(tab.token)) is not None
    finally:
        await other.shutdown(timeout=1)


# -- background_tasks and token_to_sid ---------------------------------------------------------------


async def test_background_tasks_is_a_set_of_the_running_tasks(app):
    assert app.background_tasks == set()
    async with TabClient(app) as tab:
        await tab.send(SpecAppState.watch_tab)
        await tab.wait_for(lambda t: t.state(SpecAppState)["ticks"] >= 1)
        (task,) = app.background_tasks
        assert isinstance(task, asyncio.Task)
        assert [handle.task for handle in app.tasks.for_tab(tab.token)] == [task]


async def test_token_to_sid_holds_live_tabs_and_drops_closed_ones(app):
    async with TabClient(app) as first, TabClient(app) as second:
        sids = app.event_namespace.token_to_sid
        assert first.token in sids and second.token in sids
        assert isinstance(sids[first.token], str)
        assert sids[first.token] != sids[second.token]

        await first.disconnect()
        await eventually(lambda: first.token not in sids, what="the closed tab leaving token_to_sid")
        assert second.token in sids


async def test_the_reference_pages_closed_tab_check_stops_a_task_when_its_tab_closes(app):
    async with TabClient(app) as tab:
        await tab.send(SpecAppState.watch_tab)
        await tab.wait_for(lambda t: t.state(SpecAppState)["ticks"] >= 2)
        (handle,) = app.tasks.for_tab(tab.token)
        task = handle.task

        await tab.disconnect()
        await eventually(lambda: task not in app.background_tasks, what="the watching task ending")
        assert not task.cancelled() and task.exception() is None
        assert tab.token in _stopped
        assert app.tasks.counts["done"] == 1


# -- modify_state ---------------------------------------------------------------------------------


async def test_modify_state_from_any_coroutine_sends_the_tab_its_delta(app):
    async with RecordingTab(app) as tab:

        async def elsewhere() -> None:
            await asyncio.sleep(0)
            async with app.modify_state(tab.token) as root:
                root.get_substate(_path(SpecAppState)).value = 7
                root.get_substate(_path(SpecAppOtherState)).flag = True

        await asyncio.create_task(elsewhere())
        await tab.wait_for(lambda t: t.state(SpecAppState)["value"] == 7)
        assert tab.deltas() == [
            {SpecAppState.get_full_name(): {"value": 7}, SpecAppOtherState.get_full_name(): {"flag": True}}
        ]


async def test_modify_state_gives_exclusive_access_to_a_tabs_state(app):
    token = f"spec-exclusive-{secrets.token_hex(8)}"

    async def increment() -> None:
        async with app.modify_state(token) as root:
            state = root.get_substate(_path(SpecAppState))
            seen = state.value
            await asyncio.sleep(0.001)
            state.value = seen + 1

    await asyncio.gather(*(increment() for _ in range(20)))
    assert (await server_values(app, token, SpecAppState))["value"] == 20


async def test_modify_state_with_a_new_token_gives_default_state(app):
    first, second = (f"spec-new-{secrets.token_hex(8)}" for _ in range(2))
    async with app.modify_state(first) as root:
        state = root.get_substate(_path(SpecAppState))
        assert (state.value, state.items, state.ticks) == (0, [], 0)
        assert state.get_token() == first
        state.items.append(1)
    assert (await server_values(app, second, SpecAppState))["items"] == []
    assert (await server_values(app, first, SpecAppState))["items"] == [1]


async def test_modify_state_keeps_nothing_when_its_body_raises(app):
    async with RecordingTab(app) as tab:
        await tab.send(SpecAppState.set_value, 1)
        await tab.wait_for(lambda t: t.state(SpecAppState)["value"] == 1)
        seq = tab.seq

        with pytest.raises(RuntimeError, match="changed my mind"):
            async with app.modify_state(tab.token) as root:
                state = root.get_substate(_path(SpecAppState))
                state.value = 99
                state.items.append(99)
                root.get_substate(_path(SpecAppOtherState)).flag = True
                raise RuntimeError("changed my mind")

        assert await server_values(app, tab.token, SpecAppState) == {"value": 1, "items": [], "ticks": 0}
        assert (await server_values(app, tab.token, SpecAppOtherState))["flag"] is False
        await tab.send(SpecAppState.set_value, 2)
        await tab.wait_for(lambda t: t.state(SpecAppState)["value"] == 2)
        assert tab.seq == seq + 1  # nothing was sent for the discarded block
        assert all(99 not in delta.get(SpecAppState.get_full_name(), {}).values() for delta in tab.deltas())


async def test_modify_state_needs_a_token(app):
    with pytest.raises(TypeError, match="token"):
        app.modify_state("")


# -- rx.get_app() -----------------------------------------------------------------------------------


async def test_get_app_returns_the_app_handling_the_event_when_two_apps_run(app):
    second = rx.App()  # created last: a "latest App" guess would pick it for both tabs
    try:
        async with TabClient(app) as first_tab, TabClient(second) as second_tab:
            await first_tab.send(SpecAppState.record_app)
            await second_tab.send(SpecAppState.record_app)
            await first_tab.wait_for(lambda t: t.state(SpecAppState)["value"] == 1)
            await second_tab.wait_for(lambda t: t.state(SpecAppState)["value"] == 1)

            # Seen from the regular handler, then from the background task it started.
            assert _apps_seen[first_tab.token] == [app, app]
            assert _apps_seen[second_tab.token] == [second, second]
            assert first_tab.token not in second.event_namespace.token_to_sid
    finally:
        await second.shutdown(timeout=1)
