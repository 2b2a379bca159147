"""A hypothesis fuzz run: 10,000 hostile messages over real sockets; no crash, no state change.

Every generated message is hostile by construction (a name that is no
handler, the wrong number of arguments, an argument no conversion accepts,
a payload of the wrong shape, a socket event other than `event`/`resync`),
so each must be refused with an error, and the tabs' states must end as
they began. The server must still answer a valid event afterwards, and log
no error.
"""

from __future__ import annotations

import asyncio
import logging
import string
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine as rx
from engine.protocol import NAMESPACE
from engine.testing import TabClient
from tests.hardening.logs import server_errors
from tests.hardening.states import HardHostileState

H = HardHostileState.get_full_name()
BATCH = 25
EXAMPLES = 400  # 400 batches of 25: 10,000 messages (in memory)
REDIS_EXAMPLES = 80  # 2,000 messages on Redis, where each refused event costs no more but the run takes longer
TABS = 4
SENT = {"memory": 0, "redis": 0}

# -- what a hostile tab may send ------------------------------------------------------------
# (Kept cheap to draw: hypothesis spends one to two milliseconds per message here, most of the
# run's time. Filters are avoided; each strategy builds its hostile shape directly.)
# Characters that tend to break things: controls, quotes, markup, a lone surrogate, right-to-left.
CHARS = string.ascii_letters + string.digits + string.punctuation + " \t\n\x00\x7f\ud800é😀\u202e\ufeffİ"
short_text = st.text(alphabet=st.sampled_from(CHARS), max_size=12)
SPECIAL_FLOATS = [0.0, -0.0, 0.5, -1.5, 1e308, -1e-308, float("inf"), float("-inf"), float("nan"), 5e-324]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(SPECIAL_FLOATS), short_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(short_text, inner, max_size=3),
    max_leaves=6,
)
json_lists = st.lists(json_values, max_size=3)
json_objects = st.dictionaries(short_text, json_values, max_size=3)
never_a_number = short_text.map(lambda text: text + "z")  # 'z' is in no int or float literal
fractions = st.integers(min_value=-(10**6), max_value=10**6).map(lambda x: x + 0.5)
not_an_int = st.one_of(st.none(), st.booleans(), never_a_number, json_lists, json_objects, fractions)
not_a_str = st.one_of(st.none(), st.booleans(), json_lists, json_objects)
not_a_list_of_ints = st.one_of(
    st.none(), st.booleans(), never_a_number, json_objects, st.lists(not_an_int, min_size=1, max_size=3),
)
NOT_HANDLERS = [
    "_private", "__init__", "__class__", "__dict__", "__getattribute__", "count", "label", "items",
    "_hidden", "_n_tasks", "get_token", "get_substate", "public_values", "walk", "_rx_values",
    "set__n_tasks", "set__hidden", "nope", "", "add.x", "set_count.__call__",
]
ARITY = {"add": 1, "set_both": 2, "extend": 1, "set_count": 1, "set_label": 1, "set_items": 1, "slow": 0}
not_handler_names = st.one_of(
    st.text(alphabet=st.sampled_from(CHARS), max_size=30),  # (never "state.hard_hostile_state.<handler>")
    st.sampled_from(NOT_HANDLERS).map(lambda name: f"{H}.{name}"),
    st.tuples(st.sampled_from([H, "state", "state.nowhere", H + ".add", "state.state"]), never_a_number)
    .map(lambda parts: f"{parts[0]}.{parts[1]}"),  # 'z'-ended names: no handler ends in z
)
wrong_arity = st.tuples(st.sampled_from(sorted(ARITY)), st.integers(min_value=1, max_value=4), json_values)
wrong_arity = wrong_arity.map(  # (n + k) % 5 differs from n for k = 1..4; 0 becomes n + 5
    lambda p: {"name": f"{H}.{p[0]}", "args": [p[2]] * ((ARITY[p[0]] + p[1]) % 5 or ARITY[p[0]] + 5)}
)
wrong_types = st.one_of(
    not_an_int.map(lambda v: {"name": f"{H}.add", "args": [v]}),
    not_an_int.map(lambda v: {"name": f"{H}.set_count", "args": [v]}),
    not_a_str.map(lambda v: {"name": f"{H}.set_label", "args": [v]}),
    not_a_list_of_ints.map(lambda v: {"name": f"{H}.extend", "args": [v]}),
    not_a_list_of_ints.map(lambda v: {"name": f"{H}.set_items", "args": [v]}),
    not_an_int.map(lambda v: {"name": f"{H}.set_both", "args": [v, "ok"]}),
)
with_extras = st.dictionaries(st.sampled_from(["id", "token", "ticket", "sid", "state", "room"]), scalars,
                              max_size=2)
not_a_list = st.one_of(st.none(), st.booleans(), short_text, json_objects, st.integers())
events = st.one_of(
    st.tuples(not_handler_names, json_lists).map(lambda p: {"name": p[0], "args": p[1]}),
    wrong_arity,
    wrong_types,
    st.tuples(st.sampled_from(sorted(ARITY)), not_a_list)
    .map(lambda p: {"name": f"{H}.{p[0]}", "args": p[1]}),
    st.tuples(not_a_str, json_lists).map(lambda p: {"name": p[0], "args": p[1]}),  # a name that is not text
    st.just({"name": f"{H}.set_label", "args": [float("nan")]}),
    st.binary(max_size=16).map(lambda b: {"name": f"{H}.set_label", "args": [b]}),
)
messages = st.one_of(
    st.tuples(st.just("event"), st.tuples(events, with_extras).map(lambda p: {**p[1], **p[0]})),
    st.tuples(st.just("event"), st.one_of(scalars, json_lists)),  # not an object
    st.tuples(st.just("event"), st.lists(events, min_size=2, max_size=3).map(tuple)),  # several objects
    st.tuples(st.just("event"), st.just(())),  # nothing at all
    st.tuples(never_a_number, json_values),  # socket events other than event and resync
)


async def _fuzz_env(redis_url: str | None) -> AsyncIterator[tuple[rx.App, list[TabClient]]]:
    # No rate limit and no closing for bad events here: the point is to get every message in.
    # (Both defences have tests of their own in test_hostile_events/limits/fairness.)
    limits = {"events_per_second": 1e9, "client_events_per_second": 1e9, "max_bad_events": 10**9}
    app = rx.App(redis_url=redis_url, **limits) if redis_url else rx.App(**limits)
    tabs = [TabClient(app, states=[HardHostileState]) for _ in range(TABS)]
    try:
        for tab in tabs:
            await tab.__aenter__()
        for tab in tabs:  # some state to protect
            assert (await tab.send(HardHostileState.set_both, 7, f"tab {tab.token[:4]}"))["ok"]
            assert (await tab.send(HardHostileState.extend, [1, 2, 3]))["ok"]
        yield app, tabs
    finally:
        for tab in tabs:
            await tab.__aexit__(None, None, None)
        await app.shutdown()


@pytest.fixture
async def fuzz_env() -> AsyncIterator[tuple[rx.App, list[TabClient]]]:
    async for env in _fuzz_env(None):
        yield env


@pytest.fixture
async def fuzz_env_redis(redis_server: Any) -> AsyncIterator[tuple[rx.App, list[TabClient]]]:
    redis_server.flush()
    async for env in _fuzz_env(redis_server.url):
        yield env


async def _snapshot(app: rx.App, tabs: list[TabClient]) -> list[dict[str, Any]]:
    values = []
    for tab in tabs:
        async with app.modify_state(tab.token) as root:
            values.append(dict(root.get_substate(H.split("."))._rx_values))
    return values


def _refused(ack: Any) -> bool:
    return isinstance(ack, dict) and ack.get("ok") is False and isinstance(ack.get("error"), str)


async def _send(tab: TabClient, name: str, data: Any) -> Any:
    if tab._sio is None or not tab._sio.connected:  # closed by the server: come back
        await tab.reconnect()
    assert tab._sio is not None
    return await tab._sio.call(name, data, namespace=NAMESPACE, timeout=20)


async def _hostile_batch(env: tuple[rx.App, list[TabClient]], caplog: Any, batch: list[Any], kind: str) -> None:
    app, tabs = env
    caplog.set_level(logging.WARNING)
    before = await _snapshot(app, tabs)
    acks = await asyncio.gather(*(
        _send(tabs[i % TABS], name, data) for i, (name, data) in enumerate(batch)
    ))
    SENT[kind] += len(batch)
    accepted = [(message, ack) for message, ack in zip(batch, acks, strict=True) if not _refused(ack)]
    assert accepted == [], f"hostile messages not refused: {accepted[:3]}"
    assert await _snapshot(app, tabs) == before
    assert server_errors(caplog.records) == []
    for tab, values in zip(tabs, before, strict=True):  # every tab is still served
        assert (await _send(tab, "event", {"name": f"{H}.set_label", "args": [values["label"]]}))["ok"]


_FUZZ_SETTINGS = {
    "deadline": None, "database": None, "derandomize": False,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                              HealthCheck.data_too_large, HealthCheck.large_base_example],
}


@pytest.mark.slow
@settings(max_examples=EXAMPLES, **_FUZZ_SETTINGS)
@given(batch=st.lists(messages, min_size=BATCH, max_size=BATCH))
async def test_ten_thousand_hostile_messages(fuzz_env, caplog, batch):
    await _hostile_batch(fuzz_env, caplog, batch, "memory")


@pytest.mark.slow
@pytest.mark.redis
@settings(max_examples=REDIS_EXAMPLES, **_FUZZ_SETTINGS)
@given(batch=st.lists(messages, min_size=BATCH, max_size=BATCH))
async def test_two_thousand_hostile_messages_on_redis(fuzz_env_redis, caplog, batch):
    await _hostile_batch(fuzz_env_redis, caplog, batch, "redis")


def test_the_fuzz_runs_sent_ten_thousand_messages_in_memory_and_two_thousand_on_redis():
    # Runs after the fuzz tests (same module, definition order).
    if SENT["memory"] == 0 and SENT["redis"] == 0:
        pytest.skip("the fuzz tests did not run")
    assert SENT["memory"] >= 10_000
    assert SENT["redis"] >= 2_000
