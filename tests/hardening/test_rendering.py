"""Defence 7: state values reach the page as text, never as markup (the server-rendered side).

The browser side (engine.js setting textContent) is covered by the Chromium tests.
"""

from __future__ import annotations

import html
import re

from docsite.fences import FOOTER, render_demo
from tests.hardening import states
from tests.hardening.states import HardMarkupState

PAYLOAD = "<img src=x onerror=alert(1)>"


def test_a_var_holding_markup_is_rendered_as_text():
    assert HardMarkupState.var_fields()["html"].default == PAYLOAD
    page = render_demo(f"{states.__name__}:markup_demo")
    assert "<img" not in page and "<script" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;text&lt;/b&gt;" in page  # literal text children too
    # Inside attributes the quote is escaped too, so a value cannot end the attribute.
    assert 'value="&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in page
    # Every tag in the box's body is one the components make, none comes from a value;
    # what follows the body (footer, lab panel) is fixed markup no value reaches.
    opening = '<div class="rx-demo__body">'
    body = page[page.index(opening) + len(opening):page.index(FOOTER)]
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9-]*)", body))
    assert tags <= {"div", "p", "span", "input", "button"}, tags
    assert "onerror" not in page[page.index(FOOTER):]


def test_the_escaped_page_shows_the_characters():
    page = render_demo(f"{states.__name__}:markup_demo")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert PAYLOAD in text
