"""What a test tab sees: its mirror of the public vars, read and waited on.

The connection (`tab.py`) fills the mirror from the server's updates; this
half only reads it, so that a test's questions (a state's values, a task's
status, what the inspector traced) and its waiting for an answer are in one
place, apart from the socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Self

from ..event import TASK_VARS, task_var
from ..handler import EventHandler
from ..state import State

__all__ = ["TabView"]


class TabView:
    """The reading half of `TabClient`: the tab's values as its updates left them, and waiting on them."""

    errors: list[str]  # the errors the server sent this tab, and the events it refused
    traces: list[dict[str, Any]]  # `trace` messages, while the inspector is on
    lost: str | None  # why the server's side of the connection went away, until connect()
    _values: dict[str, dict[str, Any]]  # state name -> var -> value, as the tab's updates left them
    _waiters: set[asyncio.Future[None]]  # woken by each change the tab sees

    def state(self, state_cls: type[State] | str, *, with_tasks: bool = False) -> dict[str, Any]:
        """The public vars one state declares, as this tab sees them now (a copy).

        The status the engine keeps for the state's background tasks is left
        out (see `task()`), unless `with_tasks`.
        """
        name = state_cls if isinstance(state_cls, str) else state_cls.get_full_name()
        values = self._values.get(name, {})
        return dict(values) if with_tasks else {key: value for key, value in values.items() if "@" not in key}

    def traced(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every observation the inspector sent so far (of one kind, if given), in order."""
        events = [event for trace in self.traces for event in trace["events"]]
        return [event for event in events if kind is None or event["kind"] == kind]

    def task(self, handler: EventHandler) -> dict[str, Any]:
        """A background handler's status as this tab sees it: `status`, `running`, `progress`, `error`."""
        if not handler.background or handler.state_cls is None:
            raise TypeError(f"task() takes a background handler such as MyState.my_task, got {handler!r}")
        values = self._values.get(handler.state_cls.get_full_name(), {})
        return {what: values.get(task_var(handler.name, what), default) for what, (_, default) in TASK_VARS.items()}

    def running_tasks(self) -> list[str]:
        """The background handlers this tab sees running (`state.name.handler`)."""
        return [
            f"{state}.{key.partition('@')[0]}"
            for state, values in self._values.items()
            for key, value in values.items()
            if key.endswith("@running") and value
        ]

    async def settle(self, timeout: float = 10) -> None:
        """Wait until no background task of this tab runs, as the tab sees it.

        Raises `TimeoutError` naming the handlers that still run after `timeout` seconds.
        """
        try:
            await self.wait_for(lambda tab: not tab.running_tasks(), timeout)
        except TimeoutError:
            raise TimeoutError(f"still running after {timeout}s: {', '.join(self.running_tasks())}") from None

    def _check_connection(self, when: str) -> None:
        if self.lost is not None:
            raise ConnectionError(f"the server's side of this tab's connection went away {when}: {self.lost}")

    async def wait_for(self, predicate: Callable[[Self], bool], timeout: float = 5) -> None:
        """Wait until `predicate(tab)` is true; `TimeoutError` shows what the tab saw.

        `ConnectionError` at once if the connection is lost meanwhile: nothing more can arrive.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            self._check_connection("while waiting")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"condition not met within {timeout}s; tab sees {self._values!r}, errors {self.errors!r}"
                )
            changed = loop.create_future()
            self._waiters.add(changed)
            try:
                await asyncio.wait_for(changed, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(changed)

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
