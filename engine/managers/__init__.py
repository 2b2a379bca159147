"""State managers: where each tab's state lives between events, and its lock."""

from .base import Commit, StateManager, Transaction
from .memory import MemoryStateManager

__all__ = ["Commit", "MemoryStateManager", "StateManager", "Transaction"]
