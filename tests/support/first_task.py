"""The reader's folder of "Your first background task", made from the built page: its files, as copied."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.env import ROOT
from tests.support.page_code import page_files

PAGE = "first-task"
FILES = ("app.py", "test_app.py")


def reader_folder(site: Path, folder: Path) -> Path:
    """Save the page's whole files into `folder`, as a reader would, with the npm packages beside them."""
    files = page_files(site, PAGE)
    missing = [name for name in FILES if name not in files]
    assert not missing, f"the page shows no whole {missing}; it shows {sorted(files)}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (folder / name).write_text(files[name], encoding="utf-8")
    # `npm install socket.io-client@4` in the reader's folder: the checkout's own copy stands in.
    (folder / "node_modules").symlink_to(ROOT / "node_modules")
    return folder


def reader_env() -> dict[str, str]:
    """The environment of a reader who installed the engine: it is importable, the checkout is not the cwd."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
