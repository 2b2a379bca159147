"""One session object for a regular event, an `async with self` block and `modify_state`.

Each is a `Session`: the same lock, commit and send steps, so what a session
offers (its confirmation, its outcome) is there whichever way it was opened.
"""

from __future__ import annotations

import engine as rx
from engine.runner import Session
from engine.testing import TabClient


class SessionSpecState(rx.State):
    count: int = 0


async def test_a_modify_state_block_is_a_session_whose_confirmation_can_be_awaited(app: rx.App) -> None:
    async with TabClient(app, states=[SessionSpecState]) as tab:
        block = app.modify_state(tab.token)
        assert isinstance(block, Session)
        async with block as root:
            root.get_substate(SessionSpecState.get_full_name().split(".")).count = 5
        await block.confirmation()  # (a block once lacked what this needs, and raised AttributeError)
        assert block.committed
        await tab.wait_for(lambda t: t.state(SessionSpecState)["count"] == 5)


async def test_a_block_that_raises_is_not_committed_and_changes_nothing(app: rx.App) -> None:
    async with TabClient(app, states=[SessionSpecState]) as tab:
        block = app.modify_state(tab.token)
        try:
            async with block as root:
                root.get_substate(SessionSpecState.get_full_name().split(".")).count = 9
                raise KeyError("on purpose")
        except KeyError:
            pass
        await block.confirmation()
        assert not block.committed
        async with app.modify_state(tab.token) as root:
            assert root.get_substate(SessionSpecState.get_full_name().split(".")).count == 0
