"""One engine worker process for the multi-process Redis tests.

    python -m tests.redis.worker_app PORT

Settings come from the environment (REDIS_URL, ENGINE_TOKEN_SECRET,
ENGINE_LOCK_LEASE, ENGINE_WORKER_HEARTBEAT...), as in production. It serves
the test states and the counter demo.
"""

from __future__ import annotations

import logging
import sys

import uvicorn

import demos.background_tasks  # noqa: F401  (the counter demo, for the recovery tests)
import engine as rx
import tests.redis.worker_states  # noqa: F401  (registers the states)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = rx.App()
    uvicorn.run(app.asgi(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
