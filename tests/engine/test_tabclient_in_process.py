"""`TabClient(app, transport="in-process")`: the whole server side, Socket.IO layer included, with no socket.

It is how the contract tests run where there are no sockets (Pyodide:
tests/engine/test_on_python_314.py); here, on CPython, each test says so
explicitly and checks the server saw what a socket's tab would make it see.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

import engine as rx
from engine.testing import TabClient, TabRefusedError
from engine.testing.tab import TRANSPORT_ENV
from engine.testserver import SERVERS


class InProcessState(rx.State):
    total: int = 0

    def add(self, amount: int):
        self.total += amount

    @rx.event(background=True)
    async def add_later(self, amount: int):
        await asyncio.sleep(0.01)
        async with self:
            self.total += amount


def in_process(app: rx.App, **options) -> TabClient:
    return TabClient(app, states=[InProcessState], transport="in-process", **options)


def test_the_default_is_a_real_socket_on_cpython_and_the_environment_can_say_otherwise(monkeypatch):
    monkeypatch.delenv(TRANSPORT_ENV, raising=False)
    assert TabClient(rx.App()).transport == ("in-process" if sys.platform == "emscripten" else "socket")
    monkeypatch.setenv(TRANSPORT_ENV, "in-process")
    assert TabClient(rx.App()).transport == "in-process"
    with pytest.raises(ValueError, match="must be one of"):
        TabClient(rx.App(), transport="carrier pigeon")
    with pytest.raises(TypeError, match="needs the App itself"):
        TabClient(url="http://127.0.0.1:1", transport="in-process")


async def test_an_in_process_tab_is_a_tab_of_the_socket_layer_with_no_server_started(memory_app):
    async with in_process(memory_app) as tab:
        assert tab.url is None and id(memory_app) not in SERVERS  # no uvicorn, no port
        assert tab.state(InProcessState) == {"total": 0}
        assert tab.token in memory_app.event_namespace.token_to_sid  # bound to a socket id, as any tab
        assert await tab.send(InProcessState.add, 2) == {"ok": True}
        await tab.send(InProcessState.add_later, 3)
        await tab.wait_for(lambda t: t.state(InProcessState)["total"] == 5)
        ack = await tab.send(InProcessState.add, "two")
        assert ack["ok"] is False and tab.errors == [ack["error"]]
        assert (await tab.inspect())["ok"] is True
        await tab.send(InProcessState.add, 1)
        await tab.wait_for(lambda t: any("values" in trace for trace in t.traces))
    await asyncio.sleep(0.05)
    assert tab.token not in memory_app.event_namespace.token_to_sid  # leaving closed its connection


async def test_a_ticket_brings_the_same_tab_back_over_a_new_connection(memory_app):
    async with in_process(memory_app) as tab:
        await tab.send(InProcessState.add, 4)
        await tab.wait_for(lambda t: t.state(InProcessState)["total"] == 4)
        await tab.reconnect()
        assert tab.state(InProcessState) == {"total": 4}
        ticket, token = tab.ticket, tab.token
    async with in_process(memory_app, ticket=ticket) as back:
        assert back.token == token and back.state(InProcessState) == {"total": 4}


async def test_a_refused_tab_raises_with_the_servers_reason():
    app = rx.App(max_connections_per_client=1)
    try:
        async with in_process(app):
            with pytest.raises(TabRefusedError, match="max_connections_per_client"):
                async with in_process(app):
                    pass
            async with in_process(app, local_address="127.0.0.2"):  # another visitor's address is let in
                pass
    finally:
        await app.shutdown(timeout=2)


async def test_a_connection_the_server_closes_is_lost_and_says_why():
    app = rx.App(max_bad_events=2)
    try:
        async with in_process(app) as tab:
            for _ in range(2):
                await tab.send_raw({"id": "x", "name": "state.no_such_state.nothing", "args": []})
            await tab.wait_for(lambda t: t.lost is not None)
            assert "max_bad_events" in " ".join(tab.errors)
            with pytest.raises(ConnectionError, match="went away"):
                await tab.send(InProcessState.add, 1)
    finally:
        await app.shutdown(timeout=2)
