"""Python code run on Pyodide (CPython 3.14 in WebAssembly), from node_modules/pyodide, under Node.

The browser's engine is Pyodide's; Node runs the same WebAssembly, so a test
can check the engine there without a page: `run_in_pyodide(code, packages)`
writes the named packages of this checkout into Pyodide's file system, runs
`code` (top-level await allowed) and returns the value of its last expression,
as text.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.env import ROOT, need

PYODIDE = ROOT / "node_modules" / "pyodide" / "pyodide.mjs"
SKIPPED = ("__pycache__", "static", "socket", "redis")  # what the browser's engine does without

_DRIVER = r"""
import { loadPyodide } from %(pyodide)s;
import fs from "node:fs"; import path from "node:path";
const py = await loadPyodide();
function copy(dir, dest) {
  py.FS.mkdirTree(dest);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, e.name);
    if (e.isDirectory()) { if (!%(skipped)s.includes(e.name)) copy(from, dest + "/" + e.name); }
    else if (e.name.endsWith(".py")) py.FS.writeFile(dest + "/" + e.name, fs.readFileSync(from));
  }
}
for (const [name, dir] of Object.entries(%(packages)s)) copy(dir, "/home/pyodide/" + name);
py.runPython("import sys; sys.path.insert(0, '/home/pyodide')");
const out = await py.runPythonAsync(%(code)s);
process.stdout.write("\n" + String(out));
"""


def run_in_pyodide(code: str, packages: dict[str, Path], timeout: float = 300) -> str:
    node = shutil.which("node")
    need(node is not None and PYODIDE.is_file(), f"needs node and {PYODIDE} (npm ci)")
    script = _DRIVER % {
        "pyodide": json.dumps(PYODIDE.as_uri()), "skipped": json.dumps(list(SKIPPED)),
        "packages": json.dumps({name: str(path) for name, path in packages.items()}), "code": json.dumps(code),
    }
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.mjs"
        driver.write_text(script, encoding="utf-8")
        proc = subprocess.run([str(node), str(driver)], capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stderr.splitlines() if len(line) < 400]  # (Node also prints minified source)
    assert proc.returncode == 0, "Pyodide under Node failed:\n" + "\n".join(lines[-40:])
    return proc.stdout.rsplit("\n", 1)[-1]
