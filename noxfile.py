"""Sessions: `nox -s docs` serves the site, `nox -s tests` runs what CI runs (.ci/run).

Every session installs pinned packages (requirements/lock.txt as constraints),
so a fresh machine builds the same site and runs the same tests.
"""

from __future__ import annotations

import json
import os
import shutil

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

LOCK = "requirements/lock.txt"
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def _install(session: nox.Session, *groups: str) -> None:
    args = []
    for group in groups:
        args += ["-r", f"requirements/{group}.in"]
    session.install("-c", LOCK, *args)
    session.install("--no-deps", "-e", ".")


def _npm(session: nox.Session) -> None:
    """Install the browser-side packages package.json names, when any of them is missing."""
    if shutil.which("npm") is None:
        session.error("npm is needed for the browser-side packages (socket.io client, ESLint): install Node.js, npm")
    with open("package.json", encoding="utf-8") as manifest:
        declared = json.load(manifest)
    packages = {**declared["dependencies"], **declared.get("devDependencies", {})}
    if any(not os.path.exists(f"node_modules/{name}/package.json") for name in packages):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)


def _lint(session: nox.Session) -> None:
    session.run("ruff", "check", ".")
    session.run("mypy")
    session.run("lint-imports", "--no-cache")  # the layers contract (pyproject.toml)


def _browser_code(session: nox.Session) -> None:
    session.run("npm", "run", "--silent", "lint", external=True)  # ESLint, eslint.config.js
    session.run("npm", "test", "--silent", external=True)  # node --test tests/site/js/


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site and serve it with live demos: nox -s docs [-- --host H --port N]."""
    _install(session, "runtime", "docs")
    _npm(session)
    session.run("mkdocs", "build", "--strict", "--quiet")
    session.run("python", "-m", "docsite", "serve", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite, and what CI runs: the checks of `lint` and `js` first (seconds), the strict
    site build, then pytest: unit, real sockets, Redis, browser tests and the installed wheel
    (tests/site/test_install.py). nox -s tests -- ARGS passes ARGS to pytest."""
    _install(session, "runtime", "docs", "tests")
    _npm(session)
    _lint(session)
    _browser_code(session)
    session.run("mkdocs", "build", "--strict", "--quiet")
    session.run("pytest", *session.posargs)


FAULTS = ["tests/redis/test_redis_restart.py", "tests/redis/test_paused_worker.py", "tests/redis/test_deploy.py",
          "tests/engine/test_resume.py", "tests/redis/test_recovery.py", "tests/redis/test_stream.py",
          "tests/redis/test_failover.py", "tests/redis/test_sentinel.py", "tests/redis/test_partition.py"]


@nox.session
def faults(session: nox.Session) -> None:
    """The fault tests alone (a Redis restart, a paused worker, a deploy, a Sentinel failover, a worker cut off
    from Redis, a slow Redis), for an operator checking a change:
    nox -s faults [-- ARGS]. They are part of `nox -s tests` too."""
    _install(session, "runtime", "tests")
    session.run("pytest", "-n", "0", *FAULTS, *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """The load tests, LOAD_SCALE (default 25) times bigger than CI runs them: nox -s soak [-- -k NAME]."""
    _install(session, "runtime", "docs", "tests")
    _npm(session)
    session.env.setdefault("LOAD_SCALE", os.environ.get("LOAD_SCALE", "25"))
    session.run("pytest", "-m", "load", "-n", "0", "-p", "no:cacheprovider", *session.posargs)  # one at a time


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict on the engine, and the layers contract (import-linter)."""
    _install(session, "runtime", "docs", "tests")
    _lint(session)


@nox.session(venv_backend="none")
def js(session: nox.Session) -> None:
    """The browser code: ESLint, and the unit tests of its pure parts (node --test)."""
    _npm(session)
    _browser_code(session)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks beside Reflex 0.10.1 (installed only here), about 5 minutes.

    nox -s bench -- --quick      a smoke run of every section at small sizes (CI)
    nox -s bench -- --publish    also write the charts and results under docs/assets/bench
    nox -s bench -- --only redis,scale   some sections only (see python -m bench --help)
    """
    _install(session, "runtime", "tests")
    session.install("reflex==0.10.1")
    session.run("python", "-m", "bench", *session.posargs)
