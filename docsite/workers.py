"""`python -m docsite serve --workers N --redis-url URL`: N server processes behind one port.

uvicorn's own process manager runs them (`uvicorn.supervisors.Multiprocess`,
what `uvicorn --workers N` runs). The parent binds the port once and every
worker inherits the listening socket. The parent asks each worker every half
second whether it is alive, over a pipe; one that exited, or that does not
answer within `timeout_worker_healthcheck`, is killed and replaced at once.
A worker that exits before it served (uvicorn's exit status 3: the app,
its lifespan startup or the socket failed) would fail the same way again:
the parent then stops every worker and exits with status 3, for whatever
runs the service to decide. SIGTERM or SIGINT to the parent ends it: each
worker is sent SIGTERM and drains (`App.shutdown` lets its tasks finish for
`shutdown_timeout`), and the parent exits once all of them have.

Each worker builds its own App (`worker_asgi`, the factory uvicorn calls in
every worker process), so each has its own Redis worker id, heartbeat and
lifespan startup; they share tab states, locks and Socket.IO rooms through
Redis. uvicorn builds each worker's server itself, so a worker runs
`App.shutdown` from its lifespan, once uvicorn has closed its connections
(usually well under GRACEFUL_CLOSE, its limit), not at the first moment as one process
does (`_Server` in docsite/__main__.py): a stop takes that much longer.

Why no sticky routing is needed: the browser runtime and the test client use
the websocket transport only, so a tab's whole Socket.IO session is one TCP
connection, which stays on the worker that accepted it. (HTTP long-polling
would spread one session over many requests, each possibly landing on a
different worker that does not know the session.) A reconnect may reach any
worker; its ticket is valid on all of them because they share one signing
key, and its state is in Redis.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

import engine as rx

from .hostnames import served_names
from .server import create_asgi
from .serving import configure_logging, import_extra_modules, uvicorn_options

__all__ = ["describe_exit", "exit_status", "serve_workers", "worker_asgi"]

logger = logging.getLogger("docsite")

SITE_ENV = "DOCSITE_SITE"  # set by the parent: the built site every worker serves
HOST_ENV = "DOCSITE_HOST"  # set by the parent: the address listened on, for the host names the workers answer to
CLEAN_EXITS = (0, -signal.SIGTERM, -signal.SIGINT)  # what a worker told to stop exits with


def serve_workers(workers: int, host: str, port: int, site: Path) -> int:
    """Run `workers` server processes on one port until SIGTERM or SIGINT; returns an exit status."""
    os.environ[SITE_ENV] = str(site)
    os.environ[HOST_ENV] = host
    # No ticket key is made here: without ENGINE_TOKEN_SECRET the workers share the one kept in Redis,
    # so a tab's ticket is valid wherever it reconnects, and after a restart of them all.
    config = uvicorn.Config(
        f"{__name__}:worker_asgi", factory=True, workers=workers, host=host, port=port, log_level="warning",
        **uvicorn_options(rx.Settings.from_env().max_message_bytes),
    )
    # The workers log at WARNING, as one process does (INFO would be a line per connection);
    # the parent at INFO: its start, each worker that died or hung, the stop.
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    return exit_status((process.pid, process.exitcode) for process in supervisor.processes)


def worker_asgi() -> Any:
    """The ASGI app of one worker, with an App of its own: uvicorn calls this in each worker process."""
    configure_logging()
    try:
        import_extra_modules()
        return create_asgi(Path(os.environ[SITE_ENV]), rx.App(), hosts=served_names(os.environ[HOST_ENV]))
    except Exception:
        # uvicorn would restart a worker that raised here, and the new one would raise the same way;
        # its startup-failure status makes the parent stop instead.
        logger.exception("worker %d could not build the site's app; stopping every worker", os.getpid())
        sys.exit(STARTUP_FAILURE)


def exit_status(exits: Iterable[tuple[int | None, int | None]]) -> int:
    """The parent's exit status from its last workers' (pid, exit status): 0 if each stopped cleanly."""
    status = 0
    for pid, code in exits:
        if code == STARTUP_FAILURE:
            logger.error("worker %s could not start (its error is above); the server did not run", pid)
            return STARTUP_FAILURE
        if code not in CLEAN_EXITS:
            logger.warning("worker %s did not stop cleanly (%s)", pid, describe_exit(code))
            status = 1
    logger.info("all workers have exited")
    return status


def describe_exit(code: int | None) -> str:
    """An exit status as a reader wants it: 'status 1', 'killed by SIGKILL'."""
    if code is None:
        return "no status (still running)"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"
