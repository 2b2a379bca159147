"""Redis's wire format (RESP2, and the RESP3 types a script's reply can use), for the command stream.

The stream reads replies straight from the socket (stream.py), so it parses
them itself: `Replies.feed(data)` returns every reply complete in what has
arrived so far and keeps the rest for the next call. Error replies come back
as redis-py's `ResponseError` (or `NoScriptError`) objects, not raised: one
command's error is that command's reply, the connection is fine.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import NoScriptError, ResponseError

__all__ = ["Replies", "pack"]

_CRLF = b"\r\n"


def pack(args: tuple[Any, ...]) -> bytes:
    """One command as an array of bulk strings; ints, floats and str are sent as their text."""
    parts = [b"*%d\r\n" % len(args)]
    append = parts.append
    for arg in args:
        data = arg if type(arg) is bytes else str(arg).encode()
        append(b"$%d\r\n" % len(data))
        append(data)
        append(_CRLF)
    return b"".join(parts)


class _Incomplete(Exception):
    """The reply goes on in data that has not arrived yet."""


_INCOMPLETE = _Incomplete()


class Replies:
    """An incremental parser: feed it bytes as they arrive, get the replies they complete."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        buffer = self._buffer
        buffer += data
        replies = []
        position = 0
        while position < len(buffer):
            try:
                reply, position = _parse(buffer, position)
            except _Incomplete:
                break
            replies.append(reply)
        del buffer[:position]
        return replies


def _error(message: str) -> ResponseError:
    return NoScriptError(message) if message.startswith("NOSCRIPT") else ResponseError(message)


def _parse(buffer: bytearray, position: int) -> tuple[Any, int]:
    """The reply that starts at `position`, and where the next one starts; `_Incomplete` if it is cut short."""
    end = buffer.find(_CRLF, position)
    if end < 0:
        raise _INCOMPLETE
    kind = buffer[position]
    line = buffer[position + 1:end]
    after = end + 2
    if kind == 58:  # ':' integer
        return int(line), after
    if kind == 36 or kind == 33 or kind == 61:  # '$' bulk string, '!' bulk error, '=' verbatim string
        size = int(line)
        if size < 0:
            return None, after
        if len(buffer) < after + size + 2:
            raise _INCOMPLETE
        data = bytes(buffer[after:after + size])
        if kind == 33:
            return _error(data.decode(errors="replace")), after + size + 2
        return (data[4:] if kind == 61 else data), after + size + 2
    if kind == 42 or kind == 126 or kind == 62:  # '*' array, '~' set, '>' push
        count = int(line)
        if count < 0:
            return None, after
        items = []
        for _ in range(count):
            item, after = _parse(buffer, after)
            items.append(item)
        return items, after
    if kind == 37:  # '%' map
        pairs = {}
        for _ in range(int(line)):
            key, after = _parse(buffer, after)
            value, after = _parse(buffer, after)
            pairs[key] = value
        return pairs, after
    if kind == 43:  # '+' simple string
        return bytes(line), after
    if kind == 45:  # '-' error
        return _error(line.decode(errors="replace")), after
    if kind == 95:  # '_' null
        return None, after
    if kind == 35:  # '#' boolean
        return line == b"t", after
    if kind == 44:  # ',' double
        return float(line), after
    if kind == 40:  # '(' big number
        return int(line), after
    raise ValueError(f"not a Redis reply: starts with {bytes(buffer[position:position + 20])!r}")
