"""Fixtures of the multi-process Redis tests: worker processes on one Redis, stopped at the end."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.redis.worker import Worker
from tests.support.ports import free_port
from tests.support.sentinels import SentinelGroup

BEAT = 0.3  # the workers' heartbeat (worker_heartbeat): a killed one is known dead within 1 s


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start workers on one Redis with one ticket key; all are stopped at the end."""
    secret = secrets.token_urlsafe(24)
    started: list[Worker] = []

    def start(redis_url: str, **env: str) -> Worker:
        port = free_port()
        worker = Worker(port, {
            "REDIS_URL": redis_url, "ENGINE_TOKEN_SECRET": secret, "ENGINE_WORKER_HEARTBEAT": str(BEAT), **env,
        }, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def sentinel_group() -> Iterator[SentinelGroup]:
    """A primary, two replicas and three Sentinels on free ports (after a failover the new primary
    still has a replica), all stopped at the end."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: the Sentinel tests run real Sentinels")
    with SentinelGroup(replicas=2, sentinels=3) as group:
        yield group
