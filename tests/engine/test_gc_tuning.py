"""The App raises the garbage collector's young threshold while it serves (engine/gctune.py), and puts it back."""

from __future__ import annotations

import gc
from collections import deque

import pytest

import engine as rx
from engine.gctune import raise_young_threshold


@pytest.fixture(autouse=True)
def python_default_threshold():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)


async def test_a_serving_app_collects_the_young_generation_less_often_and_gives_the_setting_back():
    app = rx.App(gc_young_threshold=40_000)
    await app.startup()
    try:
        assert gc.get_threshold()[:2] == (40_000, 10)
    finally:
        await app.shutdown(timeout=1)
    assert gc.get_threshold()[:2] == (700, 10)


async def test_the_default_is_50000_and_0_leaves_pythons_setting_alone():
    assert rx.Settings().gc_young_threshold == 50_000
    app = rx.App(gc_young_threshold=0)
    await app.startup()
    try:
        assert gc.get_threshold()[:2] == (700, 10)
    finally:
        await app.shutdown(timeout=1)


def test_a_higher_threshold_the_host_set_is_kept_and_a_later_change_is_not_undone():
    gc.set_threshold(100_000, 10, 10)
    raise_young_threshold(50_000)()
    assert gc.get_threshold()[:2] == (100_000, 10)  # (CPython 3.14 keeps no third threshold: it reads 0)

    gc.set_threshold(700, 10, 10)
    restore = raise_young_threshold(50_000)
    assert gc.get_threshold()[:2] == (50_000, 10)
    gc.set_threshold(80_000, 5, 5)  # (the host tuned it again while the app served)
    restore()
    assert gc.get_threshold()[:2] == (80_000, 5)


def test_many_tabs_in_flight_no_longer_trigger_full_collections():
    # What the threshold is for: bursts of objects that live a while (a loop turn's worth of tasks
    # asleep between ticks, updates on their way) and then go. At Python's 700 each burst is
    # scanned young, survives, is promoted, and the promotions add up to full collections; at the
    # App's threshold what is alive at once never reaches it, and nothing is collected at all.
    def full_collections_while_churning() -> int:
        alive: deque[list[list[int]]] = deque()
        before = gc.get_stats()[2]["collections"]
        for _ in range(600):
            alive.append([[] for _ in range(1_000)])
            if len(alive) > 20:
                alive.popleft()
        return int(gc.get_stats()[2]["collections"] - before)

    assert full_collections_while_churning() > 0
    restore = raise_young_threshold(rx.Settings().gc_young_threshold)
    try:
        assert full_collections_while_churning() == 0
    finally:
        restore()
