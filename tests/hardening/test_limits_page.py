"""docs/limits.md states every limit with the default and unit the code has (no drift)."""

from __future__ import annotations

import re

import yaml

from engine.settings import Settings
from tests.support.env import ROOT

PAGE = ROOT / "docs" / "limits.md"
ROW = re.compile(
    r"^\| `(?P<name>\w+)` \| `(?P<default>[^`]*)` \| (?P<unit>[^|]+?) \| (?P<sees>[^|]+?) \|$", re.M
)
UNITS = {"": "count"}  # how describe()'s unit reads on the page
# The limits the hardening issue names: each must be on the page.
REQUIRED = {
    "max_message_bytes", "events_per_second", "max_tasks_per_tab", "max_tasks_total", "max_tabs",
    "idle_state_ttl", "max_queued_updates", "max_bad_events", "max_json_depth", "tab_grace",
    "shutdown_timeout", "token_max_age", "loop_lag_warn",
    "max_connections_per_client", "new_tabs_per_client_per_minute", "client_events_per_second",
    "redis_pool_size", "redis_pool_timeout",
    # and the overload issue's
    "max_state_bytes", "max_unsent_bytes", "drain_timeout", "max_tab_share_per_client", "pacing_lag",
}


def _rows() -> dict[str, re.Match[str]]:
    return {match["name"]: match for match in ROW.finditer(PAGE.read_text(encoding="utf-8"))}


def test_every_limit_on_the_page_matches_the_code():
    described = {name: (default, unit) for name, default, unit, _ in Settings.describe()}
    rows = _rows()
    assert rows, "no limits table found in docs/limits.md"
    for name, row in rows.items():
        assert name in described, f"docs/limits.md lists {name}, which is not a setting"
        default, unit = described[name]
        assert row["default"] == default, f"{name}: the page says {row['default']}, the code {default}"
        assert row["unit"] == UNITS.get(unit, unit), f"{name}: the page says {row['unit']}, the code {unit!r}"
        assert row["sees"].strip(), f"{name}: what does a visitor see?"
    assert REQUIRED <= set(rows), f"limits missing from the page: {sorted(REQUIRED - set(rows))}"


def test_errors_that_name_a_setting_name_one_on_the_page():
    # Each "(setting x)" the engine's messages mention is a real setting, and a limit listed here
    # is one a visitor can run into.
    engine_dir = ROOT / "engine"
    named = set()
    for path in engine_dir.rglob("*.py"):
        named |= set(re.findall(r"\(setting (\w+)", path.read_text(encoding="utf-8")))
    fields = {name for name, *_ in Settings.describe()}
    assert named and named <= fields, sorted(named - fields)


def _nav() -> list:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return yaml.safe_load("nav:" + text.split("\nnav:", 1)[1])["nav"]  # (the rest has !!python tags)


def test_the_page_is_in_the_navigation_after_performance():
    nav = _nav()
    titles = [next(iter(entry)) if isinstance(entry, dict) else entry for entry in nav]
    assert titles.index("Limits and guarantees") > titles.index("Performance")
    assert nav[titles.index("Limits and guarantees")]["Limits and guarantees"] == "limits.md"
