"""A command on the command stream, the reply its caller awaits (which a cancellation cannot cancel), a script.

Redis runs a command once it is written, whether or not its caller still
waits. So a reply is not cancelled with its awaiter: the awaiter gets
`CancelledError` once the reply is in, and can still read what became of
the command (a commit that landed must be published all the same). The
stream (stream.py) keeps each command with its deadline and the number of
times it was sent, to send it again on a new connection.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

from .client import COMMAND_TIMEOUT

__all__ = ["WITHIN", "Command", "Reply", "StreamScript", "uncancelled"]

WITHIN = COMMAND_TIMEOUT  # seconds a command without a deadline of its own may wait out an outage


class Reply(asyncio.Future[Any]):
    """A command's reply. Cancelling its awaiter does not cancel it: Redis runs a written command all the
    same, so the awaiter gets `CancelledError` once the reply is in and can still read it. This does what
    `asyncio.shield` does without its extra turn of the event loop on every commit."""

    generation = -1  # the stream's connection that answered it (`CommandStream.reconnects` then)

    def cancel(self, msg: Any = None) -> bool:
        return False


def uncancelled(sent: asyncio.Future[Any]) -> asyncio.Future[Any]:
    """`sent` to await so that a cancellation cannot cancel it: itself if it is a `Reply`, else shielded."""
    return sent if isinstance(sent, Reply) else asyncio.shield(sent)


class Command:
    """A command waiting for its reply: what to send, what it is for (error messages), until when to try."""

    __slots__ = ("args", "deadline", "doing", "future", "sent_at", "tries")

    def __init__(self, args: tuple[Any, ...], doing: str, future: asyncio.Future[Any], deadline: float) -> None:
        self.args = args
        self.doing = doing
        self.future = future
        self.deadline = deadline  # loop time after which it is not sent again
        self.tries = 0
        self.sent_at = 0.0


Send = Callable[[tuple[Any, ...], str, float], asyncio.Future[Any]]


class StreamScript:
    """A Lua script sent by EVALSHA on the stream: `script(keys=..., args=...)` returns the reply's future."""

    __slots__ = ("doing", "send", "sha")

    def __init__(self, send: Send, source: str, doing: str) -> None:
        self.send = send  # the stream's send
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self.doing = doing

    def __call__(
        self, *, keys: tuple[str, ...], args: tuple[Any, ...], within: float = WITHIN
    ) -> asyncio.Future[Any]:
        return self.send(("EVALSHA", self.sha, len(keys), *keys, *args), self.doing, within)
