"""Defence 8: a handler that blocks the event loop is named in the log, and the server recovers."""

from __future__ import annotations

import logging

from engine.testing import TabClient

from .states import HardBlockingState


async def test_a_blocking_handler_is_named_and_the_server_recovers(make_app, caplog):
    app = make_app(loop_lag_warn=0.2)
    await app.startup()  # starts the watchdog (the lifespan does this in a real server)
    states = [HardBlockingState]
    async with TabClient(app, states=states) as tab, TabClient(app, states=states) as other:
        with caplog.at_level(logging.WARNING, logger="engine.watchdog"):
            ack = await tab.send(HardBlockingState.nap, 0.6)
            assert ack["ok"]
        named = [r.getMessage() for r in caplog.records if r.name == "engine.watchdog"]
        assert len(named) == 1, named  # once per stall
        assert "HardBlockingState.nap" in named[0] and "time.sleep" in named[0]
        assert app._watchdog is not None and app._watchdog.stalls[0][1] == "HardBlockingState.nap"
        # The loop is free again: both tabs are served at once.
        assert (await other.send(HardBlockingState.set_naps, 5))["ok"]
        assert (await tab.send(HardBlockingState.nap, 0))["ok"]
        await tab.wait_for(lambda t: t.state(HardBlockingState)["naps"] == 2)


async def test_short_handlers_are_not_reported(make_app, caplog):
    app = make_app(loop_lag_warn=0.2)
    await app.startup()
    async with TabClient(app, states=[HardBlockingState]) as tab:
        with caplog.at_level(logging.WARNING, logger="engine.watchdog"):
            for _ in range(5):
                assert (await tab.send(HardBlockingState.nap, 0.01))["ok"]
        assert not [r for r in caplog.records if r.name == "engine.watchdog"]
