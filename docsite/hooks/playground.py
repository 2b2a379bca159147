"""Ship the "Edit and run" playground with the built site: Pyodide, the engine, the demos and the editor.

MkDocs hook (``hooks:`` in ``mkdocs.yml``), after every build:

- ``<site>/assets/pyodide/``: the Pyodide runtime, copied from ``node_modules/pyodide``
  (the files ``loadPyodide`` fetches; no package of its own repository is ever loaded);
- ``<site>/assets/playground/python.zip``: what the browser's Python imports, the engine
  without its server parts (``engine/socket``, ``engine/redis``, the test client), the
  ``demos`` package, ``docsite/playground_host.py`` (the worker's side) and, as ``httpx``,
  ``docsite/static/playground/httpx_browser.py`` (the fetch demo's client, over ``fetch``);
- ``<site>/assets/playground/sources.json``: each demo module's code as the editor opens it
  (the snippet markers, which only the docs build reads, taken out);
- ``<site>/assets/playground/editor.js``: CodeMirror 6 from npm, bundled by esbuild from
  ``docsite/static/playground/editor.mjs``;
- ``docsite/static/playground/*`` (the page's scripts and the worker) copied as they are;
- ``<site>/playground-sw.js``: the service worker that keeps all of the above for the next
  box and for offline, at the site's root so that its scope covers every page, its cache
  named after a hash of what it caches (a new build, a new cache).

Nothing here runs a visitor's code: the server only serves these files.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.playground")

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "node_modules"
PYODIDE_DIR = NODE_MODULES / "pyodide"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
FETCHED = ("pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")  # (pyodide.asm.mjs is imported)
ESBUILD = NODE_MODULES / ".bin" / "esbuild"
STATIC = REPO_ROOT / "docsite" / "static" / "playground"
EDITOR_ENTRY = STATIC / "editor.mjs"
SERVICE_WORKER = STATIC / "sw.js"
HOST = REPO_ROOT / "docsite" / "playground_host.py"
# The engine's parts a browser has no use for (and whose imports it cannot satisfy).
SERVER_ONLY = ("engine/socket/", "engine/redis/", "engine/testing.py", "engine/testserver.py", "engine/static/")
# Demo modules that need what the browser's Python lacks: shown and edited, not run there (none today:
# the fetch demo's httpx is stood in for by HTTPX_BROWSER, over the page's fetch).
NOT_IN_BROWSER: frozenset[str] = frozenset()
HTTPX_BROWSER = STATIC / "httpx_browser.py"
MARKER = re.compile(r"^\s*# --8<-- \[(start|end):[\w-]+\]\s*\n", re.MULTILINE)
ASSETS = Path("assets") / "playground"
PYODIDE_ASSETS = Path("assets") / "pyodide"
ESBUILD_TIMEOUT = 120  # seconds


def python_files() -> dict[str, bytes]:
    """Archive name -> bytes of every Python file the worker imports."""
    files: dict[str, bytes] = {}
    for package in ("engine", "demos"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            name = path.relative_to(REPO_ROOT).as_posix()
            if "__pycache__" in name or name.startswith(SERVER_ONLY):
                continue
            files[name] = path.read_bytes()
    files["docsite/__init__.py"] = b""
    files["docsite/playground_host.py"] = HOST.read_bytes()
    files["httpx.py"] = HTTPX_BROWSER.read_bytes()
    return files


def editor_sources() -> dict[str, str]:
    """Demo module name -> its code as the reader edits it (without the docs' snippet markers)."""
    sources = {}
    for path in sorted((REPO_ROOT / "demos").glob("*.py")):
        if path.name in ("__init__.py", "pace.py"):
            continue
        module = f"demos.{path.stem}"
        sources[module] = MARKER.sub("", path.read_text(encoding="utf-8"))
    return sources


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # the same bytes for the same files
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def bundle_editor(target: Path) -> None:
    """CodeMirror and our editor module as one ES module (esbuild, from npm)."""
    if not ESBUILD.exists():
        raise PluginError(f"esbuild is missing ({ESBUILD}); run `npm ci` in {REPO_ROOT}")
    cmd = [str(ESBUILD), str(EDITOR_ENTRY), "--bundle", "--format=esm", "--minify", "--legal-comments=none",
           f"--outfile={target}", "--log-level=warning"]
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=ESBUILD_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PluginError(f"esbuild could not bundle the editor: {exc}") from exc
    if proc.returncode != 0:
        raise PluginError(f"esbuild could not bundle the editor:\n{proc.stderr.strip()}")


def build_playground(site_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Write everything the playground needs under `site_dir`; returns the manifest it wrote."""
    site = Path(site_dir)
    runtime = site / PYODIDE_ASSETS
    assets = site / ASSETS
    runtime.mkdir(parents=True, exist_ok=True)
    assets.mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        source = PYODIDE_DIR / name
        if not source.is_file():
            raise PluginError(f"Pyodide's {source} is missing; run `npm ci` in {REPO_ROOT}")
        shutil.copyfile(source, runtime / name)
    (assets / "python.zip").write_bytes(_zip(python_files()))
    sources = editor_sources()
    runnable = {module: module not in NOT_IN_BROWSER for module in sources}
    (assets / "sources.json").write_text(json.dumps({"sources": sources, "runnable": runnable}), encoding="utf-8")
    for path in sorted(STATIC.iterdir()):
        if path.suffix in (".js", ".mjs") and path not in (EDITOR_ENTRY, SERVICE_WORKER):
            shutil.copyfile(path, assets / path.name)
    bundle_editor(assets / "editor.js")
    cached = [f"{PYODIDE_ASSETS.as_posix()}/{name}" for name in PYODIDE_FILES]
    cached += [f"{ASSETS.as_posix()}/{path.name}" for path in sorted(assets.iterdir()) if path.is_file()]
    digest = hashlib.sha256()
    for relative in cached:
        digest.update(relative.encode())
        digest.update((site / relative).read_bytes())
    version = digest.hexdigest()[:16]
    # What the first Edit downloads through fetch (the progress bar's whole): Pyodide's files and ours.
    fetched = [f"{PYODIDE_ASSETS.as_posix()}/{name}" for name in FETCHED] + [f"{ASSETS.as_posix()}/python.zip"]
    load_bytes = sum((site / relative).stat().st_size for relative in fetched)
    manifest = {"version": version, "files": cached, "load_bytes": load_bytes}
    (assets / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    worker = SERVICE_WORKER.read_text(encoding="utf-8").replace("__PLAYGROUND_VERSION__", version)
    (site / "playground-sw.js").write_text(worker, encoding="utf-8")
    return manifest


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    server.watch(str(STATIC))
    server.watch(str(HOST))
    return server


def on_post_build(config: Any) -> None:
    manifest = build_playground(config["site_dir"])
    log.debug("playground: version %s, %d files", manifest["version"], len(manifest["files"]))
