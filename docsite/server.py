"""The docs server: the built MkDocs site, the demos' Socket.IO endpoint and a quotes API.

One ASGI app: Socket.IO (python-socketio) at `/socket.io`, and a Quart app
for everything else: the static pages from the built `site/` directory,
`/healthz` (and `/healthz/details`, for this machine or a bearer token),
`/api/quote` for the fetch demo, and `sitemap.xml` rewritten to
the origin the site is served from (mkdocs-material's instant navigation
only follows links listed there; see docsite/hooks/instant_nav.py).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import mimetypes
import os
from pathlib import Path
from typing import Any

from quart import Quart, Request, Response, request

import engine as rx

from .demos_loader import import_demos
from .quotes import random_quote
from .sitemap import rewrite_sitemap

__all__ = ["create_asgi", "create_quart"]

import_demos()  # every state a page can show is known before the first tab connects

QUOTE_DELAY = 0.6  # seconds: long enough to see the fetch task at work
HEALTH_TOKEN_ENV = "DOCSITE_HEALTH_TOKEN"  # a bearer token that also opens /healthz/details to other machines


def create_quart(site_dir: Path, engine_app: rx.App, *, quote_delay: float = QUOTE_DELAY) -> Quart:
    site_dir = site_dir.resolve()
    quart = Quart(__name__, static_folder=None)

    health_token = os.environ.get(HEALTH_TOKEN_ENV) or None

    @quart.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Up or not, for anyone: load balancers and uptime checks need no more."""
        return {"ok": True}

    @quart.get("/healthz/details")
    async def healthz_details() -> Any:
        """The counts, for the operator only: they tell a visitor how busy (and how fillable) the server is."""
        refusal = _refuse_details(request, health_token)
        if refusal is not None:
            return refusal
        return {
            "ok": True,
            "pid": os.getpid(),
            "tabs": len(engine_app.event_namespace.token_to_sid),
            "background_tasks": len(engine_app.background_tasks),
            "state_manager": engine_app.state_manager.stats(),
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


def _refuse_details(req: Request, token: str | None) -> Response | None:
    """None if the detailed health view may be shown to this request, else the refusal to send."""
    if _from_loopback(req.scope.get("client")) or _has_bearer(req, token):
        return None
    if token is None:
        return Response(f"only from this machine (or set {HEALTH_TOKEN_ENV})\n", status=403, mimetype="text/plain")
    return Response("a valid bearer token is needed\n", status=401, mimetype="text/plain",
                    headers={"WWW-Authenticate": 'Bearer realm="healthz"'})


def _from_loopback(client: tuple[str, int] | None) -> bool:
    """Whether the ASGI client address (the TCP peer, not a header the client wrote) is this machine."""
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket
    return address.is_loopback


def _has_bearer(req: Request, token: str | None) -> bool:
    if token is None:
        return False
    scheme, _, presented = req.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


def _resolve(site_dir: Path, path: str) -> Path | None:
    """The file for a URL path, never outside the site directory."""
    candidate = (site_dir / path).resolve()
    if candidate != site_dir and site_dir not in candidate.parents:
        return None
    if candidate.is_dir():
        return candidate if (candidate / "index.html").exists() else None
    return candidate if candidate.is_file() else None


def create_asgi(
    site_dir: Path, engine_app: rx.App | None = None, *, hosts: list[str] | None = None, **options: Any
) -> Any:
    """The whole docs server as one ASGI app, answering to localhost and `hosts`."""
    engine_app = engine_app or rx.App()
    return engine_app.asgi(create_quart(site_dir, engine_app, **options), hosts=hosts or ())
