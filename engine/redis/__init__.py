"""Everything Redis, behind one face: tab states and locks, the cross-worker directory, the Socket.IO relay.

Imported only when an App is given a Redis URL; an App in memory never loads it.
"""

from .client import Pool, new_worker_id
from .cluster import RedisCluster
from .directory import RedisTabDirectory
from .manager import RedisStateManager
from .relay import RedisRelay
from .ticketkey import shared_ticket_key

__all__ = [
    "Pool", "RedisCluster", "RedisRelay", "RedisStateManager", "RedisTabDirectory", "new_worker_id",
    "shared_ticket_key",
]
