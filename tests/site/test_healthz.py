"""`/healthz` tells anyone the server is up; `/healthz/details` gives the counts to the operator only.

The public answer must not tell a visitor how many tabs and tasks the server
holds (that is how full it is, and how close to a limit). The detailed view
is open to a client whose TCP peer address is this machine, or to a request
that carries the bearer token from DOCSITE_HEALTH_TOKEN. The refusals are
checked at the ASGI level, with a scope whose client address is another
machine's, since every real socket in a test comes from loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import engine as rx
from docsite.server import HEALTH_TOKEN_ENV, create_asgi
from engine.testing import TabClient, serve

OTHER_MACHINE = ("203.0.113.7", 51000)  # TEST-NET-3: never this machine
TOKEN = "s3cret-health-token"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    return tmp_path


@pytest.fixture
async def engine_app() -> AsyncIterator[rx.App]:
    app = rx.App()
    try:
        yield app
    finally:
        await app.shutdown(timeout=1)


def client_from(asgi: object, address: tuple[str, int]) -> httpx.AsyncClient:
    """An HTTP client whose requests reach `asgi` with `address` as the ASGI client (the TCP peer)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi, client=address), base_url="http://127.0.0.1:8000")


async def test_the_public_answer_says_only_that_the_server_is_up(site: Path, engine_app: rx.App) -> None:
    async with serve(create_asgi(site, engine_app)) as url, TabClient(url=url):
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


async def test_a_loopback_client_reads_the_counts_over_a_real_socket(site: Path, engine_app: rx.App) -> None:
    async with serve(create_asgi(site, engine_app)) as url, TabClient(url=url):
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/healthz/details")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["tabs"] == 1 and body["background_tasks"] == 0
    assert isinstance(body["pid"], int) and isinstance(body["state_manager"], dict)


@pytest.mark.parametrize("address", [("127.0.0.1", 40000), ("127.8.9.10", 40000), ("::1", 40000),
                                     ("::ffff:127.0.0.1", 40000)])
async def test_every_loopback_address_may_read_the_counts(site: Path, engine_app: rx.App, address) -> None:
    async with client_from(create_asgi(site, engine_app), address) as client:
        response = await client.get("/healthz/details")
    assert response.status_code == 200 and response.json()["tabs"] == 0


@pytest.mark.parametrize("address", [OTHER_MACHINE, ("::ffff:203.0.113.7", 51000), ("10.0.0.2", 51000)])
async def test_another_machine_is_refused_even_when_its_headers_claim_loopback(
    site: Path, engine_app: rx.App, monkeypatch: pytest.MonkeyPatch, address
) -> None:
    monkeypatch.delenv(HEALTH_TOKEN_ENV, raising=False)
    forged = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    async with client_from(create_asgi(site, engine_app), address) as client:
        details = await client.get("/healthz/details", headers=forged)
        public = await client.get("/healthz")
    assert details.status_code == 403
    assert "tabs" not in details.text and "background_tasks" not in details.text
    assert public.status_code == 200 and public.json() == {"ok": True}


async def test_with_a_token_configured_another_machine_needs_it(
    site: Path, engine_app: rx.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HEALTH_TOKEN_ENV, TOKEN)
    async with client_from(create_asgi(site, engine_app), OTHER_MACHINE) as client:
        missing = await client.get("/healthz/details")
        wrong = await client.get("/healthz/details", headers={"Authorization": "Bearer not-the-token"})
        basic = await client.get("/healthz/details", headers={"Authorization": f"Basic {TOKEN}"})
        right = await client.get("/healthz/details", headers={"Authorization": f"Bearer {TOKEN}"})
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401 and "tabs" not in refused.text
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert right.status_code == 200
    assert right.json()["tabs"] == 0 and right.json()["background_tasks"] == 0


async def test_an_empty_token_variable_opens_nothing(
    site: Path, engine_app: rx.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HEALTH_TOKEN_ENV, "")
    async with client_from(create_asgi(site, engine_app), OTHER_MACHINE) as client:
        response = await client.get("/healthz/details", headers={"Authorization": "Bearer "})
    assert response.status_code == 403
