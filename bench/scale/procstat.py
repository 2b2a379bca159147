"""CPU time and resident memory of a process and its descendants, read from Linux's /proc.

The scale workload charges a server for what its processes used: a docs
server with `--workers 2` is a parent and two worker processes, so it reads
the whole tree. Outside Linux every figure is 0 (the workload says so).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Usage", "alive", "descendants", "usage"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Usage:
    """CPU seconds spent so far (user + system) and bytes resident now, summed over processes; and the
    seconds their main threads spent ready to run but waiting for a core (a busy machine, not their work)."""

    cpu_s: float
    rss_bytes: int
    processes: int
    waiting_s: float = 0.0


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; everything after its ')' splits cleanly.
    return text[text.rindex(")") + 2:].split()


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited but not yet reaped, does not)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return [pid]
    for entry in entries:
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))  # fields[1] is the ppid
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _waiting_ns(pid: int) -> int:
    """Nanoseconds the process's main thread sat on a run queue (schedstat's second field; 0 if unknown)."""
    try:
        with open(f"/proc/{pid}/schedstat") as schedstat:
            return int(schedstat.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def usage(pids: list[int]) -> Usage:
    cpu_ticks, pages, alive, waiting_ns = 0, 0, 0, 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        alive += 1
        cpu_ticks += int(fields[11]) + int(fields[12])  # utime, stime
        pages += int(fields[21])  # rss
        waiting_ns += _waiting_ns(pid)
    return Usage(cpu_s=cpu_ticks / _TICKS, rss_bytes=pages * _PAGE, processes=alive, waiting_s=waiting_ns / 1e9)
