"""`python -m docsite serve`: serve the built site with live demos.

    python -m docsite serve [--host 127.0.0.1] [--port 8000] [--site site]
                            [--workers N --redis-url redis://...]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from pathlib import Path

import uvicorn

import engine as rx

from .hostnames import served_names
from .server import create_asgi
from .serving import EXTRA_MODULES, configure_logging, import_extra_modules, uvicorn_options
from .workers import serve_workers

_EPILOG = f"""\
environment:
  ENGINE_<SETTING>       engine settings, e.g. ENGINE_SHUTDOWN_TIMEOUT=5 (see the Settings page)
  {EXTRA_MODULES}  comma-separated modules to import before serving, for states
                         that are not demos (the test suite uses it); e.g.
                         {EXTRA_MODULES}=tests.hardening.shutdown_states

On SIGTERM or Ctrl-C the server stops taking events, lets background tasks
finish for up to ENGINE_SHUTDOWN_TIMEOUT seconds, cancels the rest, logs one
summary line and exits.
"""


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m docsite", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve the built site with live demos", epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--site", type=Path, default=Path("site"), help="the built site directory")
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes sharing the port (more than 1 needs Redis; default 1)")
    serve.add_argument("--redis-url", help="keep tab states in this Redis (default: $REDIS_URL, else memory)")
    return parser.parse_args(argv)


class _Server(uvicorn.Server):
    """uvicorn, with the engine's shutdown started as soon as the server begins to stop.

    uvicorn first closes every connection and waits for them, and only then
    runs the lifespan shutdown (`App.shutdown`). Starting `App.shutdown` at
    the same moment refuses new events at once and lets the tasks' grace
    period run while sockets close, so the process exits within
    `shutdown_timeout` plus about a second; the lifespan's own call then just
    waits for this one.
    """

    def __init__(self, config: uvicorn.Config, engine_app: rx.App) -> None:
        super().__init__(config)
        self.engine_app = engine_app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        running = len(self.engine_app.background_tasks)
        if running:  # otherwise the wait would look like a hang
            limit = self.engine_app.settings.shutdown_timeout
            print(f"Stopping: {running} background task(s) still run; they get up to {limit:g}s to finish "
                  "(setting shutdown_timeout), then they are cancelled", flush=True)
        stopping = asyncio.ensure_future(self.engine_app.shutdown())
        try:
            await super().shutdown(sockets)
        finally:
            await stopping


def _port_taken(host: str, port: int) -> str | None:
    """Why (host, port) cannot be listened on now, or None: checked before saying "Serving"."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _announce(args: argparse.Namespace) -> None:
    print(f"Serving the docs with live demos at http://{args.host}:{args.port}  (Ctrl-C to stop)", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    configure_logging()
    if not (args.site / "index.html").exists():
        print(f"error: {args.site}/index.html not found; build the site first (mkdocs build)", file=sys.stderr)
        return 2
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        print("error: --workers needs --redis-url (or REDIS_URL): workers share tab states through Redis",
              file=sys.stderr)
        return 2
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    os.environ.setdefault("DEMO_QUOTE_URL", f"http://{host}:{args.port}/api/quote")
    taken = _port_taken(args.host, args.port)
    if taken:
        print(f"error: cannot listen on {args.host}:{args.port}: {taken}; another server may be using it. "
              "Stop it, or pick another port with --port", file=sys.stderr)
        return 3
    if args.workers > 1:
        _announce(args)
        return serve_workers(args.workers, args.host, args.port, args.site.resolve())
    import_extra_modules()
    engine_app = rx.App()
    asgi = create_asgi(args.site, engine_app, hosts=served_names(args.host))
    config = uvicorn.Config(
        asgi, host=args.host, port=args.port, log_level="warning",
        **uvicorn_options(engine_app.settings.max_message_bytes),
    )
    _announce(args)
    server = _Server(config, engine_app)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown: a clean stop
        return 0
    return 0 if server.started else 3  # 3: could not start (uvicorn logged why)


if __name__ == "__main__":
    status = main()
    # Everything is stopped and logged by now; skip the interpreter's teardown, which
    # can take most of a second and would stretch the exit past shutdown_timeout + 1 s.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
