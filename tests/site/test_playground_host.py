"""The playground worker's Python side (docsite/playground_host.py), here on CPython: runs, errors, re-runs.

It changes the engine's tree of state classes and `sys.modules` on purpose
(that is how a re-run leaves nothing behind), so each test drives it in a
process of its own, on a copy of the demos, as the worker does on its own
file system.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.support.env import ROOT

MODULE = "demos.background_tasks"
STEP = "                    self.counter += 1\n"

SCRIPT = textwrap.dedent('''
    import asyncio, json, sys
    sys.path.insert(0, sys.argv[1])
    from docsite.playground_host import Host
    from engine.state import State

    async def main(runs):
        host = Host(sys.argv[1])
        out = []
        for sources in runs:
            answer = json.loads(await host.run(json.dumps(sources)))
            seen = []
            if answer["ok"]:
                await host.connect(1, json.dumps({"states": ["state.my_task_state"]}),
                                   lambda name, text: seen.append([name, json.loads(text)]))
                ack = json.loads(await host.receive(1, "event", json.dumps(
                    {"id": "1", "name": "state.my_task_state.toggle_running", "args": []})))
                await asyncio.sleep(0.3)
                answer["ack"] = ack
                answer["counters"] = [d["delta"]["state.my_task_state"]["counter"] for n, d in seen
                                      if n == "update" and "counter" in d.get("delta", {}).get("state.my_task_state", {})]
                answer["classes"] = sorted(State._rx_children)
                answer["tasks"] = len(host.app.background_tasks)
            out.append(answer)
        await host.stop()
        print(json.dumps(out))

    asyncio.run(main(json.loads(sys.stdin.read())))
''')


def _runs(tmp_path: Path, runs: list[dict[str, str]]) -> list[dict[str, Any]]:
    shutil.copytree(ROOT / "demos", tmp_path / "demos", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(ROOT), "DEMO_PACE": "0.1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], input=json.dumps(runs), env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return list(json.loads(proc.stdout.strip().splitlines()[-1]))


def _original() -> str:
    return (ROOT / "demos" / "background_tasks.py").read_text(encoding="utf-8")


def test_an_edit_runs_and_a_second_run_replaces_the_first_with_nothing_left(tmp_path: Path) -> None:
    twos = _original().replace(STEP, STEP.replace("+= 1", "+= 2"))
    first, second = _runs(tmp_path, [{MODULE: twos}, {MODULE: _original()}])
    assert first["ok"] and first["ack"] == {"ok": True}
    assert first["counters"][:2] == [2, 4]
    assert second["ok"] and second["counters"][:2] == [1, 2]  # the old class and its task are gone
    assert second["classes"] == first["classes"] == ["my_task_state"]


def test_a_syntax_error_comes_back_with_its_line_and_column(tmp_path: Path) -> None:
    lines = _original().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("class MyTaskState")) + 1
    lines[at - 1] = "class MyTaskState(rx.State:\n"
    (answer,) = _runs(tmp_path, [{MODULE: "".join(lines)}])
    assert answer["ok"] is False and answer["kind"] == "syntax"
    assert (answer["module"], answer["line"]) == (MODULE, at)
    assert answer["message"].startswith("SyntaxError")


def test_an_error_while_importing_names_the_line_of_the_demo_that_raised(tmp_path: Path) -> None:
    code = _original().replace("    running: bool = False\n", "    running: bool = False\n    label: int\n")
    at = code.splitlines().index("    label: int") + 1
    (answer,) = _runs(tmp_path, [{MODULE: code}])
    assert answer["ok"] is False and answer["kind"] == "error"
    assert answer["message"].startswith("StateDefinitionError") and "label" in answer["message"]
    assert answer["module"] == MODULE
    assert answer["line"] is not None and answer["line"] <= at  # the class statement that holds it, or the line
