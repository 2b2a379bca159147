"""Redis behind Sentinels: which server is the primary now, asked again on every new connection.

A production Redis is often a primary, its replicas and a few Sentinels that
promote a replica when the primary dies. The URL names the Sentinels and the
service instead of a server, in the form Celery and kombu use:

    redis+sentinel://[[user]:password@]host:port[,host:port...]/DB/SERVICE

Every connection the engine opens (its command stream, its pools, its
subscriptions) is a `SentinelConnection`: before connecting it asks the
Sentinels, in turn, where the service's primary is
(the newest view wins, see `ask_sentinels`), connects there, and checks with `ROLE`
that the server really is a primary (a Sentinel may still name a demoted one
for a moment). A lost connection is opened again the same way, so a failover
costs the engine a reconnection. A `READONLY` reply (the server was demoted
while we were connected) drops the connection, and the command is sent again
on a new one (stream.py for the command stream; `read_response` below for
redis-py's pools).
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError

from ..errors import SettingsError
from .resp import Replies, pack

__all__ = ["SCHEME", "SentinelConnection", "SentinelUrl", "is_sentinel_url", "parse_sentinel_url"]

SCHEME = "redis+sentinel"
ASK_TIMEOUT = 0.5  # seconds one Sentinel gets to answer before the next is asked
FORM = "redis+sentinel://[[user]:password@]host:port[,host:port...]/DB/SERVICE"


class SentinelUrl(NamedTuple):
    """What a `redis+sentinel://` URL says: the Sentinels, the service, and how to log in to its primary."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str | None
    password: str | None

    def describe(self) -> str:
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"the primary of {self.service!r}, db {self.db}, via Sentinels {hosts}"


def is_sentinel_url(url: str) -> bool:
    return url.lower().startswith(SCHEME + "://")


def parse_sentinel_url(url: str) -> SentinelUrl:
    """The parts of a Sentinel URL; `SettingsError` naming what is wrong and the expected form."""

    def bad(why: str) -> SettingsError:
        return SettingsError(f"redis_url {_hide_password(url)!r} is not a Sentinel URL: {why}; expected {FORM}")

    if not is_sentinel_url(url):
        raise bad(f"it does not start with {SCHEME}://")
    rest = url[len(SCHEME) + 3:]
    hosts_part, _, path = rest.partition("/")
    username = password = None
    if "@" in hosts_part:
        login, _, hosts_part = hosts_part.rpartition("@")
        user, colon, secret = login.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    sentinels = []
    for address in hosts_part.split(","):
        parts = urlsplit(f"//{address}")
        try:
            port = parts.port
        except ValueError:
            raise bad(f"{address!r} has no valid port") from None
        if not parts.hostname or port is None:
            raise bad(f"{address!r} is not host:port" if address else "a Sentinel's address is empty")
        sentinels.append((parts.hostname, port))
    pieces = path.split("/") if path else []
    if len(pieces) != 2 or not pieces[1]:
        raise bad("the path must be /DB/SERVICE (the database number, then the name the Sentinels monitor)")
    db, service = pieces
    if not db.isdigit():
        raise bad(f"the database {db!r} is not a number")
    return SentinelUrl(tuple(sentinels), unquote(service), int(db), username, password)


def _hide_password(url: str) -> str:
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, login = head.partition("://")
    user = login.partition(":")[0]
    return f"{scheme}://{user}:***@{tail}"


async def ask_sentinels(sentinels: tuple[tuple[str, int], ...], service: str) -> tuple[str, int]:
    """Where the service's primary is, according to the Sentinel with the newest view of it.

    Every Sentinel is asked at once. During a failover they learn of the new
    primary one after the other, so answers are ranked: the leader of a
    failover under way names the promoted replica first
    (`get-master-addr-by-name` differs from its `SENTINEL master` entry), then a
    Sentinel that does not think its primary is down, then the highest
    `config-epoch`. Raises redis-py's `ConnectionError` (which every caller
    already rides out) naming what each Sentinel said when none named a primary.
    """
    replies = await asyncio.gather(
        *(_ask(host, port, ("SENTINEL", "get-master-addr-by-name", service), ("SENTINEL", "master", service))
          for host, port in sentinels),
        return_exceptions=True,
    )
    said: list[str] = []
    ranked: list[tuple[tuple[bool, bool, int], str, int]] = []
    for (host, port), reply in zip(sentinels, replies, strict=True):
        where = f"{host}:{port}"
        if isinstance(reply, BaseException):  # TimeoutError is an OSError
            said.append(f"{where} did not answer ({reply or type(reply).__name__})")
            continue
        address, entry = reply
        if address is None or isinstance(entry, ResponseError):
            said.append(f"{where} knows no service {service!r}")
            continue
        try:
            named = (address[0].decode(), int(address[1]))
            fields = dict(zip(entry[::2], entry[1::2], strict=False))
            listed = (fields[b"ip"].decode(), int(fields[b"port"]))
            flags = fields[b"flags"].decode().split(",")
            epoch = int(fields[b"config-epoch"])
        except (KeyError, ValueError, TypeError, IndexError, AttributeError):
            said.append(f"{where} answered {reply!r}")
            continue
        down = "s_down" in flags or "o_down" in flags
        ranked.append(((named != listed, not down, epoch), *named))
    if ranked:
        _, host, port = max(ranked)
        return host, port
    raise RedisConnectionError(
        f"no Sentinel named the primary of {service!r}: {'; '.join(said)}. Check that the Sentinels run and "
        f"that the URL's service name is the one in their `sentinel monitor` line"
    )


async def _ask(host: str, port: int, *commands: tuple[Any, ...]) -> list[Any]:
    """Commands to one server on a connection of their own, answered within ASK_TIMEOUT."""
    async with asyncio.timeout(ASK_TIMEOUT):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(b"".join(pack(command) for command in commands))
            replies = Replies()
            got: list[Any] = []
            while len(got) < len(commands):
                data = await reader.read(4096)
                if not data:
                    raise ConnectionError("closed the connection")
                got += replies.feed(data)
            return got
        finally:
            writer.close()


class SentinelConnection(Connection):
    """A redis-py connection to whichever server the Sentinels name as primary, checked with ROLE."""

    backoff_max = 0.2  # seconds between attempts while no primary answers (a promotion is waited for)

    def __init__(self, *, sentinels: tuple[tuple[str, int], ...], service: str, **kwargs: Any) -> None:
        self.sentinels = sentinels
        self.service = service
        super().__init__(**kwargs)

    async def _connect(self) -> None:
        self.host, self.port = await ask_sentinels(self.sentinels, self.service)
        await super()._connect()  # type: ignore[no-untyped-call]

    async def on_connect_check_health(self, check_health: bool = True) -> None:
        await super().on_connect_check_health(check_health=check_health)
        await self.send_command("ROLE")
        role = await super().read_response()
        if not role or role[0] not in (b"master", "master"):
            await self.disconnect()
            raise RedisConnectionError(
                f"{self.host}:{self.port}, named primary of {self.service!r} by a Sentinel, is a replica "
                "(a failover is under way); asking the Sentinels again"
            )

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except ReadOnlyError as exc:  # demoted while connected: a new connection finds the new primary
            await self.disconnect()
            raise RedisConnectionError(f"{self.host}:{self.port} is no longer the primary ({exc})") from None

    def repr_pieces(self) -> list[tuple[str, Any]]:
        return [("service", self.service), ("host", self.host), ("port", self.port), ("db", self.db)]


def sentinel_pool_kwargs(url: str) -> dict[str, Any]:
    """The connection keywords of a redis-py pool whose connections find the primary through the Sentinels."""
    parsed = parse_sentinel_url(url)
    return {
        "connection_class": SentinelConnection, "sentinels": parsed.sentinels, "service": parsed.service,
        "db": parsed.db, "username": parsed.username, "password": parsed.password,
    }
