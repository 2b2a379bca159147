"""Python code run on Pyodide (CPython 3.14 in WebAssembly), from node_modules/pyodide, under Node.

The browser's engine is Pyodide's; Node runs the same WebAssembly, so a test
can check the engine there without a page: `run_in_pyodide(code, packages)`
writes the named packages of this checkout into Pyodide's file system, runs
`code` (top-level await allowed) and returns the value of its last expression,
as text. `distributions` are pure-Python packages installed here (pytest...)
copied in beside them: Pyodide has no network to install them from.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tests.support.env import ROOT, need

PYODIDE = ROOT / "node_modules" / "pyodide" / "pyodide.mjs"
SKIPPED = ("__pycache__", "static", "socket", "redis")  # what the browser's engine does without
HOME = "/home/pyodide"  # the checkout's packages go here, on sys.path
SITE = HOME + "/site"  # and copied distributions here, also on sys.path

_DRIVER = r"""
import { loadPyodide } from %(pyodide)s;
import fs from "node:fs"; import path from "node:path";
const py = await loadPyodide();
for (const [from, dest] of %(files)s) {
  py.FS.mkdirTree(path.posix.dirname(dest));
  py.FS.writeFile(dest, fs.readFileSync(from));
}
py.runPython(%(setup)s);
const out = %(run_async)s ? await py.runPythonAsync(%(code)s) : py.runPython(%(code)s);
process.stdout.write("\n" + String(out));
"""


def run_in_pyodide(
    code: str, packages: dict[str, Path], timeout: float = 300, *, distributions: Iterable[str] = (),
    skipped: Iterable[str] = SKIPPED, run_async: bool = True, environ: dict[str, str] | None = None,
) -> str:
    """Run `code` on Pyodide with `packages` (a directory's .py files, or one file) and `distributions`.

    With `run_async=False` the code runs as a plain script (no top-level await, no running loop).
    """
    node = shutil.which("node")
    need(node is not None and PYODIDE.is_file(), f"needs node and {PYODIDE} (npm ci)")
    files = [*_checkout_files(packages, tuple(skipped)), *_distribution_files(distributions)]
    setup = f"import os, sys; sys.path[:0] = [{HOME!r}, {SITE!r}]; os.chdir({HOME!r}); "
    setup += f"os.environ.update({dict(environ or {})!r})"
    script = _DRIVER % {
        "pyodide": json.dumps(PYODIDE.as_uri()), "files": json.dumps(files), "setup": json.dumps(setup),
        "run_async": json.dumps(run_async), "code": json.dumps(code),
    }
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.mjs"
        driver.write_text(script, encoding="utf-8")
        proc = subprocess.run([str(node), str(driver)], capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stderr.splitlines() if len(line) < 400]  # (Node also prints minified source)
    assert proc.returncode == 0, "Pyodide under Node failed:\n" + "\n".join(lines[-40:])
    return proc.stdout.rsplit("\n", 1)[-1]


def _checkout_files(packages: dict[str, Path], skipped: tuple[str, ...]) -> list[tuple[str, str]]:
    files = []
    for name, path in packages.items():
        if path.is_file():
            files.append((str(path), f"{HOME}/{name}"))
            continue
        for source in sorted(path.rglob("*.py")):
            relative = source.relative_to(path)
            if not any(part in skipped for part in relative.parts[:-1]):
                files.append((str(source), f"{HOME}/{name}/{relative.as_posix()}"))
    return files


def _distribution_files(names: Iterable[str]) -> list[tuple[str, str]]:
    """Every file of these installed distributions (their metadata too: pytest finds plugins by it)."""
    files = []
    for name in names:
        distribution = importlib.metadata.distribution(name)
        for file in distribution.files or ():
            source = Path(str(distribution.locate_file(file)))
            if "__pycache__" not in file.parts and source.suffix not in (".pyc", ".so") and source.is_file():
                files.append((str(source), f"{SITE}/{file.as_posix()}"))
    return files
