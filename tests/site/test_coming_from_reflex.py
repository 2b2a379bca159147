"""Readers coming from Reflex: the names that are this engine's own are marked, and the reference page is named.

A build check: the API reference marks each of the engine's own names with a
"This engine's own" note (or says so in its row), and the Background tasks page has a
"Coming from Reflex" section that names the Reflex page the site follows.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

OWN_SECTIONS = [
    "options-concurrency-and-lifetime",
    "task-status-and-cancel",
    "await-selfset_progressdone-total",
    "tasks-on-the-server",
    "rxshow_backend_varsstate_classes",
]
REFLEX_PAGE = "https://reflex.dev/docs/events/background-events/"


def _sections(page: str) -> dict[str, str]:
    parts = re.split(r'<h[23] id="([^"]+)"', html.unescape(page.replace("<wbr>", "")))
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_api_reference_marks_the_engines_own_names(built_site: Path) -> None:
    sections = _sections((built_site / "reference" / "api" / "index.html").read_text(encoding="utf-8"))
    for anchor in OWN_SECTIONS:
        assert anchor in sections, f"no section {anchor}: {sorted(sections)}"
        assert "This engine's own" in sections[anchor], anchor
    app = sections["rxapp"]
    assert "app.create_task" in app and "this engine's own" in app
    unmarked = [a for a in ("rximmutablestateerror", "rxget_app", "rxbackground") if "This engine" in sections[a]]
    assert unmarked == [], f"Reflex's own names marked as the engine's: {unmarked}"


def test_the_background_tasks_page_has_a_coming_from_reflex_section(built_site: Path) -> None:
    sections = _sections((built_site / "background-tasks" / "index.html").read_text(encoding="utf-8"))
    section = sections["coming-from-reflex"]
    assert REFLEX_PAGE in section
    for name in ("show_backend_vars", "create_task", "concurrency", "status"):
        assert name in section, name
