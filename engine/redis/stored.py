"""A tab's state as stored in Redis: one hash field per var, and a log of operations on them.

A commit writes what changed, not the state: a var given a new value is
written as its field (`v:<state full name>:<var>`, its JSON), a var changed
in place (one item appended to a 10,000-item list) as an entry of the tab's
operation log (`[state, var, ops]`, the operations of engine/patch.py). When
the log has grown to half the state (and at least `COMPACT_AFTER` bytes),
the next commit writes the whole state again and empties the log, so
reading a tab back costs at most about one and a half times the state.

Storage outlives the code that wrote it and can be edited by anyone with
access to Redis, so nothing read back is trusted: every value is rebuilt by
`codec.check_stored` against its var's annotation. A var whose value (or
log entry) does not fit is dropped (it reads as its default, the tab is sent
its whole state, and the log says so); the other vars are kept. States or
vars this version of the app no longer declares are skipped with a log
line. No code from storage ever runs (no pickle, no eval).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..changes import Delta, wire_size
from ..codec import check_stored, compact_json, to_wire
from ..errors import InvalidArgumentError, UnknownStateError
from ..patch import Patch, apply_ops
from ..state import State

__all__ = ["COMPACT_AFTER", "FIELD", "FORMAT", "Loaded", "changed_fields", "every_field", "load_tree"]

FORMAT = "2"
FIELD = "v:"  # a var's field: "v:<state full name>:<var name>" (a var name has no ':')
COMPACT_AFTER = 64 * 1024  # bytes of log below which it is never folded back into the fields
logger = logging.getLogger("engine.redis")
_encode = compact_json  # (one encoder, not one per commit)


def _field(state: str, var: str) -> str:
    return f"{FIELD}{state}:{var}"


def every_field(root: State) -> list[str]:
    """Every var of every state instance of the tab, public and backend, as field, JSON, field, JSON..."""
    out: list[str] = []
    for state in root.walk():
        cls = type(state)
        name = cls._rx_full_name
        mutable = cls._rx_mutable_fields
        values = state._rx_values
        wired = {field.name: to_wire(values[field.name]) for field in mutable} if mutable else {}
        for var, value in values.items():
            out.append(_field(name, var))
            out.append(_encode(wired[var] if var in wired else value))
    return out


def changed_fields(stored: Delta, logged: bool) -> tuple[list[str], list[str]]:
    """What a commit writes: (field, JSON, ... for the vars given new values; log entries for the rest).

    `logged`: the tab's log is not empty. Then a var given a new value goes
    into the log too (as `["set", [], value]`): its field would be written
    under operations already logged for it, which a reader applies after it.
    """
    fields: list[str] = []
    log: list[str] = []
    for state, values in stored.items():
        for var, entry in values.items():
            if type(entry) is Patch:
                log.append(_encode([state, var, entry]))
            elif logged:
                log.append(_encode([state, var, [["set", [], entry]]]))
            else:
                fields.append(_field(state, var))
                fields.append(_encode(entry))
    return fields, log


class Loaded(NamedTuple):
    """A tab's tree as read back; `dropped`: vars that did not fit (the tab must be sent its whole state)."""

    root: State
    dropped: int
    log_bytes: int


def load_tree(token: str, fields: Iterable[bytes], log: Iterable[bytes]) -> Loaded:
    """Rebuild a tab's tree from its hash (a flat field, value, ... list) and its operation log."""
    root = State._rx_new(token)
    raw: dict[tuple[str, str], Any] = {}
    items = iter(fields)
    for key, value in zip(items, items, strict=False):
        name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
        if not name.startswith(FIELD):
            continue
        state, _, var = name[len(FIELD):].rpartition(":")
        raw[(state, var)] = value
    dropped = 0
    decoded: dict[tuple[str, str], Any] = {}
    for place, value in raw.items():
        try:
            decoded[place] = json.loads(value)
        except (ValueError, UnicodeDecodeError) as exc:
            dropped += _drop(token, place, f"not JSON ({exc})")
    log_bytes = 0
    for entry in log:
        log_bytes += len(entry)
        try:
            state, var, ops = json.loads(entry)
            place = (str(state), str(var))
            if place in decoded or place not in raw:  # (a var dropped above stays dropped)
                decoded[place] = apply_ops(decoded.get(place, _default_wire(*place)), ops)
        except Exception as exc:  # (anything in an entry that does not apply drops its var)
            bad = _place_of(entry)
            if bad is not None and bad in decoded:
                del decoded[bad]
            dropped += _drop(token, bad or ("?", "?"), f"its operation log does not apply ({exc!r:.80})")
    sizes: dict[State, dict[str, int]] = {}
    total = 0
    for (state_name, var), value in decoded.items():
        node = _node(root, token, state_name)
        if node is None:
            continue
        field = type(node)._rx_fields.get(var)
        if field is None:
            logger.info("tab %s: stored var %s.%s is not declared by this app; ignored",
                        token[:8], state_name[:80], var[:80])
            continue
        try:
            node._rx_values[var] = check_stored(value, field.type_)
        except InvalidArgumentError as exc:
            dropped += _drop(token, (state_name, var), str(exc))
            continue
        if not field.internal and (type(value) is str or not isinstance(value, (int, float, bool, type(None)))):
            size = wire_size(value)
            sizes.setdefault(node, {})[var] = size
            total += size
    for node, known in sizes.items():
        node._rx_sizes = known
    root._rx_total = total
    return Loaded(root, dropped, log_bytes)


def _node(root: State, token: str, state_name: str) -> State | None:
    try:
        State.find_class(state_name)
    except UnknownStateError:
        logger.info("tab %s: stored state %r is not declared by this app; ignored", token[:8], state_name[:80])
        return None
    return root.get_substate(state_name.split("."))


def _default_wire(state_name: str, var: str) -> Any:
    """What a var with no field holds: its default (a var is written only once it differs from it)."""
    cls = State.find_class(state_name)
    return to_wire(cls._rx_fields[var].fresh_default())


def _place_of(entry: bytes) -> tuple[str, str] | None:
    try:
        state, var, _ = json.loads(entry)
        return str(state), str(var)
    except Exception:
        return None


def _drop(token: str, place: tuple[str, str], why: str) -> int:
    logger.error("tab %s: the stored value of %s.%s was dropped: %s; it reads as its default",
                 token[:8], place[0][:80], place[1][:80], why)
    return 1
