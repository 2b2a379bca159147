"""The engine on Pyodide's CPython 3.14, as a reader's browser runs it: it imports, declares states, runs tabs.

A state declared the 3.14 way (annotations evaluated lazily, PEP 649) gets
its fields, and the tests of tests/engine/test_port.py (a page's tab over a port: updates,
errors in the engine's words, the lab's inspector) run again there, on the
Python the playground uses, beside their CPython 3.11 run.
"""

from __future__ import annotations

import json

from tests.support.env import ROOT
from tests.support.pyodide import run_in_pyodide

CODE = """
import asyncio, inspect, json, sys, traceback
import tests.engine.test_port as suite
results = {"version": sys.version_info[:2]}
for name, test in sorted(vars(suite).items()):
    if name.startswith("test_") and inspect.iscoroutinefunction(test):
        try:
            await test()
            results[name] = "passed"
        except BaseException:
            results[name] = traceback.format_exc()
# Annotations as 3.14 keeps them (PEP 649: lazily, without `from __future__ import annotations`).
ns = {}
exec("import engine as rx\\nclass NoFutureImport(rx.State):\\n    count: int = 0\\n    names: list[str]\\n", ns)
fields = set(ns["NoFutureImport"].var_fields())
results["test_fields_declared_without_the_future_import"] = (
    "passed" if fields == {"count", "names"} else f"fields: {sorted(fields)}")
json.dumps(results)
"""


def test_the_port_tests_pass_on_pyodides_python() -> None:
    packages = {"engine": ROOT / "engine", "tests": ROOT / "tests"}
    results = json.loads(run_in_pyodide(CODE, packages))
    version = tuple(results.pop("version"))
    assert version >= (3, 14), f"Pyodide ran Python {version}"
    assert len(results) >= 3, results
    failed = {name: outcome for name, outcome in results.items() if outcome != "passed"}
    assert not failed, "\n".join(f"{name}:\n{outcome}" for name, outcome in failed.items())
