"""A holder's view of a tab's state in Redis: each commit goes out through the COMMIT script.

In confirm mode the block waits for its commit's reply; in pipelined mode
(`redis_commit_mode`) it goes on at once and the commit's `confirmed` future
tells the runner when the tab may be sent the update (commits.py). In
replicated mode the block waits for its commit and then for the WAIT after it
(replicated.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..changes import Commitment
from ..errors import StateLockError, StateStoreError
from ..managers import Transaction
from ..state import State
from .command import uncancelled
from .commits import CommitBook
from .replicated import until_replicated
from .stored import COMPACT_AFTER
from .writer import CommitWriter

__all__ = ["RedisTransaction"]

NOTHING = Commitment({}, {}, [], 0)  # what a tab's first store writes besides its defaults

logger = logging.getLogger("engine.redis")


class RedisTransaction(Transaction):
    """A Transaction whose commits go through the COMMIT script."""

    __slots__ = ("_book", "_writer", "log_bytes", "stored", "version")

    def __init__(
        self, token: str, root: State, seq: int, version: str, max_bytes: int,
        *, stored: bool, writer: CommitWriter, book: CommitBook, log_bytes: int = 0, replaces: bool = False,
    ) -> None:
        super().__init__(token, root, seq, max_bytes, replaces=replaces or not stored)
        self._writer = writer
        self._book = book
        self.version = version  # of the stored state this holder read ('' when none)
        self.stored = stored  # False until a usable state for this tab is in Redis
        self.log_bytes = log_bytes  # what the tab's operation log in Redis holds (stored.py)

    async def _persist(self, seq: int, changes: Commitment) -> None:
        token, book = self.token, self._book
        whole = not self.stored or self._replace or self.log_bytes > max(COMPACT_AFTER, self.root._rx_total // 2)
        sent = self._writer.send(token, self.version, seq, self.root, changes, self._replace, whole, self.log_bytes > 0)
        built_on, self.version = self.version, sent.version
        self.log_bytes = sent.logged if whole else self.log_bytes + sent.logged
        self.stored = True
        self.published = sent.published
        if self._writer.may_pipeline():
            self.confirmed = book.confirming(token, sent.write, sent.hold, sent.sent_at, built_on)
            return
        try:
            result = await uncancelled(sent.write)
        except asyncio.CancelledError:
            await _wait_out(sent.write)
            if sent.write.cancelled() or sent.write.exception() is not None:
                raise  # it did not land: nothing is stored, the cancellation stands
            self.cancel_after_commit()  # it landed: the commit completes, then the cancellation
            result = sent.write.result()
        except Exception as exc:
            raise book.failed(token, exc, sent.hold) from None
        book.landed(token, result, sent.hold, sent.sent_at, built_on)
        if sent.replicated is not None and await until_replicated(self._writer, book, token, sent, built_on):
            self.cancel_after_commit()  # cancelled while the replicas took it: the commit completes first

    async def store_first(self) -> bool:
        """Store a tab seen for the first time, so that a missing state later means it vanished.

        False (logged) when Redis did not take it: the tab goes on from its
        defaults and is stored at its next commit.
        """
        try:
            await self._persist(self.seq, NOTHING)
        except (StateStoreError, StateLockError) as exc:
            logger.warning("could not store the new state of tab %s: %s", self.token[:8], exc)
            return False
        return True

    async def settled(self) -> None:
        await self._book.settled(self.token)


async def _wait_out(write: asyncio.Future[Any]) -> None:
    """Wait for an in-flight write to end, whatever cancellations arrive meanwhile."""
    while not write.done():
        try:
            await uncancelled(write)
        except asyncio.CancelledError:
            continue
        except Exception:  # its outcome is read by the caller
            return
