"""The site builds strictly, places live demo boxes, and refuses a missing demo."""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docsite.fences import DemoError, render_demo
from tests.support.env import ROOT

ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=180,
    )


def test_strict_build_has_no_warnings(built_site: Path) -> None:
    assert (built_site / "index.html").is_file()
    for script in ("core.js", "engine.js", "lab.js", "mermaid-loader.js"):
        assert (built_site / "assets" / "engine" / script).is_file(), script
    assert (built_site / "assets" / "engine" / "socket.io.min.js").is_file()


def test_background_tasks_page_has_both_boxes_with_initial_values(built_site: Path) -> None:
    page = (built_site / "background-tasks" / "index.html").read_text()
    assert 'data-rx-demo="demos.background_tasks:background_task_example"' in page
    assert 'data-rx-demo="demos.low_level:low_level_example"' in page
    assert ">0</span> /" in page  # the counter reads right before any script runs
    assert 'value="10"' in page
    assert "Fetch Data" in page


def test_settings_reference_is_generated_from_the_code(built_site: Path) -> None:
    from engine.settings import Settings

    page = (built_site / "reference" / "settings" / "index.html").read_text()
    rows = re.findall(r"<tr>\s*<td[^>]*><code>([a-z_]+)</code></td>\s*<td[^>]*><code>([^<]*)</code>", page)
    assert rows == [(name, html.escape(default, quote=False)) for name, default, *_ in Settings.describe()]
    assert "<code>ENGINE_</code> followed by the setting's" in page  # how each one's variable is named


def test_a_missing_demo_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Demo\n\n```demo\ndemos.background_tasks:no_such_demo\n```\n")
    config = tmp_path / "mkdocs.yml"
    original = (ROOT / "mkdocs.yml").read_text()
    config.write_text(
        original.split("\nnav:")[0].replace("docs_dir: docs", f"docs_dir: {docs}")
        .replace("docsite/hooks/", f"{ROOT}/docsite/hooks/")
        .replace("assets/stylesheets/demo.css", "")
    )
    shutil.copytree(ROOT / "docs" / "assets", docs / "assets")
    result = _build(config, tmp_path / "site")
    assert result.returncode != 0
    assert "no_such_demo" in result.stderr


def test_render_demo_refuses_what_is_not_a_demo() -> None:
    with pytest.raises(DemoError, match="cannot import"):
        render_demo("demos.nope:thing")
    with pytest.raises(DemoError, match="has no function"):
        render_demo("demos.background_tasks:nope")
    with pytest.raises(DemoError, match="module:function"):
        render_demo("demos.background_tasks")


def _page_text(path: Path) -> str:
    """A built page's text, without markup (highlighted code is split into many spans)."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_the_protocol_pages_examples_are_made_by_the_engine(built_site: Path) -> None:
    from docsite.protocol_examples import EXAMPLE_NAMES, example

    text = _page_text(built_site / "site" / "protocol" / "index.html")
    for name in EXAMPLE_NAMES:
        for line in example(name).splitlines():
            assert line in text, f"the protocol page lacks its {name} example {line}"


async def test_the_protocol_pages_refused_event_is_what_a_tab_is_told() -> None:
    import engine as rx
    from demos.background_tasks import MyTaskState
    from docsite.protocol_examples import BAD_LIMIT, setter_acks
    from engine.testing import TabClient

    app = rx.App()
    try:
        async with TabClient(app, states=[MyTaskState]) as tab:
            told = await tab.send(MyTaskState.set_max_counter, BAD_LIMIT)
    finally:
        await app.shutdown(timeout=1)
    shown = await asyncio.to_thread(setter_acks)
    assert told == shown[1] and told["ok"] is False
