"""Keep mkdocs-material's instant navigation working on any host and port.

Why this exists
---------------
Instant navigation only intercepts a click when the link's URL (without query
and fragment) is a key of the sitemap map that the theme builds from
``sitemap.xml``. The ``<loc>`` entries of that file are absolute URLs made from
``site_url``. The theme adapts each entry to the page's *protocol and hostname*
but keeps the *port* (mkdocs-material 9.8.1,
``src/templates/assets/javascripts/integrations/sitemap/index.ts``, ``resolve``:
``url.protocol = base.protocol; url.hostname = base.hostname``). So a site built
for ``http://127.0.0.1:8000/`` and opened on ``http://localhost:8123/`` finds no
link in the sitemap, and every click falls back to a full page load, silently.

No sitemap written at build time can match every port: relative ``<loc>``
values make ``new URL(...)`` throw, and the theme then uses an empty sitemap.
The fix therefore belongs to the server, which knows the request's origin:

    When serving ``/sitemap.xml``, read ``<site_dir>/.site_url`` (one line, the
    configured ``site_url``, ending in ``/``), and replace every occurrence of
    that string in the file with ``f"{scheme}://{host}/"`` of the request
    (``host`` being the ``Host`` header, port included).

This hook's part is small: it refuses to build without ``site_url`` (the sitemap
would have no URLs) and records the exact prefix in ``site/.site_url``.
:func:`docsite.sitemap.rewrite_sitemap` is the rewrite the server performs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.instant_nav")

SITE_URL_FILE = ".site_url"


def _instant_enabled(config: Any) -> bool:
    features = config["theme"].get("features") or []
    return "navigation.instant" in features


def on_config(config: Any) -> Any:
    if _instant_enabled(config) and not config["site_url"]:
        raise PluginError(
            "navigation.instant needs site_url: without it sitemap.xml lists no pages "
            "and the theme never intercepts a link. Set site_url in mkdocs.yml."
        )
    return config


def on_post_build(config: Any) -> None:
    site_url: str | None = config["site_url"]
    if not site_url:
        return
    site_dir = Path(config["site_dir"])
    (site_dir / SITE_URL_FILE).write_text(site_url + "\n", encoding="utf-8")

    sitemap = site_dir / "sitemap.xml"
    if not sitemap.is_file():
        log.warning("instant_nav: %s was not written; instant navigation will be off", sitemap)
    elif f"<loc>{site_url}" not in sitemap.read_text(encoding="utf-8"):
        log.warning(
            "instant_nav: %s has no <loc> starting with %s; the server cannot rewrite it",
            sitemap,
            site_url,
        )
