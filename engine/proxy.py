"""A background task's `self`: read-only between blocks, the real state inside `async with self`.

Outside a block, reads return the values the task saw last (copies taken
when the task started and when each block ended), which may be stale, and
every change raises `ImmutableStateError`. Inside a block, attribute access
goes to the tab's live state, loaded under the tab's lock.
"""

from __future__ import annotations

import inspect
from contextlib import AbstractAsyncContextManager
from types import MethodType
from typing import TYPE_CHECKING, Any

from .delta import copy_values
from .errors import ImmutableStateError, StateLockError
from .event import EventHandler
from .readonly import detach, readonly
from .state import State, VarField

if TYPE_CHECKING:
    from .app import App

__all__ = ["StateProxy", "stale_copies"]


def stale_copies(state: State) -> dict[type[State], dict[str, Any]]:
    """Detached values of a state and its ancestors, keyed by class."""
    copies: dict[type[State], dict[str, Any]] = {}
    node: State | None = state
    while node is not None:
        copies[type(node)] = copy_values(node)
        node = node._rx_parent
    return copies


def _outside(what: str) -> ImmutableStateError:
    return ImmutableStateError(
        f"cannot {what} outside `async with self`; "
        "wrap the change in `async with self:` inside the background task"
    )


class StateProxy:
    """Stands in for a state inside a background task; see the module docstring."""

    __slots__ = ("_rx_app", "_rx_token", "_rx_cls", "_rx_stale", "_rx_live", "_rx_block")

    def __init__(
        self, app: App, token: str, state_cls: type[State], stale: dict[type[State], dict[str, Any]]
    ) -> None:
        object.__setattr__(self, "_rx_app", app)
        object.__setattr__(self, "_rx_token", token)
        object.__setattr__(self, "_rx_cls", state_cls)
        object.__setattr__(self, "_rx_stale", stale)
        object.__setattr__(self, "_rx_live", None)
        object.__setattr__(self, "_rx_block", None)

    # -- the State API that needs no lock ----------------------------------
    _rx_app: App
    _rx_token: str
    _rx_cls: type[State]
    _rx_stale: dict[type[State], dict[str, Any]]
    _rx_live: State | None
    _rx_block: AbstractAsyncContextManager[State] | None

    def get_token(self) -> str:
        return self._rx_token

    def get_name(self) -> str:
        return self._rx_cls.get_name()

    def get_full_name(self) -> str:
        return self._rx_cls.get_full_name()

    async def get_state(self, state_cls: type[State]) -> State:
        """Another state of this tab; only inside `async with self`."""
        if self._rx_live is None:
            raise _outside(f"get {state_cls.__name__} from {self._rx_cls.__name__}")
        return await self._rx_live.get_state(state_cls)

    def get_substate(self, path: list[str] | tuple[str, ...]) -> State:
        if self._rx_live is None:
            raise _outside(f"get substate {'.'.join(path)!r} of {self._rx_cls.__name__}")
        return self._rx_live.get_substate(path)

    # -- the lock ------------------------------------------------------------
    async def __aenter__(self) -> StateProxy:
        if self._rx_block is not None:
            raise StateLockError(
                f"`async with self` is already open in this task for {self._rx_cls.__name__}; "
                "blocks cannot be nested (the inner one would wait for the outer forever)"
            )
        block: AbstractAsyncContextManager[State] = self._rx_app.modify_state(self._rx_token)
        object.__setattr__(self, "_rx_block", block)
        try:
            root = await block.__aenter__()
        except BaseException:
            object.__setattr__(self, "_rx_block", None)
            raise
        object.__setattr__(
            self, "_rx_live", root.get_substate(self._rx_cls.get_full_name().split("."))
        )
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        block, live = self._rx_block, self._rx_live
        assert block is not None and live is not None
        seen = stale_copies(live) if exc_type is None else None
        object.__setattr__(self, "_rx_live", None)
        object.__setattr__(self, "_rx_block", None)
        result = await block.__aexit__(exc_type, exc, tb)
        if seen is not None:
            object.__setattr__(self, "_rx_stale", seen)
        return result

    # -- attribute access ------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        live = self._rx_live
        if live is not None:
            return getattr(live, name)
        cls = self._rx_cls
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, VarField):
            values = self._rx_stale.get(attr.owner)
            value = values[name] if values is not None else attr.default
            return readonly(value, f"{attr.owner.__name__}.{name}")
        if isinstance(attr, EventHandler):
            if attr.background:
                return attr.__get__(live or object(), cls)
            return MethodType(attr.fn, self)
        if inspect.isfunction(attr):
            return MethodType(attr, self)
        if isinstance(attr, property) and attr.fget is not None:
            return attr.fget(self)
        return getattr(cls, name)

    def __setattr__(self, name: str, value: Any) -> None:
        live = self._rx_live
        if live is None:
            raise _outside(f"set {self._rx_cls.__name__}.{name}")
        setattr(live, name, detach(value))

    def __delattr__(self, name: str) -> None:
        live = self._rx_live
        if live is None:
            raise _outside(f"delete {self._rx_cls.__name__}.{name}")
        delattr(live, name)

    def __repr__(self) -> str:
        where = "inside" if self._rx_live is not None else "outside"
        return f"<background view of {self._rx_cls.__name__} ({where} async with self)>"
