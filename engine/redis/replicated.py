"""Replicated mode: a block ends only once `redis_min_replicas` replicas hold its change.

Redis replicates asynchronously: a primary acknowledges a write before any
replica has it, so a primary that dies can take acknowledged writes with it,
and the replica promoted in its place never had them. In replicated mode
(`redis_commit_mode`) each commit is followed, on the same connection, by a
`WAIT replicas timeout` (writer.py); Redis answers it once that many
replicas have every write the connection made before it. Only then does the
block end and the tab get the update, so what a tab was shown is on a
replica that a failover may promote (Sentinel promotes the most up-to-date).

A WAIT answered on another connection than its commit proves nothing about
the commit (after a failover, the new primary may lack it): the commit is
sent again with a new WAIT. The COMMIT script recognises its own version,
so a commit that did reach the new primary is not applied twice.

When fewer replicas than asked answer within the lease, the block fails with
`StateStoreError` naming the setting. It is never acknowledged silently: the
tab is not shown the change. The primary does hold it (Redis cannot take a
write back), so it reaches the tab with the next change that replicas take.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..errors import StateStoreError
from .commits import CommitBook
from .stream import uncancelled
from .writer import CommitWriter, Sent

__all__ = ["until_replicated"]

_TRIES = 4  # sends of a commit whose WAIT kept being answered on a newer connection than it


async def until_replicated(writer: CommitWriter, book: CommitBook, token: str, sent: Sent, built_on: str) -> bool:
    """Wait until the replicas have the commit `sent`; True when the block was cancelled meanwhile.

    Raises what `book.failed` makes of a failure, or of too few replicas.
    """
    write, wait = sent.write, sent.replicated
    assert wait is not None
    cancelled = False
    for _ in range(_TRIES):
        acked, was_cancelled = await _outcome(wait)
        cancelled = cancelled or was_cancelled
        if isinstance(acked, BaseException):
            raise _failed(book, token, acked, sent, cancelled)
        if getattr(wait, "generation", -1) == getattr(write, "generation", -1):
            break
        write, wait = writer.again(sent)
        result, was_cancelled = await _outcome(write)
        cancelled = cancelled or was_cancelled
        if isinstance(result, BaseException):
            raise _failed(book, token, result, sent, cancelled)
        try:
            book.landed(token, result, sent.hold, sent.sent_at, built_on)
        except Exception:
            if cancelled:
                raise asyncio.CancelledError from None
            raise
    else:
        acked = 0  # (the connection kept changing: count it as not replicated)
    if int(acked) < writer.replicas:
        lease = writer.lease
        error = StateStoreError(
            f"only {acked} of the {writer.replicas} Redis replicas that must hold a change before a block ends "
            f"(setting redis_min_replicas) took the change of tab {token[:8]} within the lease ({lease:g}s); "
            "the block failed and the tab was not shown it. The primary holds it, so a later change that reaches "
            "the replicas brings it along. Check the replicas (`INFO replication` on the primary)"
        )
        raise _failed(book, token, error, sent, cancelled)
    if sent.update:
        writer.publish(sent.update)
    return cancelled


async def _outcome(future: asyncio.Future[Any]) -> tuple[Any, bool]:
    """A reply, or the exception it failed with, and whether a cancellation arrived while waiting for it."""
    cancelled = False
    while not future.done():
        try:
            await uncancelled(future)
        except asyncio.CancelledError:
            cancelled = True
        except Exception:  # read below
            break
    if future.cancelled():
        return asyncio.CancelledError(), cancelled
    exc = future.exception()
    return (exc if exc is not None else future.result()), cancelled


def _failed(book: CommitBook, token: str, exc: BaseException, sent: Sent, cancelled: bool) -> BaseException:
    error = book.failed(token, exc, sent.hold)
    return asyncio.CancelledError() if cancelled else error
