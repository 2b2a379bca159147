"""The engine's contract tests on CPython 3.14: pytest itself run inside Pyodide, under Node.

No CPython 3.14 installs here but Pyodide's (node_modules/pyodide, 314.x),
so the run goes there: pytest and its plugins, python-socketio and the
checkout are copied into Pyodide's file system (run_in_pyodide), and
`pytest tests/engine` runs as on CPython 3.11, with two differences: each
async test runs on a plain asyncio loop that sleeps between callbacks
(tests/support/pyodide_plugin.py: Pyodide's own loop cannot block until a
test ends), and every TabClient is in-process (engine/testing/inprocess.py:
the App's ASGI app called directly, Socket.IO layer included, as there are
no sockets).

What does not run there is listed here, each with its reason, and the run
reports every test it deselects for it: nothing is skipped unsaid.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.env import ROOT
from tests.support.pyodide import run_in_pyodide

PATHS = ["tests/engine"]  # the contract suite: states, vars, handlers, blocks, tasks, modify_state, views, limits
RESULTS = "/home/pyodide/pyodide-results.json"

# Whole files pytest does not even import there.
EXCLUDED_FILES = {
    "tests/engine/test_on_python_314.py": "it is what launches this run, under Node",
    "tests/engine/test_properties.py": "hypothesis 6.170 needs its compiled core (hypothesis._native), "
    "which has no WebAssembly build",
    "tests/engine/test_changes_property.py": "hypothesis (as above)",
    "tests/engine/test_guarantee_properties.py": "hypothesis (as above)",
    "tests/engine/test_merged_updates.py": "hypothesis (as above)",
    "tests/engine/test_resume.py": "Redis only (it imports redis-py and needs a redis-server: see REDIS)",
}

# Tests collected and deselected, by the start of their node id.
_HTTP = "the demo fetches a quote over HTTP from a test server on a loopback port (uvicorn: sockets)"
EXCLUDED_TESTS = {
    "tests/engine/test_port.py::test_the_engine_imports_with_the_standard_library_alone":
        "it starts `sys.executable` in a subprocess, and Pyodide has no processes",
    "tests/engine/test_tabclient.py::test_a_tab_client_can_talk_to_a_server_that_is_already_running":
        "it is about a TabClient given the url of a running server: there is no server without sockets",
    "tests/engine/test_tabclient.py::test_tab_clients_of_one_app_share_one_server":
        "it is about the loopback server socket tabs share: in-process tabs have none",
    "tests/engine/test_seed_examples.py::test_fetch_demo_result_arrives_from_a_plain_asyncio_task": _HTTP,
    "tests/engine/test_seed_examples.py::test_fetch_demo_tasks_of_two_tabs_update_their_own_tab": _HTTP,
    "tests/engine/test_lab_demos.py::test_fetch_the_coroutine_that_calls_modify_state_has_a_lane_of_its_own": _HTTP,
    "tests/engine/test_gc_tuning.py::test_many_tabs_in_flight_no_longer_trigger_full_collections":
        "it measures the generational collector of CPython 3.11-3.13 (full collections from young churn); "
        "3.14's collector is incremental and has none to count",
}

# Deselected by what they use: on Pyodide, a test's App is on the memory manager only.
REDIS = "the Redis manager needs a redis-server process and a socket to it (the memory manager is what runs)"
REDIS_FIXTURES = ("redis_server",)  # (and the `redis` mark, and `manager_kind` "redis")

# Pure-Python packages the run needs, copied from this environment (Pyodide has no network).
DISTRIBUTIONS = (
    "pytest", "pluggy", "iniconfig", "packaging", "Pygments", "pytest-asyncio",
    "python-socketio", "python-engineio", "bidict",
    "httpx", "httpcore", "h11", "anyio", "certifi", "idna",  # (demos/low_level.py fetches with httpx)
    "pymdown-extensions", "Markdown",  # (docsite/fences.py renders the demos' fences)
)

_CODE = """
import asyncio, json, pytest
asyncio._set_running_loop(None)  # (Pyodide's own loop counts as running: pytest-asyncio starts its own)
status = pytest.main([*%(paths)r, "-p", "tests.support.pyodide_plugin", "-p", "no:cacheprovider",
                      "-o", "addopts=", "--strict-markers", "-q", "--tb=short"])
with open(%(results)r) as results:
    outcome = json.load(results)
outcome["exit_status"] = int(status)
json.dumps(outcome)
"""


def run_contract_suite(timeout: float = 540) -> dict[str, Any]:
    """Run the suite on Pyodide; what the plugin recorded: the version, each test's outcome, what was excluded."""
    packages = {name: ROOT / name for name in ("engine", "tests", "demos", "docsite")}
    packages["pyproject.toml"] = ROOT / "pyproject.toml"  # pytest's settings (asyncio_mode, markers...)
    code = _CODE % {"paths": PATHS, "results": RESULTS}
    text = run_in_pyodide(code, packages, timeout, distributions=DISTRIBUTIONS, skipped=("__pycache__",),
                          run_async=False, environ={"ENGINE_TAB_TRANSPORT": "in-process"})
    result: dict[str, Any] = json.loads(text)
    return result
