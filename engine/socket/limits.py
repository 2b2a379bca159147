"""Limits per client address: one visitor cannot spoil the site for the others.

Per-connection limits alone are easy to walk around: reconnecting resets
them, and many sockets each within their limit add up. So a client address
(the TCP peer, or the address a trusted reverse proxy reports in
`X-Forwarded-For`: see `client_address`) also has

- at most `max_connections_per_client` sockets open at once,
- at most `new_tabs_per_client_per_minute` new tab states per minute,
- one allowance of `client_events_per_second` events, shared by its sockets.

What is kept per address is small and bounded: an address with no socket is
forgotten once its minute is over, and at most `MAX_ADDRESSES` are tracked
(the least recently seen go first).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from ..errors import LimitExceededError
from ..settings import Settings
from .bucket import TokenBucket

__all__ = ["MAX_ADDRESSES", "ClientLimits", "client_address", "peer_address"]

MAX_ADDRESSES = 100_000
_MINUTE = 60.0


def client_address(environ: Mapping[str, Any], trusted: tuple[str, ...] | None) -> str:
    """Who is connecting: the TCP peer's address, or what a trusted proxy says the client's is.

    The peer is read from the ASGI scope: python-engineio's ASGI driver
    writes `REMOTE_ADDR = "127.0.0.1"` for every connection, which would make
    every visitor one, and every peer trusted when 127.0.0.1 is a proxy.
    `X-Forwarded-For` is read from the right: each trusted proxy appends the
    address it received the request from, so the first address from the right
    that is not a trusted proxy is the client. A header from an untrusted peer
    is ignored (anyone can write one).
    """
    peer = peer_address(environ)
    if not trusted or peer not in trusted:
        return peer
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if hop not in trusted:
            return _address(hop) or peer
    return peer


def peer_address(environ: Mapping[str, Any]) -> str:
    """The address of the socket's TCP peer (the ASGI scope's `client`), or "unknown" when the server gives none."""
    scope = environ.get("asgi.scope")
    client = scope.get("client") if isinstance(scope, Mapping) else None
    if client:
        return _address(str(client[0])) or str(client[0])[:64]
    return "unknown"  # (a unix socket: no address, so no per-address books to keep apart)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text[:64]))
    except ValueError:
        return None


class _Client:
    __slots__ = ("allowance", "connections", "new_tabs")

    def __init__(self, rate: float) -> None:
        self.connections = 0
        self.new_tabs: deque[float] = deque()
        self.allowance = TokenBucket(rate)


class ClientLimits:
    """The per-address books (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: OrderedDict[str, _Client] = OrderedDict()

    def _client(self, address: str) -> _Client:
        client = self._clients.get(address)
        if client is None:
            self._forget_some()  # (before adding it: a new address has no socket yet, and would go too)
            client = self._clients[address] = _Client(self._settings.client_events_per_second)
        else:
            self._clients.move_to_end(address)
        return client

    def _forget_some(self) -> None:
        """Drop addresses with no socket whose books are clear, and the oldest beyond MAX_ADDRESSES."""
        now = time.monotonic()
        for address in list(self._clients)[:8]:  # a few at a time: amortised, never a full scan
            client = self._clients[address]
            if client.connections == 0 and (not client.new_tabs or now - client.new_tabs[-1] > _MINUTE):
                del self._clients[address]
        while len(self._clients) > MAX_ADDRESSES:
            self._clients.popitem(last=False)

    def connect(self, address: str) -> None:
        """Count a new socket of this address, or refuse it."""
        client = self._client(address)
        limit = self._settings.max_connections_per_client
        if client.connections >= limit:
            raise LimitExceededError(
                f"this address already has {client.connections} connections open "
                f"(setting max_connections_per_client={limit}); close some tabs and try again"
            )
        client.connections += 1

    def disconnect(self, address: str) -> None:
        client = self._clients.get(address)
        if client is not None:
            client.connections = max(0, client.connections - 1)

    def new_tab(self, address: str) -> None:
        """Count a new tab state opened by this address, or refuse it."""
        client = self._client(address)
        now = time.monotonic()
        while client.new_tabs and now - client.new_tabs[0] > _MINUTE:
            client.new_tabs.popleft()
        limit = self._settings.new_tabs_per_client_per_minute
        if len(client.new_tabs) >= limit:
            raise LimitExceededError(
                f"this address opened {limit} new tabs in the last minute "
                f"(setting new_tabs_per_client_per_minute={limit}); wait a minute and reload"
            )
        client.new_tabs.append(now)

    def spend(self, address: str) -> None:
        """Take one event from the address's shared allowance, or refuse it."""
        if not self._client(address).allowance.take():
            rate = self._settings.client_events_per_second
            raise LimitExceededError(
                f"too many events from this address (setting client_events_per_second={rate:g}); slow down"
            )

    def __len__(self) -> int:
        return len(self._clients)
