"""What the server logged: an ERROR record means it crashed on something instead of refusing it."""

from __future__ import annotations

import logging

# Loggers whose ERROR records mean the server crashed on something instead of refusing it.
SERVER_LOGGERS = ("engine", "socketio", "engineio", "uvicorn", "asyncio")


def server_errors(records: list[logging.LogRecord], *, allowed: tuple[str, ...] = ()) -> list[str]:
    """ERROR (or worse) records from the server side, except messages containing an allowed text."""
    found = []
    for record in records:
        if record.levelno < logging.ERROR or not record.name.startswith(SERVER_LOGGERS):
            continue
        text = record.getMessage()
        if any(part in text for part in allowed):
            continue
        found.append(f"{record.name}: {text}")
    return found
