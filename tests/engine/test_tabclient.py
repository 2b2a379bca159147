"""The public test client, `engine.testing.TabClient`."""

from __future__ import annotations

import asyncio
import time

import pytest

import engine as rx
from engine.testing import TabClient, serve


class SpecClientState(rx.State):
    total: int = 0
    label: str = ""
    _calls: int = 0

    def add(self, amount: int):
        self.total += amount

    def record_token(self):
        self.label = self.get_token()

    @rx.event(background=True)
    async def add_later(self, amount: int):
        await asyncio.sleep(0.02)
        async with self:
            self.total += amount

    @rx.event(background=True)
    async def fail(self):
        raise RuntimeError("task failed on purpose")


class SpecClientOtherState(rx.State):
    note: str = "n"


def test_a_tab_client_needs_an_app_or_a_url():
    with pytest.raises(TypeError, match="App or the url"):
        TabClient()


async def test_entering_a_tab_client_connects_a_tab_with_the_states_full_values(app):
    async with TabClient(app) as tab:
        assert tab.token
        assert tab.seq >= 0
        assert tab.state(SpecClientState) == {"total": 0, "label": ""}
        assert tab.token in app.event_namespace.token_to_sid


async def test_send_returns_the_servers_acknowledgement(app):
    async with TabClient(app) as tab:
        assert await tab.send(SpecClientState.add, 1) == {"ok": True}
        ack = await tab.send(SpecClientState.add, "lots")
        assert ack["ok"] is False and "SpecClientState.add" in ack["error"]


async def test_send_takes_a_handler_with_arguments_or_an_event_spec(app):
    async with TabClient(app) as tab:
        await tab.send(SpecClientState.add, 2)
        await tab.send(SpecClientState.add(3))
        await tab.wait_for(lambda t: t.state(SpecClientState)["total"] == 5)


async def test_send_refuses_what_is_not_a_handler_reference(app):
    async with TabClient(app) as tab:
        with pytest.raises(TypeError, match="handler reference"):
            await tab.send("state.spec_client_state.add", 1)


async def test_send_on_a_closed_tab_raises(app):
    async with TabClient(app) as tab:
        await tab.disconnect()
        with pytest.raises(RuntimeError, match="not connected"):
            await tab.send(SpecClientState.add, 1)


async def test_state_is_a_copy_of_what_the_tab_sees_now(app):
    async with TabClient(app) as tab:
        seen = tab.state(SpecClientState)
        seen["total"] = 99
        assert tab.state(SpecClientState)["total"] == 0
        assert tab.state(SpecClientState.get_full_name()) == {"total": 0, "label": ""}
        assert tab.state("state.no_such_state") == {}
        assert "_calls" not in tab.state(SpecClientState)


async def test_the_states_option_limits_what_the_tab_shows(app):
    async with TabClient(app, states=[SpecClientState]) as tab:
        assert tab.state(SpecClientState) == {"total": 0, "label": ""}
        assert tab.state(SpecClientOtherState) == {}


async def test_wait_for_returns_once_the_condition_holds(app):
    async with TabClient(app) as tab:
        await tab.send(SpecClientState.add_later, 4)
        assert tab.state(SpecClientState)["total"] == 0
        await tab.wait_for(lambda t: t.state(SpecClientState)["total"] == 4, timeout=5)


async def test_wait_for_times_out_with_a_message_showing_what_the_tab_saw(app):
    async with TabClient(app) as tab:
        started = time.monotonic()
        with pytest.raises(TimeoutError) as caught:
            await tab.wait_for(lambda t: t.state(SpecClientState)["total"] == 1, timeout=0.2)
        assert time.monotonic() - started < 2
        message = str(caught.value)
        assert "within 0.2s" in message
        assert "'state.spec_client_state': {'total': 0" in message
        assert "errors []" in message


async def test_token_is_the_token_the_server_gives_the_tabs_state(app):
    async with TabClient(app) as tab:
        await tab.send(SpecClientState.record_token)
        await tab.wait_for(lambda t: t.state(SpecClientState)["label"] == tab.token)


async def test_errors_holds_refused_events_and_failures_the_server_reported(app):
    async with TabClient(app) as tab:
        assert tab.errors == []
        ack = await tab.send(SpecClientState.add, "x")
        assert tab.errors == [ack["error"]]

        await tab.send(SpecClientState.fail)
        await tab.wait_for(lambda t: len(t.errors) == 2)
        assert tab.errors[1] == "SpecClientState.fail failed: RuntimeError: task failed on purpose"


async def test_a_tab_client_can_talk_to_a_server_that_is_already_running(app):
    async with serve(app.asgi()) as url, TabClient(url=url) as tab:
        assert url.startswith("http://127.0.0.1:")
        await tab.send(SpecClientState.add, 6)
        await tab.wait_for(lambda t: t.state(SpecClientState)["total"] == 6)


async def test_tab_clients_of_one_app_share_one_server(app):
    async with TabClient(app) as first, TabClient(app) as second:
        assert first.url == second.url
        await first.send(SpecClientState.add, 1)
        await second.send(SpecClientState.add, 2)
        await first.wait_for(lambda t: t.state(SpecClientState)["total"] == 1)
        await second.wait_for(lambda t: t.state(SpecClientState)["total"] == 2)
