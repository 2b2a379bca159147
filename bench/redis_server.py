"""A private redis-server for the benchmark: a free loopback port, no persistence, stopped at the end.

`RedisServer(replica_of=port)` is a replica of the one on that port (the replicated commit mode waits
for it); it is ready once its first sync is done.

It never uses (or touches) a Redis the benchmark did not start, so never the
default 127.0.0.1:6379.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["RedisServer"]


def _free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 6379:
            return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _in_sync(port: int) -> bool:
    """Whether the replica on `port` has its link to the primary up (its first sync done)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"INFO replication\r\n")
            return b"master_link_status:up" in sock.recv(4096)
    except OSError:
        return False


class RedisServer:
    """`with RedisServer() as url:` runs redis-server until the block ends."""

    def __init__(self, startup_timeout: float = 10.0, *, replica_of: int | None = None) -> None:
        self.replica_of = replica_of  # the port of a primary on 127.0.0.1 this server replicates
        self.binary = shutil.which("redis-server")
        self.startup_timeout = startup_timeout
        self.port = 0
        self.version = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def available(self) -> bool:
        return self.binary is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        if self.binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.version = subprocess.run(
            [self.binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
        self._dir = tempfile.TemporaryDirectory(prefix="bench-redis-")
        for _attempt in range(5):  # the free port may be taken between the probe and the bind
            self.port = _free_port()
            self._proc = subprocess.Popen(
                [
                    self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", self._dir.name,
                    "--protected-mode", "yes", "--loglevel", "warning",
                    *(["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []),
                ],
                stdout=subprocess.DEVNULL,
                stderr=open(Path(self._dir.name) / "redis.log", "wb"),
            )
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline and self._proc.poll() is None:
                if _ping(self.port) and (self.replica_of is None or _in_sync(self.port)):
                    return self.url
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("redis-server did not start on a free port")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def close(self) -> None:
        self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
