"""What the server keeps per live socket: whose tab it serves, what it shows, what it may still send."""

from __future__ import annotations

from .bucket import TokenBucket
from .inspector import Inspector
from .outbox import Outbox

__all__ = ["Connection"]


class Connection:
    """One bound socket: its tab, its page, the states it shows, its event allowance and refusals."""

    __slots__ = ("address", "allowance", "bad", "client_id", "inspector", "outbox", "states", "token")

    def __init__(
        self, address: str, token: str, client_id: str | None, states: list[str], rate: float,
        outbox: Outbox | None = None,
    ) -> None:
        self.address = address  # the client address its per-address limits are counted against
        self.token = token
        self.client_id = client_id
        self.states = states
        self.allowance = TokenBucket(rate)  # events_per_second, this socket's own
        self.bad = 0  # refused events so far (max_bad_events)
        self.inspector: Inspector | None = None
        self.outbox = outbox  # what its websocket has not sent yet (None: a web server that does not say)
