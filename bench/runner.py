"""`python -m bench`: run every section, print the targets and tables, write bench-results/latest.json and charts.

Sections, in order (`--only` picks some):

- `memory`: the state workloads on the in-memory managers, ours and Reflex's;
- `tabs`: memory per idle tab;
- `roundtrip`: an event's round trip through a real socket, against a bare echo;
- `redis`: the state workloads on a private Redis: ours (confirm and, once the
  engine has it, pipelined commit mode), Reflex (default and oplock) and the
  bare redis-py round-trip limit;
- `scale`: live tabs through real sockets, against a bare python-socketio server.

`--against REV` runs none of them: it compares this checkout's engine with
the one at a git revision, side by side (bench.against).

Each contender runs in its own process; see `bench.states.runs` and
`bench.scale.section` for how they are kept comparable.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import machine
from .child_process import WorkerError, child_env
from .paths import PUBLISHED, RESULTS, ROOT
from .progress import Progress
from .redis_server import RedisServer
from .report import charts
from .report.tables import machine_line, report
from .report.targets import evaluate
from .scale.section import ScaleSettings, run_scale
from .states.contenders import MEMORY_CONTENDERS, REDIS_CONTENDERS, REDIS_WORKLOADS, STATE_WORKLOADS
from .states.runs import run_memory_per_tab, run_state_workloads

SECTIONS = ("memory", "tabs", "roundtrip", "redis", "scale")

# Increments: (warm-up and sizing probe, smallest run, largest run). A Redis run on 100
# tokens needs at least 10 increments per token to be more than its ramp-up.
MEMORY_SIZES = (2_000, 2_000, 200_000)
REDIS_SIZES = (500, 1_000, 30_000)


def run_round_trip(samples: int) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    log_path = RESULTS / "worker-roundtrip.log"
    with open(log_path, "w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "bench.roundtrip", str(samples)], cwd=ROOT, env=child_env(),
            stdout=subprocess.PIPE, stderr=log, text=True, timeout=300, check=False,
        )
    if done.returncode != 0 or not done.stdout.strip():
        raise WorkerError(f"round trip failed (exit {done.returncode}); see {log_path}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of every section at small sizes (a minute or two), for CI")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--repeats", type=int, default=7, help="rounds per contender (median reported)")
    parser.add_argument("--seconds", type=float, default=0.4, help="length of one in-memory run")
    parser.add_argument("--redis-seconds", type=float, default=0.6, help="length of one Redis run")
    parser.add_argument("--budget", type=float, default=100.0,
                        help="seconds for each throughput section; later rounds are skipped past it")
    parser.add_argument("--tabs", type=int, default=10_000, help="idle tabs for the memory figure")
    parser.add_argument("--samples", type=int, default=2_000, help="round trips per side")
    parser.add_argument("--scale-sizes", default="100,1000,2000", help="live tab counts of the scale section")
    parser.add_argument("--scale-workers-tabs", type=int, default=1_000, help="live tabs on two workers with Redis")
    parser.add_argument("--scale-seconds", type=float, default=5.0, help="one measured window of the scale section")
    parser.add_argument("--scale-rounds", type=int, default=3, help="windows per server in the scale section")
    parser.add_argument("--reflex-env", choices=("prod", "dev"), default="prod",
                        help="REFLEX_ENV_MODE for Reflex (prod: as deployed; dev: `reflex run`'s default)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--publish", action="store_true",
                        help=f"also write the charts and the results to {PUBLISHED.relative_to(ROOT)} for the docs")
    parser.add_argument("--against", metavar="REV",
                        help="instead of the sections: this checkout's engine beside the one at git revision REV "
                             "(see bench.against)")
    parser.add_argument("--rounds", type=int, default=15, help="with --against: runs of each workload per side")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.seconds, args.redis_seconds, args.tabs, args.samples = 2, 0.1, 0.2, 2_000, 200
        args.scale_sizes, args.scale_workers_tabs, args.scale_seconds, args.scale_rounds = "20,100", 100, 2.0, 1
        if args.publish:
            parser.error("--publish needs a full run: the docs show real figures, not a smoke run")
    return args


def _raise_open_files() -> None:
    """Servers started from here inherit the limit: 2,000 live tabs are 2,000 sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.against:
        from . import against

        return against.main(args.against, rounds=args.rounds, samples=args.samples)
    progress = Progress()
    os.environ["BENCH_REFLEX_ENV"] = args.reflex_env
    _raise_open_files()
    sections = {part.strip() for part in args.only.split(",") if part.strip()}
    scale_settings = ScaleSettings(
        sizes=tuple(int(n) for n in args.scale_sizes.split(",") if n.strip()),
        rounds=args.scale_rounds, window_s=args.scale_seconds, settle_s=1.0 if args.quick else 1.5,
        two_worker_tabs=args.scale_workers_tabs,
    )
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "nox -s bench" + (" -- " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""),
        "machine": machine.describe(),
        "settings": {
            "repeats": args.repeats, "run_seconds": args.seconds, "redis_run_seconds": args.redis_seconds,
            "reflex_env_mode": args.reflex_env, "tabs": args.tabs, "samples": args.samples, "quick": args.quick,
        },
    }
    progress(f"machine: {machine_line(results['machine'])}")
    failures: list[str] = []
    if "memory" in sections:
        progress("state workloads on the in-memory managers")
        try:
            results["memory_manager"] = run_state_workloads(
                "memory", MEMORY_CONTENDERS, STATE_WORKLOADS, args.seconds, MEMORY_SIZES, args.repeats,
                time.monotonic() + args.budget, progress,
            )
        except WorkerError as exc:
            failures.append(str(exc))
    if "tabs" in sections:
        progress(f"memory per idle tab, {args.tabs:,} tabs")
        try:
            results["memory_per_tab"] = run_memory_per_tab(MEMORY_CONTENDERS, args.tabs, progress)
        except WorkerError as exc:
            failures.append(str(exc))
    if "roundtrip" in sections:
        progress(f"event round trip, {args.samples:,} samples per side")
        try:
            results["round_trip"] = run_round_trip(args.samples)
        except (WorkerError, subprocess.TimeoutExpired) as exc:
            failures.append(str(exc))
    if "redis" in sections:
        server = RedisServer()
        if not server.available:
            results["redis"] = {"notes": ["redis-server is not installed; the Redis figures are skipped"]}
            progress(results["redis"]["notes"][0])
        else:
            url = server.start()
            progress(f"state workloads on Redis (a private redis-server at {url})")
            try:
                results["redis"] = run_state_workloads(
                    "redis", REDIS_CONTENDERS, REDIS_WORKLOADS, args.redis_seconds, REDIS_SIZES, args.repeats,
                    time.monotonic() + args.budget, progress, redis_url=url,
                )
            except WorkerError as exc:
                failures.append(str(exc))
            finally:
                server.close()
    if "scale" in sections:
        sizes = ", ".join(f"{n:,}" for n in scale_settings.sizes)
        two = scale_settings.two_worker_tabs
        progress(f"live tabs through real sockets: {sizes} tabs, then {two:,} on two workers")
        redis = RedisServer()
        try:
            results["scale"] = run_scale(scale_settings, progress, redis if redis.available else None)
        except (WorkerError, RuntimeError) as exc:
            failures.append(f"scale: {exc}")
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["elapsed_s"] = progress.elapsed
    for section in ("memory_manager", "redis"):
        for key, sides in (results.get(section) or {}).get("workloads", {}).items():
            for name in ("ours", "ours-pipelined"):
                if name in sides and not sides[name]["exact"]:
                    failures.append(f"{section}/{key}: our final counter was not exact ({name}: a lost update)")
    results["failures"] = failures
    results["targets"] = [target.as_dict() for target in evaluate(results)]
    text = report(results)
    results["table"] = text
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    written = charts.write_all(results, RESULTS / "charts")
    if args.publish and failures:
        print("Not published: a section failed (the docs show only complete runs)", file=sys.stderr)
    elif args.publish:
        written = charts.write_all(results, PUBLISHED)
        (PUBLISHED / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (PUBLISHED / "table.txt").write_text(text + "\n")  # the Performance page includes it as printed
    print()
    print(text)
    print()
    print(f"Results: {args.out}; charts: {', '.join(str(path.relative_to(ROOT)) for path in written)}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0
