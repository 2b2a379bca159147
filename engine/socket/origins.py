"""Which web origins may open a socket: the site's own, plus any configured explicitly.

python-socketio already refuses other origins by default, and we keep that
deliberately. Note its two off switches, which we never pass by accident:
`"*"` allows every origin and `[]` disables the check altogether.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["origin_policy"]

logger = logging.getLogger("engine.socket")


def _own_origin(environ: Mapping[str, Any]) -> str | None:
    host = environ.get("HTTP_HOST")
    scheme = environ.get("wsgi.url_scheme", "http")
    return f"{scheme}://{host}" if host else None


def origin_policy(allowed: tuple[str, ...] | None) -> str | Callable[[str, Mapping[str, Any]], bool] | None:
    """The `cors_allowed_origins` value for python-socketio."""
    if not allowed:
        return None  # python-socketio's default: the serving origin only
    if "*" in allowed:
        logger.warning(
            "allowed_origins contains '*': any web page may open sockets to this server "
            "and drive its demos; list the origins you trust instead"
        )
        return "*"
    extra = frozenset(origin.rstrip("/") for origin in allowed)

    def check(origin: str, environ: Mapping[str, Any]) -> bool:
        return origin in extra or origin == _own_origin(environ)

    return check
