"""One engine worker process for the multi-process Redis tests.

    python redis_scale_server.py PORT

Settings come from the environment (REDIS_URL, ENGINE_TOKEN_SECRET,
ENGINE_LOCK_LEASE, ...), as in production; TEST_DIRECTORY_BEAT shortens the
heartbeat of the shared tab directory so a killed worker is noticed quickly.
"""

from __future__ import annotations

import logging
import os
import sys

import redis_scale_states  # noqa: F401  (registers the states)
import uvicorn

import engine as rx
from engine.redis import RedisTabDirectory


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = rx.App()
    directory = app.event_namespace.token_to_sid
    if isinstance(directory, RedisTabDirectory) and os.environ.get("TEST_DIRECTORY_BEAT"):
        directory.beat = float(os.environ["TEST_DIRECTORY_BEAT"])
    uvicorn.run(app.asgi(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
