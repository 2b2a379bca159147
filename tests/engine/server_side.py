"""A tab as the server holds it: its state read under the tab's lock, and the end of its tasks."""

from __future__ import annotations

import copy
from typing import Any

import engine as rx
from tests.support.polling import eventually


async def server_values(app: rx.App, token: str, state_cls: type[rx.State]) -> dict[str, Any]:
    """Every var of one state (backend vars included) as the server holds it, read under the lock."""
    async with app.modify_state(token) as root:
        state = root.get_substate(state_cls.get_full_name().split("."))
        return {name: copy.deepcopy(getattr(state, name)) for name in state_cls.var_fields()}


async def tasks_finished(app: rx.App, token: str, timeout: float = 5) -> None:
    """Wait until no background task of this tab is running."""
    await eventually(lambda: not app.tasks.for_tab(token), timeout, f"the end of tab {token[:8]}'s tasks")
