"""Which other workers are alive, as far as one worker can tell from what it heard of them.

A worker is alive while it has been heard from (an announcement or its
heartbeat) within the last three beats. Telling takes listening: until this
worker has listened for three beats it cannot tell a silent worker from a
dead one, and one that finds it has not heard a message for more than two
beats (this process was paused, or Redis was out of reach) says so and gives
every other worker three beats more to be heard, instead of declaring the
healthy ones dead. The tab directory (directory.py) tells it what it hears
and drops the tabs of the workers it finds silent.

Hearing means a message: every worker hears its own heartbeat come back on
the channel, so a worker whose subscription is open but gets nothing (a
black-holed link: a partition accepts and never answers) is as deaf as one
whose subscription broke. How long it has been deaf is also how long this
worker has been out of reach of Redis, as the others see it: past
`cut_off_after` it is cut off (directory.py then hands its tabs over).
"""

from __future__ import annotations

import logging

__all__ = ["DEAD_AFTER_BEATS", "WorkerLiveness"]

logger = logging.getLogger("engine.directory")

DEAD_AFTER_BEATS = 3
_QUIET_BEATS = 2  # beats without a message after which this worker is not listening


class WorkerLiveness:
    """When each other worker was last heard from, and whether this one was listening meanwhile.

    Times are the event loop's (`loop.time()`), given by the caller.
    """

    def __init__(self, beat: float) -> None:
        self.beat = beat
        self.pauses = 0  # times this worker found it had not been listening (paused, or Redis out of reach)
        self._heard: dict[str, float] = {}  # other worker -> loop time it was last heard from
        self._settled_at: float | None = None  # loop time after which a worker not heard is surely dead
        self._listened_at: float | None = None  # loop time the reader last heard a message (None: unsubscribed)
        self._last_word: float | None = None  # the same, kept while unsubscribed (None: never heard one)
        self.cut_off = False  # out of reach of Redis for too long (judge_reach)
        self.cut_offs = 0  # times it was
        self._healed_at: float | None = None  # loop time it last heard Redis again after being cut off

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
        self._listened_at = self._last_word = now

    def deaf(self) -> None:
        """The reader lost its subscription: judge nobody until it listens again."""
        self._listened_at = None

    def _deaf_for(self, now: float) -> float:
        """Seconds since the reader last heard from Redis, beyond the two beats it may wait (0 while listening).

        Two: a message a beat apart arrives with the link's jitter and the loop's lag on top.
        """
        if self._listened_at is None:
            return float("inf")
        return max(0.0, now - self._listened_at - self.beat * _QUIET_BEATS)

    def listening_again(self, now: float) -> None:
        """The reader heard a message: if it was away (paused, starved, cut off), every other worker gets
        three beats anew."""
        away = self._deaf_for(now)
        self._listened_at = self._last_word = now
        if away > 0:
            self.pauses += 1
            self._heard = dict.fromkeys(self._heard, now)
            if self._settled_at is not None:
                self._settled_at = max(self._settled_at, now + self.dead_after)
            logger.warning(
                "this worker did not listen to the others for %.1fs (this process was paused, or its event loop "
                "or Redis stalled); it judges no other worker dead until it has listened for %gs again",
                away + self.beat * _QUIET_BEATS, self.dead_after,
            )

    def alive(self, worker: str, now: float) -> bool:
        """Whether another worker is alive: heard from recently, or not long enough listening to tell."""
        settled = self._settled_at
        if settled is None or now < settled:
            return True  # a worker not heard yet may just not have spoken since we started listening
        if self._deaf_for(now) > 0:
            return True  # this worker has not been listening (paused, or Redis out of reach): it cannot tell
        return worker in self._heard

    def out_of_reach_for(self, now: float) -> float:
        """Seconds since the reader last heard a message from Redis (0 before the first one)."""
        return 0.0 if self._last_word is None else now - self._last_word

    def judge_reach(self, now: float, limit: float) -> bool:
        """Whether this worker has just become cut off: it heard nothing from Redis for more than `limit`
        seconds (True once per outage; `cut_off` says whether it still is)."""
        away = self.out_of_reach_for(now)
        if away <= limit:
            if self.cut_off:
                logger.info("this worker hears Redis again: it serves tabs again")
                self._healed_at = now
            self.cut_off = False
            return False
        if self.cut_off:
            return False
        self.cut_off = True
        self.cut_offs += 1
        logger.warning(
            "this worker has heard nothing from Redis for %.1fs (more than %gs: three heartbeats and a lock's "
            "lease, settings worker_heartbeat, lock_lease): the other workers take it for dead, so it closes its "
            "tabs' sockets and refuses new ones until Redis answers again; the pages reconnect to another worker",
            away, limit,
        )
        return True

    def cut_off_within(self, now: float, seconds: float) -> bool:
        """Whether this worker is cut off, or was less than `seconds` ago."""
        return self.cut_off or (self._healed_at is not None and now - self._healed_at < seconds)

    def silent(self, now: float) -> list[str]:
        """The workers not heard from for three beats (a killed worker says no bye), forgotten from now on;
        none while this worker is not listening (it cannot tell)."""
        if self._deaf_for(now) > 0:
            return []
        cutoff = now - self.dead_after
        gone = [worker for worker, heard in self._heard.items() if heard < cutoff]
        for worker in gone:
            del self._heard[worker]
        return gone
