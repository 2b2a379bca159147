"""The protocol page's examples, made by the code that sends and reads them.

Each example is built with `engine.protocol`'s own builders; the refused
event and the error are produced by running the counter demo's real setter
through a real runner, so the page shows exactly what a tab receives.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import engine as rx
from demos.background_tasks import MyTaskState
from engine import protocol

__all__ = ["BAD_LIMIT", "EXAMPLE_NAMES", "GOOD_LIMIT", "example", "setter_acks"]

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


def _examples() -> dict[str, Any]:
    accepted, refused = setter_acks()
    return {
        "auth": {"token": "<ticket from sessionStorage, or null>", "states": [COUNTER], "client": "9f3c…"},
        "hello": protocol.hello("<ticket>"),
        "full": protocol.update_full(7, {COUNTER: MyTaskState.public_defaults()}),
        "event": {"id": "e17", "name": MyTaskState.set_max_counter.full_name, "args": [GOOD_LIMIT]},
        "ack": [accepted, refused],
        "delta": protocol.update_delta(8, {COUNTER: {"counter": 3}}),
        "resync": [protocol.RESYNC, {"states": [COUNTER]}],
        "error": protocol.error(refused["error"], "e17"),
    }


EXAMPLE_NAMES = ("auth", "hello", "full", "event", "ack", "delta", "resync", "error")


def example(name: str) -> str:
    """One example as the page shows it: JSON, one message per line."""
    value = _examples()[name]
    if name == "ack":
        return "\n".join(json.dumps(item, ensure_ascii=False) for item in value)
    return json.dumps(value, ensure_ascii=False)
