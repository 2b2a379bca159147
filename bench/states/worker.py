"""One side's worker process: `python -m bench.states.worker SIDE {memory|redis} [REDIS_URL] [VARIANT]`.

SIDE is `ours` (the engine), `reflex` or `redis-py`. VARIANT picks a
configuration of the side: `pipelined` (our Redis commit mode), `oplock`
(Reflex's `REFLEX_OPLOCK_ENABLED=true`); empty for defaults.

It reads one JSON command per line on stdin and answers one JSON line on
the pipe it was given as stdout; anything the frameworks print goes to
stderr. Commands: `{"run": NAME, "n": N}`, `{"memory": TABS, "method": M}`,
`{"quit": true}`. Every command is bounded by its own timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import traceback
from typing import Any

RUN_TIMEOUT = 120.0


def _prepare(side: str, mode: str, redis_url: str | None, variant: str) -> None:
    if side == "reflex":
        os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
        # Production mode by default, as Reflex is deployed (in dev mode, the default of
        # `reflex run`, it also checks every state assignment); `--reflex-env dev` to compare.
        os.environ["REFLEX_ENV_MODE"] = os.environ.get("BENCH_REFLEX_ENV", "prod")
        os.environ["REFLEX_STATE_MANAGER_MODE"] = mode
        if redis_url:
            os.environ["REFLEX_REDIS_URL"] = redis_url
        else:
            os.environ.pop("REFLEX_REDIS_URL", None)
        # Reflex's opportunistic lock: keep a tab's lock leased and its state cached in the
        # worker, written back when the lease ends (read at import, so set before it).
        os.environ["REFLEX_OPLOCK_ENABLED"] = "true" if variant == "oplock" else "false"
        # Reflex may write files (.states, .web) under its working directory: not in the repo.
        os.chdir(tempfile.mkdtemp(prefix="bench-reflex-"))
    else:
        os.environ.pop("REDIS_URL", None)


async def _serve(side_name: str, mode: str, redis_url: str | None, variant: str, out: Any) -> None:
    from . import workloads

    def answer(payload: dict[str, Any]) -> None:
        out.write(json.dumps(payload) + "\n")
        out.flush()

    try:
        if side_name == "reflex":
            from .reflex_side import ReflexSide

            side: Any = ReflexSide(mode, redis_url, variant)
        elif side_name == "redis-py":
            from .redis_py_side import RedisPySide

            side = RedisPySide(mode, redis_url, variant)
        else:
            from .engine_side import EngineSide

            side = EngineSide(mode, redis_url, variant)
        info = await asyncio.wait_for(side.setup(), RUN_TIMEOUT)
    except workloads.Unavailable as exc:
        answer({"unavailable": str(exc)})
        return
    except Exception:
        answer({"error": traceback.format_exc()})
        return
    answer({"ready": info})
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or not line.strip():
                break
            command = json.loads(line)
            if command.get("quit"):
                break
            try:
                if "run" in command:
                    work = workloads.RUNS[command["run"]](side, int(command["n"]))
                elif "memory" in command:
                    work = workloads.memory(side, int(command["memory"]), command["method"])
                else:
                    raise ValueError(f"unknown command {command!r}")
                answer({"result": await asyncio.wait_for(work, RUN_TIMEOUT)})
            except Exception:
                answer({"error": traceback.format_exc()})
    finally:
        await side.close()


def main(argv: list[str]) -> None:
    side, mode = argv[0], argv[1]
    redis_url = argv[2] if len(argv) > 2 and argv[2] else None
    variant = argv[3] if len(argv) > 3 else ""
    out = os.fdopen(os.dup(1), "w")  # answers go here; stray prints go to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _prepare(side, mode, redis_url, variant)
    asyncio.run(_serve(side, mode, redis_url, variant, out))


if __name__ == "__main__":
    main(sys.argv[1:])
