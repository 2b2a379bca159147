"""Updates merged for a tab that is behind stand for the updates they replace (a property test)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import protocol
from engine.delta import merge_into, owned_delta
from engine.patch import Patch

STATE = "state.s"


@st.composite
def _updates(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A run of deltas on a list var, a text var and a number, each valid for the values before it."""
    items: list[Any] = []
    text = ""
    deltas = []
    for _ in range(draw(st.integers(1, 12))):
        delta: dict[str, Any] = {}
        if draw(st.booleans()):
            delta["n"] = draw(st.integers(-5, 5))
        kind = draw(st.sampled_from(["whole", "ops", "none"]))
        if kind == "whole":
            items = draw(st.lists(st.integers(0, 9), max_size=4))
            delta["items"] = list(items)
        elif kind == "ops":
            ops = []
            for _ in range(draw(st.integers(1, 4))):
                op = draw(st.sampled_from(["append", "set", "ins", "del", "inner"]))
                if op == "append" or not items:
                    ops.append(["set", [len(items)], [draw(st.integers(0, 9))]])
                    items.append(ops[-1][2])
                    continue
                at = draw(st.integers(0, len(items) - 1))
                if op == "set":
                    ops.append(["set", [at], [draw(st.integers(0, 9))]])
                    items[at] = ops[-1][2]
                elif op == "ins":
                    ops.append(["ins", [at], [draw(st.integers(0, 9))]])
                    items.insert(at, ops[-1][2])
                elif op == "del":
                    ops.append(["del", [at]])
                    del items[at]
                else:  # (inside an item put there by an earlier operation: merging must not change that one)
                    if isinstance(items[at], list) and items[at]:
                        ops.append(["set", [at, 0], draw(st.integers(10, 19))])
                        items[at] = [ops[-1][2], *items[at][1:]]
            delta["items"] = Patch(copy.deepcopy(ops))
        if draw(st.booleans()):
            added = draw(st.text(alphabet="ab ", max_size=3))
            delta["text"] = Patch([["text", [], added]]) if draw(st.booleans()) else text + added
            text += added
        deltas.append({STATE: delta} if delta else {})
    return deltas


def _apply(values: dict[str, dict[str, Any]], seq: int, message: dict[str, Any]) -> int:
    applied, seq = protocol.apply_update(values, seq, message)
    assert applied is protocol.Applied.APPLIED
    return seq


@settings(max_examples=150, deadline=None)
@given(_updates(), st.integers(0, 11))
def test_one_merged_update_leaves_the_tab_where_the_updates_it_stands_for_would(updates, cut):
    start = {STATE: {"n": 0, "items": [], "text": ""}}
    one_by_one, merged = copy.deepcopy(start), copy.deepcopy(start)
    sent = copy.deepcopy(updates)  # (what merging is given must stay as it was)
    seq = 0
    for number, delta in enumerate(updates, 1):
        seq = _apply(one_by_one, seq, protocol.update_delta(number, copy.deepcopy(delta)))
    # The first `cut` updates go out one by one; the rest were held and merged into one.
    cut = min(cut, len(updates) - 1)
    seq = 0
    for number, delta in enumerate(updates[:cut], 1):
        seq = _apply(merged, seq, protocol.update_delta(number, copy.deepcopy(delta)))
    held = owned_delta(updates[cut])
    for delta in updates[cut + 1:]:
        merge_into(held, delta)
    message = protocol.update_delta(len(updates), held, cut + 1)
    assert _apply(merged, seq, message) == len(updates)
    assert merged == one_by_one
    assert updates == sent
