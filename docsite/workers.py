"""`python -m docsite serve --workers N --redis-url URL`: N server processes behind one port.

Each worker is an ordinary `python -m docsite serve` process; they share the
port through SO_REUSEPORT (the kernel spreads new connections over them) and
share tab states, locks and Socket.IO rooms through Redis. The parent starts
them, restarts one that dies (docsite/supervisor.py), passes SIGTERM and
SIGINT on, and waits for them.

Why no sticky routing is needed: the browser runtime and the test client use
the websocket transport only, so a tab's whole Socket.IO session is one TCP
connection, which stays on the worker that accepted it. (HTTP long-polling
would spread one session over many requests, each possibly landing on a
different worker that does not know the session.) A reconnect may reach any
worker; its ticket is valid on all of them because they share one signing
key, and its state is in Redis.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from .supervisor import Supervisor

__all__ = ["reuse_port_socket", "serve_workers"]

logger = logging.getLogger("docsite")

REUSE_PORT_FLAG = "--reuse-port"  # tells a worker to bind with SO_REUSEPORT (internal)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other processes may bind to the same port as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_workers(workers: int, host: str, port: int, site: Path) -> int:
    """Run `workers` server processes on one port until SIGTERM or SIGINT; returns an exit status."""
    if not hasattr(socket, "SO_REUSEPORT"):
        print("error: --workers needs SO_REUSEPORT (Linux, BSD, macOS)", file=sys.stderr)
        return 2
    if port == 0:
        print("error: --workers needs a fixed --port (each worker binds the same one)", file=sys.stderr)
        return 2
    env = dict(os.environ)
    # One ticket key for all workers, so a tab's ticket is valid wherever it reconnects.
    env.setdefault("ENGINE_TOKEN_SECRET", secrets.token_urlsafe(32))
    command = [
        sys.executable, "-m", "docsite", "serve", "--host", host, "--port", str(port),
        "--site", str(site), REUSE_PORT_FLAG,
    ]
    logger.info("starting %d workers on port %d", workers, port)

    def start_worker() -> subprocess.Popen[bytes]:
        # Its own session: a Ctrl-C reaches the worker once, through the supervisor, not twice.
        return subprocess.Popen(command, env=env, start_new_session=True)

    return Supervisor(start_worker, workers).run()
