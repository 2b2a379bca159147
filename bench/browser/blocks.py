"""Blocks per second of one background task, on this CPython and on Pyodide (the npm package, under Node).

`python -m bench.browser.blocks [N]` runs `measure(N)` here, then the very same
function in Pyodide: the engine's files are written into Pyodide's file system
and imported there. Node runs the same V8 and WebAssembly engine as Chromium,
so the ratio is the one a reader's browser sees, without a page around it.
Both sides use `LocalApp` (engine/local.py): the engine's own work, with no
Socket.IO on the CPython side either.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYODIDE = ROOT / "node_modules" / "pyodide" / "pyodide.mjs"

_NODE_DRIVER = r"""
import { loadPyodide } from %(pyodide)s;
import fs from "node:fs"; import path from "node:path";
const py = await loadPyodide();
function copy(dir, dest) {
  py.FS.mkdirTree(dest);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, e.name);
    const skip = ["__pycache__", "static", "socket", "redis"].includes(e.name);
    if (e.isDirectory()) { if (!skip) copy(from, dest + "/" + e.name); }
    else if (e.name.endsWith(".py")) py.FS.writeFile(dest + "/" + e.name, fs.readFileSync(from));
  }
}
copy(%(engine)s, "/home/pyodide/engine");
py.FS.mkdirTree("/home/pyodide/bench/browser");
py.FS.writeFile("/home/pyodide/bench/__init__.py", "");
py.FS.writeFile("/home/pyodide/bench/browser/__init__.py", "");
py.FS.writeFile("/home/pyodide/bench/browser/blocks.py", fs.readFileSync(%(self)s));
const out = await py.runPythonAsync(`
import sys, json
sys.path.insert(0, "/home/pyodide")
from bench.browser.blocks import measure
json.dumps({"version": sys.version.split()[0], "per_second": await measure(%(n)d)})
`);
console.log(out);
"""


async def measure(blocks: int) -> float:
    """Blocks per second of one background task doing `blocks` blocks of `self.n += 1`."""
    import engine as rx
    from engine.local import LocalApp

    class BenchBlocks(rx.State):
        n: int = 0

        @rx.event(background=True)
        async def spin(self, times: int):
            for _ in range(times):
                async with self:
                    self.n += 1

    app = LocalApp()
    tab = app.tab(lambda name, data: None)
    await tab.connect({"states": [BenchBlocks.get_full_name()]})
    began = time.perf_counter()
    await tab.receive("event", {"id": "1", "name": f"{BenchBlocks.get_full_name()}.spin", "args": [blocks]})
    while app.background_tasks:
        await asyncio.sleep(0)
    took = time.perf_counter() - began
    await app.shutdown(1)
    return blocks / took


def in_pyodide(blocks: int) -> dict[str, object]:
    node = shutil.which("node")
    if node is None or not PYODIDE.is_file():
        raise SystemExit("needs node and node_modules/pyodide (npm ci)")
    script = _NODE_DRIVER % {"pyodide": json.dumps(PYODIDE.as_uri()), "engine": json.dumps(str(ROOT / "engine")),
                             "self": json.dumps(str(Path(__file__).resolve())), "n": blocks}
    with tempfile.NamedTemporaryFile("w", suffix=".mjs", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run([node, handle.name], capture_output=True, text=True, check=True, timeout=600).stdout
    finally:
        Path(handle.name).unlink()
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    blocks = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    native = asyncio.run(measure(blocks))
    browser = in_pyodide(blocks)
    ratio = native / float(browser["per_second"])  # type: ignore[arg-type]
    print(f"CPython {sys.version.split()[0]}: {native:,.0f} blocks/s; Pyodide {browser['version']}: "
          f"{browser['per_second']:,.0f} blocks/s; CPython is {ratio:.1f}x faster")


if __name__ == "__main__":
    main()
