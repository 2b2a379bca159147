"""The Socket.IO layer: sockets bound to tabs, messages to runner calls, outcomes to messages."""

from .backlog import UnsentLimits
from .binding import Bindings
from .hosts import LOCAL_NAMES, HostGuard
from .inspector import show_backend_vars
from .limits import ClientLimits
from .namespace import EventNamespace
from .origins import origin_policy
from .publisher import SocketPublisher
from .server import GuardedASGIApp, SocketServer
from .tickets import TicketSigner, new_tab_id

__all__ = [
    "LOCAL_NAMES", "Bindings", "ClientLimits", "HostGuard",
    "EventNamespace", "GuardedASGIApp", "SocketPublisher", "SocketServer", "TicketSigner", "new_tab_id",
    "UnsentLimits", "origin_policy", "show_backend_vars",
]
