"""Which tab is connected where: `EventNamespace.token_to_sid` of one worker (redis/directory.py: of all).

A tab's socket lives on one worker, but its background tasks may run on any
of them and check `token in app.event_namespace.token_to_sid` to notice that
the tab has gone, and a reconnecting tab must be recognised by whichever
worker it reaches. That check must stay a plain, synchronous lookup.

- `TabDirectory` (one process): a dict of this worker's connections.
- `RedisTabDirectory` (several workers on one Redis): the same dict, plus a
  mirror of every other worker's connections, kept current by announcements
  on a pub/sub channel. Each worker also keeps its connections in a hash of
  its own with a TTL, read by workers that start later, and sends a heartbeat
  every `beat` seconds; a worker not heard from for three beats (killed, or
  cut off) is dropped with its tabs.

Entries carry the page's client id, so the duplicate-tab rule (a live tab's
ticket from another page gets a fresh tab; the same page reconnecting keeps
it) holds across workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

__all__ = ["Binding", "TabDirectory"]


class Binding(NamedTuple):
    sid: str
    client: str | None
    worker: str


class TabDirectory:
    """token -> socket id of the tab's live connection, with its page's client id."""

    worker = "local"

    def __init__(self) -> None:
        self.entries: dict[str, Binding] = {}  # read it, never change it: bind() and unbind() do

    # -- the read side (what handlers and tasks use) ---------------------------------
    def __contains__(self, token: object) -> bool:
        return token in self.entries

    def __getitem__(self, token: str) -> str:
        return self.entries[token].sid

    def get(self, token: str, default: str | None = None) -> str | None:
        entry = self.entries.get(token)
        return entry.sid if entry is not None else default

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.entries))

    def client_of(self, token: str) -> str | None:
        """The client id of the page holding the tab's live connection (None if unknown)."""
        entry = self.entries.get(token)
        return entry.client if entry is not None else None

    # -- the write side (the socket layer) ----------------------------------------------
    def bind(self, token: str, sid: str, client: str | None) -> None:
        """This worker's connection `sid` now serves the tab."""
        self.entries[token] = Binding(sid, client, self.worker)

    def unbind(self, token: str, sid: str) -> bool:
        """Forget the tab's connection if it is still `sid`; True when it was."""
        entry = self.entries.get(token)
        if entry is None or entry.sid != sid:
            return False
        del self.entries[token]
        return True

    def __setitem__(self, token: str, sid: str) -> None:
        self.bind(token, sid, None)

    def __delitem__(self, token: str) -> None:
        if not self.unbind(token, self.entries[token].sid):
            raise KeyError(token)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self)} tabs>"

    @property
    def cut_off(self) -> bool:
        """Whether this worker is cut off from the store the workers share (never, for one process)."""
        return False

    def when_cut_off(self, callback: Callable[[], None]) -> None:
        """Call `callback()` when this worker becomes cut off (one process: it never does)."""

    def start(self) -> None:
        """Begin sharing with other workers (nothing to do for one process)."""

    async def close(self) -> None:
        """Stop sharing; the directory is not used afterwards."""
