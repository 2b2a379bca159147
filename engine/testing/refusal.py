"""How a test learns that the server refused a tab, and why (its first error, or its closing the socket).

A refusing server sends an error and closes the namespace before the tab is
greeted; the test client turns that into one `TabRefusedError` with the
server's words, so a test of a limit reads the reason instead of a timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import socketio

if TYPE_CHECKING:
    from .tab import TabClient

__all__ = ["Refusal", "TabRefusedError"]


class TabRefusedError(ConnectionRefusedError, socketio.exceptions.ConnectionError):  # type: ignore[misc]
    """The server refused to open the tab; the message is its reason (a limit reached, an unknown host...)."""


class Refusal:
    """What the server said while refusing one connection attempt of a tab (the first error it sent)."""

    def __init__(self, tab: TabClient, greeted: Callable[[], bool]) -> None:
        self._tab = tab
        self._greeted = greeted  # whether the server sent this connection its hello (the tab was not refused)
        self._errors_before = len(tab.errors)
        self._said: str | None = None
        self.closed = False

    def connect_error(self, data: Any = None) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        self._said = self._said or (str(message) if message else None)

    def disconnected(self, *reason: Any) -> None:
        self.closed = True

    @property
    def refused(self) -> bool:
        """Closed before the tab was sent its state, or told an error before its greeting (hello).

        (A refusing server sends an error, then closes the namespace; python-socketio's
        client may drop that close when it comes before its connect() has returned.)
        """
        return self.closed or (not self._greeted() and len(self._tab.errors) > self._errors_before)

    def reason(self, exc: Exception | None) -> str:
        said = self._tab.errors[self._errors_before:] or [self._said or str(exc or "") or "no reason given"]
        return f"the server refused this tab: {said[0]}"
