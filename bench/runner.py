"""Run every workload on both sides, alternating, and report: a table on stdout and bench-results/latest.json.

Each framework runs in its own worker process (`bench.worker`), so neither
one's objects, garbage collector or imports weigh on the other. The runner
sends them the same workloads in turn: in each round every workload runs
once per side, and which side goes first alternates, so the noise of a
shared 2-core machine falls on both. The table shows the median of the
rounds; every run is in the JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import machine
from .redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"

# (key, label) of the state workloads, in table order.
STATE_WORKLOADS = [
    ("one_token", "`modify_state`, 1 token"),
    ("many_tokens", "`modify_state`, 100 tokens at once"),
    ("contended", "`modify_state`, 50 tasks on 1 token"),
    ("background", "`async with self` in a background task"),
    ("background_demo", "the demo's loop in a background task (an await between blocks)"),
]
REDIS_WORKLOADS = STATE_WORKLOADS[:3]

# Increments: (warm-up and sizing probe, smallest run, largest run). A Redis run on 100
# tokens needs at least 10 increments per token to be more than its ramp-up.
MEMORY_SIZES = (2_000, 2_000, 200_000)
REDIS_SIZES = (200, 1_000, 5_000)

TARGET_MEMORY_SPEEDUP = 3.0
TARGET_REDIS_SPEEDUP = 2.0
TARGET_TAB_BYTES = 1 / 3
TARGET_ROUND_TRIP = 1.3


class WorkerError(RuntimeError):
    pass


class Worker:
    """One side's worker process, spoken to in JSON lines."""

    def __init__(self, side: str, mode: str, redis_url: str | None = None, *, label: str = "") -> None:
        self.side = side
        self.mode = mode
        self.label = label or f"{side}-{mode}"
        RESULTS.mkdir(exist_ok=True)
        self.log_path = RESULTS / f"worker-{self.label}.log"
        self._log = open(self.log_path, "w")  # closed in close()
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", REFLEX_TELEMETRY_ENABLED="false")
        args = [sys.executable, "-m", "bench.worker", side, mode] + ([redis_url] if redis_url else [])
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, text=True, bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.info: dict[str, Any] = {}
        self.unavailable: str | None = None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _answer(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise WorkerError(
                f"{self.label}: no answer within {timeout:.0f}s (log: {self.log_path})"
            ) from None
        if line is None:
            raise WorkerError(f"{self.label}: worker exited; its log ends with:\n{self.log_tail()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise WorkerError(f"{self.label} failed:\n{answer['error']}")
        return answer

    def ready(self, timeout: float = 120.0) -> bool:
        """Wait for the worker's setup; False (with `unavailable` set) if the side cannot run."""
        answer = self._answer(timeout)
        if "unavailable" in answer:
            self.unavailable = str(answer["unavailable"])
            self.close()
            return False
        self.info = answer["ready"]
        return True

    def request(self, command: dict[str, Any], timeout: float = 150.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        result: dict[str, Any] = self._answer(timeout)["result"]
        return result

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _summarise(runs: list[dict[str, Any]], n: int) -> dict[str, Any]:
    rates = [run["rate"] for run in runs]
    return {
        "n": n,
        "median": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "cpu_median": statistics.median(run["cpu_rate"] for run in runs),
        "runs": runs,
        "exact": all(run["ok"] for run in runs),
    }


def _calibrated(rate: float, seconds: float, low: int, high: int) -> int:
    """Increments for a run of about `seconds` at `rate`, a multiple of 100 (100 tokens, 50 tasks)."""
    n = round(rate * seconds / 100) * 100
    return max(low, min(high, n))


def run_state_workloads(
    mode: str, workloads: list[tuple[str, str]], run_seconds: float, limits: tuple[int, int, int],
    repeats: int, deadline: float, redis_url: str | None = None,
) -> dict[str, Any]:
    """Each workload on both sides, `repeats` rounds, alternating who goes first.

    A warm-up run per side and workload sizes that side's runs to last about
    `run_seconds`, so a faster side's runs are not shorter (and luckier with
    the machine's noise) than the slower side's.
    """
    workers = {"ours": Worker("ours", mode, redis_url), "reflex": Worker("reflex", mode, redis_url)}
    section: dict[str, Any] = {"mode": mode, "sides": {}, "workloads": {}, "notes": []}
    try:
        for name, worker in workers.items():
            if worker.ready():
                section["sides"][name] = worker.info
            else:
                section["notes"].append(f"{name} skipped: {worker.unavailable}")
                _log(f"{name} ({mode}) skipped: {worker.unavailable}")
        live = [name for name in ("ours", "reflex") if name in section["sides"]]
        if not live:
            return section
        sizes: dict[str, dict[str, int]] = {key: {} for key, _ in workloads}
        probe_n, low, high = limits
        for key, _label in workloads:  # a warm-up run, then one to size the runs; neither recorded
            for name in live:
                workers[name].request({"run": key, "n": probe_n})
                probe = workers[name].request({"run": key, "n": probe_n})
                sizes[key][name] = _calibrated(probe["rate"], run_seconds, low, high)
                if not probe["ok"]:
                    section["notes"].append(
                        f"{name} {key} warm-up: counter {probe['got']}, not {probe['expected']}"
                    )
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            key: {name: [] for name in live} for key, _ in workloads
        }
        for round_ in range(repeats):
            if round_ > 0 and time.monotonic() > deadline:
                section["notes"].append(f"stopped after {round_} rounds: the time budget was spent")
                _log(section["notes"][-1])
                break
            for index, (key, _label) in enumerate(workloads):
                order = live if (round_ + index) % 2 == 0 else list(reversed(live))
                for name in order:
                    runs[key][name].append(workers[name].request({"run": key, "n": sizes[key][name]}))
            _log(f"{mode}: round {round_ + 1}/{repeats} done")
        if mode == "memory" and "ours" in live:  # asyncio's own share, for reading the contended rows
            floors = [workers["ours"].request({"run": "asyncio_floor", "n": 20_000}) for _ in range(3)]
            section["asyncio_floor"] = {
                "lock_rate": statistics.median(f["lock_rate"] for f in floors),
                "loop_rate": statistics.median(f["loop_rate"] for f in floors),
                "runs": floors,
            }
        for key, _label in workloads:
            section["workloads"][key] = {name: _summarise(runs[key][name], sizes[key][name]) for name in live}
            for name in live:
                if any(f"{name} {key} warm-up" in note for note in section["notes"]):
                    section["workloads"][key][name]["exact"] = False
    finally:
        for worker in workers.values():
            worker.close()
    return section


def run_memory_per_tab(tabs: int) -> dict[str, Any]:
    """Each side and method in a fresh process, so nothing else is counted."""
    section: dict[str, Any] = {"tabs": tabs}
    for index, method in enumerate(("tracemalloc", "rss")):
        section[method] = {}
        for side in (("ours", "reflex") if index % 2 == 0 else ("reflex", "ours")):
            worker = Worker(side, "memory", label=f"{side}-memory-{method}")
            try:
                if not worker.ready():
                    raise WorkerError(f"{side}: {worker.unavailable}")
                section[method][side] = worker.request({"memory": tabs, "method": method})
            finally:
                worker.close()
        _log(f"memory per tab ({method}) done")
    return section


def run_round_trip(samples: int) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    log_path = RESULTS / "worker-roundtrip.log"
    with open(log_path, "w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "bench.roundtrip", str(samples)],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
            stderr=log, text=True, timeout=300, check=False,
        )
    if done.returncode != 0 or not done.stdout.strip():
        raise WorkerError(f"round trip failed (exit {done.returncode}); see {log_path}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the report -------------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}/s"


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _throughput_rows(
    section: dict[str, Any] | None, workloads: list[tuple[str, str]], prefix: str, target: float,
) -> list[list[str]]:
    rows: list[list[str]] = []
    for key, label in workloads:
        entry = (section or {}).get("workloads", {}).get(key)
        if not entry or "reflex" not in entry:
            continue
        theirs, ours = entry["reflex"], entry.get("ours")
        if ours is None:
            rows.append([
                f"{prefix}{label}", "skipped", _rate(theirs["median"]), "-", "-",
                f">= {target:g}x", "-", "yes" if theirs["exact"] else "**no**",
            ])
            continue
        ratio = ours["median"] / theirs["median"]
        cpu_ratio = ours["cpu_median"] / theirs["cpu_median"]
        rows.append([
            f"{prefix}{label}", _rate(ours["median"]), _rate(theirs["median"]), f"{ratio:.2f}x",
            f"{cpu_ratio:.2f}x", f">= {target:g}x", _verdict(ratio >= target),
            "yes" if ours["exact"] and theirs["exact"] else "**no**",
        ])
    return rows


def build_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = _throughput_rows(results.get("memory_manager"), STATE_WORKLOADS, "", TARGET_MEMORY_SPEEDUP)
    memory = results.get("memory_per_tab")
    if memory:
        for method, label in (("tracemalloc", "tracemalloc"), ("rss", "RSS delta")):
            entry = memory.get(method, {})
            if "ours" not in entry or "reflex" not in entry:
                continue
            ours, theirs = entry["ours"]["per_tab"], entry["reflex"]["per_tab"]
            ratio = ours / theirs
            rows.append([
                f"memory per idle tab, {memory['tabs']:,} tabs ({label})",
                f"{ours:,.0f} B", f"{theirs:,.0f} B", f"{ratio:.2f}x", "-",
                "<= 0.33x", _verdict(ratio <= TARGET_TAB_BYTES),
                "yes" if entry["ours"]["ok"] and entry["reflex"]["ok"] else "**no**",
            ])
    rt = results.get("round_trip")
    if rt:
        for pct in ("p50", "p99"):
            ours, echo = rt["ours"][f"{pct}_us"], rt["echo"][f"{pct}_us"]
            ratio = ours / echo
            rows.append([
                f"event round trip {pct}, TabClient vs bare echo ({rt['ours']['samples']:,} each)",
                f"{ours:,.0f} µs", f"{echo:,.0f} µs (echo)", f"{ratio:.2f}x", "-",
                f"<= {TARGET_ROUND_TRIP:g}x", _verdict(ratio <= TARGET_ROUND_TRIP),
                "yes" if not rt["errors"] else "**no**",
            ])
    rows += _throughput_rows(results.get("redis"), REDIS_WORKLOADS, "Redis: ", TARGET_REDIS_SPEEDUP)
    return rows


HEADER = [
    "Workload", "Ours", "Reflex 0.10.1 (or baseline)", "Ratio", "CPU-time ratio", "Target", "Met",
    "Exact totals",
]


def markdown_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(HEADER), rule, *(line(row) for row in rows)])


def machine_line(info: dict[str, Any]) -> str:
    versions = info["versions"]
    return (
        f"{info['cpu']}, {info['cores_usable']} cores, {info['memory_gib']} GiB; {info['os']}; "
        f"Python {info['python']}; reflex {versions['reflex']}, "
        f"python-socketio {versions['python-socketio']}, uvicorn {versions['uvicorn']}, "
        f"redis-py {versions['redis-py']}, redis-server {versions['redis-server']}; "
        f"load average {info['load_average_at_start']} at start, {info.get('load_average_at_end')} at end"
    )


def report(results: dict[str, Any]) -> str:
    rows = build_rows(results)
    lines = [
        f"`nox -s bench` on {results['date']} ({results['elapsed_s']:.0f} s)",
        "",
        f"Machine: {machine_line(results['machine'])}",
        "",
        markdown_table(rows),
        "",
        f"Throughput: median of {results['settings']['repeats']} alternating rounds per side, each run "
        f"sized to last about {results['settings']['run_seconds']:g} s in memory and "
        f"{results['settings']['redis_run_seconds']:g} s on Redis (the increments per run are in the JSON). "
        f"Reflex runs with REFLEX_ENV_MODE={results['settings']['reflex_env_mode']}.",
    ]
    spread = []
    for section, prefix in (("memory_manager", ""), ("redis", "Redis: ")):
        for key, label in STATE_WORKLOADS:
            sides = (results.get(section) or {}).get("workloads", {}).get(key)
            if not sides:
                continue
            parts = [
                f"{name} {sides[name]['min']:,.0f}-{sides[name]['max']:,.0f}/s (n={sides[name]['n']:,})"
                for name in ("ours", "reflex") if name in sides
            ]
            spread.append(f"- {prefix}{label}: " + ", ".join(parts))
    if spread:
        lines += ["", "Spread of the rounds (slowest-fastest run per side):", "", *spread]
    floor = (results.get("memory_manager") or {}).get("asyncio_floor")
    if floor:
        lines += [
            "",
            "asyncio alone, no framework: 50 tasks taking one asyncio.Lock with an await inside each "
            f"block {floor['lock_rate']:,.0f}/s; one task awaiting sleep(0) per iteration "
            f"{floor['loop_rate']:,.0f}/s.",
        ]
    rt = results.get("round_trip")
    if rt:
        lines += [
            "",
            f"Round trip means: ours {rt['ours']['mean_us']:,.0f} µs, echo {rt['echo']['mean_us']:,.0f} µs; "
            f"p90: ours {rt['ours']['p90_us']:,.0f} µs, echo {rt['echo']['p90_us']:,.0f} µs.",
        ]
    notes = [
        f"Note ({section}): {note}"
        for section in ("memory_manager", "redis")
        for note in (results.get(section) or {}).get("notes", [])
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="rounds per side (median reported)")
    parser.add_argument("--seconds", type=float, default=0.4, help="length of one in-memory run")
    parser.add_argument("--redis-seconds", type=float, default=1.0, help="length of one Redis run")
    parser.add_argument("--tabs", type=int, default=10_000, help="idle tabs for the memory figure")
    parser.add_argument("--samples", type=int, default=2_000, help="round trips per side")
    parser.add_argument(
        "--budget", type=float, default=100.0,
        help="seconds for each throughput section; later rounds are skipped past it",
    )
    parser.add_argument(
        "--reflex-env", choices=("prod", "dev"), default="prod",
        help="REFLEX_ENV_MODE for Reflex (prod: as deployed; dev: `reflex run`'s default)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes, 2 rounds")
    parser.add_argument(
        "--only", default="memory,tabs,roundtrip,redis",
        help="comma-separated sections: memory (state workloads), tabs, roundtrip, redis",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.seconds, args.redis_seconds, args.tabs, args.samples = 2, 0.1, 0.3, 2_000, 200
    os.environ["BENCH_REFLEX_ENV"] = args.reflex_env
    sections = {part.strip() for part in args.only.split(",") if part.strip()}
    began = time.monotonic()
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "nox -s bench" + (" -- " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""),
        "machine": machine.describe(),
        "settings": {
            "repeats": args.repeats, "run_seconds": args.seconds, "redis_run_seconds": args.redis_seconds,
            "reflex_env_mode": args.reflex_env,
            "tabs": args.tabs, "samples": args.samples,
        },
        "targets": {
            "memory_speedup": TARGET_MEMORY_SPEEDUP, "redis_speedup": TARGET_REDIS_SPEEDUP,
            "tab_bytes_ratio": TARGET_TAB_BYTES, "round_trip_ratio": TARGET_ROUND_TRIP,
        },
    }
    _log(f"machine: {machine_line(results['machine'])}")
    failures: list[str] = []
    if "memory" in sections:
        _log("state workloads on the in-memory managers")
        try:
            results["memory_manager"] = run_state_workloads(
                "memory", STATE_WORKLOADS, args.seconds, MEMORY_SIZES, args.repeats,
                time.monotonic() + args.budget,
            )
        except WorkerError as exc:
            failures.append(str(exc))
    if "tabs" in sections:
        _log(f"memory per idle tab, {args.tabs:,} tabs")
        try:
            results["memory_per_tab"] = run_memory_per_tab(args.tabs)
        except WorkerError as exc:
            failures.append(str(exc))
    if "roundtrip" in sections:
        _log(f"event round trip, {args.samples:,} samples per side")
        try:
            results["round_trip"] = run_round_trip(args.samples)
        except (WorkerError, subprocess.TimeoutExpired) as exc:
            failures.append(str(exc))
    if "redis" in sections:
        server = RedisServer()
        if not server.available:
            results["redis"] = {"notes": ["redis-server is not installed; the Redis figures are skipped"]}
            _log(results["redis"]["notes"][0])
        else:
            url = server.start()
            _log(f"state workloads on Redis (a private redis-server at {url})")
            try:
                results["redis"] = run_state_workloads(
                    "redis", REDIS_WORKLOADS, args.redis_seconds, REDIS_SIZES, args.repeats,
                    time.monotonic() + args.budget, redis_url=url,
                )
            except WorkerError as exc:
                failures.append(str(exc))
            finally:
                server.close()
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["elapsed_s"] = time.monotonic() - began
    for section in ("memory_manager", "redis"):
        for key, sides in (results.get(section) or {}).get("workloads", {}).items():
            if "ours" in sides and not sides["ours"]["exact"]:
                failures.append(f"{section}/{key}: our final counter was not exact (a lost update)")
    results["failures"] = failures
    text = report(results)
    results["table"] = text
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(text)
    print()
    print(f"Results: {args.out}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0
