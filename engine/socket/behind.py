"""Updates for a tab that is behind: background changes merge into one update instead of queueing.

A saturated process (or a slow network) leaves a tab's socket with an
update it has not sent yet. Queueing every newer background update behind
it would make the tab replay a backlog of values it no longer needs, and a
click's acknowledgement would wait at the back of that queue. So while a
tab's socket still has something unsent (its `Outbox.queued`), a background
task's update is held here, merged with the ones held before it
(`merge_into`: every var at its latest value); when the socket has sent
what it had, the held update goes out as one message that stands for the
seqs it covers (`"from"`: the first, `"seq"`: the last), so the tab's
count stays gap-free. The tab converges on the latest values and is never
more than one message behind.

A foreground update (a click's, the engine's own) is never held: it goes
out at once, with whatever was held merged into it first, so the tab sees
every change in order and the click's acknowledgement, which follows it,
queues behind at most the one message the socket was already sending.

When nothing is behind, the cost is two attribute reads per update.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from ..delta import Delta, merge_into, owned_delta
from .outbox import Outbox

__all__ = ["Held", "hold", "take"]

logger = logging.getLogger("engine.socket")
_encode = json.JSONEncoder(separators=(",", ":")).encode

Send = Callable[[int, Delta, int | None], Awaitable[None]]  # (seq, delta, first seq it stands for)


class Held:
    """Background updates of one tab waiting for its socket, merged: they stand for seqs `first`..`seq`."""

    __slots__ = ("_owned", "_size", "count", "delta", "first", "seq")

    def __init__(self, seq: int, delta: Delta) -> None:
        self.first = seq
        self.seq = seq
        self.delta = delta
        self.count = 1  # commits merged into it
        self._owned = False  # whether `delta` is its own copy yet (made at the first merge)
        self._size: int | None = None

    def add(self, seq: int, delta: Delta) -> None:
        """Merge the next commit's update into this one (in place: linear in what the commit changed)."""
        if not self._owned:
            self.delta = owned_delta(self.delta)
            self._owned = True
        merge_into(self.delta, delta)
        self.seq = seq
        self.count += 1
        self._size = None

    def size(self) -> int:
        """The bytes it will take on the wire (counted in what waits unsent for the socket: backlog.py)."""
        if self._size is None:
            self._size = len(_encode(self.delta))
        return self._size


def hold(outbox: Outbox, seq: int, delta: Delta, send: Send) -> None:
    """Hold the first background update for a socket that is behind; it is sent once the socket drained.

    Later ones are merged into it (`outbox.held.add`). `send(seq, delta,
    first)` is how the merged update goes out (it queues the message: it
    must not wait for the socket).
    """
    outbox.held = Held(seq, delta)

    async def drained() -> None:
        held = outbox.held
        outbox.held = None
        if held is None or outbox.cut_off:
            return
        try:
            await send(held.seq, held.delta, held.first)
        except Exception:  # the socket went away meanwhile: its tab resyncs when it is back
            logger.warning("could not send a merged update to a tab that was behind", exc_info=True)

    outbox.on_drained = drained


def take(outbox: Outbox) -> Held | None:
    """What is held for the socket, now no longer held (a foreground update sends it first)."""
    held: Held | None = outbox.held
    if held is not None:
        outbox.held = None
        outbox.on_drained = None
    return held
