"""Defence 9: SIGTERM to a real `python -m docsite serve` with one short and one long task running.

The server must stop taking events at once, let the short task finish,
cancel the long one (its `finally` runs), release every lock, log one
summary line with the counts, and exit within shutdown_timeout + 1 s.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import socketio

from engine.protocol import NAMESPACE
from engine.testing import TabClient
from tests.support.env import ROOT
from tests.support.ports import free_port

STATE = "state.hard_shutdown_state"  # tests/hardening/shutdown_states.py, loaded by the server process
SHUTDOWN_TIMEOUT = 1.5


class DocsServer:
    def __init__(self, site: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        env = dict(
            os.environ,
            DOCSITE_EXTRA_MODULES="tests.hardening.shutdown_states",
            ENGINE_SHUTDOWN_TIMEOUT=str(SHUTDOWN_TIMEOUT),
            PYTHONUNBUFFERED="1",
        )
        env.pop("REDIS_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "docsite", "serve", "--port", str(port), "--site", str(site)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{self.process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
        out, _ = self.process.communicate(timeout=10)
        return out


@pytest.fixture
def docs_server(tmp_path: Path) -> Iterator[DocsServer]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>test site</title>", encoding="utf-8")
    server = DocsServer(site, free_port())
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


async def test_sigterm_lets_short_tasks_finish_and_cancels_long_ones(docs_server):
    tab = TabClient(url=docs_server.url, states=[STATE])
    await tab.connect()
    try:
        assert (await tab.send_raw({"name": f"{STATE}.short_task", "args": [0.5]}))["ok"]
        assert (await tab.send_raw({"name": f"{STATE}.long_task", "args": []}))["ok"]
        await tab.wait_for(lambda t: t.state(STATE).get("long_ticks", 0) >= 2)

        docs_server.process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        await asyncio.sleep(0.3)
        # It takes no more events: the socket is closed and no new one can be opened.
        assert tab._sio is not None and not tab._sio.connected
        late = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await late.connect(docs_server.url, namespaces=[NAMESPACE], transports=["websocket"],
                               auth={"states": [STATE]}, wait_timeout=2)

        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, docs_server.process.wait, SHUTDOWN_TIMEOUT + 3)
        took = time.monotonic() - sent
    finally:
        await tab.disconnect()
    log = docs_server.stop()

    assert took <= SHUTDOWN_TIMEOUT + 1.0, f"exited after {took:.2f}s\n{log}"
    assert code in (0, -signal.SIGTERM), log  # uvicorn re-raises the signal once it has stopped
    assert "short task finished" in log, log
    assert "long task finally ran" in log, log
    summaries = [line for line in log.splitlines() if "engine stopped" in line]
    assert len(summaries) == 1, log
    assert re.search(r"tasks started=2 done=1 failed=0 cancelled=1; locks held=0", summaries[0]), summaries
    assert not [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line], log
    assert log.index("short task finished") < log.index("long task finally ran") < log.index("engine stopped")


async def test_sigint_stops_the_same_way(docs_server):
    tab = TabClient(url=docs_server.url, states=[STATE])
    await tab.connect()
    try:
        assert (await tab.send_raw({"name": f"{STATE}.long_task", "args": []}))["ok"]
        await tab.wait_for(lambda t: t.state(STATE).get("long_ticks", 0) >= 1)
        docs_server.process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, docs_server.process.wait, SHUTDOWN_TIMEOUT + 3)
        took = time.monotonic() - sent
    finally:
        await tab.disconnect()
    log = docs_server.stop()
    assert took <= SHUTDOWN_TIMEOUT + 1.0, log
    assert code == 0 and "Traceback" not in log, log
    assert "tasks started=1 done=0 failed=0 cancelled=1; locks held=0" in log, log
    # Ctrl-C with a task running says what the wait is for, instead of a silent pause.
    assert f"Stopping: 1 background task(s) still run; they get up to {SHUTDOWN_TIMEOUT:g}s to finish" in log, log


def test_help_documents_the_extra_modules_hook():
    out = subprocess.run([sys.executable, "-m", "docsite", "serve", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30).stdout
    assert "DOCSITE_EXTRA_MODULES" in out and "SIGTERM" in out
