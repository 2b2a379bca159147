"""The fetch demo's data: a few lines of our own, served by our own server with a short delay."""

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
)


def random_quote(rng: random.Random | None = None) -> str:
    return (rng or random).choice(QUOTES)
