"""The fetch demo's data: lines of our own, served by our own server with a short delay.

`random_quote()` deals from a shuffled deck: every quote comes once before any
comes again, and a new round never starts with the quote that ended the last
one, so Fetch Data always shows something new. The deck belongs to one server
process; a reader's fetches that land on different workers may meet a repeat.
"""

from __future__ import annotations

import random

QUOTES = (
    "A task that never awaits is a task that never lets anyone else speak.",
    "Hold the lock for the change, not for the wait.",
    "Stale reads are honest if you know they are stale.",
    "Every background task should know how it ends.",
    "The browser shows what the server last promised, in the order it promised it.",
    "Measure twice, on the same machine, in the same run.",
    "A queue without a bound is a memory leak with good manners.",
    "Cancelled is a perfectly good way to finish.",
    "Check the condition again in the block that acts on it.",
    "A spinner is a promise; keep it short.",
    "Two clicks are not two requests unless you want them to be.",
    "The slow part goes outside the lock; the fast part goes inside.",
    "A retry without a limit is just a loop with hope.",
    "Timeouts are decisions you make before you are in a hurry.",
    "Nobody reads a log line that says only 'error'.",
    "If the tab is gone, stop working for it.",
    "A state you saved for later is a state that is already out of date.",
    "Back-pressure is the system saying 'not yet' instead of 'never'.",
    "The fastest request is the one you did not send twice.",
    "An error message should say what to do next.",
    "Small blocks, short waits, clear ends.",
    "Idle CPUs are cheap; blocked event loops are not.",
    "Order is a feature: keep it where readers can see it.",
    "A test that cannot fail is a comment with extra steps.",
)


class QuoteDeck:
    """Deals every quote once per round, in a new order each round."""

    def __init__(self, quotes: tuple[str, ...] = QUOTES, rng: random.Random | None = None) -> None:
        if len(quotes) < 2:
            raise ValueError("a deck needs at least two quotes, or it repeats itself")
        self._quotes = quotes
        self._rng = rng or random.Random()
        self._pile: list[str] = []
        self._last: str | None = None

    def draw(self) -> str:
        if not self._pile:
            self._pile = self._new_round()
        self._last = self._pile.pop()
        return self._last

    def _new_round(self) -> list[str]:
        pile = list(self._quotes)
        self._rng.shuffle(pile)
        if pile[-1] == self._last:  # the next pop would repeat the previous quote
            pile[0], pile[-1] = pile[-1], pile[0]
        return pile


_deck = QuoteDeck()


def random_quote() -> str:
    """The next quote of this process's deck: never the one dealt just before."""
    return _deck.draw()
