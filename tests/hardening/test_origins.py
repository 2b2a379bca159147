"""Defence 1: sockets only from the site's own origin, plus origins listed explicitly."""

from __future__ import annotations

import logging

import pytest
import socketio

import engine as rx
from engine.protocol import NAMESPACE
from engine.testing import serve
from tests.hardening.states import HardLedgerState

AUTH = {"states": [HardLedgerState.get_full_name()]}


async def _connect(url: str, origin: str | None) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    headers = {"Origin": origin} if origin else {}
    await client.connect(url, namespaces=[NAMESPACE], transports=["websocket"], auth=AUTH,
                         headers=headers, wait_timeout=5)
    return client


def _spy_on_connect(app: rx.App) -> list[str]:
    calls: list[str] = []
    original = app.event_namespace.on_connect

    async def spy(sid, environ, auth=None):
        calls.append(environ.get("HTTP_ORIGIN", ""))
        return await original(sid, environ, auth)

    app.event_namespace.on_connect = spy
    return calls


async def test_a_cross_origin_socket_is_refused_before_any_handler_runs(make_app):
    app = make_app()
    calls = _spy_on_connect(app)
    async with serve(app.asgi()) as url:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await _connect(url, "http://evil.example")
        assert calls == []  # the engine never saw it
        assert len(app.event_namespace.token_to_sid) == 0
        assert not app.sio.eio.sockets  # not even an Engine.IO session

        own = await _connect(url, url)  # the page's own origin works
        try:
            assert calls == [url]
            assert len(app.event_namespace.token_to_sid) == 1
        finally:
            await own.disconnect()


async def test_an_explicitly_allowed_origin_works_and_others_still_do_not(make_app):
    app = make_app(allowed_origins=("https://docs.example",))
    calls = _spy_on_connect(app)
    async with serve(app.asgi()) as url:
        for origin in ("https://docs.example", url):
            client = await _connect(url, origin)
            await client.disconnect()
        for origin in ("http://docs.example", "https://docs.example.evil", "null"):
            with pytest.raises(socketio.exceptions.ConnectionError):
                await _connect(url, origin)
        assert calls == ["https://docs.example", url]


async def test_an_empty_list_keeps_the_default_check():
    # python-socketio takes [] to mean "no check at all"; the engine never passes it on.
    app = rx.App(allowed_origins=())
    try:
        async with serve(app.asgi()) as url:
            with pytest.raises(socketio.exceptions.ConnectionError):
                await _connect(url, "http://evil.example")
    finally:
        await app.shutdown()


async def test_a_wildcard_logs_a_warning_when_the_app_is_created(caplog):
    with caplog.at_level(logging.WARNING, logger="engine"):
        app = rx.App(allowed_origins=("*",))
    try:
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "'*'" in r.getMessage()]
        assert len(warnings) == 1 and "any web page" in warnings[0].getMessage()
    finally:
        await app.shutdown()


async def test_no_warning_without_a_wildcard(caplog):
    with caplog.at_level(logging.WARNING, logger="engine"):
        app = rx.App(allowed_origins=("https://docs.example",))
        other = rx.App()
    try:
        assert not [r for r in caplog.records if r.name.startswith("engine")]
    finally:
        await app.shutdown()
        await other.shutdown()
