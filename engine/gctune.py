"""Young garbage collections made rarer, so a process holding thousands of tabs does not keep re-scanning them.

CPython collects its youngest generation each time 700 more container
objects exist than were freed. A server with thousands of live tabs always
has far more than that in flight (each sleeping task's coroutine, timer and
future, each update on its way): those objects cross the count many times a
second, survive, are promoted, and soon trigger a full collection, which
walks every object of every tab while the event loop waits. In the bench's
overload section (2,000 counter tabs on one process) that was 26 full
collections of about 0.3 s each in 30 s; clicks waited behind them and the
counters ticked at half speed. With the youngest generation's threshold at
50,000 the same run had no full collection at all, and the garbage that
only a collection frees (reference cycles) still goes within that many
allocations.

`raise_young_threshold` only ever raises the threshold (a host that set a
higher one keeps it) and gives back a function that restores what was
there, unless someone changed it since.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

__all__ = ["raise_young_threshold"]


def raise_young_threshold(young: int) -> Callable[[], None]:
    """Set the youngest generation's threshold to at least `young` (0: leave it); returns the undo."""
    before = gc.get_threshold()
    if young <= 0 or before[0] >= young:
        return lambda: None
    ours = (young, *before[1:])
    gc.set_threshold(*ours)

    def restore() -> None:
        if gc.get_threshold() == ours:
            gc.set_threshold(*before)

    return restore
