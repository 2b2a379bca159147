"""The relay hears its own publishes on the shared channel; it drops them by their first bytes, undecoded."""

from __future__ import annotations

from typing import Any

from engine.redis.client import Pool
from engine.redis.relay import RedisRelay


class _Unsubscribing:
    async def unsubscribe(self, channel: str) -> None:
        pass


async def test_the_relay_skips_its_own_messages_and_passes_on_the_others():
    relay = RedisRelay("redis://127.0.0.1:1/0", Pool(2, 1.0))
    other = RedisRelay("redis://127.0.0.1:1/0", Pool(2, 1.0))
    assert relay.host_id != other.host_id
    mine = relay.remote("update", {"seq": 1}, "/", "tab-a").encode()
    theirs = other.remote("update", {"seq": 2}, "/", "tab-b").encode()

    async def heard() -> Any:
        for data in (mine, theirs, mine):
            yield {"channel": relay.channel.encode(), "type": "message", "data": data}

    relay._redis_listen_with_retries = heard  # type: ignore[method-assign]
    relay.pubsub = _Unsubscribing()
    passed = [data async for data in relay._listen()]
    assert passed == [theirs]
    assert relay.json.loads(theirs)["data"] == [{"seq": 2}]
