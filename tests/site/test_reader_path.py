"""A reader's path through the site: the home page points at every starting page, and each page at the next.

Built-site checks: "Where to start" on the home page links the pages a
newcomer needs (the tutorial, the lab and Controlling tasks among them), and
every page of the nav has mkdocs-material's footer links to the page before
and after it, in the nav's order.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

from tests.browser.pages import nav_pages

START_PAGES = ["/background-tasks/", "/first-task/", "/lab/", "/task-control/", "/reference/testing/"]


def _html(site: Path, path: str) -> str:
    return (site / path.strip("/") / "index.html").read_text(encoding="utf-8")


def test_where_to_start_links_the_tutorial_the_lab_and_controlling_tasks(built_site: Path) -> None:
    home = _html(built_site, "/")
    section = home.split('id="where-to-start"', 1)[1].split("<h2", 1)[0]
    linked = {urljoin("/", href) for href in re.findall(r'<a href="([^"#]+)"', section)}
    missing = [page for page in START_PAGES if page not in linked]
    assert not missing, f"'Where to start' does not link {missing}; it links {sorted(linked)}"


def test_every_page_links_the_previous_and_the_next_in_nav_order(built_site: Path) -> None:
    pages = nav_pages()
    assert "/first-task/" in pages
    for i, path in enumerate(pages):
        links = dict(
            (kind, urljoin(path, href))
            for href, kind in re.findall(
                r'<a href="([^"]*)" class="md-footer__link md-footer__link--(prev|next)"', _html(built_site, path)
            )
        )
        expected = {}
        if i > 0:
            expected["prev"] = pages[i - 1]
        if i < len(pages) - 1:
            expected["next"] = pages[i + 1]
        assert links == expected, f"{path}: footer links {links}, expected {expected}"
