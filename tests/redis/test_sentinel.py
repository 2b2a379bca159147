"""Sentinel URLs and the replicated commit mode: what each bad input says, and what a block waits for.

The URL and settings checks need no server. The others run real processes:
`redis-server` Sentinels, a primary and its replicas (tests/support/sentinels.py).
"""

from __future__ import annotations

import asyncio

import pytest

import engine as rx
from engine.errors import SettingsError, StateStoreError
from engine.redis.resp import Replies
from engine.redis.sentinel import parse_sentinel_url
from tests.redis.store import raw_redis, redis_app, state_key, stored_var
from tests.support.ports import free_port
from tests.support.sentinels import SERVICE, SentinelGroup


class SentinelState(rx.State):
    count: int = 0


NAME = SentinelState.get_full_name().split(".")


async def add(app: rx.App, token: str, n: int = 1) -> None:
    async with app.modify_state(token) as root:
        root.get_substate(NAME).count += n


def test_a_sentinel_url_names_its_sentinels_database_and_service():
    parsed = parse_sentinel_url("redis+sentinel://:s%40cret@10.0.0.1:26379,sentinel-b:26380/2/my-app")
    assert parsed.sentinels == (("10.0.0.1", 26379), ("sentinel-b", 26380))
    assert (parsed.db, parsed.service, parsed.username, parsed.password) == (2, "my-app", None, "s@cret")


@pytest.mark.parametrize(("url", "why"), [
    ("redis+sentinel://sentinel-a/0/app", "'sentinel-a' is not host:port"),
    ("redis+sentinel://a:26379,/0/app", "a Sentinel's address is empty"),
    ("redis+sentinel://a:port/0/app", "'a:port' has no valid port"),
    ("redis+sentinel://a:26379/0", "the path must be /DB/SERVICE"),
    ("redis+sentinel://a:26379/app", "the path must be /DB/SERVICE"),
    ("redis+sentinel://a:26379/zero/app", "the database 'zero' is not a number"),
    ("redis+sentinel:///0/app", "a Sentinel's address is empty"),
])
def test_a_malformed_sentinel_url_is_refused_when_the_app_is_made(url, why):
    with pytest.raises(SettingsError) as caught:
        rx.App(redis_url=url)
    assert why in str(caught.value) and "redis+sentinel://[[user]:password@]host:port" in str(caught.value)


def test_a_password_in_a_bad_sentinel_url_is_not_repeated_in_the_error():
    with pytest.raises(SettingsError) as caught:
        parse_sentinel_url("redis+sentinel://user:hunter2@a:1/0")
    assert "hunter2" not in str(caught.value) and "user:***@a:1" in str(caught.value)


@pytest.mark.parametrize(("settings", "message"), [
    ({"redis_min_replicas": 1}, "redis_min_replicas=1 applies only to redis_commit_mode='replicated'"),
    ({"redis_min_replicas": 0, "redis_commit_mode": "replicated"}, "redis_min_replicas must be at least 1"),
    ({"redis_min_replicas": 1.5, "redis_commit_mode": "replicated"}, "redis_min_replicas must be a whole number"),
    ({"redis_commit_mode": "replicas"}, "'confirm', 'pipelined', 'replicated'"),
])
def test_replicated_mode_settings_are_checked(settings, message):
    with pytest.raises(SettingsError, match=message):
        rx.Settings(**settings)
    assert rx.Settings(redis_commit_mode="replicated").replicas_to_wait_for == 1
    env = {"ENGINE_REDIS_COMMIT_MODE": "replicated", "ENGINE_REDIS_MIN_REPLICAS": "2"}
    assert rx.Settings.from_env(env).replicas_to_wait_for == 2


async def test_no_sentinel_answering_fails_the_block_naming_every_sentinel():
    ports = [free_port(), free_port()]
    url = f"redis+sentinel://127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}/0/{SERVICE}"
    async with redis_app(url, lock_timeout=0.5) as app:
        with pytest.raises(StateStoreError) as caught:
            await add(app, "tab-without-redis")
    message = str(caught.value)
    assert "no Sentinel named the primary of 'engine'" in message
    assert all(f"127.0.0.1:{port} did not answer" in message for port in ports), message


async def test_a_service_no_sentinel_knows_fails_the_block_saying_so():
    with SentinelGroup(replicas=0, sentinels=1) as group:
        port = group.sentinel_ports[0]
        async with redis_app(f"redis+sentinel://127.0.0.1:{port}/0/not-{SERVICE}", lock_timeout=0.5) as app:
            with pytest.raises(StateStoreError, match=f"127.0.0.1:{port} knows no service 'not-{SERVICE}'"):
                await add(app, "tab-of-an-unknown-service")
        async with redis_app(group.url) as app:  # the right name reaches the primary
            await add(app, "tab-of-the-service", 5)
            async with raw_redis(f"redis://127.0.0.1:{group.primary_port}/0") as raw:
                assert await raw.exists(state_key("tab-of-the-service"))


async def test_a_planned_switchover_is_followed_without_an_error(sentinel_group):
    """`SENTINEL FAILOVER`: the primary steps down alive (a replica now) and a replica takes over."""
    group = sentinel_group
    async with redis_app(group.url, redis_commit_mode="replicated") as app:
        await add(app, "tab", 1)
        old = group.primary_port
        async with raw_redis(f"redis://127.0.0.1:{group.sentinel_ports[0]}/0") as sentinel:
            await sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)
        await asyncio.to_thread(group.wait_promotion, old)
        for _ in range(20):
            await add(app, "tab", 1)
        async with raw_redis(f"redis://127.0.0.1:{group.primary_port}/0") as raw:
            assert (await raw.execute_command("ROLE"))[0] == b"master"
        async with app.modify_state("tab") as root:
            assert root.get_substate(NAME).count == 21


async def test_replicated_mode_refuses_a_block_no_replica_took_once_the_lease_is_over():
    with SentinelGroup(replicas=1, sentinels=1) as group:
        primary = f"redis://127.0.0.1:{group.primary_port}/0"
        replica = f"redis://127.0.0.1:{group.replicas()[0]}/0"
        async with redis_app(primary, redis_commit_mode="replicated", lock_lease=1.0) as app, \
                raw_redis(replica) as on_replica:
            await add(app, "tab", 1)
            assert await on_replica.exists(state_key("tab"))  # the block ended once the replica had it

            async with redis_app(primary, redis_commit_mode="replicated", redis_min_replicas=2, lock_lease=1.0) as two:
                with pytest.raises(StateStoreError, match=r"only 1 of the 2 Redis replicas .* redis_min_replicas"):
                    await add(two, "tab", 10)

            group.kill_replicas()
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(StateStoreError) as caught:
                await add(app, "tab", 100)
            waited = loop.time() - started
        assert "only 0 of the 1 Redis replicas" in str(caught.value) and "the tab was not shown it" in str(caught.value)
        assert 0.5 <= waited < 3, f"refused after {waited:.2f}s with a lease of 1s"


class StandInSentinel:
    """Answers the two questions the engine asks a Sentinel with `self.primary`, which the test moves.

    Real Sentinels disconnect every client of a primary they demote, so a client never hears READONLY
    from them; a demotion done by hand (or a partition) leaves the clients connected. The servers
    are real; only the Sentinel's answer is scripted.
    """

    def __init__(self, primary: int) -> None:
        self.primary = primary
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> StandInSentinel:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests = Replies()
        try:
            while data := await reader.read(4096):
                for request in requests.feed(data):
                    address = [b"127.0.0.1", str(self.primary).encode()]
                    if request[1].lower() == b"get-master-addr-by-name":
                        writer.write(pack_reply(address))
                    else:
                        writer.write(pack_reply([b"ip", address[0], b"port", address[1], b"flags", b"master",
                                                 b"config-epoch", b"0"]))
        finally:
            writer.close()


def pack_reply(items: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join(b"$%d\r\n%s\r\n" % (len(item), item) for item in items)


async def test_a_demoted_primary_is_left_for_the_new_one_readonly_and_role_checked():
    with SentinelGroup(replicas=1, sentinels=0) as group:
        old, new = group.primary_port, group.replicas()[0]
        async with StandInSentinel(old) as sentinel, \
                redis_app(f"redis+sentinel://127.0.0.1:{sentinel.port}/0/{SERVICE}", redis_commit_mode="replicated",
                          lock_timeout=5) as app:
            await add(app, "tab", 1)  # (replicated: the replica has it before the roles change)
            async with raw_redis(f"redis://127.0.0.1:{new}/0") as promoted, \
                    raw_redis(f"redis://127.0.0.1:{old}/0") as demoted:
                await promoted.execute_command("REPLICAOF", "NO", "ONE")
                await demoted.execute_command("REPLICAOF", "127.0.0.1", str(new))
                # The worker's connection to the old primary is still open: its next write hears READONLY.
                # The Sentinel still names the old primary for a moment: ROLE says it is a replica now.
                loop = asyncio.get_running_loop()
                loop.call_later(0.5, setattr, sentinel, "primary", new)
                started = loop.time()
                for _ in range(5):
                    await add(app, "tab", 1)
                assert loop.time() - started >= 0.4  # it waited for the Sentinel to name the new primary
                assert (await promoted.execute_command("ROLE"))[0] == b"master"
                assert await stored_var(promoted, "tab", SentinelState.get_full_name(), "count") == 6
            assert app.state_manager.stats()["stream_reconnects"] >= 1
