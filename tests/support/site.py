"""The docs site as the working tree builds it: `mkdocs build --strict`, once per test run."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support.env import ROOT


def build_site(dest: Path) -> Path:
    """`mkdocs build --strict` of the working tree into `dest`; the build's output on failure."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(dest)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0 or not (dest / "index.html").is_file():
        raise RuntimeError(
            f"mkdocs build --strict failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return dest


def build_site_once(directory: Path) -> Path:
    """The site built into `directory` (the run's) by the first process that asks: xdist workers share it."""
    site = directory / "built-site"
    with _locked(directory / "built-site.lock"):
        if not (site / "index.html").is_file():
            build_site(site)
    return site


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
