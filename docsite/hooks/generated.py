"""MkDocs hook: fill generated sections of pages from the code, so they cannot drift.

`<!-- settings:table -->` becomes the table of every engine setting, read from
`engine.settings.Settings` (name, environment variable, default, unit, meaning).
"""

from __future__ import annotations

from typing import Any

from engine.settings import Settings

MARKER = "<!-- settings:table -->"


def settings_table() -> str:
    rows = [
        "| Setting | Environment variable | Default | Unit | What it does |",
        "|---|---|---|---|---|",
    ]
    for name, default, unit, help_text in Settings.describe():
        env = f"`ENGINE_{name.upper()}`" + (" or `REDIS_URL`" if name == "redis_url" else "")
        rows.append(f"| `{name}` | {env} | `{default}` | {unit or '-'} | {help_text} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, settings_table())
    return markdown
