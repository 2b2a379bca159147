"""Blocks per second of one background task, on this CPython and on Pyodide (the npm package, under Node).

`python -m bench.browser.blocks [N]` runs `measure(N)` here, then the very same
function in Pyodide: the engine's files are written into Pyodide's file system
and imported there. Node runs the same V8 and WebAssembly engine as Chromium,
so the ratio is the one a reader's browser sees, without a page around it.
Both sides use `LocalApp` (engine/local.py): the engine's own work, with no
Socket.IO on the CPython side either. `measure_on_server(N)` runs the same
task on the server as a visitor's tab meets it: an `rx.App` behind its
Socket.IO server on a loopback port, a `TabClient` receiving every update,
so the last figure compares the reader's browser with the site's server.
"""

from __future__ import annotations

import asyncio
import functools
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


@functools.cache
def _blocks_state() -> type:
    """The state both measurements run: one background task, `blocks` blocks of `self.n += 1`."""
    import engine as rx

    class BenchBlocks(rx.State):
        n: int = 0

        @rx.event(background=True)
        async def spin(self, times: int):
            for _ in range(times):
                async with self:
                    self.n += 1

    return BenchBlocks


async def measure(blocks: int) -> float:
    """Blocks per second of one background task doing `blocks` blocks of `self.n += 1`."""
    from engine.local import LocalApp

    BenchBlocks = _blocks_state()
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


async def measure_on_server(blocks: int) -> float:
    """Blocks per second of the same task on a server `rx.App`, its tab a real socket receiving every update."""
    import engine as rx
    from engine.testing import TabClient

    BenchServerBlocks = _blocks_state()
    app = rx.App()
    try:
        async with TabClient(app, states=[BenchServerBlocks]) as tab:
            began = time.perf_counter()
            await tab.send(BenchServerBlocks.spin, blocks)
            await tab.wait_for(lambda t: t.state(BenchServerBlocks)["n"] == blocks, timeout=600)
            took = time.perf_counter() - began
    finally:
        await app.shutdown(timeout=1)
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
    server = asyncio.run(measure_on_server(blocks))
    browser = in_pyodide(blocks)
    in_browser = float(browser["per_second"])  # type: ignore[arg-type]
    print(f"CPython {sys.version.split()[0]}: {native:,.0f} blocks/s; Pyodide {browser['version']}: "
          f"{in_browser:,.0f} blocks/s; CPython is {native / in_browser:.1f}x faster")
    print(f"on the server (rx.App, a tab on a real socket): {server:,.0f} blocks/s; "
          f"the browser runs {in_browser / server:.2f}x the server's blocks per second")


if __name__ == "__main__":
    main()
