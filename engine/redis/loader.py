"""A holder's transaction from what taking the lock returned: the cached tree, the stored data, or defaults.

A tab whose state is missing while the tab may be showing older values
(the key expired, Redis was flushed or restarted, the data was rejected)
gets a transaction that `replaces` it: its first commit asks for a full
update instead of a delta. A new tab's defaults are stored when its first
block ends, so "missing" later means "vanished".
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import StoredStateError
from ..state import State
from .cache import CachedTree, TreeCache
from .commits import CommitBook
from .stored import FORMAT, Loaded, load_tree
from .transaction import RedisTransaction
from .writer import CommitWriter

__all__ = ["TabLoader"]

logger = logging.getLogger("engine.redis")


class TabLoader:
    """Builds a holder's `RedisTransaction` from an ACQUIRE reply (scripts.ACQUIRE says what it holds)."""

    def __init__(self, cache: TreeCache, writer: CommitWriter, book: CommitBook, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._cache = cache
        self._writer = writer
        self._book = book
        self.counts = {"rejected": 0, "vanished": 0, "dropped_vars": 0}

    def open(self, token: str, reply: list[Any] | None, cached: CachedTree | None) -> RedisTransaction:
        """The holder's transaction; `reply` None: the lock never left this worker, the cached tree is current."""
        if reply is None or (len(reply) == 3 and cached is not None and reply[1].decode() == cached.version):
            assert cached is not None
            self._cache.used(token)
            return self._transaction(token, cached.root, cached.seq, cached.version, log_bytes=cached.log_bytes)
        if len(reply) == 1:  # nothing stored: a new tab, or one whose state expired or was flushed
            if self._cache.forget(token):
                self.counts["vanished"] += 1
                logger.warning(
                    "the stored state of tab %s vanished (TTL or flush); it starts again from defaults",
                    token[:8],
                )
            return self._fresh(token, "", 0)
        version = reply[1].decode()
        try:
            seq = int(reply[2])
            if seq < 0 or len(reply) < 5:
                raise ValueError
        except ValueError:
            self.reject(token, StoredStateError(f"seq {reply[2][:20]!r} is not a count"))
            return self._fresh(token, version, 0)
        loaded = self.load(token, reply[3], reply[4])
        if loaded is None:
            return self._fresh(token, version, seq)
        return self._transaction(
            token, loaded.root, seq, version, log_bytes=loaded.log_bytes, replaces=loaded.dropped > 0
        )

    def load(self, token: str, fields: list[bytes], log: list[bytes]) -> Loaded | None:
        """A stored tree; None (logged) when it is not one this version writes."""
        if _format(fields) != FORMAT:
            self.reject(token, StoredStateError(f"not a format-{FORMAT} state (written by another version?)"))
            return None
        loaded = load_tree(token, fields, log)
        self.counts["dropped_vars"] += loaded.dropped
        return loaded

    def _transaction(
        self, token: str, root: State, seq: int, version: str, *, stored: bool = True, log_bytes: int = 0,
        replaces: bool = False,
    ) -> RedisTransaction:
        return RedisTransaction(
            token, root, seq, version, self._max_bytes, stored=stored, writer=self._writer, book=self._book,
            log_bytes=log_bytes, replaces=replaces,
        )

    def _fresh(self, token: str, version: str, seq: int) -> RedisTransaction:
        """Defaults for a tab with no usable stored state; stored when the block ends."""
        return self._transaction(token, State._rx_new(token), seq, version, stored=False)

    def reject(self, token: str, exc: Exception) -> None:
        self.counts["rejected"] += 1
        self._cache.forget(token)
        logger.error(
            "rejected the stored state of tab %s: %s; the tab starts again from defaults", token[:8], exc
        )


def _format(fields: list[bytes]) -> str | None:
    """The `format` field of a stored state's hash (a flat field, value, ... list)."""
    for index in range(0, len(fields) - 1, 2):
        if fields[index] == b"format":
            value = fields[index + 1]
            return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return None
