""""Your first background task": the page's code is the reader's two files, and its tests pass.

The files are taken from the built page (the text a reader copies), saved in
a folder of their own and run there, as a reader runs them; the browser test
(tests/browser/test_first_task.py) serves the same app.py and uses the page.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.env import ROOT
from tests.support.first_task import PAGE, PYTHON, reader_env, reader_folder
from tests.support.page_code import titled_blocks


def test_each_part_the_page_explains_is_in_the_whole_file(built_site: Path) -> None:
    blocks = titled_blocks((built_site / PAGE / "index.html").read_text(encoding="utf-8"))
    whole = {title: code for title, code in blocks if "(" not in title}
    parts = [(title, code) for title, code in blocks if title.startswith("app.py (part")]
    assert len(parts) == 4, [title for title, _ in blocks]
    for title, code in parts:
        assert code.strip() and code.strip() in whole["app.py"], f"{title} is not a part of the whole app.py"
    # The whole file is the demo source without its section markers, nothing more or less.
    source = (ROOT / "demos" / "first_task" / "app.py").read_text(encoding="utf-8")
    assert whole["app.py"] == "".join(line for line in source.splitlines(True) if "--8<--" not in line)


def test_the_tests_on_the_page_pass_in_a_readers_folder(built_site: Path, tmp_path: Path) -> None:
    folder = reader_folder(built_site, tmp_path / "countdown")
    expected = len(re.findall(r"^async def test_|^def test_", (folder / "test_app.py").read_text(), re.M))
    assert expected == 3
    proc = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "test_app.py"],
        cwd=folder, env=reader_env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(rf"\b{expected} passed\b", proc.stdout), proc.stdout
