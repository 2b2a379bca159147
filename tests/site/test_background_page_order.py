"""The Background tasks page and the README lead with the problem and the short version.

The page opens on the problem, live (a regular handler that waits holds its
tab), then the short `concurrency="skip"` counter, then the hand-written
guard with its `finally`. The README's opening snippet is run here, once as
written and once without its policy: as written, a quick Stop and Start
leaves one copy counting; without `skip` it would leave two, the very
duplicate-task bug the lab shows.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.env import ROOT

BOXES_IN_ORDER = [
    "demos.frozen_tab:frozen_tab_example",
    "demos.task_control:skip_counter_example",
    "demos.background_tasks:background_task_example",
]


def test_the_page_shows_the_problem_then_the_short_version_then_the_guard(built_site: Path) -> None:
    page = (built_site / "background-tasks" / "index.html").read_text(encoding="utf-8")
    boxes = re.findall(r'data-rx-demo="([^"]+)"', page)
    assert boxes[:3] == BOXES_IN_ORDER, boxes
    headings = re.findall(r'<h2 id="([^"]+)"', page)
    assert headings[:3] == [
        "the-problem-a-handler-that-waits-holds-its-tab",
        "the-short-version-a-counter-with-concurrencyskip",
        "the-hand-written-guard-and-why-it-needs-finally",
    ], headings
    guard = page.split('id="the-hand-written-guard-and-why-it-needs-finally"', 1)[1].split("<h2", 1)[0]
    assert "finally" in guard and "tab_grace" in guard  # why it needs one: cancellation skips the return


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("```python\n", 1)[1].split("```", 1)[0]


# Runs the snippet in a process of its own, then Start, Stop and Start again while the first copy sleeps.
DRIVER = """
import asyncio, sys
import engine as rx
from engine.testing import TabClient
exec(compile(sys.stdin.read(), "README.md", "exec"))

async def main():
    app = rx.App()
    async with TabClient(app) as tab:
        await tab.send(CounterState.toggle_running)
        await tab.wait_for(lambda t: t.state(CounterState)["counter"] >= 1, timeout=5)
        await tab.send(CounterState.toggle_running)
        await tab.send(CounterState.toggle_running)
        print("copies", len(app.tasks.for_tab(tab.token)))
        await tab.send(CounterState.toggle_running)
        await tab.settle()
        print("errors", len(tab.errors))
    await app.shutdown(timeout=5)

asyncio.run(main())
"""


def _copies_after_a_quick_stop_and_start(snippet: str) -> tuple[int, int]:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER], input=snippet, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    copies = int(re.search(r"^copies (\d+)$", proc.stdout, re.M).group(1))  # type: ignore[union-attr]
    errors = int(re.search(r"^errors (\d+)$", proc.stdout, re.M).group(1))  # type: ignore[union-attr]
    return copies, errors


def test_the_readmes_snippet_runs_and_a_quick_stop_and_start_leaves_one_copy() -> None:
    snippet = readme_snippet()
    assert 'concurrency="skip"' in snippet
    assert _copies_after_a_quick_stop_and_start(snippet) == (1, 0)
    # The same snippet without its policy has the duplicate-task bug.
    unguarded = snippet.replace('@rx.event(background=True, concurrency="skip")', "@rx.event(background=True)")
    assert unguarded != snippet
    assert _copies_after_a_quick_stop_and_start(unguarded) == (2, 0)
