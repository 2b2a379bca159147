"""The two servers of the scale workload, each a process tree on a free loopback port, stopped by `stop()`.

- `engine`: the docs server itself, `python -m docsite serve` (with
  `--workers 2 --redis-url URL` for the two-worker run), serving a one-page
  site: the demos' Socket.IO endpoint is what is measured.
- `bare`: `bench.scale.bare_server`, python-socketio alone on the same stack.

Every bench client comes from 127.0.0.1, so the engine's per-client-address
limits are raised to fit the load (an engine that does not know one of these
variables yet ignores it).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..child_process import child_env
from ..paths import RESULTS, ROOT
from . import procstat

__all__ = ["ScaleServer", "limits_env"]

STOP_TIMEOUT = 20.0


def limits_env(tabs: int) -> dict[str, str]:
    """Engine limits raised for `tabs` tabs that all connect from one address at about the same time."""
    return {
        "ENGINE_MAX_CONNECTIONS_PER_CLIENT": str(max(1_000, 2 * tabs)),
        "ENGINE_NEW_TABS_PER_CLIENT_PER_MINUTE": str(max(10_000, 10 * tabs)),
        "ENGINE_CLIENT_EVENTS_PER_SECOND": str(max(10_000, 50 * tabs)),
        "ENGINE_MAX_TASKS_TOTAL": str(max(10_000, 2 * tabs)),
        "ENGINE_MAX_TABS": str(max(100_000, 2 * tabs)),
        "ENGINE_SHUTDOWN_TIMEOUT": "2",
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered; the status does not matter
    except OSError:
        return False


class ScaleServer:
    """`engine` (the docs server, 1 or 2 workers) or `bare`, started by `start()`."""

    def __init__(
        self, kind: str, tabs: int, *, workers: int = 1, redis_url: str | None = None, tag: str = ""
    ) -> None:
        self.kind = kind
        self.tabs = tabs
        self.workers = workers
        self.redis_url = redis_url
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.label = f"{kind}-{tabs}" + (f"-{workers}w" if workers > 1 else "") + (f"-{tag}" if tag else "")
        self.log_path = RESULTS / f"scale-{self.label}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._site = tempfile.TemporaryDirectory(prefix="bench-site-")
        self._log = None

    def _command(self, state_name: str) -> tuple[list[str], dict[str, str]]:
        if self.kind == "bare":
            return [sys.executable, "-m", "bench.scale.bare_server", str(self.port), state_name], child_env()
        site = Path(self._site.name)
        (site / "index.html").write_text("<!doctype html><title>bench</title>\n")
        env = child_env(**limits_env(self.tabs))
        env.pop("REDIS_URL", None)
        command = [sys.executable, "-m", "docsite", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--site", str(site)]
        if self.workers > 1:
            assert self.redis_url, "two workers share their tabs through Redis"
            command += ["--workers", str(self.workers), "--redis-url", self.redis_url]
        return command, env

    def start(self, state_name: str, timeout: float = 60.0) -> None:
        command, env = self._command(state_name)
        RESULTS.mkdir(exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        probe = f"{self.url}/healthz" if self.kind == "engine" else f"{self.url}/"
        deadline = time.monotonic() + timeout
        answered = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {self.label} server exited at start; see {self.log_path}")
            up = len(self.pids()) >= self.workers + (1 if self.workers > 1 else 0)
            answered = answered + 1 if up and _answers(probe) else 0
            if answered >= 2 * self.workers:  # several answers: every worker is listening
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the {self.label} server did not answer within {timeout:.0f}s; see {self.log_path}")

    def pids(self) -> list[int]:
        return procstat.descendants(self.proc.pid) if self.proc is not None else []

    def usage(self) -> procstat.Usage:
        return procstat.usage(self.pids())

    def log_counts(self) -> dict[str, object]:
        """Warnings and errors the server logged, and a few of them to read."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        warnings = [line for line in lines if " WARNING " in line]
        errors = [line for line in lines if " ERROR " in line or "Traceback" in line]
        return {"warnings": len(warnings), "errors": len(errors), "samples": (errors + warnings)[:5]}

    def stop(self) -> None:
        """SIGTERM (the docs server forwards it to its workers), then SIGKILL whatever is left."""
        if self.proc is None:
            return
        tree = self.pids()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        for pid in tree:  # workers run in sessions of their own: end each one by its id
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and procstat.alive(pid):
                time.sleep(0.1)
            if procstat.alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=5)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self._site.cleanup()

