"""Each address's share of the tab table: one visitor cannot fill `max_tabs` and push the others' states out.

When the in-memory table is full, a new tab's state needs room, and the
table's own rule evicts the least recently used idle state, whoever it
belongs to. So one address opening tabs and dropping them (within its
new-tab rate) would push out the state of a visitor who is away for a
moment. Here, when the table is full, room comes first from an address
holding more than `max_tab_share_per_client` of `max_tabs`:

- the new tab's own address, if it holds more than its share: its least
  recently connected idle state goes (or, when all of them are in use, the
  new tab is refused);
- else an address that holds more than its share: its oldest idle state;
- else the table's own rule.

So another visitor's state is evicted only when the table is full of many
visitors. An empty table may still be filled by one visitor; nobody is
refused anything while there is room.

The books are small and bounded: an address's list of tabs is pruned of
states the table no longer holds, a few at a time, and at most
`MAX_ADDRESSES` addresses are tracked (the least recently seen go first).
With a store that keeps no table of its own (Redis), nothing is kept.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from itertools import islice
from typing import Protocol, runtime_checkable

from ..errors import LimitExceededError
from ..settings import Settings

__all__ = ["MAX_ADDRESSES", "TabShares", "TabTable"]

MAX_ADDRESSES = 100_000

Book = OrderedDict[str, None]  # one address's tabs, least recently connected first


@runtime_checkable
class TabTable(Protocol):
    """A state manager holding tab states in a table of its own, up to `max_tabs` (the in-memory one)."""

    def holds(self, token: str) -> bool: ...

    def full(self) -> bool: ...

    def evict(self, token: str) -> bool: ...


class TabShares:
    """`admit(address, token)` before a socket of that address is bound to the tab (see the module docstring)."""

    def __init__(self, table: object, settings: Settings) -> None:
        self._table = table if isinstance(table, TabTable) else None
        self._share = settings.max_tab_share_per_client
        self._max_tabs = settings.max_tabs
        self.cap = max(1, math.floor(settings.max_tabs * self._share))
        self._books: OrderedDict[str, Book] = OrderedDict()  # by address, least recently seen first
        self._owner: dict[str, str] = {}  # token -> address
        self._over: set[str] = set()  # addresses whose books were longer than the cap when last seen

    def admit(self, address: str, token: str) -> None:
        """Count the tab against its address; make room for its state if the table is full (or refuse it)."""
        table = self._table
        if table is None:
            return
        self._forget_some(table)
        book = self._enter(address, token)
        if table.holds(token) or not table.full():
            return
        if len(book) > self.cap:
            if self._evict_oldest_idle(table, address, spare=token):
                return
            if len(book) > self.cap:  # (the book was read to its end: what is left is held, and in use)
                self._leave(address, token)
                raise LimitExceededError(
                    f"this server's tab states are all taken, {len(book)} of them by this address and all in use "
                    f"(setting max_tabs={self._max_tabs} and setting max_tab_share_per_client={self._share:g}); "
                    "close some tabs and try again"
                )
        for other in list(self._over):
            if other != address and self._evict_oldest_idle(table, other):
                return
        # No address holds more than its share: the table makes room by its own rule.

    def _enter(self, address: str, token: str) -> Book:
        previous = self._owner.get(token)
        if previous is not None and previous != address:  # its page moved to another network
            self._leave(previous, token)
        book = self._books.get(address)
        if book is None:
            book = self._books[address] = OrderedDict()
        else:
            self._books.move_to_end(address)
        book[token] = None
        book.move_to_end(token)
        self._owner[token] = address
        if len(book) > self.cap:
            self._over.add(address)
        return book

    def _leave(self, address: str, token: str) -> None:
        book = self._books.get(address)
        if book is not None:
            book.pop(token, None)
            if len(book) <= self.cap:
                self._over.discard(address)
        self._owner.pop(token, None)

    def _evict_oldest_idle(self, table: TabTable, address: str, spare: str | None = None) -> bool:
        """Evict the least recently connected state nothing uses of an address over its share; whether one went.

        States the table let go meanwhile are struck off the book as it is read, so an address counts
        them (and may be taken for over its share) only until then.
        """
        book = self._books.get(address)
        for token in list(book or ()):
            if book is None or len(book) <= self.cap:
                return False
            if token == spare:
                continue
            if not table.holds(token):
                self._leave(address, token)
            elif table.evict(token):
                self._leave(address, token)
                return True
        return False

    def _forget_some(self, table: TabTable) -> None:
        """Prune the least recently seen addresses' books a little; drop empty ones, and any beyond MAX_ADDRESSES."""
        for address in list(islice(self._books, 4)):  # a few at a time: amortised, never a full scan
            book = self._books[address]
            for token in [token for token in islice(book, 8) if not table.holds(token)]:
                self._leave(address, token)
            if not book:
                del self._books[address]
        while len(self._books) > MAX_ADDRESSES:
            address, book = self._books.popitem(last=False)
            self._over.discard(address)
            for token in book:
                self._owner.pop(token, None)
