"""Binding sockets to tabs: which tab a connecting socket gets, and which socket serves which tab.

A socket brings the ticket its page kept (tickets.py). A valid ticket gets
its tab back, unless that tab is live in another page right now (a
duplicated browser tab): then it gets a fresh tab, as a missing, forged or
expired ticket does. The same page reconnecting before the server noticed
its old socket go keeps its tab, and the old socket is closed.

`connections` holds this process's bound sockets; the directory
(directory.py) maps each live tab to its socket, across workers on Redis.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import protocol
from ..directory import TabDirectory
from ..settings import Settings
from .connection import Connection
from .limits import ClientLimits
from .outbox import Outbox
from .tickets import TicketSigner, new_tab_id

__all__ = ["Bindings", "Claim"]


class Claim(NamedTuple):
    """The tab a connecting socket is to serve, and the socket of the same page it replaces (if any)."""

    token: str
    replaces: str | None


class Bindings:
    """The sockets of this process bound to tabs (`connections`) and the directory of live tabs."""

    def __init__(
        self, tickets: TicketSigner, directory: TabDirectory, clients: ClientLimits, settings: Settings
    ) -> None:
        self.tickets = tickets
        self.directory = directory
        self.connections: dict[str, Connection] = {}
        self.clients = clients  # the books per client address (limits.py)
        self._rate = settings.events_per_second

    def connected_here(self, token: str) -> bool:
        """Whether a socket of this process serves the tab."""
        binding = self.directory.entries.get(token)  # (a dict lookup, not a call: every commit asks)
        return binding is not None and binding.sid in self.connections

    def connection_of(self, token: str) -> Connection | None:
        """The socket of this process that serves the tab, if any (every commit asks: two dict lookups)."""
        binding = self.directory.entries.get(token)
        return self.connections.get(binding.sid) if binding is not None else None

    def claim(self, address: str, auth: protocol.Auth) -> Claim:
        """Which tab this socket gets (a new one counts against its address's new-tab rate, or is refused)."""
        directory = self.directory
        token = self.tickets.verify(auth.ticket)
        replaces = None
        if token is not None and token in directory:
            if auth.client is None or directory.client_of(token) != auth.client:
                token = None  # a live tab's ticket from another page: a duplicated tab
            elif directory[token] in self.connections:
                replaces = directory[token]  # the same page, reconnecting before its old socket was noticed gone
        if token is None:
            self.clients.new_tab(address)
            token = new_tab_id()
        return Claim(token, replaces)

    def bind(
        self, sid: str, address: str, token: str, auth: protocol.Auth, outbox: Outbox | None = None
    ) -> Connection:
        """The socket now serves the tab (`outbox`: what its websocket has not sent yet)."""
        connection = self.connections[sid] = Connection(address, token, auth.client, auth.states, self._rate,
                                                        outbox)
        self.directory.bind(token, sid, auth.client)
        return connection

    def unbind(self, sid: str) -> tuple[Connection | None, bool]:
        """Forget the socket: its connection (None if it was not bound), and whether its tab is now away."""
        connection = self.connections.pop(sid, None)
        if connection is None:
            return None, False
        self.clients.disconnect(connection.address)
        if connection.inspector is not None:
            connection.inspector.close()
        return connection, self.directory.unbind(connection.token, sid)

    def ticket(self, token: str) -> str:
        """A fresh ticket for the tab, for its page to keep."""
        return self.tickets.issue(token)
