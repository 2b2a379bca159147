"""What the runner's pieces are handed instead of the App: its collaborators (`Parts`) and the publisher.

Sessions, queues and background tasks need the state manager, the place
updates go, the observers, the settings, the confirmation order of
pipelined commits and the pacer of background blocks, and nothing else of the App; one tuple of them keeps every
piece testable alone and the runner free of the socket layer (`Publisher` is
only the shape the socket layer's publisher has).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, Protocol

from ..delta import Delta
from ..managers import StateManager
from ..settings import Settings
from .confirmed import InOrder
from .observe import Observers
from .pacing import Pacer

__all__ = ["Parts", "Publisher"]


class Publisher(Protocol):
    """Where updates and errors for a tab go (the socket layer, in a running server)."""

    def update(self, token: str, seq: int, delta: Delta) -> Awaitable[None] | None:
        """The sending of an update, to await; None when nobody could receive it (nothing to wait for)."""

    def background_update(self, token: str, seq: int, delta: Delta) -> Awaitable[None] | None:
        """`update`, for a background change: it may be held and merged while the tab is behind."""

    def replace(self, token: str, seq: int, full: Delta) -> Awaitable[None]: ...

    def error(self, token: str, message: str, event: str | None = None) -> Awaitable[None]: ...


class Parts(NamedTuple):
    """The runner's collaborators, handed to the pieces that need them (never the App)."""

    manager: StateManager
    publisher: Publisher
    observers: Observers
    settings: Settings
    enter_context: Callable[[], Any]  # sets what handlers may ask for (`rx.get_app()`)
    confirmed: InOrder  # updates of pipelined commits, sent once Redis holds them
    pacer: Pacer  # background blocks take turns while the loop is saturated
