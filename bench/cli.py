"""`python -m bench`: run every section, print the targets and tables, write bench-results/latest.json and charts.

The sections and their order are in `bench.sections` (`--only` picks some).
`--against REV` runs none of them: it compares this checkout's engine with
the one at a git revision, side by side (`bench.against`).
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import sys
from pathlib import Path
from typing import Any

from . import machine
from .paths import PUBLISHED, RESULTS, ROOT
from .progress import Progress
from .report.publish import write_results
from .report.tables import machine_line, report
from .report.targets import evaluate
from .sections import SECTIONS, lost_updates, run_sections
from .states import big

__all__ = ["main"]


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
    parser.add_argument("--big-items", default=",".join(str(n) for n in big.ITEMS),
                        help="items in the states of the bigstate section (comma-separated)")
    parser.add_argument("--big-kinds", default=",".join(big.KINDS),
                        help=f"workloads of the bigstate section: {', '.join(big.KINDS)}")
    parser.add_argument("--overload-sizes", default="2000,5000",
                        help="tab counts of the overload section (the first is the baseline its throughput is "
                             "held against)")
    parser.add_argument("--overload-seconds", type=float, default=6.0, help="one window of the overload section")
    parser.add_argument("--overload-rounds", type=int, default=2, help="windows per server in the overload section")
    parser.add_argument("--overload-stops", type=int, default=200, help="Stop clicks measured per window")
    parser.add_argument("--reflex-env", choices=("prod", "dev"), default="prod",
                        help="REFLEX_ENV_MODE for Reflex (prod: as deployed; dev: `reflex run`'s default)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--publish", action="store_true",
                        help=f"also write the charts and the results to {PUBLISHED.relative_to(ROOT)} for the docs")
    parser.add_argument("--against", metavar="REV",
                        help="instead of the sections: this checkout's engine beside the one at git revision REV "
                             "(see bench.against)")
    parser.add_argument("--rounds", type=int, default=15, help="with --against: runs of each workload per side")
    parser.add_argument("--against-redis", action="store_true",
                        help="with --against: the state workloads on Redis too (a redis-server of the bench's own)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.seconds, args.redis_seconds, args.tabs, args.samples = 2, 0.1, 0.2, 2_000, 200
        args.scale_sizes, args.scale_workers_tabs, args.scale_seconds, args.scale_rounds = "20,100", 100, 2.0, 1
        if args.big_items == ",".join(str(n) for n in big.ITEMS):
            args.big_items = "10,1000"
        args.overload_sizes, args.overload_seconds, args.overload_rounds, args.overload_stops = "20,60", 2.0, 1, 10
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

        return against.main(args.against, rounds=args.rounds, samples=args.samples, redis=args.against_redis)
    progress = Progress()
    os.environ["BENCH_REFLEX_ENV"] = args.reflex_env
    _raise_open_files()
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
    failures = run_sections(args, progress, results)
    results["machine"]["load_average_at_end"] = machine.load_average()
    results["elapsed_s"] = progress.elapsed
    failures += lost_updates(results)
    results["failures"] = failures
    results["targets"] = [target.as_dict() for target in evaluate(results)]
    text = report(results)
    results["table"] = text
    written = write_results(results, args.out, args.publish)
    print()
    print(text)
    print()
    print(f"Results: {args.out}; charts: {', '.join(str(path.relative_to(ROOT)) for path in written)}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0
