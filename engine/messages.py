"""What a tab is told when something fails; the traceback stays in the server log."""

from __future__ import annotations

from .errors import EngineError
from .event import EventHandler

__all__ = ["failure_message"]


def failure_message(handler: EventHandler | None, exc: BaseException) -> str:
    """`Handler failed: Type: message`; engine errors already carry a full message."""
    if isinstance(exc, EngineError):
        return str(exc)
    text = str(exc)
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{handler.qualname} failed: {what}" if handler is not None else what
