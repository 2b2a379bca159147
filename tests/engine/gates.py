"""Gates: points where a handler under test waits until the test lets it go on.

Handlers under test run in the same event loop as the test, so a test and a
handler can meet at a `Gate` (keyed by the tab's token, so tests on several
managers never share one) to hold a handler at a precise point.
"""

from __future__ import annotations

import asyncio


class Gate:
    """A point where a handler waits: it sets `entered`, then waits for `open()`."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def wait_here(self) -> None:
        self.entered.set()
        await self.opened.wait()

    def open(self) -> None:
        self.opened.set()

    async def reached(self, timeout: float = 5) -> None:
        await asyncio.wait_for(self.entered.wait(), timeout)


_gates: dict[tuple[str, str], Gate] = {}


def gate(token: str, name: str = "main") -> Gate:
    """The gate `name` of one tab (created on first use by the test or the handler)."""
    key = (token, name)
    if key not in _gates:
        _gates[key] = Gate()
    return _gates[key]
