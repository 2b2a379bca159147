"""The sections of a full run, in order (`--only` picks some), each writing its part of the results.

- `memory`: the state workloads on the in-memory managers, ours and Reflex's;
- `tabs`: memory per idle tab;
- `roundtrip`: an event's round trip through a real socket, against a bare echo;
- `redis`: the state workloads on a private Redis: ours (confirm and, once the
  engine has it, pipelined commit mode), Reflex (default and oplock) and the
  bare redis-py round-trip limit;
- `scale`: live tabs through real sockets, against a bare python-socketio server;
- `bigstate`: one small change per block in states of 10 to 10,000 items (a log,
  a table, a chat transcript, a counter beside a big table), in memory and on
  Redis, ours beside Reflex: blocks per second, update bytes, Redis bytes per block
  (`bench.states.big`; `--big-items`, `--big-kinds` pick some).
- `overload`: more live tabs than one process keeps up with, against the bare
  server: Stop acknowledged, throughput held, every tab's final counter.

Each contender runs in its own process; see `bench.states.runs` and
`bench.scale.section` for how they are kept comparable. A section that
fails is a line in the run's failures; the sections after it still run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from .child_process import WorkerError, child_env
from .paths import RESULTS, ROOT
from .progress import Progress
from .redis_server import RedisServer
from .scale.overload import OverloadSettings, run_overload
from .scale.section import ScaleSettings, run_scale
from .states.contenders import (
    BIG_REDIS_CONTENDERS,
    MEMORY_CONTENDERS,
    REDIS_CONTENDERS,
    REDIS_WORKLOADS,
    STATE_WORKLOADS,
    big_workloads,
)
from .states.runs import run_memory_per_tab, run_state_workloads

__all__ = ["SECTIONS", "lost_updates", "run_round_trip", "run_sections"]

SECTIONS = ("memory", "tabs", "roundtrip", "redis", "scale", "bigstate", "overload")

# Increments: (warm-up and sizing probe, smallest run, largest run). A Redis run on 100
# tokens needs at least 10 increments per token to be more than its ramp-up.
MEMORY_SIZES = (2_000, 2_000, 200_000)
REDIS_SIZES = (500, 1_000, 30_000)
# Blocks per big-state run: a block on 10,000 rows may take milliseconds (Reflex on Redis writes them all).
BIG_MEMORY_SIZES = (200, 200, 50_000)
BIG_REDIS_SIZES = (100, 100, 20_000)


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


def run_sections(args: argparse.Namespace, progress: Progress, results: dict[str, Any]) -> list[str]:
    """Run the sections `args.only` names into `results`; what failed, one line each."""
    sections = {part.strip() for part in args.only.split(",") if part.strip()}
    scale_settings = ScaleSettings(
        sizes=tuple(int(n) for n in args.scale_sizes.split(",") if n.strip()),
        rounds=args.scale_rounds, window_s=args.scale_seconds, settle_s=1.0 if args.quick else 1.5,
        two_worker_tabs=args.scale_workers_tabs,
    )
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
            replica = RedisServer(replica_of=server.port)  # what the replicated mode waits for
            replica.start()
            progress(f"state workloads on Redis (a private redis-server at {url}, one replica at {replica.url})")
            try:
                results["redis"] = run_state_workloads(
                    "redis", REDIS_CONTENDERS, REDIS_WORKLOADS, args.redis_seconds, REDIS_SIZES, args.repeats,
                    time.monotonic() + args.budget, progress, redis_url=url,
                )
            except WorkerError as exc:
                failures.append(str(exc))
            finally:
                replica.close()
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
    if "bigstate" in sections:
        failures += _run_big(args, progress, results)
    if "overload" in sections:
        overload = OverloadSettings(
            sizes=tuple(int(n) for n in args.overload_sizes.split(",") if n.strip()),
            rounds=args.overload_rounds, window_s=args.overload_seconds, settle_s=1.0 if args.quick else 2.0,
            stops=args.overload_stops,
        )
        progress(f"overload: {', '.join(f'{n:,}' for n in overload.sizes)} tabs on one process, beside bare")
        try:
            results["overload"] = run_overload(overload, progress)
        except (WorkerError, RuntimeError) as exc:
            failures.append(f"overload: {exc}")
    return failures


def _run_big(args: argparse.Namespace, progress: Progress, results: dict[str, Any]) -> list[str]:
    workloads = big_workloads(args.big_kinds.split(","), [int(n) for n in args.big_items.split(",") if n.strip()])
    failures: list[str] = []
    part: dict[str, Any] = results.setdefault("bigstate", {})
    progress(f"big states in memory: {len(workloads)} workloads")
    try:
        part["memory"] = run_state_workloads(
            "memory", MEMORY_CONTENDERS, workloads, args.seconds, BIG_MEMORY_SIZES, args.repeats,
            time.monotonic() + args.budget, progress,
        )
    except WorkerError as exc:
        failures.append(f"bigstate: {exc}")
    server = RedisServer()
    if not server.available:
        part["notes"] = ["redis-server is not installed; the big states on Redis are skipped"]
        return failures
    url = server.start()
    progress(f"big states on Redis (a private redis-server at {url})")
    try:
        part["redis"] = run_state_workloads(
            "redis", BIG_REDIS_CONTENDERS, workloads, args.redis_seconds, BIG_REDIS_SIZES, args.repeats,
            time.monotonic() + args.budget, progress, redis_url=url,
        )
    except WorkerError as exc:
        failures.append(f"bigstate on Redis: {exc}")
    finally:
        server.close()
    return failures


def lost_updates(results: dict[str, Any]) -> list[str]:
    """A failure for every state workload whose final counter on our side was not exact."""
    failures = []
    for section in ("memory_manager", "redis"):
        for key, sides in (results.get(section) or {}).get("workloads", {}).items():
            for name in ("ours", "ours-pipelined", "ours-replicated"):
                if name in sides and not sides[name]["exact"]:
                    failures.append(f"{section}/{key}: our final counter was not exact ({name}: a lost update)")
    for mode, section in (results.get("bigstate") or {}).items():
        for key, sides in (section.get("workloads", {}) if isinstance(section, dict) else {}).items():
            for name, side in sides.items():
                if not side["exact"]:
                    failures.append(f"bigstate {mode}/{key}: {name}'s final state was not exact (a lost update)")
    return failures
