"""The real docs server (`python -m docsite serve`) in a subprocess, serving a built site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from demos import pace
from tests.support.env import ROOT
from tests.support.ports import free_port


class DocServer:
    """`python -m docsite serve` as a subprocess on a fixed loopback port; restartable."""

    def __init__(self, site: Path, log_path: Path, port: int | None = None) -> None:
        self.site = site
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> None:
        assert self.process is None, "already running"
        # The CLI points the fetch demo at its own /api/quote unless told otherwise.
        env = {k: v for k, v in os.environ.items() if k != "DEMO_QUOTE_URL"}
        env["PYTHONUNBUFFERED"] = "1"
        # The demos as written, not at the suite's pace: the browser tests race their pauses against a
        # browser's latency (Stop and Start within a tick, typing on within a lookup), which a loaded
        # machine stretches to a few hundred milliseconds.
        env[pace.ENV] = "1"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "docsite", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--site", str(self.site)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"docs server exited with {code} before serving:\n{self.log_tail()}")
            try:
                if self.health().get("ok"):
                    return
            except (OSError, ValueError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docs server did not answer /healthz within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
            return dict(json.loads(response.read()))

    def details(self) -> dict[str, Any]:
        """/healthz/details (open to loopback clients): tabs, background tasks, state manager."""
        with urllib.request.urlopen(f"{self.url}/healthz/details", timeout=2) as response:
            return dict(json.loads(response.read()))

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])
