"""Ship the demo boxes' browser runtime with the built site.

MkDocs hook (``hooks:`` in ``mkdocs.yml``). After every build it copies

- ``node_modules/socket.io-client/dist/socket.io.min.js`` (and its ``.map``)
- ``engine/static/core.js`` and ``engine/static/engine.js``, the demo boxes'
  runtime (core.js: its pure parts, which lab.js uses too)
- ``docsite/static/lab.js``, the boxes' "Show what the server does" panels
- ``docsite/static/mermaid-loader.js`` and ``node_modules/mermaid/dist/mermaid.min.js``:
  the diagrams, drawn in the page by Mermaid served from the site itself

into ``<site_dir>/assets/engine/``, where ``extra_javascript`` loads them, in
this order: ``socket.io.min.js``, ``core.js``, ``engine.js``, ``lab.js``,
``mermaid-loader.js`` (which loads ``mermaid.min.js`` only on a page that
has a diagram).

The npm packages are pinned in ``package.json`` / ``package-lock.json`` at
the repository root; ``node_modules`` is never committed. When it is missing
or holds another version than the lockfile, the hook runs ``npm ci`` (``npm
install`` when there is no lockfile) in the repository root first. Paths are
resolved from this file, not from the working directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.assets")

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "socket.io-client"
PACKAGE_DIR = REPO_ROOT / "node_modules" / PACKAGE
BUNDLE = PACKAGE_DIR / "dist" / "socket.io.min.js"
BUNDLE_MAP = PACKAGE_DIR / "dist" / "socket.io.min.js.map"
MERMAID = "mermaid"
MERMAID_BUNDLE = REPO_ROOT / "node_modules" / MERMAID / "dist" / "mermaid.min.js"
# Each npm package the site ships, with the file of it that is copied.
BUNDLES = {PACKAGE: BUNDLE, MERMAID: MERMAID_BUNDLE,
           # (the playground's, which docsite/hooks/playground.py copies and bundles: installed here too)
           "pyodide": REPO_ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm",
           "codemirror": REPO_ROOT / "node_modules" / "codemirror" / "package.json",
           "esbuild": REPO_ROOT / "node_modules" / "esbuild" / "package.json"}
# The engine's browser runtime ships with the engine; the site's own scripts live with the site.
ENGINE_STATIC = REPO_ROOT / "engine" / "static"
SITE_STATIC = REPO_ROOT / "docsite" / "static"
CORE = ENGINE_STATIC / "core.js"
RUNTIME = ENGINE_STATIC / "engine.js"
LAB = SITE_STATIC / "lab.js"
MERMAID_LOADER = SITE_STATIC / "mermaid-loader.js"
SCRIPTS = (CORE, RUNTIME, LAB, MERMAID_LOADER)
LOCKFILE = REPO_ROOT / "package-lock.json"
# Relative to site_dir; extra_javascript lists the two scripts under it.
ASSET_DIR = Path("assets") / "engine"

NPM_TIMEOUT = 600  # seconds

INSTALL_HINT = (
    f"Install Node.js with npm (for example `apt-get install nodejs npm`), then run `npm ci` in {REPO_ROOT}."
)


def _locked_version(package: str = PACKAGE) -> str | None:
    """The version of `package` that package-lock.json pins, if it says."""
    try:
        lock = json.loads(LOCKFILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = (lock.get("packages") or {}).get(f"node_modules/{package}") or {}
    version = entry.get("version")
    return version if isinstance(version, str) else None


def _installed_version(package: str = PACKAGE) -> str | None:
    try:
        meta = json.loads((REPO_ROOT / "node_modules" / package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = meta.get("version")
    return version if isinstance(version, str) else None


def _needs_install() -> bool:
    for package, bundle in BUNDLES.items():
        if not bundle.is_file():
            return True
        locked = _locked_version(package)
        if locked is not None and locked != _installed_version(package):
            return True
    return False


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise npm runs of concurrent builds of this checkout (POSIX only)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    digest = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"docsite-npm-{digest}.lock"
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node_modules() -> None:
    """Make sure the pinned socket.io-client and mermaid are installed, running npm if not."""
    if not _needs_install():
        return
    with _install_lock():
        if not _needs_install():  # another build installed it meanwhile
            return
        npm = shutil.which("npm")
        if npm is None:
            missing = ", ".join(str(bundle) for bundle in BUNDLES.values() if not bundle.is_file()) or "outdated"
            raise PluginError(
                f"The docs need {' and '.join(BUNDLES)} from npm ({missing}) and `npm` "
                f"is not on PATH. {INSTALL_HINT}"
            )
        cmd = [npm, "ci"] if LOCKFILE.is_file() else [npm, "install"]
        cmd += ["--no-audit", "--no-fund"]
        log.info("assets: running `%s` in %s", " ".join(cmd), REPO_ROOT)
        try:
            proc = subprocess.run(
                cmd,
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                env={**os.environ, "NO_UPDATE_NOTIFIER": "1"},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PluginError(f"`{' '.join(cmd)}` could not run: {exc}. {INSTALL_HINT}") from exc
        if proc.returncode != 0:
            # npm names the problem first and the debug log's path last.
            lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
            if len(lines) > 16:
                lines = [*lines[:12], "...", *lines[-2:]]
            tail = "\n".join(lines)
            raise PluginError(
                f"`{' '.join(cmd)}` failed with exit code {proc.returncode} in {REPO_ROOT}:\n"
                f"{tail}\n{INSTALL_HINT}"
            )
        for bundle in BUNDLES.values():
            if not bundle.is_file():
                raise PluginError(f"`{' '.join(cmd)}` succeeded but {bundle} is still missing.")


def copy_assets(site_dir: str | os.PathLike[str]) -> list[Path]:
    """Copy the scripts and the npm bundles into ``<site_dir>/assets/engine``."""
    ensure_node_modules()
    for script in SCRIPTS:
        if not script.is_file():
            raise PluginError(f"The site's script {script} is missing.")
    dest = Path(site_dir) / ASSET_DIR
    dest.mkdir(parents=True, exist_ok=True)
    sources = [BUNDLE, *SCRIPTS, MERMAID_BUNDLE]
    if BUNDLE_MAP.is_file():
        sources.append(BUNDLE_MAP)
    copied = []
    for src in sources:
        target = dest / src.name
        shutil.copyfile(src, target)
        copied.append(target)
    return copied


def on_pre_build(config: Any) -> None:
    # Fail before rendering every page when npm cannot provide the client.
    ensure_node_modules()


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    # `mkdocs serve` rebuilds when the scripts change, not only the docs.
    for script in SCRIPTS:
        server.watch(str(script))
    return server


def on_post_build(config: Any) -> None:
    copied = copy_assets(config["site_dir"])
    log.debug("assets: copied %s", ", ".join(str(p) for p in copied))
