"""The bench's printed report, from its results: the targets, then one table per section, in Markdown.

The same text is stored in bench-results/latest.json (`table`), so the
Performance page can quote a run exactly as it printed.
"""

from __future__ import annotations

from typing import Any

from ..states import big
from ..states.contenders import REDIS_CONTENDERS, REDIS_WORKLOADS, STATE_WORKLOADS
from .targets import big_figure, evaluate

__all__ = ["machine_line", "markdown_table", "report"]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def machine_line(info: dict[str, Any]) -> str:
    versions = info["versions"]
    share = info.get("cpu_share_one_process")
    return (
        f"{info['cpu']}, {info['cores_usable']} cores"
        + (f" (one busy process got {share:.0%} of a core at the start)" if share else "")
        + f", {info['memory_gib']} GiB; {info['os']}; Python {info['python']}; reflex {versions['reflex']}, "
        f"python-socketio {versions['python-socketio']}, uvicorn {versions['uvicorn']}, "
        f"redis-py {versions['redis-py']}, redis-server {versions['redis-server']}; "
        f"load average {info['load_average_at_start']} at start, {info.get('load_average_at_end')} at end"
    )


def _rate(value: float) -> str:
    return f"{value:,.0f}/s"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _targets_table(results: dict[str, Any]) -> str:
    rows = [[t.group, t.label, t.value_text, t.needed_text, _yes(t.met)] for t in evaluate(results)]
    return markdown_table(["Group", "Target", "Measured", "Needed", "Met"], rows) if rows else "(no targets measured)"


def _memory_table(results: dict[str, Any]) -> str | None:
    section = results.get("memory_manager") or {}
    rows = []
    for key, label in STATE_WORKLOADS:
        entry = section.get("workloads", {}).get(key, {})
        if "ours" in entry and "reflex" in entry:
            ours, theirs = entry["ours"], entry["reflex"]
            rows.append([
                label, _rate(ours["median"]), _rate(theirs["median"]), f"{ours['median'] / theirs['median']:.2f}x",
                f"{ours['cpu_median'] / theirs['cpu_median']:.2f}x", _yes(ours["exact"] and theirs["exact"]),
            ])
    tabs = results.get("memory_per_tab") or {}
    for method, how in (("tracemalloc", "tracemalloc"), ("rss", "RSS delta")):
        entry = tabs.get(method, {})
        if "ours" in entry and "reflex" in entry:
            ours, theirs = entry["ours"]["per_tab"], entry["reflex"]["per_tab"]
            rows.append([
                f"memory per idle tab, {tabs['tabs']:,} tabs ({how})", f"{ours:,.0f} B", f"{theirs:,.0f} B",
                f"{ours / theirs:.2f}x", "-", _yes(entry["ours"]["ok"] and entry["reflex"]["ok"]),
            ])
    rt = results.get("round_trip")
    if rt:
        for pct in ("p50", "p99"):
            ours, echo = rt["ours"][f"{pct}_us"], rt["echo"][f"{pct}_us"]
            rows.append([
                f"event round trip {pct}, TabClient vs bare echo ({rt['ours']['samples']:,} each)",
                f"{ours:,.0f} µs", f"{echo:,.0f} µs (echo)", f"{ours / echo:.2f}x", "-", _yes(not rt["errors"]),
            ])
    if not rows:
        return None
    header = ["Workload", "Ours", "Reflex 0.10.1 (or baseline)", "Ratio", "CPU-time ratio", "Exact totals"]
    return markdown_table(header, rows)


def _redis_table(results: dict[str, Any]) -> str | None:
    section = results.get("redis") or {}
    measured = [c for c in REDIS_CONTENDERS if c.key in section.get("sides", {})]
    if not section.get("workloads") or not measured:
        return None
    rows = []
    for key, label in REDIS_WORKLOADS:
        entry = section["workloads"].get(key, {})
        default = entry.get("reflex", {}).get("median")
        cells = [label]
        for contender in measured:
            figure = entry.get(contender.key)
            if figure is None:
                cells.append("-")
                continue
            text = _rate(figure["median"])
            if default and contender.key != "reflex":
                text += f" ({figure['median'] / default:.2f}x)"
            confirm = entry.get("ours", {}).get("median")
            if contender.key == "ours-replicated" and confirm:
                text += f", {figure['median'] / confirm:.2f}x confirm"
            cells.append(text)
        cells.append(_yes(all(entry[c.key]["exact"] for c in measured if c.key in entry)))
        rows.append(cells)
    header = ["Workload", *(c.label for c in measured), "Exact totals"]
    return markdown_table(header, rows)


def _scale_row(run: dict[str, Any], ratio: float | None) -> list[str]:
    problems = run["problems"]
    name = "bare python-socketio" if run["kind"] == "bare" else "engine"
    if run["workers"] > 1:
        name += f", {run['workers']} workers on Redis"
    return [
        f"{run['tabs']:,}", name,
        f"{run['delivered_per_s']:,.0f}/s of {run['expected_per_s']:,.0f}/s",
        f"{ratio:.2f}x" if ratio is not None else "",
        f"{run['interval_ms']['p50']:,.0f} / {run['interval_ms']['p99']:,.0f} ms",
        f"{run['server_cpu_cores']:.2f} ({run['server_cpu_ms_per_tab_s'] * 1000:,.0f} µs/s)",
        f"{run['rss_per_tab_bytes'] / 1024:,.1f} KiB",
        f"{problems['failed_events'] + problems['failed_connects'] + problems['errors']} / "
        f"{problems['lost'] + problems['counter_jumps']} / {problems['out_of_order']} / {problems['disconnects']}",
    ]


def _scale_table(results: dict[str, Any]) -> str | None:
    scale = results.get("scale") or {}
    pairs = list(scale.get("sizes", {}).values()) + ([scale["two_workers"]] if scale.get("two_workers") else [])
    rows = []
    for pair in pairs:
        rows.append(_scale_row(pair["engine"], pair["delivery_ratio"]))
        rows.append(_scale_row(pair["bare"], None))
    if not rows:
        return None
    header = ["Tabs", "Server", "Updates delivered (median window)", "Engine / bare (median pair)",
              "Tick interval p50 / p99", "Server CPU, cores (per tab)", "Memory per tab",
              "Failed / lost / out of order / closed"]
    return markdown_table(header, rows)


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1024:,.1f} KiB" if value >= 10_240 else f"{value:,.0f} B"


def _big_table(results: dict[str, Any], mode: str) -> str | None:
    """Blocks per second and bytes, ours beside Reflex, for each big-state workload of `mode`."""
    section = (results.get("bigstate") or {}).get(mode) or {}
    field, what = ("update_bytes", "update a tab receives") if mode == "memory" else \
        ("redis_bytes_per_block", "bytes sent to Redis per block")
    rows = []
    for key, entry in section.get("workloads", {}).items():
        if "ours" not in entry or "reflex" not in entry:
            continue
        ours, theirs = entry["ours"], entry["reflex"]
        rows.append([
            big.label(*big.parse_key(key)), _rate(ours["median"]), _rate(theirs["median"]),
            f"{ours['median'] / theirs['median']:.2f}x", _bytes(big_figure(section, key, "ours", field)),
            _bytes(big_figure(section, key, "reflex", field)), _yes(ours["exact"] and theirs["exact"]),
        ])
    if not rows:
        return None
    header = ["Workload (one change per block)", "Ours, blocks/s", "Reflex 0.10.1, blocks/s", "Ratio",
              f"Ours: {what}", f"Reflex: {what}", "Exact"]
    return markdown_table(header, rows)


def _client_cpu(run: dict[str, Any]) -> str:
    if "client_cpu_cores" not in run:
        return ""
    busiest = run["client_cpu_busiest_process"]
    return f"{run['client_cpu_cores']:.2f} in {run['client_processes']} (busiest {busiest:.2f})"


def _overload_table(results: dict[str, Any]) -> str | None:
    overload = results.get("overload") or {}
    rows = []
    for pair in overload.get("sizes", {}).values():
        for side in ("engine", "bare"):
            run = pair[side]
            acks = run["stop_ack_ms"]
            rows.append([
                f"{run['tabs']:,}", "engine" if side == "engine" else "bare python-socketio",
                f"{acks['p50']:,.0f} / {acks['p99']:,.0f} / {acks['max']:,.0f} ms ({acks['samples']:,} Stops)",
                f"{run['ticks_per_s']:,.0f}/s of {run['expected_ticks_per_s']:,.0f}/s",
                f"{run['delivered_per_s']:,.0f}/s",
                f"{run['tabs_right']:,} of {run['tabs_checked']:,}",
                f"{run['server_cpu_cores']:.2f}",
                _client_cpu(run),
            ])
    if not rows:
        return None
    header = ["Tabs", "Server", "Stop acknowledged p50 / p99 / max", "Counter ticks delivered",
              "Messages delivered", "Tabs ending right", "Server CPU, cores", "Client CPU, cores (processes)"]
    return markdown_table(header, rows)


def _notes(results: dict[str, Any]) -> list[str]:
    lines = []
    for section, prefix in (("memory_manager", ""), ("redis", "Redis: ")):
        for key, label in STATE_WORKLOADS:
            sides = (results.get(section) or {}).get("workloads", {}).get(key)
            if sides:
                parts = [f"{name} {s['min']:,.0f}-{s['max']:,.0f}/s (n={s['n']:,})" for name, s in sides.items()]
                lines.append(f"- {prefix}{label}: " + ", ".join(parts))
    return ["", "Spread of the rounds (slowest-fastest run):", "", *lines] if lines else []


def report(results: dict[str, Any]) -> str:
    settings = results["settings"]
    lines = [
        f"`{results['command']}` on {results['date']} ({results['elapsed_s']:.0f} s)",
        "",
        f"Machine: {machine_line(results['machine'])}",
        "",
        "Targets (each a ratio of two figures measured side by side in this run):",
        "",
        _targets_table(results),
    ]
    for title, table in (
        ("In memory, and the event round trip", _memory_table(results)),
        ("On Redis (in brackets: ratio to Reflex's default mode)", _redis_table(results)),
        ("Live tabs through real sockets", _scale_table(results)),
        ("Big states in memory (bytes: one block's update; ours at a real socket, Reflex's as its server would "
         "encode it)", _big_table(results, "memory")),
        ("Big states on Redis, ours in confirm mode beside Reflex's default (bytes: what Redis received per "
         "block, from its INFO stats)", _big_table(results, "redis")),
        ("Overload: more tabs than one process keeps up with", _overload_table(results)),
    ):
        if table:
            lines += ["", f"{title}:", "", table]
    lines += [
        "",
        f"Throughput: median of {settings['repeats']} rounds per contender, each run sized to last about "
        f"{settings['run_seconds']:g} s in memory and {settings['redis_run_seconds']:g} s on Redis. "
        f"Reflex runs with REFLEX_ENV_MODE={settings['reflex_env_mode']}.",
    ]
    redis_sides = (results.get("redis") or {}).get("sides", {})
    if "ours" in redis_sides:
        lines.append(f"Our Redis commit mode(s) measured: {', '.join(_commit_modes(redis_sides))}.")
    scale = results.get("scale")
    if scale:
        s = scale["settings"]
        lines.append(
            f"Live tabs: each tab runs the counter demo's task (a tick every 0.5 s); engine and bare server "
            f"take turns, {s['rounds']} windows of {s['window_s']:g} s each; CPU and memory of the server "
            "processes from /proc."
        )
    lines += _notes(results)
    floor = (results.get("memory_manager") or {}).get("asyncio_floor")
    if floor:
        lines += [
            "",
            "asyncio alone, no framework: 50 tasks taking one asyncio.Lock with an await inside each "
            f"block {floor['lock_rate']:,.0f}/s; one task awaiting sleep(0) per iteration {floor['loop_rate']:,.0f}/s.",
        ]
    notes = [
        f"Note ({section}): {note}"
        for section in ("memory_manager", "redis", "scale")
        for note in (results.get(section) or {}).get("notes", [])
    ] + [
        f"Note (big states, {mode}): {note}"
        for mode, part in (results.get("bigstate") or {}).items() if isinstance(part, dict)
        for note in part.get("notes", [])
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def _commit_modes(sides: dict[str, Any]) -> list[str]:
    return [str(sides[key].get("commit_mode", "confirm")) for key in ("ours", "ours-pipelined", "ours-replicated")
            if key in sides]
