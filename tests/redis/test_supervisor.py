"""`python -m docsite serve --workers 2`: a dead or hung worker is replaced, SIGTERM drains every worker.

uvicorn's own process manager does the supervising; these tests check that
the site gets what it needs from it. The workers are real processes on a
private Redis. Which processes are workers is read from /proc (the parent's
children that run multiprocessing's spawn; the other child is its resource
tracker), not from the log under test; the log is then checked for what it
must say.
"""

from __future__ import annotations

import asyncio
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

from engine.testing import TabClient
from tests.redis.store import raw_redis
from tests.redis.worker import Worker
from tests.redis.worker_states import ScaleState
from tests.support.env import ROOT
from tests.support.polling import eventually as until
from tests.support.ports import free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]

SHUTDOWN_TIMEOUT = 1.5  # ENGINE_SHUTDOWN_TIMEOUT of the workers: how long a task may take to finish
HEALTHCHECK = 5  # uvicorn's timeout_worker_healthcheck: how long a worker may leave a ping unanswered
LONG = "state.hard_shutdown_state"  # tests/hardening/shutdown_states.py: one short and one long task
WORKERS_KEY = "engine:workers"  # where each worker's App announces itself (engine/redis/directory.py)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None if there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (a stopped process is alive)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def workers_of(parent: int) -> set[int]:
    """The live worker processes of `parent`: its children that multiprocessing spawned."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is None or stat[1] != parent or stat[0] == "Z":
                continue
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"multiprocessing.spawn" in command:
                found.add(int(entry.name))
    return found


async def live_worker_ids(redis_url: str) -> set[bytes]:
    """The worker ids whose Apps announced themselves in Redis and were not dropped as dead."""
    async with raw_redis(redis_url) as redis:
        return set(await redis.zrange(WORKERS_KEY, 0, -1))


class Supervised:
    """The docs server with two workers, and every worker pid it was seen with (to clean up after)."""

    def __init__(self, server: Worker, redis_url: str) -> None:
        self.server = server
        self.redis_url = redis_url
        self.seen: set[int] = set()

    @property
    def parent(self) -> subprocess.Popen[bytes]:
        assert self.server.process is not None
        return self.server.process

    def workers(self) -> set[int]:
        pids = workers_of(self.parent.pid)
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
        """The pid of the worker that answers a new connection (whichever accepts it first)."""
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

    async def tab_on_each_worker(self, pids: set[int]) -> dict[int, TabClient]:
        """One connected tab per worker, found by asking each new tab which process serves it."""
        tabs: dict[int, TabClient] = {}
        for _ in range(60):
            tab = TabClient(url=self.server.url, states=[ScaleState, LONG])
            await tab.connect()
            await tab.send(ScaleState.whoami)
            await tab.wait_for(lambda t: t.state(ScaleState)["pid"] != 0)
            pid = tab.state(ScaleState)["pid"]
            if pid in tabs:
                await tab.disconnect()
            else:
                tabs[pid] = tab
            if set(tabs) == pids:
                return tabs
        for tab in tabs.values():
            await tab.disconnect()
        raise AssertionError(f"60 tabs reached only workers {sorted(tabs)} of {sorted(pids)}")

    def stop_with(self, signum: int, timeout: float = 30) -> int:
        self.parent.send_signal(signum)
        return self.parent.wait(timeout)


def docs_command(site: Path, port: int, redis_url: str) -> list[str]:
    return [
        sys.executable, "-m", "docsite", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--site", str(site), "--workers", "2", "--redis-url", redis_url,
    ]


def one_page_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>supervised</title>")
    return site


def kill_leftovers(pids: Collection[int]) -> None:
    """A worker outliving its parent would be a failure the test reports; do not leak it as well."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def supervised(redis_server, tmp_path: Path) -> Iterator[Supervised]:
    redis_server.flush()
    port = free_port()
    env = {
        "ENGINE_WORKER_HEARTBEAT": "0.3",  # a killed worker's id is dropped from Redis within a second
        "ENGINE_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT),
        "DOCSITE_EXTRA_MODULES": "tests.redis.worker_states,tests.hardening.shutdown_states",
    }
    command = docs_command(one_page_site(tmp_path), port, redis_server.url)
    site_server = Supervised(Worker(port, env, tmp_path / "docsite.log", command).start(timeout=30), redis_server.url)
    try:
        yield site_server
    finally:
        site_server.workers()
        site_server.server.stop(timeout=30)
        kill_leftovers(site_server.seen)


async def test_a_killed_worker_is_replaced_by_one_with_an_app_of_its_own(supervised: Supervised) -> None:
    first = await supervised.wait_for_workers("two workers starting")
    await supervised.wait_until_answering(first)

    async def both_announced() -> bool:  # each worker's own App, with its own id and heartbeat
        return len(await live_worker_ids(supervised.redis_url)) == 2

    await until(both_announced, 10, "both workers announcing themselves in Redis")
    ids_before = await live_worker_ids(supervised.redis_url)
    victim, survivor = sorted(first)

    os.kill(victim, signal.SIGKILL)
    await until(lambda: not alive(victim), 5, f"worker {victim} dying")
    async with httpx.AsyncClient(base_url=supervised.server.url, timeout=5) as client:
        for _ in range(10):  # the site keeps answering, from a live worker, while the place is refilled
            assert (await client.get("/", headers={"Connection": "close"})).status_code == 200
            assert await supervised.answering_pid() != victim

    await supervised.wait_for_workers(f"a worker in place of {victim}", exclude={victim})
    (replacement,) = supervised.workers() - {survivor}
    await supervised.wait_until_answering({replacement, survivor})

    async def one_old_id_and_one_new() -> bool:  # the victim's id dropped as dead, the replacement's announced
        ids = await live_worker_ids(supervised.redis_url)
        return len(ids) == 2 and len(ids & ids_before) == 1

    await until(one_old_id_and_one_new, 10, "the replacement's App announcing itself and the victim's dropping out")
    assert f"Child process [{victim}] died" in supervised.server.log_text()

    assert supervised.stop_with(signal.SIGTERM) == 0, supervised.server.log_text()
    log = supervised.server.log_text()
    assert "Received SIGTERM, exiting." in log and "all workers have exited" in log, log
    assert "Traceback" not in log, log
    assert not [pid for pid in supervised.seen if alive(pid)]


async def test_a_worker_that_stops_answering_is_killed_and_replaced(supervised: Supervised) -> None:
    first = await supervised.wait_for_workers("two workers starting")
    await supervised.wait_until_answering(first)
    victim, survivor = sorted(first)

    os.kill(victim, signal.SIGSTOP)  # hung: alive, holding its socket, answering nothing
    stopped_at = time.monotonic()
    await until(lambda: not alive(victim), HEALTHCHECK + 10, f"the stopped worker {victim} being killed")
    assert time.monotonic() - stopped_at >= 1, "killed before it could have missed a ping"
    await supervised.wait_for_workers(f"a worker in place of {victim}", exclude={victim})
    (replacement,) = supervised.workers() - {survivor}
    await supervised.wait_until_answering({replacement, survivor})
    assert f"Child process [{victim}] died" in supervised.server.log_text()

    assert supervised.stop_with(signal.SIGTERM) == 0, supervised.server.log_text()
    assert not [pid for pid in supervised.seen if alive(pid)]


async def test_sigterm_lets_every_worker_finish_short_tasks_and_cancel_long_ones(supervised: Supervised) -> None:
    pids = await supervised.wait_for_workers("two workers starting")
    await supervised.wait_until_answering(pids)
    tabs = await supervised.tab_on_each_worker(pids)
    try:
        for tab in tabs.values():
            assert (await tab.send_raw({"name": f"{LONG}.short_task", "args": [1.0]}))["ok"]
            assert (await tab.send_raw({"name": f"{LONG}.long_task", "args": []}))["ok"]
        for tab in tabs.values():
            await tab.wait_for(lambda t: t.state(LONG).get("long_ticks", 0) >= 1)

        supervised.parent.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, supervised.parent.wait, SHUTDOWN_TIMEOUT + 10)
        took = time.monotonic() - sent
    finally:
        for tab in tabs.values():
            await tab.disconnect()
    log = supervised.server.log_text()

    assert code == 0, log
    summaries = [line for line in log.splitlines() if "engine stopped" in line]
    assert len(summaries) == 2, log  # one per worker: each ran its own App.shutdown
    for line in summaries:  # the short task finished within shutdown_timeout, the long one was cancelled
        assert re.search(r"tasks started=2 done=1 failed=0 cancelled=1; locks held=0", line), summaries
    assert log.count("short task finished") == 2 and log.count("long task finally ran") == 2, log
    # The parent looks at its signals every 0.5 s, and uvicorn closes a worker's connections before its drain.
    assert took <= SHUTDOWN_TIMEOUT + 3, f"exited after {took:.2f}s\n{log}"
    assert "all workers have exited" in log, log
    assert not [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line], log
    assert not [pid for pid in supervised.seen if alive(pid)]


def test_a_worker_that_cannot_start_stops_the_server_instead_of_restarting(redis_server, tmp_path: Path) -> None:
    port = free_port()
    env = {"DOCSITE_EXTRA_MODULES": "tests.no_such_module"}
    server = Worker(port, env, tmp_path / "docsite.log", docs_command(one_page_site(tmp_path), port, redis_server.url))
    with open(server.log, "wb") as out:
        parent = subprocess.Popen(server.command, cwd=ROOT, env=server.env, stdout=out, stderr=out)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + HEALTHCHECK + 30
        while parent.poll() is None and time.monotonic() < deadline:
            seen |= workers_of(parent.pid)
            time.sleep(0.05)
        code = parent.poll()
        log = server.log_text()
        assert code == 3, log  # as one process that cannot start
        builds = log.count("could not build the site's app")
        assert 1 <= builds <= 2, log  # each of the two places tried once: nothing restarted
        assert "No module named 'tests.no_such_module'" in log
        assert "could not start (its error is above); the server did not run" in log
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        kill_leftovers(seen)
