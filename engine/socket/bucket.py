"""A token bucket: a rate of events with a burst, the one allowance every event limit uses.

A socket's own allowance (`events_per_second`) and an address's shared one
(`client_events_per_second`) are the same rule with different numbers: the
bucket holds up to twice the rate, refills at the rate, and each event takes
one. Written once here so the two cannot drift apart.
"""

from __future__ import annotations

import time

__all__ = ["TokenBucket"]


class TokenBucket:
    """`take()` is True while the allowance lasts; it refills at `rate` per second up to twice that."""

    __slots__ = ("_checked", "_level", "rate")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._level = rate * 2  # a new bucket starts full: a page may send its first burst at once
        self._checked = time.monotonic()

    def take(self) -> bool:
        """Spend one event; False (nothing spent) when the bucket is empty."""
        now = time.monotonic()
        rate = self.rate
        level = min(rate * 2, self._level + (now - self._checked) * rate)
        self._checked = now
        if level < 1:
            self._level = level
            return False
        self._level = level - 1
        return True
