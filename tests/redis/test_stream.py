"""The command stream (engine/redis/stream.py, resp.py): one pipelined connection for every tab's scripts.

Replies are matched to commands by order; a broken connection sends the
unanswered commands again on a new one; while Redis refuses connections the
commands wait until their own deadline; NOSCRIPT reloads the scripts; an
error reply fails only its own command; an awaiter's cancellation never
cancels a written command.
"""

from __future__ import annotations

import asyncio
import signal

import pytest
from redis.exceptions import NoScriptError, ResponseError

from engine.errors import StateStoreError
from engine.redis.client import Pool, StoreCall, connect
from engine.redis.resp import Replies, pack
from engine.redis.stream import CommandStream, Reply
from tests.redis.store import raw_redis

pytestmark = pytest.mark.redis

INCREMENT = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
NAME = "stream-test:stream"


def test_pack_sends_every_argument_as_a_bulk_string():
    assert pack(("SET", "k", 12, b"\x00v")) == b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$2\r\n\x00v\r\n"


def test_replies_are_parsed_however_the_bytes_are_cut():
    data = (b"+OK\r\n:-7\r\n$5\r\nhe\r\no\r\n$-1\r\n*3\r\n:1\r\n$2\r\nab\r\n*-1\r\n"
            b"-NOSCRIPT No matching script\r\n-ERR wrong\r\n_\r\n#t\r\n,1.5\r\n%1\r\n+a\r\n:2\r\n*0\r\n")
    expected_count = 12
    for step in (1, 2, 3, 7, len(data)):
        parser = Replies()
        replies = []
        for start in range(0, len(data), step):
            replies += parser.feed(data[start:start + step])
        assert len(replies) == expected_count, step
        assert replies[:4] == [b"OK", -7, b"he\r\no", None]
        assert replies[4] == [1, b"ab", None]
        assert isinstance(replies[5], NoScriptError) and isinstance(replies[6], ResponseError)
        assert str(replies[6]) == "ERR wrong"
        assert replies[7:] == [None, True, 1.5, {b"a": 2}, []]


def test_garbage_is_not_taken_for_a_reply():
    with pytest.raises(ValueError, match="not a Redis reply"):
        Replies().feed(b"HTTP/1.1 400 Bad Request\r\n")


class _Stream:
    """A stream on the test's Redis, closed at the end."""

    def __init__(self, url: str) -> None:
        self.client = connect(url, Pool(4, 1.0))
        self.call = StoreCall(url, Pool(4, 1.0))
        self.stream = CommandStream(self.client, self.call)

    async def __aenter__(self) -> CommandStream:
        return self.stream

    async def __aexit__(self, *exc: object) -> None:
        await self.stream.close()
        await self.client.aclose()


async def test_many_commands_at_once_get_their_own_replies_in_order(redis_server):
    redis_server.flush()
    async with _Stream(redis_server.url) as stream:
        script = stream.script(INCREMENT, "adding")
        replies = await asyncio.gather(*[script(keys=(NAME,), args=(1,)) for _ in range(500)])
        assert replies == list(range(1, 501))
        assert stream.pending == 0


async def test_an_error_reply_fails_its_own_command_only(redis_server):
    redis_server.flush()
    async with _Stream(redis_server.url) as stream:
        first = stream.send(("INCRBY", NAME, 1), "adding")
        wrong = stream.send(("INCRBY", NAME, "not a number"), "adding nonsense")
        last = stream.send(("INCRBY", NAME, 1), "adding")
        assert await first == 1 and await last == 2
        with pytest.raises(StateStoreError, match="adding nonsense"):
            await wrong


async def test_a_lost_connection_sends_the_unanswered_commands_again(redis_server):
    redis_server.flush()
    async with _Stream(redis_server.url) as stream, raw_redis(redis_server.url) as raw:
        script = stream.script(INCREMENT, "adding")
        assert await script(keys=(NAME,), args=(1,)) == 1
        # Redis stops for a moment, commands pile up on the connection, then the connection breaks.
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            sent = [script(keys=(NAME,), args=(1,)) for _ in range(50)]
            await asyncio.sleep(0.05)
            stream._link.transport.abort()  # type: ignore[union-attr]
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        results = await asyncio.gather(*sent, return_exceptions=True)
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert stream.reconnects >= 1
        # Each landed exactly once, or once more if Redis ran it before the connection died:
        # the engine's own scripts are written to be safe to repeat; INCRBY is not, so count.
        assert 51 <= int(await raw.get(NAME)) <= 101


async def test_a_flushed_script_cache_is_loaded_again(redis_server):
    redis_server.flush()
    async with _Stream(redis_server.url) as stream, raw_redis(redis_server.url) as raw:
        script = stream.script(INCREMENT, "adding")
        assert await script(keys=(NAME,), args=(1,)) == 1
        await raw.script_flush()
        with pytest.raises(StateStoreError):
            await script(keys=(NAME,), args=(1,))  # NOSCRIPT: this one fails, and the scripts are reloaded
        assert await script(keys=(NAME,), args=(1,)) == 2


async def test_a_stopped_redis_fails_the_commands_with_a_clear_error_once_their_deadline_passes(private_redis_server):
    async with _Stream(private_redis_server.url) as stream:
        assert await stream.send(("PING",), "pinging") == b"PONG"
        private_redis_server.stop()
        try:
            with pytest.raises(StateStoreError) as failure:
                await asyncio.wait_for(stream.send(("PING",), "pinging again", within=0.5), 10)
            assert "pinging again" in str(failure.value)
            assert stream.refused >= 1
        finally:
            private_redis_server.start()
        assert await stream.send(("PING",), "pinging") == b"PONG"  # and it works again afterwards


async def test_commands_wait_out_a_redis_restart_shorter_than_their_deadline(private_redis_server):
    private_redis_server.flush()
    async with _Stream(private_redis_server.url) as stream:
        script = stream.script(INCREMENT, "adding")
        assert await script(keys=(NAME,), args=(1,)) == 1
        private_redis_server.stop()  # (empty when it comes back: the script cache too)
        try:
            sent = [script(keys=(NAME,), args=(1,), within=10) for _ in range(20)]
            await asyncio.sleep(1.0)  # refused all this time
            assert not any(reply.done() for reply in sent)
            assert stream.refused >= 2  # it kept trying
        finally:
            private_redis_server.start()
        replies = await asyncio.wait_for(asyncio.gather(*sent), 10)
        assert sorted(replies) == list(range(1, 21))  # each ran once, on the new server


async def test_cancelling_the_awaiter_does_not_cancel_the_command(redis_server):
    redis_server.flush()
    async with _Stream(redis_server.url) as stream:
        reply = stream.send(("INCRBY", NAME, 5), "adding")
        assert isinstance(reply, Reply)
        waiter = asyncio.create_task(asyncio.wait_for(reply, 5))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert await reply == 5  # the reply still arrives and can be read
        assert not reply.cancel()
