"""The sitemap, pointed at the origin the site is served from (see hooks/instant_nav.py for why)."""

from __future__ import annotations

__all__ = ["rewrite_sitemap"]


def rewrite_sitemap(xml: str, site_url: str, origin: str) -> str:
    """Point a sitemap's URLs at ``origin`` (``scheme://host[:port]``) instead of ``site_url``."""
    return xml.replace(site_url, origin.rstrip("/") + "/")
