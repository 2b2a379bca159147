"""Test an App the way a browser uses it: a real server on a loopback port and a Socket.IO tab.

    async with TabClient(app) as tab:
        await tab.send(MyTaskState.toggle_running)
        await tab.wait_for(lambda t: t.state(MyTaskState)["counter"] >= 3, timeout=5)

`TabClient` speaks the same protocol as the browser runtime (see the
protocol page): it keeps a mirror of the tab's public vars from the updates
it receives, applies them in `seq` order and asks for a full copy on a gap.

The package keeps the tab's connection (`tab`), what it sees (`view`) and
how a refusal reads (`refusal`) apart; import everything from here.
"""

from __future__ import annotations

from ..testserver import serve
from .refusal import TabRefusedError
from .tab import TabClient

__all__ = ["TabClient", "TabRefusedError", "serve"]
