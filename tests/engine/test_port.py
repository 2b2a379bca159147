"""The port transport (engine/port.py, engine/local.py): a page's tab without Socket.IO, as the browser runs it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import engine as rx
from engine.local import LocalApp


class PortCounter(rx.State):
    count: int = 0
    _copies: int = 0

    def bump(self, by: int):
        self.count += by

    def fail(self):
        raise ValueError("this handler always fails")

    @rx.event(background=True)
    async def tick(self, times: int):
        for _ in range(times):
            async with self:
                self.count += 1
            await asyncio.sleep(0)

    @rx.event(background=True)
    async def write_outside(self):
        self.count = 99

    @rx.event(background=True)
    async def nest(self):
        async with self:
            async with self:
                self.count = 77


NAME = PortCounter.get_full_name()


class Page:
    """What the page's runtime receives: every message, in order, as JSON would carry it."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def send(self, name: str, data: dict[str, Any]) -> None:
        self.messages.append((name, data))

    def values(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for name, data in self.messages:
            if name == "update":
                state.update(data.get("full", {}).get(NAME, {}))
                state.update(data.get("delta", {}).get(NAME, {}))
        return state

    def named(self, kind: str) -> list[dict[str, Any]]:
        return [data for name, data in self.messages if name == kind]


async def until(check: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, "the page never saw it"
        await asyncio.sleep(0.01)


async def test_a_page_on_a_port_gets_its_state_and_every_change() -> None:
    app, page = LocalApp(), Page()
    tab = app.tab(page.send)
    await tab.connect({"states": [NAME]})
    name, first = page.messages[0]
    assert (name, first["seq"], first["full"][NAME]["count"]) == ("update", 0, 0)
    ack = await tab.receive("event", {"id": "e1", "name": f"{NAME}.bump", "args": [2]})
    assert ack == {"ok": True}
    assert page.values()["count"] == 2
    await tab.receive("event", {"id": "e2", "name": f"{NAME}.tick", "args": [3]})
    await until(lambda: page.values()["count"] == 5)
    assert tab.token in app.event_namespace.token_to_sid  # what a task checks to see its tab gone
    tab.close()
    assert tab.token not in app.event_namespace.token_to_sid
    await app.shutdown(1)


async def test_errors_reach_the_page_in_the_engines_words() -> None:
    app, page = LocalApp(), Page()
    tab = app.tab(page.send)
    await tab.connect({"states": [NAME]})
    failed = await tab.receive("event", {"id": "e1", "name": f"{NAME}.fail", "args": []})
    assert failed["ok"] is False and "always fails" in failed["error"]
    unknown = await tab.receive("event", {"id": "e2", "name": f"{NAME}.nope", "args": []})
    assert unknown["ok"] is False and "nope" in unknown["error"]
    await tab.receive("event", {"id": "e3", "name": f"{NAME}.write_outside", "args": []})
    await until(lambda: page.named("error"))
    assert "outside `async with self`" in page.named("error")[0]["message"]
    assert (await tab.receive("connect", {}))["ok"] is False  # only event, resync and inspect
    await app.shutdown(1)


async def test_the_lab_inspects_over_a_port_as_over_a_socket() -> None:
    app, page = LocalApp(), Page()
    tab = app.tab(page.send)
    await tab.connect({"states": [NAME]})
    assert await tab.receive("inspect", {"on": True, "states": [NAME]}) == {"ok": True}
    await tab.receive("event", {"id": "e1", "name": f"{NAME}.tick", "args": [2]})
    await until(lambda: any(t.get("values", {}).get(NAME, {}).get("count") == 2 for t in page.named("trace")))
    kinds = {event["kind"] for trace in page.named("trace") for event in trace["events"]}
    assert {"task_started", "lock_taken", "lock_released"} <= kinds
    await tab.receive("resync", {"states": [NAME]})
    assert page.messages[-1][0] == "update" and "full" in page.messages[-1][1]
    await app.shutdown(1)


async def test_modify_state_commits_a_block_that_ends_and_nothing_of_one_that_raises() -> None:
    """(Also run on Pyodide's Python, by tests/site/test_pyodide_engine.py: no pytest there.)"""
    app, page = LocalApp(), Page()
    tab = app.tab(page.send)
    await tab.connect({"states": [NAME]})
    async with app.modify_state(tab.token) as root:
        root.get_substate(NAME.split(".")).count = 5
    try:
        async with app.modify_state(tab.token) as root:
            root.get_substate(NAME.split(".")).count = 9
            raise LookupError("the block fails")
    except LookupError:
        pass
    else:
        raise AssertionError("the block's error was swallowed")
    assert page.values()["count"] == 5
    assert [data["delta"] for name, data in page.messages if name == "update" and "delta" in data] == [
        {NAME: {"count": 5}}
    ]
    await app.shutdown(1)


async def test_a_nested_block_is_refused_and_the_tab_is_told() -> None:
    app, page = LocalApp(), Page()
    tab = app.tab(page.send)
    await tab.connect({"states": [NAME]})
    await tab.receive("event", {"id": "e1", "name": f"{NAME}.nest", "args": []})
    await until(lambda: page.named("error"))
    assert "blocks cannot be nested" in page.named("error")[0]["message"]
    assert page.values()["count"] == 0
    await until(lambda: page.values().get("nest@status") == "failed")
    await app.shutdown(1)


def test_the_engine_imports_with_the_standard_library_alone() -> None:
    """What the browser's Python has: no python-socketio, aiohttp or redis until a server is built."""
    code = (
        "import sys; before = set(sys.modules); import engine, engine.local; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "extra = sorted(new - set(sys.stdlib_module_names) - {'engine'}); "
        "print(extra)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
