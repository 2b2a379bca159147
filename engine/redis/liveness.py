"""Which other workers are alive, as far as one worker can tell from what it heard of them.

A worker is alive while it has been heard from (an announcement or its
heartbeat) within the last three beats. Telling takes listening: until this
worker has listened for three beats it cannot tell a silent worker from a
dead one, and one that finds it has not listened for more than a beat and a
half (this process was paused, or Redis was out of reach) says so and gives
every other worker three beats more to be heard, instead of declaring the
healthy ones dead. The tab directory (directory.py) tells it what it hears
and drops the tabs of the workers it finds silent.
"""

from __future__ import annotations

import logging

__all__ = ["DEAD_AFTER_BEATS", "WorkerLiveness"]

logger = logging.getLogger("engine.directory")

DEAD_AFTER_BEATS = 3


class WorkerLiveness:
    """When each other worker was last heard from, and whether this one was listening meanwhile.

    Times are the event loop's (`loop.time()`), given by the caller.
    """

    def __init__(self, beat: float) -> None:
        self.beat = beat
        self.pauses = 0  # times this worker found it had not been listening (paused, or Redis out of reach)
        self._heard: dict[str, float] = {}  # other worker -> loop time it was last heard from
        self._settled_at: float | None = None  # loop time after which a worker not heard is surely dead
        self._listened_at: float | None = None  # loop time the reader last heard from Redis (a message or none)

    @property
    def dead_after(self) -> float:
        """Seconds without a word after which a worker is taken for dead."""
        return self.beat * DEAD_AFTER_BEATS

    def heard(self, worker: str, at: float) -> None:
        """The worker said something (at loop time `at`)."""
        self._heard[worker] = at

    def forget(self, worker: str) -> None:
        """The worker said goodbye: it is not waited for any more."""
        self._heard.pop(worker, None)

    def listening(self, now: float) -> None:
        """The reader is subscribed (again); the first time, workers not heard within three beats are dead."""
        if self._settled_at is None:
            self._settled_at = now + self.dead_after
        self._listened_at = now

    def deaf(self) -> None:
        """The reader lost its subscription: judge nobody until it listens again."""
        self._listened_at = None

    def _deaf_for(self, now: float) -> float:
        """Seconds since the reader last heard from Redis, beyond the beat it may wait (0 while listening)."""
        if self._listened_at is None:
            return float("inf")
        return max(0.0, now - self._listened_at - self.beat * 1.5)

    def listening_again(self, now: float) -> None:
        """The reader is back: if it was away (paused, starved), every other worker gets three beats anew."""
        away = self._deaf_for(now)
        self._listened_at = now
        if away > 0:
            self.pauses += 1
            self._heard = dict.fromkeys(self._heard, now)
            if self._settled_at is not None:
                self._settled_at = max(self._settled_at, now + self.dead_after)
            logger.warning(
                "this worker did not listen to the others for %.1fs (this process was paused, or its event loop "
                "or Redis stalled); it judges no other worker dead until it has listened for %gs again",
                away + self.beat * 1.5, self.dead_after,
            )

    def alive(self, worker: str, now: float) -> bool:
        """Whether another worker is alive: heard from recently, or not long enough listening to tell."""
        settled = self._settled_at
        if settled is None or now < settled:
            return True  # a worker not heard yet may just not have spoken since we started listening
        if self._deaf_for(now) > 0:
            return True  # this worker has not been listening (paused, or Redis out of reach): it cannot tell
        return worker in self._heard

    def silent(self, now: float) -> list[str]:
        """The workers not heard from for three beats (a killed worker says no bye), forgotten from now on."""
        cutoff = now - self.dead_after
        gone = [worker for worker, heard in self._heard.items() if heard < cutoff]
        for worker in gone:
            del self._heard[worker]
        return gone
