"""How the tab hears of a session's commit: sent now, sent once Redis holds it, or the full state.

(The usual case, a block in memory with nobody watching, is sent by
`Session.__aexit__` itself; these take everything else.)
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ..delta import Delta, every_public_value
from ..managers import Commit
from .observe import Kind

if TYPE_CHECKING:
    from .session import Session

__all__ = ["deliver", "publish"]


def publish(session: Session, commit: Commit, final: bool) -> Awaitable[None] | None:
    """The sending to await, or None (nothing to send, or sent later)."""
    if commit.confirmed is not None:  # pipelined: the tab is sent the change once Redis holds it
        session.pending = commit.confirmed
        full = every_public_value(session.tx.root) if commit.replace and not commit.published else None
        session.parts.confirmed.after(commit.confirmed, lambda: deliver(session, commit, final, full))
        return None
    if not commit.replace and not commit.published and not session.watching:  # the usual case
        if not commit.delta:
            return None
        publisher = session.parts.publisher
        if session.background:
            return publisher.background_update(session.token, commit.seq, commit.delta)
        return publisher.update(session.token, commit.seq, commit.delta)
    return deliver(session, commit, final)


async def deliver(session: Session, commit: Commit, final: bool, full: Delta | None = None) -> None:
    """Send the commit's update (or the full state, when it replaces), and tell whoever watches."""
    publisher, token = session.parts.publisher, session.token
    sent = True
    if commit.published:  # the commit itself published it for the tab's worker (not this one)
        pass
    elif commit.replace:
        await publisher.replace(token, commit.seq, full or every_public_value(session.tx.root))
    elif commit.delta:
        send = publisher.background_update if session.background else publisher.update
        sending = send(token, commit.seq, commit.delta)
        if sending is not None:
            await sending
    else:
        sent = False
    if session.watching:  # (the root lets an inspector read the values now, under the lock; it must not keep it)
        kind = Kind.BLOCK_LEFT if final else Kind.CHECKPOINT
        session.report(kind, seq=commit.seq if sent else None, root=session.tx.root)
