"""The pytest plugin of the contract run on Pyodide (tests/support/pyodide_suite.py), loaded there with `-p`.

It gives each async test a loop that can block until the test ends, applies
the suite's exclusions (deselecting, and recording each one with its reason),
and records every test's outcome, which the run hands back to CPython 3.11.
(A sync test taking an async fixture would get Pyodide's own loop, which
cannot block: it errors there, loudly; such a test is written `async def`.)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.pyodide_suite import EXCLUDED_FILES, EXCLUDED_TESTS, REDIS, REDIS_FIXTURES, RESULTS

_record: dict[str, Any] = {"version": list(sys.version_info[:3]), "platform": sys.platform, "tests": {},
                           "excluded": {}, "collect_errors": {}, "unmatched_exclusions": [], "warnings": []}


TEST_DEADLINE = 60.0  # seconds one test's loop may run: a test that hangs fails, the run goes on


class _Sleep:
    """The selector of a loop with no file descriptors to watch: waiting for the next timer is sleeping."""

    def __init__(self) -> None:
        self._deadline = time.monotonic() + TEST_DEADLINE

    def select(self, timeout: float | None) -> list[Any]:
        if timeout is None:
            raise RuntimeError("the test's loop has nothing left to wait for: no timer, no ready callback")
        if time.monotonic() > self._deadline:
            raise TimeoutError(f"the test's loop ran {TEST_DEADLINE:g}s without the test ending (it hangs?)")
        if timeout > 0:
            time.sleep(timeout)
        return []

    def close(self) -> None:
        pass


class SleepingLoop(asyncio.BaseEventLoop):
    """asyncio's own loop with no I/O: Pyodide's (a browser's) cannot `run_until_complete`, which pytest needs."""

    def __init__(self) -> None:
        super().__init__()
        self._selector = _Sleep()

    def _process_events(self, event_list: list[Any]) -> None:
        pass

    def _write_to_self(self) -> None:
        pass  # (no other thread can add a callback: Pyodide has none)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    return {"sleeping": SleepingLoop}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    relative = collection_path.relative_to(config.rootpath).as_posix()
    if relative in EXCLUDED_FILES:
        _record["excluded"][relative] = EXCLUDED_FILES[relative]
        return True
    return None


def _why_excluded(item: pytest.Item) -> str | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    uses = set(getattr(item, "fixturenames", ()))
    if params.get("manager_kind") == "redis" or uses & set(REDIS_FIXTURES) or item.get_closest_marker("redis"):
        return REDIS
    for start, reason in EXCLUDED_TESTS.items():
        if item.nodeid.startswith(start):
            return reason
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, deselected = [], []
    for item in items:
        reason = _why_excluded(item)
        if reason is None:
            kept.append(item)
        else:
            deselected.append(item)
            _record["excluded"][item.nodeid] = reason
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    _record["unmatched_exclusions"] = [start for start in EXCLUDED_TESTS
                                       if not any(nodeid.startswith(start) for nodeid in _record["excluded"])]


def pytest_warning_recorded(warning_message: Any, when: str, nodeid: str, location: Any) -> None:
    """Warnings are kept (CPython 3.14 deprecates what 3.11 did not), for the run's report."""
    text = f"{warning_message.category.__name__}: {warning_message.message} ({warning_message.filename})"
    if text not in _record["warnings"]:
        _record["warnings"].append(text)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _record["collect_errors"][report.nodeid] = report.longreprtext[-4000:]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A test's outcome is its worst phase's: a failed setup or teardown fails it, a skip is recorded as one."""
    entry = _record["tests"].setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0})
    entry["seconds"] += report.duration
    if report.outcome != "passed" and entry["outcome"] == "passed":
        entry["outcome"] = f"{report.outcome} in {report.when}"
        entry["report"] = report.longreprtext[-4000:]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    with open(RESULTS, "w", encoding="utf-8") as results:
        json.dump(_record, results)
