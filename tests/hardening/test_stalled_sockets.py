"""A socket that stops reading is cut off: what waits unsent for it is bounded, and its memory comes back.

The stalled visitor is a raw websocket with a tiny receive buffer that never
reads, so the server's writes back up at once: first into the kernel's
socket buffers, then uvicorn's transport buffer (whose `send` then waits),
then python-engineio's queue of packets for the socket. Before the bound,
nothing ever closed such a socket (its pings could not be written either)
and the queue grew with every update.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import engine as rx
from engine.testing import TabClient

from .ledger import stop_tasks
from .states import HardFloodState
from .wire import RawSocket

FLOOD = HardFloodState.get_full_name()
UPDATE = 60_000  # bytes of each update's blob


def _queued_bytes(app: rx.App) -> int:
    """Bytes in python-engineio's queues (read from its sockets, not from the code under test)."""
    total = 0
    for eio_socket in list(app.sio.eio.sockets.values()):
        for pkt in list(eio_socket.queue._queue):
            data = getattr(pkt, "data", None)
            total += len(data) if isinstance(data, (str, bytes)) else 0
    return total


async def _join_stalled(stalled: RawSocket) -> str:
    await stalled.open()
    frames = await stalled.join({"states": [FLOOD]})
    return str(json.loads(frames[1].split(",", 1)[1])[1]["token"].split(".")[0])


async def _until(predicate: Callable[[], bool], timeout: float, sample: Callable[[], None] = lambda: None) -> float:
    """Wait for predicate (sampling meanwhile); the seconds it took, or AssertionError after timeout."""
    began = time.monotonic()
    while not predicate():
        sample()
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not within {timeout}s")
        await asyncio.sleep(0.005)
    return time.monotonic() - began


async def _reset_seen(stalled: RawSocket, timeout: float = 5) -> bool:
    """Whether the peer sees its connection end (reading on through what its kernel still holds)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await stalled.recv(timeout)
    except ConnectionError:
        return True
    except TimeoutError:
        return False


@contextmanager
def _traced() -> Iterator[Callable[[], int]]:
    """Python's heap while the block runs: yields a function giving the bytes allocated since it began."""
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]

        def grown() -> int:
            gc.collect()
            return tracemalloc.get_traced_memory()[0] - before

        yield grown
    finally:
        tracemalloc.stop()


async def test_a_socket_that_stops_reading_is_cut_within_max_unsent_bytes_and_its_memory_comes_back(make_app, caplog):
    limit = 256 * 1024
    app = make_app(max_unsent_bytes=limit, drain_timeout=600)  # (the time bound out of the way)
    async with TabClient(app, states=[HardFloodState], local_address="127.0.2.1") as reader:
        assert reader.url is not None
        async with RawSocket(reader.url, rcvbuf=4096, local_address="127.0.2.2") as stalled:
            token = await _join_stalled(stalled)
            with _traced() as grown, caplog.at_level(logging.WARNING, logger="engine.socket"):
                # 60 clicks, each an update of 60 KB (3.6 MB), for a tab that never reads; fewer than
                # max_queued_updates (256). (A task's updates would merge into one instead: test_overload.py.)
                for click in range(60):
                    await stalled.emit("event", {"name": HardFloodState.fill.full_name, "args": [UPDATE]}, ack=click)
                peak = 0

                def sample() -> None:
                    nonlocal peak
                    peak = max(peak, _queued_bytes(app))

                await _until(lambda: token not in app.event_namespace.token_to_sid, 20, sample)
                assert await _reset_seen(stalled), "the server did not end the stalled connection"
                assert (await reader.send(HardFloodState.flood, 50, UPDATE))["ok"]  # the reading visitor goes on
                await reader.wait_for(lambda t: t.state(HardFloodState)["n"] == 50, timeout=20)
                await stop_tasks([handle.task for handle in app.tasks.for_tab(token)])
                await _until(lambda: _queued_bytes(app) == 0, 5)  # (its close ends a moment after the unbinding)
                assert grown() < 2_000_000, f"{grown()} bytes still held after the stalled socket went"
            assert peak <= limit, f"{peak} bytes queued for a stalled socket (max_unsent_bytes={limit})"
            assert any("setting max_unsent_bytes" in r.getMessage() for r in caplog.records)
            assert reader.token in app.event_namespace.token_to_sid


async def test_a_stalled_socket_sent_nothing_more_is_cut_after_drain_timeout(make_app, caplog):
    app = make_app(max_unsent_bytes=10**9, max_queued_updates=10**6, drain_timeout=1)  # only the time bound
    async with TabClient(app, states=[HardFloodState], local_address="127.0.2.3") as reader:
        assert reader.url is not None
        async with RawSocket(reader.url, rcvbuf=4096, local_address="127.0.2.4") as stalled:
            token = await _join_stalled(stalled)
            with _traced() as grown, caplog.at_level(logging.WARNING, logger="engine.socket"):
                # 100 updates of 60 KB, more than the kernel's and uvicorn's buffers take; then nothing more.
                await stalled.emit("event", {"name": HardFloodState.flood.full_name, "args": [100, UPDATE]}, ack=1)
                await _until(lambda: _queued_bytes(app) > 0, 20)  # its writes back up into the process
                waited = await _until(lambda: token not in app.event_namespace.token_to_sid, 10)
                assert waited < 4, f"cut {waited:.1f}s after its writes stopped draining (drain_timeout=1)"
                assert await _reset_seen(stalled), "the server did not end the stalled connection"
                await stop_tasks([handle.task for handle in app.tasks.for_tab(token)])
                await _until(lambda: _queued_bytes(app) == 0, 5)
                assert grown() < 2_000_000, f"{grown()} bytes still held after the stalled socket went"
            assert any("setting drain_timeout=1" in r.getMessage() for r in caplog.records)
            assert (await reader.send(HardFloodState.set_n, 3))["ok"]


async def test_one_update_larger_than_max_unsent_bytes_reaches_a_tab_that_reads(make_app):
    # The byte bound is on what piles up behind a write that does not drain, not on one big update.
    app = make_app(max_unsent_bytes=64 * 1024)
    async with TabClient(app, states=[HardFloodState], local_address="127.0.2.5") as tab:
        assert (await tab.send(HardFloodState.flood, 3, 300_000))["ok"]
        await tab.wait_for(lambda t: t.state(HardFloodState)["n"] == 3, timeout=20)
        assert len(tab.state(HardFloodState)["blob"]) == 300_000
        assert tab.token in app.event_namespace.token_to_sid
