"""The project installs: a wheel built by the standard backend works outside the checkout.

The wheel is built by pyproject.toml's backend (setuptools, through pip, in
an isolated build environment) from a copy of the checkout, so no build/ or
*.egg-info is left behind and none of an earlier build's files can slip in.
It must hold every module and script of the checkout's packages. It is then
installed into a fresh virtual environment with the pip that ships with
Python, and installed_roundtrip.py runs there, from a directory outside the
checkout with `python -I`: `engine` comes from the environment, every module
imports, and a TabClient round trip works.

The pip that ships with Python matters: pip 23.2 (Python 3.11's) does not
normalise extra names, so a dependency declared through
`python-socketio[asyncio_client]` silently lost aiohttp, and `TabClient`
could not connect. (A hand-written package list once left engine.runner,
engine.socket and engine.redis out of the wheel, and `import engine` failed.)
"""

from __future__ import annotations

import ensurepip
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.env import ROOT

PACKAGES = ("engine", "demos", "docsite")
# What the wheel must carry besides Python modules (pyproject.toml's package-data).
DATA = ("engine/py.typed", "engine/static/*.js", "docsite/static/*.js")
# Never part of a build: what a checkout may hold beside its sources.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", "node_modules", "site", ".nox", ".venv", "__pycache__", "*.egg-info", "build", "dist",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "bench-results",
)
PIP_QUIET = ["--quiet", "--disable-pip-version-check", "--no-input"]


def _run(*cmd: str | Path, cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run([str(part) for part in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


# Not ours to install: the tutorial's folder, the code a reader writes (docs/first-task.md).
NOT_PACKED = ("demos/first_task/",)


def _expected_files() -> set[str]:
    files = set()
    for package in PACKAGES:
        files |= {path.relative_to(ROOT).as_posix() for path in (ROOT / package).rglob("*.py")}
    files = {name for name in files if not name.startswith(NOT_PACKED)}
    for pattern in DATA:
        files |= {path.relative_to(ROOT).as_posix() for path in ROOT.glob(pattern)}
    return files


@pytest.mark.slow
def test_the_wheel_installs_outside_the_checkout_and_runs_a_tab(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, pip = venv / "bin" / "python", venv / "bin" / "pip"
    version = _run(pip, "--version", cwd=tmp_path)
    assert version.split()[1] == ensurepip.version(), version  # the bundled pip, not an upgraded one

    dist = tmp_path / "dist"
    _run(pip, "wheel", *PIP_QUIET, "--no-deps", "--wheel-dir", dist, source, cwd=tmp_path)
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = {name for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")}
    expected = _expected_files()
    assert "engine/runner/runner.py" in expected and "engine/static/engine.js" in expected
    assert packed == expected, f"missing from the wheel: {sorted(expected - packed)}; extra: {sorted(packed - expected)}"

    _run(pip, "install", *PIP_QUIET, "--constraint", ROOT / "requirements" / "lock.txt", wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = shutil.copy(ROOT / "tests" / "site" / "installed_roundtrip.py", elsewhere)
    report = json.loads(_run(python, "-I", script, ROOT, cwd=elsewhere, timeout=120))

    assert Path(report["engine"]).is_relative_to(venv)
    expected_modules = {path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
                        for path in expected if path.endswith(".py") and path.split("/")[0] in ("engine", "demos")}
    assert set(report["modules"]) == expected_modules
    assert report["round_trip"]["before"] == 0 and report["round_trip"]["after"] == 2
