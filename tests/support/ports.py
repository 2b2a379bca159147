"""Loopback ports: a free one to listen on, and whether something listens on one."""

from __future__ import annotations

import random
import socket


def _ephemeral_low() -> int:
    """The first port the kernel hands out by itself (to a bind to port 0 or an outgoing connection)."""
    try:
        return int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


_LOW = 20_000
_HIGH = _ephemeral_low() - 1  # below the kernel's own range: see free_port
_given: set[int] = set()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (never Redis's default, 6379).

    Chosen below the kernel's ephemeral range where there is room: a server
    a test stops and starts again on its port (a Redis restart) would
    otherwise find it taken by somebody's outgoing connection or port-0 bind
    in between, which happened in CI. Within this process a port is handed
    out once.
    """
    for _ in range(1000 if _HIGH > _LOW else 0):
        port = random.randint(_LOW, _HIGH)
        if port in _given or port == 6379:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    while True:  # (no room below the kernel's range: let it choose)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 6379:
            return port


def port_open(port: int) -> bool:
    """Whether a server accepts connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
