"""What the figures were measured on: CPU, memory, OS, Python and the versions of what was compared."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import time
from typing import Any

__all__ = ["cpu_share", "describe", "load_average"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_share(seconds: float = 1.0) -> float:
    """CPU time one busy process gets per second of wall time: 1.0 on an idle core.

    A shared or throttled virtual machine may report idle cores and still give
    a busy process much less than one; this says how much it got right now.
    """
    began, cpu = time.monotonic(), time.process_time()
    while time.monotonic() - began < seconds:
        pass
    return round((time.process_time() - cpu) / (time.monotonic() - began), 2)


def describe() -> dict[str, Any]:
    redis_server = shutil.which("redis-server")
    redis_version = ""
    if redis_server:
        text = subprocess.run(
            [redis_server, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
        redis_version = next((part[2:] for part in text.split() if part.startswith("v=")), text.strip())
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "reflex": _version("reflex"),
            "python-socketio": _version("python-socketio"),
            "python-engineio": _version("python-engineio"),
            "uvicorn": _version("uvicorn"),
            "redis-py": _version("redis"),
            "redis-server": redis_version or "not installed",
        },
        "load_average_at_start": load_average(),
        "cpu_share_one_process": cpu_share(),
    }
