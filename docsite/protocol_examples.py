"""The protocol page's examples, made by the code that sends and reads them.

Each example is built with `engine.protocol`'s own builders; the refused
event and the error are produced by running the counter demo's real setter
through a real runner, so the page shows exactly what a tab receives.

The `trace` example is what a real inspector sends after a real click on
the counter's Start, with two changes that keep the page the same from one
build to the next: its clock ticks a fixed 0.2 ms per reading instead of
the real time, and the task copies are numbered from 1 (the engine numbers
them across the whole process).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from typing import Any
from unittest import mock

# The lab opts the counter in to showing its backend var `_n_tasks` (demos/lab_duplicates.py):
# imported here too, so the trace example's table is the same whatever was imported before.
import demos.lab_duplicates  # noqa: F401
import engine as rx
from demos.background_tasks import MyTaskState
from engine import inspector as inspector_module
from engine import protocol
from engine.patch import Patch
from engine.runner import observe

__all__ = ["BAD_LIMIT", "EXAMPLE_NAMES", "GOOD_LIMIT", "example", "setter_acks", "trace_example"]

COUNTER = MyTaskState.get_full_name()
GOOD_LIMIT, BAD_LIMIT = "12", "abc"


async def _setter_acks() -> tuple[dict[str, Any], dict[str, Any]]:
    app = rx.App()
    try:
        acks = []
        for text in (GOOD_LIMIT, BAD_LIMIT):
            spec = app.runner.prepare(MyTaskState.set_max_counter.full_name, [text])
            acks.append(protocol.ack(await app.runner.submit("protocol-page-example", spec)))
        return acks[0], acks[1]
    finally:
        await app.shutdown(timeout=1)


@functools.cache
def setter_acks() -> tuple[dict[str, Any], dict[str, Any]]:
    """The acknowledgements of `set_max_counter("12")` and `("abc")`, as the engine answers them."""
    return asyncio.run(_setter_acks())


class _Clock:
    """`time.monotonic` for the trace example: each reading 0.2 ms after the one before."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        self.now += 0.0002
        return self.now


TRACE_TOKEN = "protocol-page-trace"
TRACE_WINDOW = 0.3  # seconds one batch gathers: the click, the task's start and its first tick (it then sleeps 0.5 s)


async def _trace_example() -> dict[str, Any]:
    app = rx.App()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    clock = _Clock()
    try:
        with mock.patch.object(observe, "time", clock), mock.patch.object(inspector_module, "time", clock), \
                mock.patch.object(inspector_module, "FLUSH_EVERY", TRACE_WINDOW):
            inspector = inspector_module.Inspector(app.runner.parts.observers, TRACE_TOKEN, [COUNTER], send)
            spec = app.runner.prepare(MyTaskState.toggle_running.full_name, [])
            await app.runner.submit(TRACE_TOKEN, spec)
            for _ in range(200):
                if sent:
                    break
                await asyncio.sleep(0.01)
            inspector.close()
    finally:
        await app.shutdown(timeout=1)
    if not sent:
        raise RuntimeError("the inspector sent nothing for the trace example")
    return _renumbered(sent[0])


def _renumbered(message: dict[str, Any]) -> dict[str, Any]:
    """Task copies named name#1, name#2... in the order they appear."""
    names: dict[str, str] = {}
    for event in message["events"]:
        lane = event["lane"]
        match = re.fullmatch(r"(.+)#\d+", lane)
        if match and lane not in names:
            names[lane] = f"{match.group(1)}#{len(names) + 1}"
        event["lane"] = names.get(lane, lane)
    return message


@functools.cache
def trace_example() -> dict[str, Any]:
    """The first `trace` after a click on the counter's Start, as a real inspector sends it."""
    return asyncio.run(_trace_example())


def _examples() -> dict[str, Any]:
    accepted, refused = setter_acks()
    return {
        "auth": {"token": "<ticket from sessionStorage, or null>", "states": [COUNTER], "client": "9f3c…"},
        "hello": protocol.hello("<ticket>"),
        "full": protocol.update_full(7, {COUNTER: MyTaskState.public_defaults()}),
        "event": {"id": "e17", "name": MyTaskState.set_max_counter.full_name, "args": [GOOD_LIMIT]},
        "ack": [accepted, refused],
        "delta": protocol.update_delta(8, {COUNTER: {"counter": 3}}),
        "ops": protocol.update_delta(9, {LOG: {
            "lines": Patch([["ins", [2500], "12:04:07 backup finished"]]),
            "reply": Patch([["text", [], " the next words"]]),
            "rows": Patch([["set", [17, "status"], "paid"], ["del", [3]]]),
        }}),
        "resync": [protocol.RESYNC, {"states": [COUNTER]}],
        "error": protocol.error(refused["error"], "e17"),
        "inspect": [INSPECT_ON, protocol.ack(ok=True), INSPECT_OFF],
        "trace": trace_example(),
    }


INSPECT_ON = {"on": True, "states": [COUNTER]}
INSPECT_OFF = {"on": False}
# What the socket layer reads from them: the examples are requests it accepts as shown.
assert protocol.read_inspect((INSPECT_ON,)) == (True, [COUNTER])
assert protocol.read_inspect((INSPECT_OFF,)) == (False, [])

EXAMPLE_NAMES = ("auth", "hello", "full", "event", "ack", "delta", "ops", "resync", "error", "inspect", "trace")
LOG = "state.support_desk_state"  # (a state with a long log, a streamed reply and a table: the shapes, not a demo)
# Shown one message per line; the trace, one observation per line.
_PER_LINE = ("ack", "inspect")


def example(name: str) -> str:
    """One example as the page shows it: JSON, one message per line."""
    value = _examples()[name]
    if name in _PER_LINE:
        return "\n".join(json.dumps(item, ensure_ascii=False) for item in value)
    if name == "trace":
        events = ",\n".join("  " + json.dumps(event, ensure_ascii=False) for event in value["events"])
        rest = json.dumps({key: item for key, item in value.items() if key != "events"}, ensure_ascii=False)[1:]
        return '{"events": [\n' + events + "\n], " + rest
    return json.dumps(value, ensure_ascii=False)
