"""Run by tests/site/test_install.py with the Python of a fresh virtual environment, outside the checkout.

It proves the installed wheel is the engine, whole: `engine` comes from that
environment, every module of it and of the demos imports, the runtime
dependencies are installed, and a TabClient round trip works (an App with
one state, an event, the update it causes). Prints one JSON line for the test.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import json
import pkgutil
import sys
from pathlib import Path

import engine as rx
from engine.testing import TabClient

# What the engine, TabClient and the docs server import at run time.
NEEDED = ["aiohttp", "httpx", "python-socketio", "python-engineio", "quart", "redis", "uvicorn"]


class Counter(rx.State):
    count: int = 0

    def add(self, amount: int) -> None:
        self.count += amount


async def round_trip() -> dict[str, int]:
    app = rx.App()
    async with TabClient(app, states=[Counter]) as tab:
        first = tab.state(Counter)["count"]
        ack = await tab.send(Counter.add, 2)
        assert ack.get("ok") is True, ack
        await tab.wait_for(lambda t: t.state(Counter)["count"] == 2, timeout=10)
        return {"before": first, "after": tab.state(Counter)["count"], "seq": tab.seq}


def main() -> None:
    checkout = Path(sys.argv[1]).resolve()
    location = Path(rx.__file__).resolve()
    assert location.is_relative_to(Path(sys.prefix).resolve()), f"engine comes from {location}, not {sys.prefix}"
    assert not location.is_relative_to(checkout), f"engine comes from the checkout: {location}"
    modules = []
    for package in ("engine", "demos"):
        root = importlib.import_module(package)
        modules.append(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            importlib.import_module(info.name)
            modules.append(info.name)
    versions = {name: importlib.metadata.version(name) for name in NEEDED}
    print(json.dumps({"engine": str(location), "modules": modules, "versions": versions,
                      "round_trip": asyncio.run(round_trip())}))


if __name__ == "__main__":
    main()
