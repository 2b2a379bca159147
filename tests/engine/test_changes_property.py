"""Property: random programs of changes in place, in blocks that commit, raise or are cancelled.

Each example runs a list of blocks on one tab. A block is a list of steps on
nested lists, dicts, a set and a text var (append, insert, set and delete
at any depth, `+=` on a long text, add and discard...), made through the
views exactly as a user's code would, and mirrored on plain Python values
(the model). A block ends normally, raises halfway, or is cancelled at an
await halfway. After every block, three copies must equal the model: the
server's state, the tab's copy (built only from the updates it was sent:
values and operations), and, on Redis, what Redis holds (its fields and its
operation log, read back by another worker). A block that raised or was
cancelled leaves all three as they were.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import engine as rx
from engine.testing import TabClient
from tests.engine.server_side import server_values


class OpsSpecState(rx.State):
    tree: dict = {"a": [1, {"b": []}], "c": {}}
    items: list = [[], "x", {"k": [0]}]
    tags: set[str] = set()
    text: str = ""
    _hidden: list = []


NAME = OpsSpecState.get_full_name()
VARS = ("tree", "items", "tags", "text", "_hidden")

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text("abz", max_size=3))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text("pq", max_size=2), inner, max_size=2)),
    max_leaves=5,
)
STEP = st.tuples(
    st.sampled_from(["tree", "items", "_hidden", "tags", "text"]),
    st.integers(0, 50),  # which container inside the var (by position, the model's and the view's alike)
    st.sampled_from(["append", "insert", "set", "delete", "pop", "extend", "clear", "reverse", "update", "setdefault"]),
    st.integers(-3, 5),
    VALUES,
)
BLOCK = st.tuples(st.lists(STEP, min_size=1, max_size=6), st.sampled_from(["commit", "commit", "raise", "cancel"]))
PROGRAM = st.lists(BLOCK, min_size=1, max_size=6)


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of every list and dict inside `value` (itself first), depth first."""
    found = [path] if isinstance(value, (list, dict)) else []
    if isinstance(value, list):
        for index, item in enumerate(value):
            found += _containers(item, (*path, index))
    elif isinstance(value, dict):
        for key in sorted(value):
            found += _containers(value[key], (*path, key))
    return found


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _step(model: dict[str, Any], view: Any, step: tuple[Any, ...]) -> None:
    """Apply one step to the model and, the same way, through the view (or neither, when it does not apply)."""
    var, which, action, number, value = step
    if var == "tags":
        word = str(value)[:4]
        if action in ("append", "insert", "set", "update", "setdefault", "extend"):
            model["tags"].add(word)
            view.tags.add(word)
        else:
            model["tags"].discard(word)
            view.tags.discard(word)
        return
    if var == "text":
        piece = str(value) + "-" * 70  # long enough to be sent as an append
        if action in ("set", "clear"):
            model["text"] = piece
            view.text = piece
        else:
            model["text"] += piece
            view.text += piece
        return
    paths = _containers(model[var])
    path = paths[which % len(paths)]
    mine, theirs = _at(model[var], path), _at(getattr(view, var), path)
    if isinstance(mine, list):
        size = len(mine)
        if action in ("append", "update", "setdefault"):
            mine.append(copy.deepcopy(value))
            theirs.append(value)
        elif action == "insert":
            mine.insert(number, copy.deepcopy(value))
            theirs.insert(number, value)
        elif action == "extend":
            mine.extend([copy.deepcopy(value), number])
            theirs.extend([value, number])
        elif action == "clear":
            mine.clear()
            theirs.clear()
        elif action == "reverse":
            mine.reverse()
            theirs.reverse()
        elif size and action == "set":
            mine[number % size] = copy.deepcopy(value)
            theirs[number % size] = value
        elif size and action == "delete":
            del mine[number % size]
            del theirs[number % size]
        elif size and action == "pop":
            assert mine.pop(number % size) == theirs.pop(number % size)
    else:
        key = f"k{number % 3}"
        if action in ("append", "set", "insert", "extend"):
            mine[key] = copy.deepcopy(value)
            theirs[key] = value
        elif action == "update":
            mine.update({key: copy.deepcopy(value)})
            theirs.update({key: value})
        elif action == "setdefault":
            mine.setdefault(key, copy.deepcopy(value))
            theirs.setdefault(key, value)
        elif action == "clear":
            mine.clear()
            theirs.clear()
        elif key in mine and action in ("delete", "pop", "reverse"):
            del mine[key]
            del theirs[key]


async def _held_by_redis(app: rx.App, token: str) -> dict[str, Any] | None:
    """What Redis holds for the tab, read back as another worker would (None in memory)."""
    if not app.settings.redis_url:
        return None
    other = rx.App(redis_url=app.settings.redis_url)
    try:
        root = await other.state_manager.peek(token)
        assert root is not None
        state = root.get_substate(NAME.split("."))
        return {var: copy.deepcopy(state._rx_values[var]) for var in VARS}
    finally:
        await other.shutdown(timeout=1)


async def _run(app: rx.App, program: list[tuple[list[tuple[Any, ...]], str]]) -> None:
    async with TabClient(app, states=[OpsSpecState]) as tab:
        model = {var: copy.deepcopy(OpsSpecState.var_fields()[var].default) for var in VARS}
        path = NAME.split(".")
        for steps, ending in program:
            before = copy.deepcopy(model)
            halfway = len(steps) // 2

            async def block() -> None:
                async with app.modify_state(tab.token) as root:
                    view = root.get_substate(path)
                    for index, step in enumerate(steps):  # noqa: B023
                        if index == halfway and ending == "raise":  # noqa: B023
                            raise KeyError("on purpose")
                        if index == halfway and ending == "cancel":  # noqa: B023
                            await asyncio.sleep(10)  # cancelled here
                        _step(model, view, step)

            task = asyncio.ensure_future(block())
            if ending == "cancel":
                await asyncio.sleep(0.01)
                task.cancel()
            try:
                await task
            except (KeyError, asyncio.CancelledError):
                model.clear()
                model.update(before)
            held = await server_values(app, tab.token, OpsSpecState)
            assert {var: held[var] for var in VARS} == model
            public = {var: (sorted(model[var]) if var == "tags" else model[var]) for var in VARS if var[0] != "_"}
            await tab.wait_for(lambda t, public=public: t.state(OpsSpecState) == public, timeout=5)
            stored = await _held_by_redis(app, tab.token)
            if stored is not None:
                assert stored == model
        assert tab.errors == []
        assert tab.resyncs == 0  # every update fitted the tab's copy


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=PROGRAM)
# Found by this test: a var given a new value after an operation on it was logged in Redis read back with
# the old operation applied over the new value (a whole value now goes into a non-empty log too).
@example(program=[([("tree", 0, "append", 0, None)], "commit"), ([("tree", 0, "clear", 0, None)], "commit")])
async def test_random_changes_in_place_reach_the_tab_and_the_store_exactly_and_roll_back_cleanly(
    manager_kind, request, program
):
    redis_url = request.getfixturevalue("redis_server").url if manager_kind == "redis" else None
    app = rx.App(redis_url=redis_url) if redis_url else rx.App()
    try:
        async with asyncio.timeout(60):
            await _run(app, program)
    finally:
        await app.shutdown(timeout=2)
