"""Progress lines while the bench runs: the clock, the time since the start, and what is running now."""

from __future__ import annotations

import time

__all__ = ["Progress"]


class Progress:
    """`progress("Redis: round 2/7 done")` prints `[bench 16:46:07 +2:41] Redis: round 2/7 done` at once."""

    def __init__(self) -> None:
        self.began = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def __call__(self, message: str) -> None:
        minutes, seconds = divmod(int(self.elapsed), 60)
        print(f"[bench {time.strftime('%H:%M:%S')} +{minutes}:{seconds:02d}] {message}", flush=True)
