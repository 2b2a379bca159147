"""The last state tree this worker read or committed for each tab, and the version it belongs to.

Taking a tab's lock returns its stored data only when the cached version is
no longer current, so a tab served by one worker costs no JSON parsing. The
cache holds at most as many tabs as `max_tabs`; the least recently used go first.
"""

from __future__ import annotations

from collections import OrderedDict

from ..state import State

__all__ = ["CachedTree", "TreeCache"]


class CachedTree:
    __slots__ = ("log_bytes", "root", "seq", "version")

    def __init__(self, version: str, root: State, seq: int, log_bytes: int) -> None:
        self.version = version
        self.root = root
        self.seq = seq
        self.log_bytes = log_bytes  # what the tab's operation log in Redis holds after that version


class TreeCache:
    """Per tab, the tree of the last commit or read this worker knows of (see the module docstring)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._trees: OrderedDict[str, CachedTree] = OrderedDict()
        self.hits = 0  # blocks that found their tab's tree current here

    def get(self, token: str) -> CachedTree | None:
        return self._trees.get(token)

    def used(self, token: str) -> None:
        """The cached tree was current: count the hit, and keep it as the most recently used."""
        self.hits += 1
        self._trees.move_to_end(token)

    def remember(self, token: str, version: str, root: State, seq: int, log_bytes: int) -> None:
        trees = self._trees
        trees[token] = CachedTree(version, root, seq, log_bytes)
        trees.move_to_end(token)
        while len(trees) > self._limit:
            trees.popitem(last=False)

    def forget(self, token: str) -> bool:
        """Drop the tab's tree (it may no longer be what Redis holds); whether there was one."""
        return self._trees.pop(token, None) is not None

    def __len__(self) -> int:
        return len(self._trees)
