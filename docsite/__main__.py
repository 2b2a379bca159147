"""`python -m docsite serve`: serve the built site with live demos.

    python -m docsite serve [--host 127.0.0.1] [--port 8000] [--site site]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

from .server import create_asgi


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m docsite", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the built site with live demos")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--site", type=Path, default=Path("site"), help="the built site directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not (args.site / "index.html").exists():
        print(f"error: {args.site}/index.html not found; build the site first (mkdocs build)", file=sys.stderr)
        return 2
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    os.environ.setdefault("DEMO_QUOTE_URL", f"http://{host}:{args.port}/api/quote")
    asgi = create_asgi(args.site)
    print(f"Serving the docs with live demos at http://{args.host}:{args.port}  (Ctrl-C to stop)", flush=True)
    uvicorn.run(asgi, host=args.host, port=args.port, log_level="warning", lifespan="on")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
