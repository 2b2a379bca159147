"""Markdown extension: tables that read on a phone without breaking identifiers.

On a phone a table of five columns cannot fit, and a sideways scroll hides
most of it. demo.css lays each row out as a card instead, one cell below the
other, and shows each cell's `data-label` (its column header) before it. The
labels are written here, when the site is built, so no script is needed.

Code in a cell may wrap after a dot or a slash (`get_full_name().<wbr>split`,
`tests/<wbr>redis/<wbr>test_stream.<wbr>py`), never
inside a name: site.css forbids every other break in table code on a
desktop, and on a phone allows breaks between words only; a word with a
hyphen in it (`"in-process"`, `down-after-milliseconds`) is kept on one
line by a `rx-nobreak` span, since a browser may break after any hyphen.

In mkdocs.yml: `markdown_extensions: [docsite.tables]`.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from typing import Any

from markdown import Extension, Markdown
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER_RE, AtomicString

__all__ = ["ReadableTables", "makeExtension"]

# After a dot or a slash that starts a name: "a.b_c" may break as "a.|b_c", "tests/redis" as
# "tests/|redis"; "0.10.1" never.
_AFTER_DOT = re.compile(r"(?<=[./])(?=[A-Za-z_])")
_TAG = re.compile(r"<[^>]+>")
# A word with a hyphen between two letters or digits: a browser may break after the hyphen.
_HYPHENATED = re.compile(r"[^\s<>]*\w-\w[^\s<>]*")
_TAG_OR_TEXT = re.compile(r"(<[^>]+>)")


class _Tables(Treeprocessor):  # type: ignore[misc]
    """Labels body cells with their column's name and lets code in cells wrap after dots."""

    def run(self, root: ET.Element) -> None:
        for table in root.iter("table"):
            self._label_cells(table)
            for code in list(table.iter("code")):
                self._break_code(code)

    def _stashed(self, match: re.Match[str]) -> str:
        """The HTML a placeholder stands for (inline code is stashed by inlinehilite)."""
        block = self.md.htmlStash.rawHtmlBlocks[int(match.group(1))]
        return block if isinstance(block, str) else ""

    def _text(self, element: ET.Element) -> str:
        raw = HTML_PLACEHOLDER_RE.sub(self._stashed, "".join(element.itertext()))
        return " ".join(html.unescape(_TAG.sub("", raw)).split())

    def _label_cells(self, table: ET.Element) -> None:
        header = table.find("thead/tr")
        if header is None:
            return
        names = [self._text(cell) for cell in header]
        for row in table.iterfind("tbody/tr"):
            for name, cell in zip(names, row, strict=False):  # a short row leaves cells unlabelled
                if name:
                    cell.set("data-label", name)

    def _break_code(self, code: ET.Element) -> None:
        text = code.text or ""
        if len(code) or not text:
            return
        stashed = HTML_PLACEHOLDER_RE.fullmatch(text)
        if stashed:
            # pymdownx.inlinehilite keeps the code's escaped text in the stash.
            index = int(stashed.group(1))
            block = self.md.htmlStash.rawHtmlBlocks[index]
            if isinstance(block, str):
                self.md.htmlStash.rawHtmlBlocks[index] = _nobreak_html(_AFTER_DOT.sub("<wbr>", block))
            return
        code.text = None
        last: ET.Element | None = None
        at = 0
        for match in [*_HYPHENATED.finditer(text), None]:
            end = match.start() if match else len(text)
            last = _add_text(code, last, text[at:end])
            if match:
                last = ET.SubElement(code, "span", {"class": "rx-nobreak"})
                last.text = AtomicString(match.group())
                at = match.end()


def _add_text(code: ET.Element, last: ET.Element | None, text: str) -> ET.Element | None:
    """Append `text` to `code` after `last`, with a <wbr> after each dot that starts a name."""
    pieces = _AFTER_DOT.split(text)
    if last is None:
        code.text = AtomicString((code.text or "") + pieces[0])
    else:
        last.tail = AtomicString((last.tail or "") + pieces[0])
    for piece in pieces[1:]:
        last = ET.SubElement(code, "wbr")
        last.tail = AtomicString(piece)
    return last


def _nobreak_html(block: str) -> str:
    """Highlighted code's HTML with each hyphenated word of its text in a `rx-nobreak` span."""
    return "".join(
        part if part.startswith("<") else _HYPHENATED.sub(r'<span class="rx-nobreak">\g<0></span>', part)
        for part in _TAG_OR_TEXT.split(block)
    )


class ReadableTables(Extension):  # type: ignore[misc]
    def extendMarkdown(self, md: Markdown) -> None:
        # After the inline processor (priority 20), so cells hold their final content.
        md.treeprocessors.register(_Tables(md), "rx_tables", 5)


def makeExtension(**kwargs: Any) -> ReadableTables:
    return ReadableTables(**kwargs)
