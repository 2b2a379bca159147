"""docsite.tables: body cells name their column; table code may wrap only after a dot, never in a hyphenated word."""

from __future__ import annotations

import markdown

from docsite.tables import ReadableTables

TABLE = """\
| Setting | `rx.State` method |
|---|---|
| `lock_timeout` | `SomeState.get_full_name().split(".")` |
| `0.10.1` | `tests/redis/test_stream.py` |
"""


def _render(*extensions: str) -> str:
    return markdown.markdown(TABLE + "\nAfter `a.b_c`.\n", extensions=["tables", *extensions, ReadableTables()])


def test_each_body_cell_carries_its_column_name():
    for page in (_render(), _render("pymdownx.inlinehilite", "pymdownx.highlight")):
        assert '<td data-label="Setting"><code>lock_timeout</code></td>' in page
        assert 'data-label="rx.State method"' in page  # code in the header, as text


def test_code_in_a_cell_may_break_after_a_dot_that_starts_a_name():
    for page in (_render(), _render("pymdownx.inlinehilite", "pymdownx.highlight")):
        shown = page.replace("<wbr />", "<wbr>")
        assert "<code>SomeState.<wbr>get_full_name().<wbr>split(" in shown
        assert "<code>0.10.1</code>" in shown  # numbers never break
        assert "<code>tests/<wbr>redis/<wbr>test_stream.<wbr>py</code>" in shown  # paths may, after a slash
        assert "<code>lock_timeout</code>" in shown  # nor names


def test_code_outside_tables_is_left_alone():
    for page in (_render(), _render("pymdownx.inlinehilite", "pymdownx.highlight")):
        assert "<p>After <code>a.b_c</code>.</p>" in page


def test_a_hyphenated_word_in_a_cell_is_kept_on_one_line():
    table = '| Call | Note |\n|---|---|\n| `TabClient(app, transport="in-process")` | `down-after-milliseconds 1000` |\n'
    for extensions in ([], ["pymdownx.inlinehilite", "pymdownx.highlight"]):
        page = markdown.markdown(table, extensions=["tables", *extensions, ReadableTables()])
        assert '<span class="rx-nobreak">transport="in-process")</span>' in page.replace("&quot;", '"'), page
        assert '<span class="rx-nobreak">down-after-milliseconds</span> 1000' in page, page
        assert "<code>TabClient(app, " in page  # the words around it may still wrap
