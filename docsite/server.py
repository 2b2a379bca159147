"""The docs server: the built MkDocs site, the demos' Socket.IO endpoint and a quotes API.

One ASGI app: Socket.IO (python-socketio) at `/socket.io`, and a Quart app
for everything else: the static pages from the built `site/` directory,
`/healthz`, `/api/quote` for the fetch demo, and `sitemap.xml` rewritten to
the origin the site is served from (mkdocs-material's instant navigation
only follows links listed there; see docsite/hooks/instant_nav.py).
"""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from typing import Any

from quart import Quart, Response, request

# Importing the demos registers their states with the engine.
import demos.background_tasks
import demos.low_level  # noqa: F401
import engine as rx

from .sitemap import rewrite_sitemap
from .quotes import random_quote

__all__ = ["create_asgi", "create_quart"]

QUOTE_DELAY = 0.6  # seconds: long enough to see the fetch task at work


def create_quart(site_dir: Path, engine_app: rx.App, *, quote_delay: float = QUOTE_DELAY) -> Quart:
    site_dir = site_dir.resolve()
    quart = Quart(__name__, static_folder=None)

    @quart.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {
            "ok": True,
            "tabs": len(engine_app.event_namespace.token_to_sid),
            "background_tasks": len(engine_app.background_tasks),
        }

    @quart.get("/api/quote")
    async def quote() -> Response:
        await asyncio.sleep(quote_delay)
        return Response(random_quote(), mimetype="text/plain")

    @quart.get("/sitemap.xml")
    async def sitemap() -> Response:
        xml = (site_dir / "sitemap.xml").read_text(encoding="utf-8")
        marker = site_dir / ".site_url"
        if marker.exists():
            xml = rewrite_sitemap(xml, marker.read_text().strip(), f"{request.scheme}://{request.host}/")
        response = Response(xml, mimetype="application/xml")
        response.headers["Vary"] = "Host"
        return response

    @quart.get("/")
    @quart.get("/<path:path>")
    async def page(path: str = "") -> Response:
        target = _resolve(site_dir, path)
        if target is None:
            missing = site_dir / "404.html"
            body = missing.read_bytes() if missing.exists() else b"not found"
            return Response(body, status=404, mimetype="text/html")
        if target.is_dir():
            if not path.endswith("/") and path:
                return Response("", status=301, headers={"Location": f"/{path}/"})
            target = target / "index.html"
        mimetype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        response = Response(target.read_bytes(), mimetype=mimetype)
        response.headers["Cache-Control"] = "no-cache"
        return response

    return quart


def _resolve(site_dir: Path, path: str) -> Path | None:
    """The file for a URL path, never outside the site directory."""
    candidate = (site_dir / path).resolve()
    if candidate != site_dir and site_dir not in candidate.parents:
        return None
    if candidate.is_dir():
        return candidate if (candidate / "index.html").exists() else None
    return candidate if candidate.is_file() else None


def create_asgi(site_dir: Path, engine_app: rx.App | None = None, **options: Any) -> Any:
    """The whole docs server as one ASGI app."""
    engine_app = engine_app or rx.App()
    return engine_app.asgi(create_quart(site_dir, engine_app, **options))
