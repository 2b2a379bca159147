"""The code blocks of a built page, as a reader sees and copies them (the text inside the highlighting)."""

from __future__ import annotations

import html
import re
from pathlib import Path

# pymdownx.highlight writes a titled block as <span class="filename">TITLE</span><pre>...<code>CODE</code></pre>.
_TITLED_BLOCK = re.compile(
    r'<span class="filename">(?P<title>[^<]*)</span>\s*<pre[^>]*>(?:<span></span>)?'
    r"<code[^>]*>(?P<code>.*?)</code></pre>",
    re.S,
)
_TAG = re.compile(r"<[^>]+>")


def titled_blocks(page_html: str) -> list[tuple[str, str]]:
    """(title, code) of every code block with a title, in page order; the code as plain text."""
    return [
        (html.unescape(m["title"]), html.unescape(_TAG.sub("", m["code"])))
        for m in _TITLED_BLOCK.finditer(page_html)
    ]


def page_files(site: Path, page: str) -> dict[str, str]:
    """The blocks of a built page whose title is a bare file name ("app.py"): what a reader saves, by name."""
    blocks = titled_blocks((site / page / "index.html").read_text(encoding="utf-8"))
    return {title: code for title, code in blocks if re.fullmatch(r"[\w.-]+\.py", title)}
