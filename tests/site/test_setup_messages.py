"""Setting up: a taken port is refused before anything says "Serving", with what to do instead."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.env import ROOT
from tests.support.ports import free_port


def test_a_taken_port_is_refused_before_serving_is_announced(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>test site</title>", encoding="utf-8")
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "docsite", "serve", "--host", "127.0.0.1", "--port", str(port), "--site", str(site)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=30,
        )
    assert result.returncode == 3, result
    assert "Serving" not in result.stdout, result.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr, result.stderr


def test_the_readme_says_what_to_do_when_pip_is_externally_managed() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "externally-managed-environment" in readme
    assert "python3 -m venv" in readme and "pipx install nox" in readme
