"""One engine worker process for the multi-process Redis tests.

    python redis_scale_server.py PORT

Settings come from the environment (REDIS_URL, ENGINE_TOKEN_SECRET,
ENGINE_LOCK_LEASE, ENGINE_WORKER_HEARTBEAT...), as in production. It serves
the test states and the counter demo.
"""

from __future__ import annotations

import logging
import sys

import redis_scale_states  # noqa: F401  (registers the states)
import uvicorn

import demos.background_tasks  # noqa: F401  (the counter demo, for the recovery tests)
import engine as rx


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = rx.App()
    uvicorn.run(app.asgi(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
