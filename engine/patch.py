"""Operations on a var's JSON value: what an update carries when they are smaller than the value.

A block that appends one line to a 10,000-line log changes one item; the
tab is sent that item, not the log. Each operation is `[op, path, arg]`,
`path` being the keys from the var's value down (list indexes as numbers,
object keys as text), applied in order:

    ["set",  path, value]   the value at path becomes `value` (path [] : the whole var;
                            a list index one past the end appends)
    ["ins",  path, value]   insert `value` into a list before the index path[-1]
    ["del",  path]          remove the object key or list item at path
    ["text", path, text]    the text at path gets `text` appended
    ["add",  path, item]    the set at path (a sorted list) gets `item`, in `wire_order`
    ["rem",  path, item]    the set at path loses `item`

The same shapes are applied by the browser runtime (engine/static/core.js),
by `TabClient`, by the Redis loader (a tab's stored operation log) and
when updates queued for a slow tab are merged. Why not RFC 6902 JSON Patch:
its paths are escaped strings (`/rows/5/status`), its objects repeat
`"op"`, `"path"` and `"value"` in every operation, and it has no text append,
which a streamed reply needs once per token.
"""

from __future__ import annotations

import bisect
from typing import Any

from .codec import wire_order

__all__ = ["OPS", "Patch", "apply_ops", "merged_into", "owned"]

OPS = ("set", "ins", "del", "text", "add", "rem")


class Patch(list[list[Any]]):
    """One var's operations, in order; in a delta, in place of the var's value."""

    __slots__ = ()


def _parent(root: Any, path: list[Any]) -> Any:
    node = root
    for key in path[:-1]:
        node = node[key]
    return node


def _at(root: Any, path: list[Any]) -> Any:
    node = root
    for key in path:
        node = node[key]
    return node


def apply_ops(value: Any, ops: list[list[Any]]) -> Any:
    """The value after the operations (lists and dicts are changed in place; the result is returned)."""
    for op in ops:
        kind, path = op[0], op[1]
        if kind == "set":
            if not path:
                value = op[2]
                continue
            parent, key = _parent(value, path), path[-1]
            if type(parent) is list and key == len(parent):
                parent.append(op[2])
            else:
                parent[key] = op[2]
        elif kind == "ins":
            _parent(value, path).insert(path[-1], op[2])
        elif kind == "del":
            parent, key = _parent(value, path), path[-1]
            del parent[key]
        elif kind == "text":
            if not path:
                value = value + op[2]
            else:
                parent, key = _parent(value, path), path[-1]
                parent[key] = parent[key] + op[2]
        elif kind in ("add", "rem"):
            target = _at(value, path)
            item = op[2]
            key = wire_order(item)
            index = bisect.bisect_left(target, key, key=wire_order)
            present = index < len(target) and wire_order(target[index]) == key
            if kind == "add" and not present:
                target.insert(index, item)
            elif kind == "rem" and present:
                del target[index]
        else:
            raise ValueError(f"unknown operation {kind!r}; known: {', '.join(OPS)}")
    return value


def owned(entry: Any) -> Any:
    """A copy of one var's entry in a delta (a value or a Patch) that may be changed freely."""
    if isinstance(entry, Patch):
        return Patch(_copy(op) for op in entry)
    return _copy(entry)


def merged_into(mine: Any, later: Any) -> Any:
    """`mine` (an entry its caller owns: see `owned`) followed by `later`: changed in place where it can be.

    `later` is not changed. The work is in proportion to `later`, not to what
    `mine` has gathered, so merging a long run of updates stays linear.
    """
    if not isinstance(later, Patch):
        return owned(later)
    if not isinstance(mine, Patch):
        return apply_ops(mine, _copy(list(later)))
    for op in later:
        last = mine[-1] if mine else None
        if last is not None and op[0] == "text" == last[0] and op[1] == last[1]:
            last[2] = last[2] + op[2]  # text appended to the same place twice: sent once
        elif last is not None and op[0] == "set" == last[0] and op[1] == last[1]:
            mine[-1] = _copy(op)  # the same place set twice: the first value is gone
        else:
            mine.append(_copy(op))
    return mine


def _copy(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_copy(item) for item in value]
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    return value
