"""Fixtures of the hardening suite: Apps with custom settings, on every state manager."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

import engine as rx


@asynccontextmanager
async def _app_factory(redis_url: str | None) -> AsyncIterator[Callable[..., rx.App]]:
    """A factory of Apps (on Redis when `redis_url` is given), all shut down at the end."""
    apps: list[rx.App] = []

    def factory(**settings: Any) -> rx.App:
        if redis_url is not None:
            settings.setdefault("redis_url", redis_url)
        application = rx.App(**settings)
        apps.append(application)
        return application

    try:
        yield factory
    finally:
        for application in apps:
            await application.shutdown(timeout=2)


@pytest.fixture
async def make_app(request: pytest.FixtureRequest, manager_kind: str) -> AsyncIterator[Callable[..., rx.App]]:
    """`make_app(**settings)`: an App on the parametrised state manager (memory, then Redis)."""
    url = None
    if manager_kind == "redis":
        server = request.getfixturevalue("redis_server")
        server.flush()
        url = server.url
    async with _app_factory(url) as factory:
        yield factory


@pytest.fixture
async def memory_apps() -> AsyncIterator[Callable[..., rx.App]]:
    """`memory_apps(**settings)`: Apps on the in-memory manager (for its own limits)."""
    async with _app_factory(None) as factory:
        yield factory
