"""What every docs server process sets up the same way, whether it serves alone or is one of N workers.

The log format, the extra state modules a test asks for, and the uvicorn
settings that follow from the engine's own.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

__all__ = ["EXTRA_MODULES", "GRACEFUL_CLOSE", "configure_logging", "import_extra_modules", "uvicorn_options"]

EXTRA_MODULES = "DOCSITE_EXTRA_MODULES"
GRACEFUL_CLOSE = 1.0  # seconds uvicorn waits for open connections to close on shutdown
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    """The engine's and the site's log lines, at INFO, in one format (uvicorn configures its own loggers)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def import_extra_modules() -> None:
    """Import the modules named in DOCSITE_EXTRA_MODULES, so their states exist before the first tab connects."""
    for name in os.environ.get(EXTRA_MODULES, "").split(","):
        if name.strip():
            importlib.import_module(name.strip())


def uvicorn_options(max_message_bytes: int) -> dict[str, Any]:
    """The uvicorn settings every server process of the site runs with."""
    return {
        "lifespan": "on",
        # Refuse oversized websocket frames before buffering them (the engine refuses
        # messages over max_message_bytes anyway; this keeps uvicorn from reading 16 MiB first).
        "ws_max_size": max_message_bytes + 1024,
        "timeout_graceful_shutdown": GRACEFUL_CLOSE,
    }
