"""Shared fixtures: Apps on every state manager, a private redis-server, the built site.

Servers started here listen on 127.0.0.1 only, on free ports, and are stopped
by the fixture that started them. A missing redis-server skips the tests that
need it, except under CI=true, where it is a failure. The helpers these
fixtures use live in tests/support/.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

import engine as rx
from demos import pace
from tests.support.env import need
from tests.support.redis_server import RedisServer
from tests.support.site import build_site_once
from tests.support.workers import run_dir, turn, under_xdist, worker_run_dir

# The demos' pauses at half of what the docs show (demos/pace.py), so the suite sleeps through
# less of them: set before any test module imports a demo, and inherited by the server processes
# a test starts (except the browser tests' docs server: tests/browser/docs_server.py says why).
# `DEMO_PACE=1 pytest` runs them as written; the tests read the paced values from the demos.
os.environ.setdefault(pace.ENV, "0.5")
_early = sorted(name for name in sys.modules if name.startswith("demos.") and name != "demos.pace")
assert not _early, f"{_early} imported before {pace.ENV} was set: their pauses would not match the servers'"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    with RedisServer() as server:
        yield server


@pytest.fixture
def private_redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test's own, for a test that stops or restarts it (never the shared one)."""
    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as the working tree builds it now (`mkdocs build --strict`), built once per run."""
    return build_site_once(run_dir(tmp_path_factory))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """Under xdist, a load test (or one marked alone) waits for the other worker's test to end, and the next for it."""
    if not under_xdist():
        return (yield)
    alone = any(item.get_closest_marker(name) is not None for name in ("load", "alone"))
    with turn(worker_run_dir(item.config), alone=alone):
        return (yield)


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
