"""`python -m docsite serve --workers 2`: a dead worker is replaced, with back-off, until SIGTERM.

The workers are real processes on a private Redis. Which processes are
workers is read from /proc (the parent's children), not from the log under
test; the log is then checked for what it must say about each restart.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import httpx
import pytest
from redis_support import Worker, until

from tests.conftest import free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]

RESTARTED = (
    r"worker {pid} exited unexpectedly \(killed by SIGKILL\) after [\d.]+ s; "
    r"starting a new worker in its place in ([\d.]+) s"
)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None if there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def children_of(parent: int) -> set[int]:
    """The live (not zombie) processes whose parent is `parent`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == parent and stat[0] != "Z":
                found.add(int(entry.name))
    return found


class Supervised:
    """The docs server with two workers, and every worker pid it was seen with (to clean up after)."""

    def __init__(self, server: Worker) -> None:
        self.server = server
        self.seen: set[int] = set()

    @property
    def parent(self) -> subprocess.Popen[bytes]:
        assert self.server.process is not None
        return self.server.process

    def workers(self) -> set[int]:
        pids = children_of(self.parent.pid)
        self.seen |= pids
        return pids

    async def wait_for_workers(self, what: str, exclude: Collection[int] = ()) -> set[int]:
        """Wait until two workers run and neither is in `exclude`; returns their pids."""

        def ready() -> bool:
            pids = self.workers()
            return len(pids) == 2 and pids.isdisjoint(exclude)

        await until(ready, 30, what, step=0.05)
        return self.workers()

    async def answering_pid(self) -> int:
        """The pid of the worker that answers a new connection (the kernel picks one)."""
        async with httpx.AsyncClient(base_url=self.server.url, timeout=5) as client:
            response = await client.get("/healthz/details")
        response.raise_for_status()
        return int(response.json()["pid"])

    async def wait_until_answering(self, pids: set[int]) -> None:
        answered: set[int] = set()

        async def all_answered() -> bool:
            answered.add(await self.answering_pid())
            return pids <= answered

        await until(all_answered, 30, f"workers {sorted(pids)} answering requests", step=0.01)

    def stop_with(self, signum: int, timeout: float = 30) -> int:
        self.parent.send_signal(signum)
        return self.parent.wait(timeout)


@pytest.fixture
def supervised(redis_server, tmp_path: Path) -> Iterator[Supervised]:
    redis_server.flush()
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>supervised</title>")
    port = free_port()
    command = [
        sys.executable, "-m", "docsite", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--site", str(site), "--workers", "2", "--redis-url", redis_server.url,
    ]
    site_server = Supervised(Worker(port, {}, tmp_path / "docsite.log", command).start(timeout=30))
    try:
        yield site_server
    finally:
        site_server.workers()
        site_server.server.stop(timeout=30)
        for pid in site_server.seen:  # a worker outliving its parent would be a failure; do not leak it
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def restart_delay(log: str, pid: int) -> float:
    """The delay the supervisor logged for restarting the killed worker `pid`."""
    found = re.search(RESTARTED.format(pid=pid), log)
    assert found, f"no restart logged for worker {pid}:\n{log}"
    return float(found.group(1))


async def kill_and_wait_for_the_replacement(supervised: Supervised, victim: int) -> tuple[int, float]:
    """SIGKILL `victim`; returns its replacement's pid and how long after the kill it appeared."""
    before = supervised.workers()
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    await until(lambda: not alive(victim), 5, f"worker {victim} dying")
    survivors = before - {victim}
    await supervised.wait_for_workers(f"a worker in place of {victim}", exclude={victim})
    (replacement,) = supervised.workers() - survivors
    return replacement, time.monotonic() - killed_at


async def test_a_killed_worker_is_replaced_and_the_site_keeps_answering(supervised: Supervised) -> None:
    first = await supervised.wait_for_workers("two workers starting")
    await supervised.wait_until_answering(first)
    victim, survivor = sorted(first)

    os.kill(victim, signal.SIGKILL)
    await until(lambda: not alive(victim), 5, f"worker {victim} dying")
    async with httpx.AsyncClient(base_url=supervised.server.url, timeout=5) as client:
        for _ in range(10):  # while the place is empty, the other worker serves every new connection
            assert (await client.get("/", headers={"Connection": "close"})).status_code == 200
            assert await supervised.answering_pid() == survivor

    await supervised.wait_for_workers(f"a worker in place of {victim}", exclude={victim})
    (replacement,) = supervised.workers() - {survivor}
    await supervised.wait_until_answering({replacement, survivor})
    log = supervised.server.log_text()
    assert restart_delay(log, victim) == 0.5
    assert f"worker {replacement} started in place of worker {victim}" in log

    assert supervised.stop_with(signal.SIGTERM) == 0, supervised.server.log_text()
    log = supervised.server.log_text()
    assert re.search(rf"received SIGTERM: no more restarts; stopping workers ({survivor}, {replacement}"
                     rf"|{replacement}, {survivor})\n", log), log
    assert "all workers have exited" in log and "Traceback" not in log
    assert not [pid for pid in supervised.seen if alive(pid)]


async def test_a_worker_that_keeps_dying_waits_longer_each_time_and_shutdown_restarts_nothing(
    supervised: Supervised,
) -> None:
    victim, survivor = sorted(await supervised.wait_for_workers("two workers starting"))
    delays, waited = [], []
    for _ in range(3):  # each replacement is killed young: it never counts as recovered
        replacement, after = await kill_and_wait_for_the_replacement(supervised, victim)
        delays.append(restart_delay(supervised.server.log_text(), victim))
        waited.append(after)
        victim = replacement
    assert delays == [0.5, 1.0, 2.0]
    assert all(after >= delay for after, delay in zip(waited, delays, strict=True)), waited

    # Killed again, its next start is 4 s away; SIGTERM to the parent now must not start it.
    os.kill(victim, signal.SIGKILL)
    await until(lambda: f"worker {victim} exited unexpectedly" in supervised.server.log_text(), 5,
                "the supervisor noticing the fourth death")
    assert restart_delay(supervised.server.log_text(), victim) == 4.0
    assert supervised.stop_with(signal.SIGTERM) == 0, supervised.server.log_text()
    log = supervised.server.log_text()
    assert f"received SIGTERM: no more restarts; stopping workers {survivor}\n" in log
    assert f"in place of worker {victim}" not in log
    assert not [pid for pid in supervised.seen if alive(pid)]
