"""The supervisor's restart delay: doubling while a worker dies young, capped, reset once it recovered.

The processes themselves are in tests/redis/test_redis_supervisor.py; waiting
out `stable_after` there would cost half a minute, so the reset is shown here.
"""

from __future__ import annotations

from docsite.supervisor import Backoff, describe_exit


def test_the_delay_doubles_while_a_worker_dies_young_and_stops_at_the_cap() -> None:
    backoff = Backoff(first=0.5, cap=4.0, stable_after=30.0)
    delays, previous = [], None
    for _ in range(6):
        previous = backoff.delay(previous, uptime=1.0)
        delays.append(previous)
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_a_worker_that_stayed_up_long_enough_starts_again_from_the_first_delay() -> None:
    backoff = Backoff()
    assert backoff.delay(16.0, uptime=backoff.stable_after) == backoff.first
    assert backoff.delay(16.0, uptime=backoff.stable_after - 0.1) == backoff.cap


def test_exit_statuses_read_as_a_person_would_say_them() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "status 1"
    assert describe_exit(-200) == "killed by signal 200"
