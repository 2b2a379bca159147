"""The bench's child processes: the environment they run in, and `LineProcess`, spoken to in JSON lines.

A `LineProcess` takes one command on its stdin and gives one answer on its stdout.

Both the state workers (`bench.states.worker`) and the scale clients
(`bench.scale.client`) are such processes. Their stderr goes to a log file
under bench-results/, whose tail is shown when one fails.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from .paths import RESULTS, ROOT

__all__ = ["LineProcess", "WorkerError", "child_env"]


class WorkerError(RuntimeError):
    pass


def child_env(**extra: str) -> dict[str, str]:
    """The environment of every process the bench starts: this checkout first on the path."""
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)


class LineProcess:
    """`python -m MODULE ARGS...`, answering one JSON line per command; closed by `close()`."""

    def __init__(
        self, module: str, args: list[str], label: str, env: dict[str, str] | None = None, cwd: Path = ROOT,
    ) -> None:
        self.label = label
        RESULTS.mkdir(exist_ok=True)
        self.log_path = RESULTS / f"worker-{label}.log"
        self._log = open(self.log_path, "w")  # closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=cwd, env=env or child_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def answer(self, timeout: float) -> dict[str, Any]:
        """The next JSON line; `WorkerError` if none comes in time, the process died, or it reports an error."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise WorkerError(f"{self.label}: no answer within {timeout:.0f}s (log: {self.log_path})") from None
        if line is None:
            raise WorkerError(f"{self.label}: process exited; its log ends with:\n{self.log_tail()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise WorkerError(f"{self.label} failed:\n{answer['error']}")
        return answer

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def request(self, command: dict[str, Any], timeout: float = 150.0) -> dict[str, Any]:
        self.send(command)
        result: dict[str, Any] = self.answer(timeout)["result"]
        return result

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self, timeout: float = 15.0) -> None:
        """Ask it to quit; kill it if it has not exited within `timeout`."""
        if self.proc.poll() is None:
            try:
                self.send({"quit": True})
                self.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()
