"""What one worker concludes from what it hears on the directory's channel (engine/redis/liveness.py).

Hearing is a message, its own heartbeat's echo included: a subscription
that stays open and brings nothing (a black-holed link) is deafness, and a
deaf worker judges nobody dead; long enough deaf, it is cut off.
"""

from __future__ import annotations

from engine.redis.liveness import WorkerLiveness

BEAT = 0.3


def test_a_worker_that_hears_nothing_judges_nobody_dead():
    peers = WorkerLiveness(BEAT)
    peers.listening(0.0)
    peers.heard("b", 0.0)
    # Nothing arrives (not even this worker's own beats): b is not silent, this worker is deaf.
    assert peers.alive("b", 1.5) and peers.silent(1.5) == []
    # Messages again (its own beats), but none from b for three beats: now b is silent.
    peers.listening_again(1.6)
    for now in (1.9, 2.2, 2.5, 2.8):
        peers.listening_again(now)
    assert peers.silent(2.8) == ["b"] and not peers.alive("b", 2.8)


def test_a_worker_deaf_longer_than_the_bound_is_cut_off_once_until_it_hears_again():
    peers = WorkerLiveness(BEAT)
    assert not peers.judge_reach(5.0, 2.0)  # never heard Redis yet: not cut off
    peers.listening(0.0)
    assert not peers.judge_reach(1.9, 2.0) and not peers.cut_off
    assert peers.judge_reach(2.1, 2.0) and peers.cut_off  # becomes cut off: True once
    assert not peers.judge_reach(3.0, 2.0) and peers.cut_off
    peers.listening_again(3.1)  # (a message: the link healed)
    assert not peers.judge_reach(3.2, 2.0) and not peers.cut_off
    assert peers.pauses == 1 and peers.cut_offs == 1
