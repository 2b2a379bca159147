"""Observation points: what the runner does with a tab's lock and tasks, for whoever watches.

The runner reports each step (a task started, a lane waits for the lock,
takes it, leaves a block with update seq N, releases it, a task ended...) to
the subscribers of that tab. With no subscriber for a tab, reporting costs
one dictionary lookup: call sites ask `watching(token)` before building
anything. The lab's live timeline and the tests read the same reports.

A *lane* is who holds or wants the lock: a background task copy (its
handle's id, such as `my_task#3`), `events` for the tab's regular events, or
the name of the coroutine that called `modify_state`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["EVENTS_LANE", "Kind", "Observation", "Observers"]

logger = logging.getLogger("engine.observe")

EVENTS_LANE = "events"  # the lane of a tab's regular events


class Kind:
    """The kinds of observation, in the order a lane usually goes through them."""

    TASK_STARTED = "task_started"  # detail: handler
    EVENT_STARTED = "event_started"  # detail: handler (a regular event begins in the `events` lane)
    LOCK_WAITING = "lock_waiting"
    LOCK_TAKEN = "lock_taken"
    CHECKPOINT = "checkpoint"  # detail: seq (a handler's `yield` committed and sent; None if nothing changed), root
    BLOCK_LEFT = "block_left"  # detail: seq (the update its last commit sent; None if nothing changed), root
    # (`root` is the tab's state tree, for a subscriber that reads values right away; never kept.)
    LOCK_RELEASED = "lock_released"  # detail: outcome (committed, rolled_back)
    EVENT_ENDED = "event_ended"  # detail: handler, outcome
    TASK_ENDED = "task_ended"  # detail: handler, status (done, failed, cancelled)
    CANCEL_REQUESTED = "cancel_requested"  # detail: handler
    ERROR = "error"  # detail: message


class Observation(NamedTuple):
    at: float  # time.monotonic()
    token: str
    kind: str
    lane: str
    detail: dict[str, Any]


Subscriber = Callable[[Observation], None]


class Observers:
    """Subscribers per tab; `watching(token)` is the cheap question every call site asks first."""

    def __init__(self) -> None:
        self._by_token: dict[str, list[Subscriber]] = {}
        self._everything: list[Subscriber] = []
        self.active = False  # anybody subscribed at all: the first, cheapest question

    def watching(self, token: str) -> bool:
        return bool(self._everything) or token in self._by_token

    def _recount(self) -> None:
        self.active = bool(self._everything or self._by_token)

    def subscribe(self, callback: Subscriber, token: str | None = None) -> Callable[[], None]:
        """Call `callback` with each observation of `token` (of every tab when None); returns an unsubscribe."""
        subscribers = self._everything if token is None else self._by_token.setdefault(token, [])
        subscribers.append(callback)
        self._recount()

        def unsubscribe() -> None:
            if callback in subscribers:
                subscribers.remove(callback)
            if token is not None and not subscribers and self._by_token.get(token) is subscribers:
                del self._by_token[token]
            self._recount()

        return unsubscribe

    def report(self, token: str, kind: str, lane: str, **detail: Any) -> None:
        """Deliver one observation; a subscriber that raises is logged and dropped from nothing else."""
        observation = Observation(time.monotonic(), token, kind, lane, detail)
        for callback in (*self._by_token.get(token, ()), *self._everything):
            try:
                callback(observation)
            except Exception:
                logger.exception("an observer of tab %s failed", token[:8])
