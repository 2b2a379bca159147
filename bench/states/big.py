"""Big states: one small change per `async with self` block in a state of 10 to 10,000 items, both sides alike.

The issue's three programs (issue 21), and a twin of the counter workload:

- `log`: `self.lines.append(line)` on a log of N lines;
- `table`: `self.rows[i]["status"] = ...` on N row dicts;
- `chat`: `self.messages[-1]["text"] += token` on a transcript of N messages;
- `counter`: `self.counter += 1` beside N rows the block never touches (the
  twin of "`async with self` in a background task": a big var nobody changes
  must cost nothing).

Each runs as a background task's blocks (`via="task"`); `table` and `counter`
also as `App.modify_state` blocks from outside any handler (`via="modify"`,
the twin of "`modify_state`, 1 token").

`step` is the block's body and is the same code on both sides: each side's
state class calls it. A run fills the state (not timed), then times one
background task of n blocks, then checks the result exactly. Each side also
reports, once per workload, the size of the update a tab receives for one
block (ours: the `update` message a real socket delivered to a `TabClient`;
Reflex's: its `StateUpdate` as its Socket.IO server would encode it), and on
Redis the bytes Redis received per block (its own `total_net_input_bytes`,
the same count for both sides).
"""

from __future__ import annotations

import json
import statistics
from typing import Any

__all__ = [
    "ITEMS", "KINDS", "MODIFY_KINDS", "VARS", "check", "initial", "item_json", "label", "parse_key", "run_key", "step",
    "token_text",
]

ITEMS = (10, 1_000, 10_000)
# kind: (what a block does, the var it changes)
KINDS = {
    "log": ("log: `self.lines.append(line)`", "lines"),
    "table": ("table: `self.rows[i][\"status\"] = ...`", "rows"),
    "chat": ("chat: `self.messages[-1][\"text\"] += token`", "messages"),
    "counter": ("counter beside the rows: `self.counter += 1`", "counter"),
}
VARS = ("lines", "rows", "messages", "counter")
MODIFY_KINDS = ("table", "counter")  # also run through `modify_state`
_PREFIX = {"task": "big", "modify": "bigmodify"}
SENTENCE = "A sentence of an answer, about this long. "  # 42 characters


def run_key(kind: str, items: int, via: str = "task") -> str:
    return f"{_PREFIX[via]}_{kind}_{items}"


def parse_key(key: str) -> tuple[str, int, str]:
    """(kind, items, via) of a run key."""
    prefix, kind, items = key.split("_")
    return kind, int(items), "modify" if prefix == _PREFIX["modify"] else "task"


def label(kind: str, items: int, via: str = "task") -> str:
    unit = {"log": "lines", "chat": "messages"}.get(kind, "rows")
    how = ", `modify_state`" if via == "modify" else ""
    return f"{KINDS[kind][0]}{how}, {items:,} {unit}"


def _line(i: int) -> str:
    return f"{i:06d} GET /items/{i % 1000} 200 in 4 ms"


def _row(i: int, status: str = "open") -> dict[str, str]:
    return {"id": str(i), "customer": f"customer {i}", "status": status}


def token_text(i: int) -> str:
    return f" tok{i % 10}"


def initial(kind: str, items: int) -> dict[str, Any]:
    """The vars a run starts from (the ones the kind does not use stay at their defaults)."""
    if kind == "log":
        return {"lines": [_line(i) for i in range(items)]}
    if kind == "chat":
        return {"messages": [{"role": "user" if i % 2 else "assistant", "text": SENTENCE * 2} for i in range(items)]}
    return {"rows": [_row(i) for i in range(items)], "counter": 0}


def item_json(kind: str) -> int:
    """Bytes of the JSON of the item one block changes: the update's yardstick."""
    item: Any = {"log": _line(1), "table": _row(1, "paid 1"), "chat": token_text(1), "counter": 1}[kind]
    return len(json.dumps(item, separators=(",", ":")))


def step(state: Any, kind: str, i: int) -> None:
    """Block i's change: one item, written the ordinary way (the same code on both sides)."""
    if kind == "log":
        state.lines.append(_line(i))
    elif kind == "table":
        state.rows[i % len(state.rows)]["status"] = f"paid {i}"
    elif kind == "chat":
        state.messages[-1]["text"] += token_text(i)
    else:
        state.counter += 1


def check(kind: str, items: int, n: int, state: Any) -> tuple[Any, Any]:
    """(expected, got) after n blocks on a fresh state of `items` items: equal unless an update was lost."""
    if kind == "log":
        return (items + n, _line(n - 1)), (len(state.lines), state.lines[-1])
    if kind == "table":
        last = n - 1
        return f"paid {last}", state.rows[last % items]["status"]
    if kind == "chat":
        expected = len(SENTENCE * 2) + sum(len(token_text(i)) for i in range(n))
        return expected, len(state.messages[-1]["text"])
    return n, state.counter


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
