"""The wire protocol between a tab and the server: every message's name and shape, in one place.

The socket layer builds what it sends and checks what it receives here, the
test client (`engine.testing.TabClient`) reads updates with `apply_update`,
and docs/site/protocol.md is generated from `examples()`, so the page and the
code cannot drift apart. The browser runtime (engine/static/engine.js)
follows the same page.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

from .errors import EventError, LimitExceededError
from .patch import Patch, apply_ops
from .runner.outcome import EventResult, Outcome

__all__ = [
    "CLIENT_EVENTS", "ERROR", "EVENT", "HELLO", "INSPECT", "MAX_CLIENT_ID", "MAX_EVENT_ID", "MAX_STATES",
    "NAMESPACE", "RESYNC", "TRACE", "UPDATE", "Applied", "Auth", "EventMessage", "InspectRequest", "ack",
    "apply_update", "error", "hello", "read_auth", "read_event", "read_inspect", "read_states", "update_delta",
    "update_full",
]

NAMESPACE = "/engine"

# Server to tab.
HELLO = "hello"
UPDATE = "update"
ERROR = "error"
TRACE = "trace"  # to an inspecting tab: what the server did with its lock, and its states' values
# Tab to server: all a tab may emit.
EVENT = "event"
RESYNC = "resync"
INSPECT = "inspect"  # turn the inspector on or off
CLIENT_EVENTS = frozenset({EVENT, RESYNC, INSPECT})

# Caps on what a tab supplies (longer values are refused or cut, never stored).
MAX_STATES = 1000  # state names in one connect, resync or inspect (more is refused, not cut)
MAX_STATE_NAME = 200
MAX_CLIENT_ID = 64
MAX_EVENT_ID = 64


# -- what the server sends -------------------------------------------------------------------
def hello(ticket: str) -> dict[str, Any]:
    """First message on a connection: the ticket the tab keeps to come back."""
    return {"token": ticket}


def update_full(seq: int, full: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The tab's values of the states named, replacing what it holds; `seq` restarts its count."""
    return {"seq": seq, "full": full}


def update_delta(seq: int, delta: dict[str, dict[str, Any]], first: int | None = None) -> dict[str, Any]:
    """The public vars that changed, by state; `seq` is one more than the tab's last.

    Updates merged for a tab that was behind (several commits sent as one:
    engine/socket/behind.py) stand for the seqs `first` to `seq` and say so
    with `"from": first`; the tab applies one when `from` is one more than its
    last seq, and its seq becomes `seq`.

    A var given as operations on its value (engine/patch.py: a long list that
    got one item, a text that got a few words) goes under `ops` instead of
    `delta`: `{"seq": 8, "delta": {}, "ops": {"state.chat": {"reply": [["text", [], " world"]]}}}`.
    """
    ops: dict[str, dict[str, Any]] | None = None
    for name, values in delta.items():
        for var, value in values.items():
            if type(value) is Patch:
                if ops is None:
                    ops = {}
                ops.setdefault(name, {})[var] = value
    if ops is None:
        if first is not None and first != seq:
            return {"seq": seq, "from": first, "delta": delta}
        return {"seq": seq, "delta": delta}
    plain = {
        name: {var: value for var, value in values.items() if type(value) is not Patch}
        for name, values in delta.items()
    }
    message = {"seq": seq, "delta": {name: values for name, values in plain.items() if values}, "ops": ops}
    if first is not None and first != seq:
        message["from"] = first
    return message


def error(message: str, event: str | None = None) -> dict[str, Any]:
    """Something the tab caused failed; `event` is the id of the event that did, if one did."""
    return {"message": message, "event": event}


def ack(result: EventResult | None = None, *, refused: str | None = None, ok: bool = False) -> dict[str, Any]:
    """The acknowledgement of a message: how its event ended, why it was refused, or just ok.

    A trigger its task's policy skipped is ok too, and says so: `skipped` and a `message`.
    """
    if refused is not None:
        return {"ok": False, "error": refused}
    if ok:
        return {"ok": True}
    assert result is not None
    if result.outcome is Outcome.SKIPPED:
        return {"ok": True, "skipped": True, "message": result.message}
    return {"ok": True} if result.ok else {"ok": False, "error": result.message}


# -- what a tab sends -------------------------------------------------------------------------
class Auth(NamedTuple):
    """The connect `auth` of a tab: its ticket (if any), the states it shows, its page's id."""

    ticket: object
    states: list[str]
    client: str | None


def read_auth(auth: object) -> Auth:
    """A tab's connect `auth`, with everything it should not be ignored or capped."""
    data = auth if isinstance(auth, dict) else {}
    client = data.get("client")
    if not isinstance(client, str) or not client or len(client) > MAX_CLIENT_ID:
        client = None  # no id: the tab is treated as a new page
    return Auth(data.get("token"), read_states(data.get("states")), client)


def read_states(value: object) -> list[str]:
    """State names a tab shows (unknown ones are skipped later).

    More than MAX_STATES names is refused rather than cut: a tab that silently
    got only some of its states would show defaults for the rest.
    """
    if not isinstance(value, list):
        return []
    if len(value) > MAX_STATES:
        raise LimitExceededError(
            f"a tab may show at most {MAX_STATES} states at once, and this one named {len(value)}; "
            "name only the states the page shows"
        )
    return [name for name in value if isinstance(name, str) and len(name) <= MAX_STATE_NAME]


class InspectRequest(NamedTuple):
    on: bool
    states: list[str]


def read_inspect(payload: tuple[Any, ...]) -> InspectRequest:
    """An `inspect` message: `{"on": true, "states": [...]}` or `{"on": false}`; anything else is off."""
    data = payload[0] if len(payload) == 1 and isinstance(payload[0], dict) else {}
    return InspectRequest(data.get("on") is True, read_states(data.get("states")))


class EventMessage(NamedTuple):
    id: str | None
    name: str
    args: list[Any]


def read_event(payload: tuple[Any, ...], max_depth: int) -> EventMessage:
    """The `event` a tab sent, or `EventError` saying what is wrong with it."""
    if len(payload) != 1:
        raise EventError(f"an event is one object with 'name' and 'args', got {len(payload)} values")
    data = payload[0]
    if not isinstance(data, dict):
        raise EventError(f"an event must be an object with 'name' and 'args', got {type(data).__name__}")
    name, args, event_id = data.get("name"), data.get("args", []), data.get("id")
    if not isinstance(name, str):
        raise EventError("an event needs a 'name' string")
    if not isinstance(args, list):
        raise EventError(f"{name[:80]}: 'args' must be a list")
    if not isinstance(event_id, str) or len(event_id) > MAX_EVENT_ID:
        event_id = None  # only used to point an error at its box: an odd one is simply not used
    _check_json(args, max_depth)
    return EventMessage(event_id, name, args)


def _check_json(value: Any, limit: int) -> None:
    """Refuse anything but plain JSON (no binary attachments) nested at most `limit` deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise EventError(f"event arguments are nested deeper than {limit} levels (setting max_json_depth)")
        if isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise EventError("event arguments must be plain JSON: object keys must be strings")
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, float) and item != item:
            raise EventError("event arguments must be plain JSON: NaN is not allowed")
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            raise EventError(f"event arguments must be plain JSON, got {type(item).__name__}")


# -- what a client does with updates ------------------------------------------------------------
class Applied(enum.Enum):
    APPLIED = "applied"
    OLD = "old"  # already applied (or older): ignore it
    GAP = "gap"  # an update is missing, or does not fit the copy: ask for a full copy (`resync`), never guess


def apply_update(values: dict[str, dict[str, Any]], seq: int, message: dict[str, Any]) -> tuple[Applied, int]:
    """Apply an `update` to a client's copy of the values; returns what happened and the new seq.

    `seq` is the client's last applied seq (-1 before its first full update).
    """
    new = message["seq"]
    if "full" in message:
        for name, state_values in message["full"].items():
            values[name] = dict(state_values)
        return Applied.APPLIED, new
    if seq >= 0 and new <= seq:
        return Applied.OLD, seq
    first = message.get("from", new)  # (a merged update stands for the seqs from `from` to `seq`)
    if seq < 0 or first != seq + 1:
        return Applied.GAP, seq
    for name, changed in message.get("ops", {}).items():
        state = values.setdefault(name, {})
        for var, ops in changed.items():
            try:  # (in place: a copy that does not fit is resynced whole, so a half-applied one does not stay)
                state[var] = apply_ops(state.get(var), ops)
            except (LookupError, TypeError, AttributeError, ValueError):
                return Applied.GAP, seq
    for name, state_values in message["delta"].items():
        values.setdefault(name, {}).update(state_values)
    return Applied.APPLIED, new
