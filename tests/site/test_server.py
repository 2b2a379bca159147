"""The docs server: pages, health, the quotes API, sitemap rewriting, and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import engine as rx
from docsite.quotes import QUOTES
from docsite.server import create_asgi
from engine.testing import serve
from tests.support.env import ROOT
from tests.support.ports import free_port


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "404.html").write_text("<h1>lost</h1>")
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "index.html").write_text("<h1>guide</h1>")
    (tmp_path / ".site_url").write_text("http://127.0.0.1:8000/\n")
    (tmp_path / "sitemap.xml").write_text(
        "<urlset><url><loc>http://127.0.0.1:8000/</loc></url>"
        "<url><loc>http://127.0.0.1:8000/guide/</loc></url></urlset>"
    )
    (tmp_path.parent / "secret.txt").write_text("do not serve")
    return tmp_path


@pytest.fixture
async def base_url(site: Path) -> AsyncIterator[str]:
    app = rx.App()
    async with serve(create_asgi(site, app, quote_delay=0.01)) as url:
        yield url
    await app.shutdown(timeout=1)


async def test_pages_and_directories_are_served(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert "home" in (await client.get("/")).text
        assert "guide" in (await client.get("/guide/")).text
        redirect = await client.get("/guide")
        assert redirect.status_code == 301 and redirect.headers["location"] == "/guide/"


async def test_unknown_paths_and_escapes_get_the_404_page(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        missing = await client.get("/nowhere/")
        assert missing.status_code == 404 and "lost" in missing.text
        escape = await client.get("/..%2Fsecret.txt")
        assert escape.status_code == 404 and "do not serve" not in escape.text


async def test_healthz_says_only_ok_and_the_details_count_tabs_and_tasks_for_a_local_reader(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        public = (await client.get("/healthz")).json()
        details = (await client.get("/healthz/details")).json()  # this test connects from loopback
    assert public == {"ok": True}
    assert (details["ok"], details["tabs"], details["background_tasks"]) == (True, 0, 0)


async def test_quote_api_serves_one_of_our_quotes(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/api/quote")
    assert response.status_code == 200 and response.text in QUOTES


async def test_sitemap_is_rewritten_to_the_origin_it_is_served_from(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        xml = (await client.get("/sitemap.xml")).text
    assert f"<loc>{base_url}/guide/</loc>" in xml
    assert "127.0.0.1:8000" not in xml


def test_cli_serves_on_the_given_port_and_stops_cleanly_on_ctrl_c(site: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "docsite", "serve", "--host", "127.0.0.1", "--port", str(port), "--site", str(site)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "server did not start"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "Traceback" not in output, output


def test_cli_refuses_a_missing_site_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "docsite", "serve", "--site", str(tmp_path / "nothing")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "build the site first" in result.stderr
