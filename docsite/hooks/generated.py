"""MkDocs hook: fill generated sections of pages from the code, so they cannot drift.

`<!-- settings:table -->` becomes the table of every engine setting, read from
`engine.settings.Settings` (name, environment variable, default, unit, meaning).
`<!-- protocol:NAME -->` becomes a JSON block of one protocol example, made by
the engine's own code (docsite/protocol_examples.py).
"""

from __future__ import annotations

import re
from typing import Any

from docsite.protocol_examples import EXAMPLE_NAMES, example
from engine.settings import Settings

MARKER = "<!-- settings:table -->"
PROTOCOL_MARKER = re.compile(r"<!-- protocol:([a-z]+) -->")


def settings_table() -> str:
    """One row per setting. Its environment variable is `ENGINE_` and the name in upper case (the page
    says so above the table); a column of them made the table too wide for a phone."""
    rows = [
        "| Setting | Default | Unit | What it does |",
        "|---|---|---|---|",
    ]
    for name, default, unit, help_text in Settings.describe():
        also = " Also read from `REDIS_URL`." if name == "redis_url" else ""
        rows.append(f"| `{name}` | `{default}` | {unit or '-'} | {help_text}{also} |")
    return "\n".join(rows)


def _protocol_block(match: re.Match[str]) -> str:
    name = match.group(1)
    if name not in EXAMPLE_NAMES:
        raise ValueError(f"no protocol example named {name!r}; known: {', '.join(EXAMPLE_NAMES)}")
    return f"```json\n{example(name)}\n```"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, settings_table())
    return PROTOCOL_MARKER.sub(_protocol_block, markdown)
