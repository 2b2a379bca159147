"""The lab's expected pictures: every "Watch:" line has one, drawn at build time with the panel's marks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docsite.timelines import TimelineError, render_timeline
from tests.support.env import ROOT


def test_every_watch_line_of_the_lab_is_followed_by_its_picture() -> None:
    page = (ROOT / "docs" / "lab.md").read_text(encoding="utf-8")
    watches = [m.start() for m in re.finditer(r"^- \*\*Watch:\*\*", page, re.M)]
    assert len(watches) >= 6
    for i, start in enumerate(watches):
        end = watches[i + 1] if i + 1 < len(watches) else len(page)
        following = page[start:end].split("\n## ", 1)[0]
        if "reports each step" in following:
            continue  # the tab-gone box: its picture is the other window, not a timeline
        assert "```timeline\ntitle: Expected" in following, page[start:start + 80]


def test_the_built_pictures_are_named_images_with_the_panels_marks(built_site: Path) -> None:
    page = (built_site / "lab" / "index.html").read_text(encoding="utf-8")
    figures = re.findall(r'<figure class="lab-expected">(.*?)</figure>', page, re.S)
    assert len(figures) >= 6
    for figure in figures:
        assert re.search(r'<svg class="lab-svg" role="img" aria-label="Expected: [^"]+"', figure), figure[:200]
        assert 'class="lab-hold"' in figure and "<figcaption>Expected: " in figure


def test_a_timeline_that_cannot_be_drawn_stops_the_build() -> None:
    with pytest.raises(TimelineError, match="unknown mark"):
        render_timeline("events: blink 3")
    with pytest.raises(TimelineError, match="outside 0..100"):
        render_timeline("events: hold 90-120")
    with pytest.raises(TimelineError, match="not `lane: marks`"):
        render_timeline("events hold 1-2")
    svg = render_timeline("title: Expected: one hold\nevents: hold 10-20, update 20, end 21")
    assert svg.count("<rect") == 1 and svg.count("<circle") == 1 and 'aria-label="Expected: one hold"' in svg
