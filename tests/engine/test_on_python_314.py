"""The contract suite (tests/engine) on CPython 3.14 too: pytest run inside Pyodide, under Node.

No native CPython 3.14 installs here, Pyodide's does (node_modules/pyodide);
tests/support/pyodide_suite.py says how the run works and lists what it
cannot run, with why. This test is the run's verdict on CPython 3.11: every
test file of tests/engine ran there or is excluded by name, nothing failed,
errored or was skipped, and the exclusions all still match a test.
"""

from __future__ import annotations

import pytest

from tests.support.env import ROOT
from tests.support.pyodide_suite import EXCLUDED_FILES, run_contract_suite


@pytest.mark.slow
def test_the_contract_suite_passes_on_cpython_314() -> None:
    run = run_contract_suite()
    assert tuple(run["version"]) >= (3, 14) and run["platform"] == "emscripten", run["version"]
    assert not run["collect_errors"], "\n\n".join(f"{path}:\n{text}" for path, text in run["collect_errors"].items())
    assert not run["unmatched_exclusions"], f"excluded tests that no longer exist: {run['unmatched_exclusions']}"
    tests = run["tests"]
    failed = {nodeid: entry for nodeid, entry in tests.items() if entry["outcome"] != "passed"}
    assert not failed, f"{len(failed)} of {len(tests)} failed on Python {run['version']}:\n\n" + "\n\n".join(
        f"{nodeid} ({entry['outcome']}):\n{entry.get('report', '')}" for nodeid, entry in failed.items())
    ran = {nodeid.split("::")[0] for nodeid in [*tests, *run["excluded"]]}
    files = {path.relative_to(ROOT).as_posix() for path in (ROOT / "tests" / "engine").glob("test_*.py")}
    assert files - ran - set(EXCLUDED_FILES) == set(), "test files that neither ran nor are excluded"
    assert run["exit_status"] == 0, run["exit_status"]
