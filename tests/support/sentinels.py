"""`SentinelGroup`: a Redis primary, its replicas and the Sentinels that watch them, on free loopback ports.

Everything is a real `redis-server` process (a Sentinel is `redis-server
sentinel.conf --sentinel`), started in a temporary directory and stopped by
`stop()` (or the `with` block). `kill_primary()` is `kill -9` of whichever
server is the primary now; `wait_promotion()` returns when a Sentinel
announces the new one (`+switch-master`), with the time it did.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.ports import free_port

SERVICE = "engine"
DOWN_AFTER_MS = 1000  # a primary silent this long is down for a Sentinel


def _command(port: int, *args: str, timeout: float = 2) -> bytes:
    """One inline command to 127.0.0.1:`port`, its raw reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(" ".join(args).encode() + b"\r\n")
        return conn.recv(65536)


def _read_reply(stream: Any) -> Any:
    """One RESP2 reply from a socket file: bulk strings as str, arrays as lists."""
    line = stream.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"*":
        return [_read_reply(stream) for _ in range(int(rest))] if int(rest) >= 0 else None
    if kind == b"$":
        if int(rest) < 0:
            return None
        return stream.read(int(rest) + 2)[:-2].decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    return rest.decode()


def _query(port: int, *args: str, timeout: float = 2) -> Any:
    """One inline command to 127.0.0.1:`port`, its reply parsed (the whole of it, however long)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn, conn.makefile("rb") as stream:
        conn.sendall(" ".join(args).encode() + b"\r\n")
        return _read_reply(stream)


class SentinelGroup:
    """A primary, `replicas` replicas and `sentinels` Sentinels (quorum: a majority)."""

    def __init__(self, *, replicas: int = 2, sentinels: int = 3) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="engine-sentinel-"))
        self.server_ports = [free_port() for _ in range(1 + replicas)]
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self.primary_port = self.server_ports[0]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/0/{SERVICE}"

    def start(self) -> SentinelGroup:
        try:
            for port in self.server_ports:
                args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", str(self.dir), "--dbfilename", f"dump-{port}.rdb", "--repl-diskless-sync", "yes",
                        "--repl-diskless-sync-delay", "0", "--notify-keyspace-events", "Kgx"]
                if port != self.primary_port:
                    args += ["--replicaof", "127.0.0.1", str(self.primary_port)]
                self._spawn(port, args)
            # Sentinels start once the replicas are in sync: a Sentinel asks a primary for INFO (which
            # names its replicas) as it connects and then every 10 s, so one started earlier would
            # not see the replicas for 10 s.
            self._wait(lambda: all(_command(port, "PING") == b"+PONG\r\n" for port in self.server_ports), "servers")
            self._wait(lambda: self.replica_count(self.primary_port) == len(self.server_ports) - 1, "replicas")
            self._wait(self._replicas_in_sync, "replicas' first sync")
            quorum = len(self.sentinel_ports) // 2 + 1
            for port in self.sentinel_ports:
                conf = self.dir / f"sentinel-{port}.conf"
                conf.write_text(
                    f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary_port} {quorum}\n"
                    f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                    f"sentinel failover-timeout {SERVICE} 10000\n"
                    f"sentinel parallel-syncs {SERVICE} {len(self.server_ports)}\n"
                )
                self._spawn(port, [str(conf), "--sentinel"])
            self._wait(self._sentinels_see_everyone, "Sentinels")
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, port: int, args: list[str]) -> None:
        with open(self.dir / f"{port}.log", "wb") as log:
            self.processes[port] = subprocess.Popen([self.binary, *args], stdout=log, stderr=log)

    def _wait(self, ready: Any, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for port, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {port} exited: {self.log(port)}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the {what} of the Sentinel group were not ready within {timeout}s")

    def _replicas_in_sync(self) -> bool:
        return all("master_link_status:up" in _command(port, "INFO", "replication").decode()
                   for port in self.server_ports if port != self.primary_port)

    def _sentinels_see_everyone(self) -> bool:
        for port in self.sentinel_ports:
            reply = _command(port, "SENTINEL", "master", SERVICE).decode()
            fields = reply.split("\r\n")
            values = dict(zip(fields[2::4], fields[4::4], strict=False))
            if values.get("num-slaves") != str(len(self.server_ports) - 1):
                return False
            if values.get("num-other-sentinels") != str(len(self.sentinel_ports) - 1):
                return False
            if not self._replicas_promotable(port):
                return False
        return True

    def _replicas_promotable(self, sentinel: int) -> bool:
        """True when the Sentinel on `sentinel` could promote every replica now: it has heard each one's
        INFO lately and each has its link to the primary up. A Sentinel learns of a replica from the
        primary's INFO before it has talked to the replica itself; `SENTINEL FAILOVER` in that gap
        answers NOGOODSLAVE (seen in CI)."""
        replicas = _query(sentinel, "SENTINEL", "replicas", SERVICE)
        if len(replicas) != len(self.server_ports) - 1:
            return False
        for replica in replicas:
            fields = dict(zip(replica[::2], replica[1::2], strict=True))
            # (master-link-status is "err" until the Sentinel has parsed the replica's own INFO)
            if fields.get("flags") != "slave" or fields.get("master-link-status") != "ok":
                return False
            if int(fields.get("last-ok-ping-reply", "1000000")) > 3000:
                return False
        return True

    def replica_count(self, port: int) -> int:
        """Replicas connected to the server on `port` (as its INFO replication says); -1 when not a primary."""
        info = _command(port, "INFO", "replication").decode()
        if "role:master" not in info:
            return -1
        return int(info.split("connected_slaves:")[1].split("\r\n")[0])

    def log(self, port: int) -> str:
        path = self.dir / f"{port}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def replicas(self) -> list[int]:
        """The ports of the servers that are not the primary (and still run)."""
        return [port for port in self.server_ports if port != self.primary_port and port in self.processes]

    def cut_replicas(self) -> None:
        """Pause every replica (SIGSTOP) and close their links on the primary: from now on the primary's
        writes stay in its backlog, as they do when replication lags. `resume_replicas()` ends the pause."""
        for port in self.replicas():
            self.processes[port].send_signal(signal.SIGSTOP)
        _command(self.primary_port, "CLIENT", "KILL", "TYPE", "replica")

    def resume_replicas(self) -> None:
        for port in self.replicas():
            self.processes[port].send_signal(signal.SIGCONT)

    def kill_replicas(self) -> None:
        """`kill -9` every replica: the primary is left alone."""
        for port in self.replicas():
            process = self.processes.pop(port)
            process.kill()
            process.wait(5)

    def kill_primary(self) -> int:
        """`kill -9` the primary; its port."""
        port = self.primary_port
        process = self.processes.pop(port)
        process.kill()
        process.wait(5)
        return port

    def wait_promotion(self, old: int, timeout: float = 20) -> float:
        """Wait until a Sentinel names a new primary (a replica that says it is one); the monotonic time then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for port in self.sentinel_ports:
                try:
                    reply = _command(port, "SENTINEL", "get-master-addr-by-name", SERVICE).decode()
                except OSError:
                    continue
                named = int(reply.split("\r\n")[-2])
                if named != old and self.replica_count(named) >= 0:
                    self.primary_port = named
                    return time.monotonic()
            time.sleep(0.01)
        raise RuntimeError(f"no replica was promoted within {timeout}s of the primary's death")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # (a paused one would not hear the SIGTERM)
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SentinelGroup:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
