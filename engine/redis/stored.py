"""A tab's state tree as stored JSON, and back, checked against the vars' annotations.

Storage outlives the code that wrote it and can be edited by anyone with
access to Redis, so nothing read back is trusted: every value is rebuilt by
`codec.check_stored` against its var's annotation, and a value that does not
fit rejects the whole tab (`StoredStateError`); the caller then treats the tab
as missing. States or vars this version of the app no longer declares are
skipped with a log line. No code from storage ever runs (no pickle, no eval).

Format: `{"format": 1, "states": {"state.a_state": {"var": value, ...}, ...}}`,
one entry per state instance the tab has used, backend vars included.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..codec import check_stored, to_wire
from ..errors import InvalidArgumentError, StateStoreError, StoredStateError, UnknownStateError
from ..state import State

__all__ = ["FORMAT", "dump_tree", "load_tree"]

FORMAT = 1
logger = logging.getLogger("engine.redis")
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode  # (one encoder, not one per commit)


def dump_tree(root: State) -> str:
    """Every state instance of the tab, public and backend vars, as compact JSON.

    (Vars that can only hold scalars go to `json.dumps` as they are; only those
    that may hold containers are made plain JSON first: this runs at every commit.)
    """
    states: dict[str, dict[str, Any]] = {}
    for state in root.walk():
        cls = type(state)
        values = state._rx_values
        mutable = cls._rx_mutable_fields
        try:
            if mutable:
                values = dict(values)
                for field in mutable:
                    values[field.name] = to_wire(values[field.name])
        except TypeError as exc:
            raise _unstorable(cls, exc) from None
        states[cls._rx_full_name] = values
    try:
        return _encode({"format": FORMAT, "states": states})
    except TypeError:  # a var declared for scalars holds something else: find whose
        for state in root.walk():
            try:
                json.dumps(state._rx_values)
            except TypeError as exc:
                raise _unstorable(type(state), exc) from None
        raise


def _unstorable(cls: type[State], exc: Exception) -> StateStoreError:
    return StateStoreError(
        f"{cls.__name__} cannot be stored in Redis: {exc}; keep only JSON values "
        "(str, int, float, bool, None, lists, dicts, sets, tuples) in vars, backend vars included"
    )


def load_tree(token: str, data: bytes | str) -> State:
    """Rebuild a tab's state tree; raises `StoredStateError` if anything does not fit."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoredStateError(f"not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StoredStateError(f"not a format-{FORMAT} state document")
    states = document.get("states")
    if not isinstance(states, dict):
        raise StoredStateError("'states' is not an object")
    root = State._rx_new(token)
    for full_name, values in states.items():
        if not isinstance(values, dict):
            raise StoredStateError(f"{full_name[:80]!r}: values are not an object")
        try:
            cls = State.find_class(full_name)
        except UnknownStateError:
            logger.info(
                "tab %s: stored state %r is not declared by this app; ignored", token[:8], full_name[:80]
            )
            continue
        node = root.get_substate(full_name.split("."))
        fields = cls._rx_fields
        for name, raw in values.items():
            field = fields.get(name)
            if field is None:
                logger.info("tab %s: stored var %s.%s is not declared by this app; ignored",
                            token[:8], full_name[:80], str(name)[:80])
                continue
            try:
                node._rx_values[name] = check_stored(raw, field.type_)
            except InvalidArgumentError as exc:
                raise StoredStateError(f"{full_name}.{name}: {exc}") from None
    return root
