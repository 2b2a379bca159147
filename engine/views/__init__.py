"""Views of a tab's state: how every handler reaches it (see base.py for what they promise)."""

from .base import ATOMIC, View, detach, guarded, invalid, stored, text_appended
from .dicts import GuardedDict
from .guards import SORT_KEY, STALE, FixedGuard, Guard
from .lists import GuardedList
from .sets import GuardedSet

__all__ = [
    "ATOMIC", "SORT_KEY", "STALE", "FixedGuard", "GuardedDict", "GuardedList", "GuardedSet", "Guard", "View",
    "detach", "guarded", "invalid", "stored", "text_appended",
]
