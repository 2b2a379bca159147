"""The state workloads, run in every contender's worker process in turn, and the memory per idle tab.

In each round every workload runs once per contender, and the order of the
contenders rotates from one workload and round to the next, so the noise of
a shared machine falls on all of them. A warm-up run per contender and
workload sizes that contender's runs to last about the same time, so a
faster contender's runs are not shorter (and luckier with the noise).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from ..child_process import LineProcess, WorkerError, child_env
from .contenders import Contender

__all__ = ["Worker", "run_memory_per_tab", "run_state_workloads"]


class Worker(LineProcess):
    """One contender's `bench.states.worker` process."""

    def __init__(self, contender: Contender, mode: str, redis_url: str | None = None, *, label: str = "") -> None:
        self.contender = contender
        self.mode = mode
        args = [contender.side, mode, redis_url or "", contender.variant]
        super().__init__(
            "bench.states.worker", args, label or f"{contender.key}-{mode}",
            env=child_env(REFLEX_TELEMETRY_ENABLED="false"),
        )
        self.info: dict[str, Any] = {}
        self.unavailable: str | None = None

    def ready(self, timeout: float = 120.0) -> bool:
        """Wait for the worker's setup; False (with `unavailable` set) if it cannot run here."""
        answer = self.answer(timeout)
        if "unavailable" in answer:
            self.unavailable = str(answer["unavailable"])
            self.close()
            return False
        self.info = answer["ready"]
        return True


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
    mode: str, contenders: list[Contender], workloads: list[tuple[str, str]], run_seconds: float,
    limits: tuple[int, int, int], repeats: int, deadline: float, log: Callable[[str], None],
    redis_url: str | None = None,
) -> dict[str, Any]:
    """Each workload for each contender, `repeats` rounds; medians and every run in the section."""
    section: dict[str, Any] = {"mode": mode, "sides": {}, "workloads": {}, "notes": []}
    workers: dict[str, Worker] = {}
    try:
        for contender in contenders:
            workers[contender.key] = Worker(contender, mode, redis_url)
        for key, worker in workers.items():
            if worker.ready():
                section["sides"][key] = worker.info
            else:
                section["notes"].append(f"{key} skipped: {worker.unavailable}")
                log(f"{key} ({mode}) skipped: {worker.unavailable}")
        live = [c.key for c in contenders if c.key in section["sides"]]
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
                    section["notes"].append(f"{name} {key} warm-up: counter {probe['got']}, not {probe['expected']}")
        log(f"{mode}: warmed up and sized {len(live)} contenders: {', '.join(live)}")
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {key: {name: [] for name in live} for key, _ in workloads}
        for round_ in range(repeats):
            if round_ > 0 and time.monotonic() > deadline:
                section["notes"].append(f"stopped after {round_} rounds: the time budget was spent")
                log(section["notes"][-1])
                break
            for index, (key, _label) in enumerate(workloads):
                turn = (round_ + index) % len(live)
                for name in live[turn:] + live[:turn]:
                    runs[key][name].append(workers[name].request({"run": key, "n": sizes[key][name]}))
            log(f"{mode}: round {round_ + 1}/{repeats} done")
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


def run_memory_per_tab(contenders: list[Contender], tabs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Each side and method in a fresh process, so nothing else is counted."""
    section: dict[str, Any] = {"tabs": tabs}
    for index, method in enumerate(("tracemalloc", "rss")):
        section[method] = {}
        for contender in contenders if index % 2 == 0 else list(reversed(contenders)):
            worker = Worker(contender, "memory", label=f"{contender.key}-memory-{method}")
            try:
                if not worker.ready():
                    raise WorkerError(f"{contender.key}: {worker.unavailable}")
                section[method][contender.key] = worker.request({"memory": tabs, "method": method})
            finally:
                worker.close()
        log(f"memory per tab ({method}) done")
    return section
