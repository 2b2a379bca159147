"""The Common mistakes page (docs/mistakes.md): its entries, each with the engine message it starts with."""

from __future__ import annotations

import re

from tests.support.env import ROOT

MISTAKES = ROOT / "docs" / "mistakes.md"


def anchor(heading: str) -> str:
    """The id MkDocs' toc gives a heading: lower case, code marks and punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def entry_messages() -> dict[str, str]:
    """Each entry's message (the ``span`` its first paragraph is) -> the entry's anchor."""
    found: dict[str, str] = {}
    text = MISTAKES.read_text(encoding="utf-8")
    for match in re.finditer(r"^## (?P<heading>.+)\n\n``(?P<message>.+?)``\n", text, re.M):
        found[match["message"].strip()] = anchor(match["heading"])
    return found
