"""`python -m bench --against REV`: this checkout's engine beside the engine at git revision REV.

For a change that must not cost speed. Both engines run the same state
workloads (`bench.states.workloads`), each in a worker process of its own, taking
turns run by run; then the event round trip (`bench.roundtrip`), taking
turns process by process. Every round starts fresh processes. A figure
is the median over the rounds of the *paired* ratio of speeds (this
checkout's run against REV's run just before or after it), with its
quartiles: on a shared machine one pair can be off by 20 %, the median of
many pairs far less. Reflex is not involved: it is the same on both
sides. `--against HEAD` shows how far from 1 the noise alone takes it.
With `--against-redis` the state workloads also run on a redis-server of
the bench's own (confirm mode, smaller runs, wall-clock rates: there the
cost is the waiting on Redis, not the CPU).

REV is checked out into a temporary git worktree, removed at the end. Each
tree runs its own bench's worker and round trip on its own engine, so the
workloads may follow an engine whose API changed; REV's bench must speak
the same worker protocol (`bench.states.worker`, or `bench.worker` in the
flat layout before the bench was split into subpackages).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from .child_process import LineProcess
from .paths import ROOT
from .redis_server import RedisServer

__all__ = ["PairedRatio", "main", "module_in", "paired"]

# Increments per run: each run lasts a few tenths of a second on this engine.
SIZES = {
    "one_token": 30_000, "many_tokens": 20_000, "contended": 10_000, "background": 20_000, "background_demo": 10_000,
}
# Where each tree's bench keeps the worker and the round trip: this layout first, then older ones.
WORKER_MODULES = ("bench.states.worker", "bench.worker")
ROUND_TRIP_MODULES = ("bench.roundtrip",)
TITLES = {
    "one_token": "`modify_state`, 1 token",
    "many_tokens": "`modify_state`, 100 tokens at once",
    "contended": "`modify_state`, 50 tasks on 1 token",
    "background": "`async with self` in a background task",
    "background_demo": "the demo's loop in a background task",
}
REDIS_SHARE = 5  # a Redis run makes this many times fewer increments (a few tenths of a second each)


class PairedRatio(NamedTuple):
    """The median and the low and high quartiles of a list of paired ratios."""

    median: float
    q1: float
    q3: float


def paired(mine: list[float], theirs: list[float]) -> PairedRatio:
    """The median and quartiles of mine[i] / theirs[i]; the two lists are runs taken in turns."""
    if not mine or len(mine) != len(theirs):
        raise ValueError(
            f"paired ratios need two lists of the same, non-zero length, got {len(mine)} and {len(theirs)}"
        )
    ratios = sorted(a / b for a, b in zip(mine, theirs, strict=True))
    quartiles = statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1 else [ratios[0]] * 3
    return PairedRatio(statistics.median(ratios), quartiles[0], quartiles[2])


def module_in(tree: Path, candidates: tuple[str, ...]) -> str:
    """The first of `candidates` (dotted module names) that `tree` has as a file."""
    for name in candidates:
        if (tree / (name.replace(".", "/") + ".py")).is_file():
            return name
    raise RuntimeError(
        f"{tree} has none of {', '.join(candidates)}: its bench does not speak this bench's worker protocol; "
        "pick a revision whose bench has --against"
    )


def _env(tree: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(tree), PYTHONUNBUFFERED="1")


def _state_workloads(trees: dict[str, Path], rounds: int, redis_url: str | None = None
                     ) -> dict[str, dict[str, list[float]]]:
    """Each round in fresh worker processes: one process can run the same code 10 % faster or slower than
    another for the whole of its life (where its memory happened to land), so that must average out too.
    With `redis_url`, on Redis: smaller runs, wall-clock rates."""
    rates: dict[str, dict[str, list[float]]] = {w: {name: [] for name in trees} for w in SIZES}
    modules = {name: module_in(tree, WORKER_MODULES) for name, tree in trees.items()}
    args = ["ours", "redis", redis_url] if redis_url else ["ours", "memory"]
    share, pick = (REDIS_SHARE, "rate") if redis_url else (1, "cpu_rate")
    for round_ in range(rounds):
        workers = {name: LineProcess(modules[name], args, f"against-{name}", env=_env(tree), cwd=tree)
                   for name, tree in trees.items()}
        try:
            for worker in workers.values():
                worker.answer(timeout=120)  # ready
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for workload, size in SIZES.items():
                n = size // share
                for name in order:
                    workers[name].request({"run": workload, "n": n // 4})  # warm-up, not counted
                for name in order:
                    result = workers[name].request({"run": workload, "n": n})
                    if not result.get("ok"):
                        raise RuntimeError(f"{name}: {workload} lost updates ({result})")
                    rates[workload][name].append(result[pick])
        finally:
            for worker in workers.values():
                worker.close()
        print(f"[bench] round {round_ + 1}/{rounds} done", file=sys.stderr)
    return rates


def _round_trips(trees: dict[str, Path], rounds: int, samples: int) -> dict[str, dict[str, list[float]]]:
    ratios: dict[str, dict[str, list[float]]] = {"p50": {n: [] for n in trees}, "p99": {n: [] for n in trees}}
    modules = {name: module_in(tree, ROUND_TRIP_MODULES) for name, tree in trees.items()}
    for round_ in range(rounds):
        order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
        for name in order:
            done = subprocess.run(
                [sys.executable, "-m", modules[name], str(samples)], cwd=trees[name], env=_env(trees[name]),
                capture_output=True, text=True, timeout=300, check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            for pick in ("p50", "p99"):
                ratios[pick][name].append(result["ours"][f"{pick}_us"] / result["echo"][f"{pick}_us"])
    return ratios


def _report(rev: str, rates: dict[str, dict[str, list[float]]], trips: dict[str, dict[str, list[float]]],
            on_redis: dict[str, dict[str, list[float]]] | None = None) -> str:
    lines = [
        f"| Workload | {rev} (median) | this checkout (median) | speed of this checkout / {rev}, paired (quartiles) |",
        "|---|---|---|---|",
    ]
    for where, section in (("", rates), (", on Redis (confirm)", on_redis or {})):
        for workload, sides in section.items():
            ratio = paired(sides["here"], sides["rev"])
            theirs, mine = statistics.median(sides["rev"]), statistics.median(sides["here"])
            spread = f"{ratio.median:.3f} ({ratio.q1:.3f}-{ratio.q3:.3f})"
            lines.append(f"| {TITLES[workload]}{where} | {theirs:,.0f}/s | {mine:,.0f}/s | {spread} |")
    for pick, sides in trips.items():
        ratio = paired(sides["rev"], sides["here"])  # (a time: the lower, the faster)
        theirs, mine = statistics.median(sides["rev"]), statistics.median(sides["here"])
        spread = f"{ratio.median:.3f} ({ratio.q1:.3f}-{ratio.q3:.3f})"
        lines.append(f"| event round trip {pick}, vs a bare echo | {theirs:.3f}x | {mine:.3f}x | {spread} |")
    return "\n".join(lines)


def main(rev: str, rounds: int = 15, trip_rounds: int = 4, samples: int = 2_000, redis: bool = False) -> int:
    """Compare, print the table. In its last column, above 1 means this checkout is faster there.

    Rates in memory are CPU-time rates (what a run cost its process), on Redis
    wall-clock rates; round trips are ours against the bare echo measured in
    the same process.
    """
    with tempfile.TemporaryDirectory(prefix="bench-against-") as scratch:
        tree = Path(scratch) / "rev"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), rev], cwd=ROOT, check=True)
        try:
            trees = {"here": ROOT, "rev": tree}
            print(f"[bench] state workloads: {rounds} rounds, this checkout and {rev} in turns", file=sys.stderr)
            rates = _state_workloads(trees, rounds)
            print(f"[bench] event round trip: {trip_rounds} processes each, in turns", file=sys.stderr)
            trips = _round_trips(trees, trip_rounds, samples)
            on_redis = None
            if redis:
                server = RedisServer()
                if not server.available:
                    raise RuntimeError("--against-redis needs redis-server (apt-get install redis-server)")
                print(f"[bench] state workloads on Redis: {rounds} rounds, in turns", file=sys.stderr)
                try:
                    on_redis = _state_workloads(trees, rounds, server.start())
                finally:
                    server.stop()
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    print(_report(rev, rates, trips, on_redis))
    return 0
