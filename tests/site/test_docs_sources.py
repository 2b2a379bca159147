"""The docs show demo code only through snippets from demos/, and say nothing the seeds say."""

from __future__ import annotations

import re
from pathlib import Path
from tests.support.env import ROOT, need


DOCS = ROOT / "docs"
DEMOS = ROOT / "demos"
SEEDS = ROOT.parent / "shared" / "seeds"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(```|~~~)(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)\2[ \t]*$", re.M | re.S)
SNIPPET = re.compile(r'--8<--\s+"(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"')


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _demo_lines() -> set[str]:
    lines: set[str] = set()
    for path in DEMOS.glob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if len(stripped) >= 12 and not stripped.startswith(("#", '"""', "import ", "from ")):
                lines.add(stripped)
    return lines


def shows_demo_code(body: str, demo_lines: set[str], run: int = 3) -> bool:
    """Whether a code block repeats `run` or more consecutive distinctive lines of a demo."""
    streak = 0
    for line in body.splitlines():
        if line.strip() in demo_lines:
            streak += 1
            if streak >= run:
                return True
        elif line.strip():
            streak = 0
    return False


def test_code_blocks_do_not_copy_demo_code_by_hand() -> None:
    demo_lines = _demo_lines()
    offenders = []
    for page in _pages():
        for fence in FENCE.finditer(page.read_text()):
            body = fence.group("body")
            if "--8<--" in body:
                continue
            if shows_demo_code(body, demo_lines):
                offenders.append(f"{page.relative_to(ROOT)}: a ```{fence.group('info').strip()} block")
    assert not offenders, "demo code must be included with --8<-- from demos/: " + "; ".join(offenders)


def test_the_copy_check_catches_a_pasted_demo() -> None:
    pasted = (DEMOS / "background_tasks.py").read_text()
    assert shows_demo_code(pasted, _demo_lines())
    assert not shows_demo_code("x = 1\nprint(x)\n", _demo_lines())


BENCH_FIGURES = DOCS / "assets" / "bench"  # tables that `nox -s bench -- --publish` writes, not code


def test_every_snippet_names_an_existing_demo_section() -> None:
    found = 0
    for page in _pages():
        for match in SNIPPET.finditer(page.read_text()):
            path = ROOT / match.group("path")
            assert path.is_file(), f"{page.name} includes missing file {path}"
            if path.parent == BENCH_FIGURES and path.suffix == ".txt":
                continue
            found += 1
            # A demo module, or a reader's file of the tutorial (demos/first_task/, not a package).
            assert path.parent in (DEMOS, DEMOS / "first_task"), f"{page.name} includes {path}, not a demo module"
            section = match.group("section")
            if section:
                assert f"[start:{section}]" in path.read_text(), f"{path.name} has no section {section}"
    assert found >= 4, "the Background tasks page should include both demos' code"


def test_both_demos_are_placed_on_the_background_tasks_page() -> None:
    page = (DOCS / "background-tasks.md").read_text()
    assert "demos.background_tasks:background_task_example" in page
    assert "demos.low_level:low_level_example" in page


def _sentences(text: str) -> set[str]:
    text = re.sub(r"`[^`]*`", " ", text)
    words = re.findall(r"[a-z']+", text.lower())
    return {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}


def test_no_page_repeats_eight_words_in_a_row_from_the_reference_pages() -> None:
    need(SEEDS.is_dir(), f"the reference pages are not at {SEEDS} (they live beside the repository)")
    seeds: set[str] = set()
    for seed in SEEDS.iterdir():
        seeds |= _sentences(seed.read_text(errors="replace"))
    copied = {}
    for page in _pages():
        prose = FENCE.sub(" ", page.read_text())
        overlap = _sentences(prose) & seeds
        if overlap:
            copied[page.name] = sorted(overlap)[:3]
    assert not copied, f"pages repeat the reference pages word for word: {copied}"
