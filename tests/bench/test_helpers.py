"""The bench's pure helpers: the SVG chart writer, the target checks, the percentile and the tables.

No figure is timed here; the bench's targets are checked by `nox -s bench` only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bench.against import paired
from bench.report.svg import Group, bar_chart
from bench.report.tables import markdown_table
from bench.report.targets import Target, evaluate
from bench.scale.fleet import percentile

SVG = "{http://www.w3.org/2000/svg}"


def _chart(**kwargs: object) -> ET.Element:
    groups = [Group("1 token", [2_600.0, 960.0]), Group("100 tokens", [None, 1_200.0], marker=(2_000.0, "goal"))]
    text = bar_chart("Redis rows", "ours 2,600/s, Reflex 960/s", ["ours", "Reflex"], groups,
                     lambda v: f"{v:,.0f}/s", **kwargs)  # type: ignore[arg-type]
    return ET.fromstring(text)


def test_chart_is_valid_svg_with_title_and_desc_for_screen_readers() -> None:
    root = _chart()
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == "Redis rows"
    assert "2,600/s" in (root.findtext(f"{SVG}desc") or "")


def test_chart_labels_every_bar_with_its_series_and_value() -> None:
    texts = [t.text for t in _chart().iter(f"{SVG}text")]
    assert "ours: 2,600/s" in texts
    assert "Reflex: 960/s" in texts
    assert "Reflex: 1,200/s" in texts
    assert not any(t and t.startswith("ours: ") and "1,200" in t for t in texts)  # None leaves a bar out


def test_chart_bars_scale_to_the_largest_value_or_marker() -> None:
    widths = sorted(float(r.get("width", 0)) for r in _chart().iter(f"{SVG}rect") if r.get("class", "").startswith("s"))
    assert widths[-1] == 336.0  # the largest value fills the plot width (360 - 2 * 12)
    assert widths[0] == round(336 * 960 / 2_600, 1)


def test_chart_fits_a_phone_and_follows_the_dark_scheme() -> None:
    root = _chart(note="a long note " * 20)
    view_width = float((root.get("viewBox") or "").split()[2])
    assert view_width <= 360  # 13 px text stays about 13 px on a 390 px screen
    style = root.findtext(f"{SVG}style") or ""
    assert "prefers-color-scheme:dark" in style
    assert root.find(f"{SVG}rect") is not None  # its own background, so text never sits on the page colour


def test_chart_escapes_text() -> None:
    text = bar_chart("a < b & c", "d", ["x"], [Group("<g>", [1.0])], str)
    assert ET.fromstring(text).findtext(f"{SVG}title") == "a < b & c"


def test_target_directions() -> None:
    assert Target("g", "x", 2.0, 2.0, "higher").met
    assert not Target("g", "x", 1.99, 2.0, "higher").met
    assert Target("g", "x", 0.3, 1 / 3, "lower").met
    assert Target("g", "x", 0, 0, "zero").met
    assert not Target("g", "x", 3, 0, "zero").met
    assert Target("g", "x", 0.3, 1 / 3, "lower").needed_text == "<= 0.33x"


def _redis_results(ours: float, oplock: float, limit: float, pipelined: float | None) -> dict[str, object]:
    medians = {"ours": ours, "reflex": 1_000.0, "reflex-oplock": oplock, "redis-py": limit}
    if pipelined is not None:
        medians["ours-pipelined"] = pipelined
    workloads = {key: {name: {"median": value} for name, value in medians.items()}
                 for key in ("one_token", "many_tokens", "contended")}
    return {"redis": {"workloads": workloads}}


def test_redis_targets_compare_with_the_round_trip_limit_and_reflex_oplock() -> None:
    targets = {t.label: t for t in evaluate(_redis_results(3_000.0, 15_000.0, 3_600.0, None))}
    limit = targets["`modify_state`, 1 token vs the sequential round-trip limit"]
    assert round(limit.value, 3) == round(3_000 / 3_600, 3) and limit.met
    assert not targets["`modify_state`, 100 tokens at once vs Reflex with oplock"].met
    assert targets["`modify_state`, 50 tasks on 1 token vs Reflex default"].value == 3.0
    assert not any(t.group == "Redis, pipelined mode" for t in targets.values())  # not measured: not listed


def test_pipelined_targets_appear_once_measured() -> None:
    targets = [t for t in evaluate(_redis_results(3_000.0, 15_000.0, 3_600.0, 16_000.0))
               if t.group == "Redis, pipelined mode"]
    assert len(targets) == 3 and all(t.met for t in targets)


def test_scale_targets_use_the_median_of_paired_windows() -> None:
    problems = {"failed_events": 1, "failed_connects": 0, "errors": 2, "lost": 0, "counter_jumps": 0}
    results = {"scale": {"sizes": {"1000": {"delivery_ratio": 0.9}},
                         "two_workers": {"tabs": 1_000, "delivery_ratio": 0.5, "engine": {"problems": problems}}}}
    targets = evaluate(results)
    assert [round(t.value, 2) for t in targets] == [0.9, 0.5, 3, 0]
    assert [t.met for t in targets] == [True, False, False, True]


def test_percentile_nearest_rank() -> None:
    ordered = [float(x) for x in range(1, 101)]
    assert percentile(ordered, 0.5) == 50.0
    assert percentile(ordered, 0.99) == 99.0
    assert percentile([], 0.5) == 0.0
    assert percentile([7.0], 0.99) == 7.0


def test_markdown_table_pads_columns() -> None:
    assert markdown_table(["a", "bb"], [["ccc", "d"]]).splitlines() == ["| a   | bb |", "|-----|----|", "| ccc | d  |"]


def test_paired_ratios_take_the_median_of_each_pair() -> None:
    ratio = paired([2.0, 3.0, 4.0, 10.0, 1.0], [1.0, 3.0, 2.0, 5.0, 1.0])  # pairs: 2, 1, 2, 2, 1
    assert ratio.median == 2.0
    assert (ratio.q1, ratio.q3) == (1.0, 2.0)
    assert paired([3.0], [2.0]) == (1.5, 1.5, 1.5)


def test_paired_ratios_refuse_lists_that_do_not_pair() -> None:
    with pytest.raises(ValueError, match="same, non-zero length"):
        paired([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="same, non-zero length"):
        paired([], [])


def _big(rate: float, update: float | None, redis: float | None = None) -> dict[str, object]:
    run = {"rate": rate, "update_bytes": update, "redis_bytes_per_block": redis}
    return {"median": rate, "runs": [run], "exact": True}


def test_big_state_targets_compare_the_largest_size_with_reflex_and_with_the_smallest() -> None:
    memory = {"workloads": {
        "big_log_10": {"ours": _big(30_000.0, 110.0), "reflex": _big(14_000.0, 600.0)},
        "big_log_10000": {"ours": _big(12_000.0, 113.0), "reflex": _big(3_000.0, 400_000.0)},
    }}
    redis = {"workloads": {"big_log_10000": {"ours": _big(2_000.0, 113.0, 5_000.0), "reflex": _big(10.0, 1.0)}}}
    targets = {t.label: t for t in evaluate({"bigstate": {"memory": memory, "redis": redis}})}
    name = "log: `self.lines.append(line)`, 10,000 items"
    assert targets[f"{name}: blocks per second vs Reflex"].value == 4.0
    assert not targets[f"{name}: blocks per second vs ours at 10 items"].met  # 0.4x: the cost grew with the state
    assert targets[f"{name}: bytes of the update"].met and targets[f"{name}: bytes of the update"].unit == "B"
    written = targets[f"{name}: bytes sent to Redis per block"]
    assert not written.met and written.needed_text == "<= 4,096 B" and written.value_text == "5,000 B"
    assert not any("10 items:" in label for label in targets)  # only the largest size has targets


def test_the_bare_server_collects_garbage_as_the_engine_does() -> None:
    # (otherwise the overload section would compare the engine with the collector, not with the stack)
    from bench.scale.bare_server import GC_YOUNG_THRESHOLD
    from engine.settings import Settings

    assert GC_YOUNG_THRESHOLD == Settings().gc_young_threshold
