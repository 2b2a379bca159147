"""Shared fixtures: Apps on every state manager, a private redis-server, Chromium.

Servers started here listen on 127.0.0.1 only, on free ports, and are stopped
by the fixture that started them. A missing redis-server or Chromium skips
the tests that need it, except under CI=true, where it is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import engine as rx

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


LOAD_SCALE = float(os.environ.get("LOAD_SCALE", "1"))  # `nox -s soak` sets it; CI runs the small version


def load(count: int) -> int:
    """A load test's size: `count` in CI, LOAD_SCALE times more in a soak run."""
    return max(1, round(count * LOAD_SCALE))


def need(condition: bool, reason: str) -> None:
    """Skip when something the test needs is missing, but fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be installed, see .ci/run)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of our own on a free loopback port, with no persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="engine-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--notify-keyspace-events", "Kgx"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            conn.recv(16)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# The contract suite runs on every manager that exists.
MANAGERS = ["memory", "redis"]


@pytest.fixture(params=MANAGERS)
def manager_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def app(request: pytest.FixtureRequest, manager_kind: str) -> AsyncIterator[rx.App]:
    """An App on each state manager in turn (the contract suite runs against both)."""
    if manager_kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        application = rx.App(redis_url=server.url)
    else:
        application = rx.App()
    try:
        yield application
    finally:
        await application.shutdown(timeout=2)


@pytest.fixture
async def memory_app() -> AsyncIterator[rx.App]:
    """An App on the in-memory manager only (for tests about that manager)."""
    application = rx.App()
    try:
        yield application
    finally:
        await application.shutdown(timeout=2)
