"""`pip install .` with the pip that ships with Python brings everything the engine needs.

pip 23.2 (bundled with Python 3.11) does not normalise extra names, so a
dependency declared through `python-socketio[asyncio_client]` silently
lost aiohttp, and `TabClient` could not connect. The resolution is checked
with that very pip, in a fresh virtual environment, without installing.
"""

from __future__ import annotations

import ensurepip
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What the engine, TabClient and the docs server import at run time.
NEEDED = {"aiohttp", "httpx", "python-socketio", "python-engineio", "quart", "redis", "uvicorn"}


@pytest.mark.slow
def test_pip_bundled_with_python_resolves_every_runtime_dependency(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    version = subprocess.run([pip, "--version"], check=True, capture_output=True, text=True).stdout
    assert version.split()[1] == ensurepip.version(), version  # the bundled pip, not an upgraded one
    report = tmp_path / "report.json"
    subprocess.run(
        [pip, "install", "--dry-run", "--ignore-installed", "--quiet", "--disable-pip-version-check",
         "--report", str(report), str(ROOT)],
        check=True, timeout=300,
    )
    resolved = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    missing = NEEDED - resolved
    assert not missing, f"pip {ensurepip.version()} would not install {sorted(missing)}"
