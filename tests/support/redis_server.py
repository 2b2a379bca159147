"""`RedisServer`: a redis-server of our own on a free loopback port, with no persistence unless asked.

It never uses (or touches) a Redis it did not start, so never 127.0.0.1:6379.
It keeps its port when stopped and started again, so Apps pointed at it find
it back (empty: it keeps nothing on disk), or with every key it held
(`restart(keep=True)`: SHUTDOWN SAVE, then the dump is loaded on start).
With `aof="always"` (or "everysec", Redis's default policy) it keeps an
append-only file, and `crash(down_for)` kills it (`kill -9`: nothing is
saved on the way out) and starts it again from that file.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.ports import free_port


class RedisServer:
    """`server.start()` ... `server.stop()`, or `with RedisServer() as server:`."""

    def __init__(self, aof: str | None = None) -> None:
        self.aof = aof  # appendfsync policy, or None: no append-only file
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="engine-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        aof = ["--appendonly", "yes", "--appendfsync", self.aof] if self.aof else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *aof,
             "--dir", self.dir, "--notify-keyspace-events", "Kgx"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"redis-server exited with {code} on port {self.port} (taken meanwhile?)")
            if self._answers_ping():
                return self
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING on port {self.port} within {timeout}s")

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def restart(self, down_for: float, *, keep: bool = True) -> None:
        """Shut down (saving every key when `keep`, as `redis-cli SHUTDOWN SAVE` does), stay down
        `down_for` seconds (the port refuses connections), and start again on the same port."""
        assert self.process is not None, "not running"
        if keep:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
                conn.sendall(b"SHUTDOWN SAVE\r\n")
                conn.recv(16)  # (the connection closes once the dump is written)
            self.process.wait(10)
            self.process = None
        else:
            self.stop()
        time.sleep(down_for)
        self.start()
        Path(self.dir, "dump.rdb").unlink(missing_ok=True)  # loaded: a later start begins empty again

    def crash(self, down_for: float) -> None:
        """`kill -9`, stay down `down_for` seconds, and start again on the same port (from the append-only
        file, with `aof`: what it had written there is back)."""
        assert self.process is not None, "not running"
        self.process.kill()
        self.process.wait(10)
        self.process = None
        time.sleep(down_for)
        self.start()

    def flush(self) -> None:
        """Forget every key (between tests that share one server)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            conn.recv(16)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
