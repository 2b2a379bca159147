"""States as a background task or a `modify_state` block sees them: views bound to a guard.

`BoundState` wraps one state instance of a tab. Reads work at any time;
containers come back as views under the same guard (views.py), and so do
other states reached through it (`get_state`, `get_substate`,
`parent_state`). Changes go through only while the guard is open, that is
while the block that handed the view out is open, and what is stored is
detached from anything the task still holds.

`TaskSelf` is a background task's `self`: inside `async with self` it is the
view of the tab's live state for the block this flow has open; outside, it
reads the values the task saw last (possibly stale) and refuses every change.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from types import MethodType
from typing import Any

from ..delta import copy_values
from ..errors import ImmutableStateError
from ..event import EventHandler
from ..state import State, VarField
from ..views import STALE, Guard, guarded, stored
from .flow import OpenBlock, open_block

__all__ = ["BoundState", "TaskSelf", "bind", "stale_copies"]

Stale = dict[type[State], dict[str, Any]]


def stale_copies(state: State) -> Stale:
    """Detached values of a state and its ancestors, keyed by class."""
    copies: Stale = {}
    node: State | None = state
    while node is not None:
        copies[type(node)] = copy_values(node)
        node = node._rx_parent
    return copies


_attributes: dict[tuple[type[State], str], Any] = {}  # (class, name) -> class attribute: classes do not change


def _attribute(cls: type[State], name: str) -> Any:
    """The class attribute behind `name` (no descriptor runs); AttributeError when there is none."""
    key = (cls, name)
    try:
        return _attributes[key]
    except KeyError:
        pass
    try:
        attr = _attributes[key] = inspect.getattr_static(cls, name)
    except AttributeError:
        raise AttributeError(f"{cls.__name__} has no attribute {name!r}") from None
    return attr


def _behaviour(view: Any, cls: type[State], name: str, attr: Any) -> Any:
    """What a view gives for a handler, method, property or plain class attribute of its class."""
    if isinstance(attr, EventHandler):
        return attr.__get__(view, cls) if attr.background else MethodType(attr.fn, view)
    if inspect.isfunction(attr):
        return MethodType(attr, view)
    if isinstance(attr, property) and attr.fget is not None:
        return attr.fget(view)
    return getattr(cls, name)


def _is_slot(attr: Any) -> bool:
    """An instance slot of State itself (`_rx_values`...): engine internals, read through a view."""
    return inspect.ismemberdescriptor(attr)


def bind(state: State, guard: Guard) -> BoundState:
    """The view of `state` under `guard` (one per state and guard)."""
    view = guard.states.get(state)
    if view is None:
        view = guard.states[state] = BoundState(state, guard)
    return view  # type: ignore[no-any-return]


class BoundState:
    """One state instance of a tab, seen through a guard (see the module docstring)."""

    __slots__ = ("_rx_guard", "_rx_state")

    def __init__(self, state: State, guard: Guard) -> None:
        object.__setattr__(self, "_rx_state", state)
        object.__setattr__(self, "_rx_guard", guard)

    _rx_state: State
    _rx_guard: Guard

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(view, MyState) holds, as for the state itself
        return type(self._rx_state)

    def _rx_bind(self, state: State | None) -> Any:
        return None if state is None else bind(state, self._rx_guard)

    # -- the State API -------------------------------------------------------------
    def get_token(self) -> str:
        return self._rx_state.get_token()

    def get_name(self) -> str:
        return self._rx_state.get_name()

    def get_full_name(self) -> str:
        return self._rx_state.get_full_name()

    async def get_state(self, state_cls: type[State]) -> Any:
        """Another state of this tab, bound to the same block."""
        self._rx_guard.check(f"get {state_cls.__name__} from {type(self._rx_state).__name__}")
        return self._rx_bind(await self._rx_state.get_state(state_cls))

    def get_substate(self, path: list[str] | tuple[str, ...]) -> Any:
        self._rx_guard.check(f"get substate {'.'.join(path)!r} of {type(self._rx_state).__name__}")
        return self._rx_bind(self._rx_state.get_substate(path))

    def get_root(self) -> Any:
        return self._rx_bind(self._rx_state.get_root())

    @property
    def parent_state(self) -> Any:
        return self._rx_bind(self._rx_state.parent_state)

    @property
    def substates(self) -> dict[str, Any]:
        return {name: self._rx_bind(sub) for name, sub in self._rx_state.substates.items()}

    def existing_substate(self, state_cls: type[State]) -> Any:
        return self._rx_bind(self._rx_state.existing_substate(state_cls))

    def walk(self) -> list[Any]:
        return [self._rx_bind(state) for state in self._rx_state.walk()]

    def public_values(self) -> dict[str, Any]:
        return self._rx_state.public_values()

    # -- vars, handlers, methods ----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        state = self._rx_state
        cls = type(state)
        attr = _attribute(cls, name)
        if isinstance(attr, VarField):
            return guarded(getattr(state, name), self._rx_guard, f"{attr.owner.__name__}.{name}")
        if _is_slot(attr):
            return guarded(getattr(state, name), self._rx_guard, f"{cls.__name__}.{name}")
        return _behaviour(self, cls, name, attr)

    def __setattr__(self, name: str, value: Any) -> None:
        state = self._rx_state
        self._rx_guard.check(f"set {type(state).__name__}.{name}")
        setattr(state, name, stored(value, getattr(state, name, None)))

    def __delattr__(self, name: str) -> None:
        self._rx_guard.check(f"delete {type(self._rx_state).__name__}.{name}")
        delattr(self._rx_state, name)

    def __repr__(self) -> str:
        where = "open" if self._rx_guard.open else "ended"
        return f"<view of {self._rx_state!r} (block {where})>"


_LIVE_PROPERTIES = frozenset({"parent_state", "substates"})


def _outside(what: str) -> ImmutableStateError:
    return ImmutableStateError(f"cannot {what} outside `async with self`; {STALE.refusal.split('; ', 1)[1]}")


class TaskSelf:
    """A background task's `self` (see the module docstring)."""

    __slots__ = ("_rx_block", "_rx_cls", "_rx_progress", "_rx_stale", "_rx_token")

    def __init__(
        self,
        token: str,
        state_cls: type[State],
        stale: Stale,
        block: Callable[[], OpenBlock],
        progress: Callable[[float, float], Awaitable[None]],
    ) -> None:
        object.__setattr__(self, "_rx_token", token)
        object.__setattr__(self, "_rx_cls", state_cls)
        object.__setattr__(self, "_rx_stale", stale)
        object.__setattr__(self, "_rx_block", block)
        object.__setattr__(self, "_rx_progress", progress)

    _rx_token: str
    _rx_cls: type[State]
    _rx_stale: Stale
    _rx_block: Callable[[], OpenBlock]
    _rx_progress: Callable[[float, float], Awaitable[None]]

    async def set_progress(self, done: float, total: float) -> None:
        """Report how far the task is (`done` of `total`), inside `async with self` or outside it.

        Outside a block it takes the tab's lock only for the moment it needs.
        The page reads it as `MyState.task.progress`, a fraction in [0, 1].
        """
        await self._rx_progress(done, total)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(self, MyState) holds inside a task too
        return self._rx_cls

    def _rx_live(self) -> BoundState | None:
        block = open_block(self._rx_token)
        return block.view_of(self._rx_cls) if block is not None else None

    # -- what works anywhere --------------------------------------------------------------
    def get_token(self) -> str:
        return self._rx_token

    def get_name(self) -> str:
        return self._rx_cls.get_name()

    def get_full_name(self) -> str:
        return self._rx_cls.get_full_name()

    # -- what needs the tab's live state ----------------------------------------------------
    def _rx_inside(self, what: str) -> BoundState:
        live = self._rx_live()
        if live is None:
            raise _outside(f"{what} of {self._rx_cls.__name__}")
        return live

    async def get_state(self, state_cls: type[State]) -> Any:
        return await self._rx_inside(f"get {state_cls.__name__}, another state,").get_state(state_cls)

    def get_substate(self, path: list[str] | tuple[str, ...]) -> Any:
        return self._rx_inside(f"get substate {'.'.join(path)!r}").get_substate(path)

    def get_root(self) -> Any:
        return self._rx_inside("get the root state").get_root()

    def existing_substate(self, state_cls: type[State]) -> Any:
        return self._rx_inside(f"look up {state_cls.__name__}").existing_substate(state_cls)

    def walk(self) -> list[Any]:
        return self._rx_inside("walk the state tree").walk()

    def public_values(self) -> dict[str, Any]:
        return self._rx_inside("read the live values").public_values()

    # -- the lock ---------------------------------------------------------------------------
    async def __aenter__(self) -> TaskSelf:
        block = self._rx_block()
        await block.enter()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        block = open_block(self._rx_token)
        assert block is not None, "`async with self` left a block it did not open"
        if exc_type is None:  # what the task reads next, outside a block, is what it saw last
            object.__setattr__(self, "_rx_stale", stale_copies(block.view_of(self._rx_cls)._rx_state))
        await block.exit(exc_type, exc, tb)

    # -- vars, handlers, methods ------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        cls = self._rx_cls
        live = self._rx_live()
        if name in _LIVE_PROPERTIES:  # (a property here would hide the error: it is an AttributeError)
            if live is None:
                raise _outside(f"use {name} of {cls.__name__}")
            return getattr(live, name)
        attr = _attribute(cls, name)
        if isinstance(attr, VarField):
            if live is not None:
                return getattr(live, name)
            values = self._rx_stale.get(attr.owner)
            value = values[name] if values is not None else attr.default
            return guarded(value, STALE, f"{attr.owner.__name__}.{name}")
        if _is_slot(attr):  # the engine's own slots: there is no state behind them outside a block
            if live is None:
                raise _outside(f"read {cls.__name__}.{name}")
            return getattr(live, name)
        # Methods and handlers are bound to the task's `self`, inside a block or not, so a helper
        # called inside one can take its own block later, and one called outside sees stale values.
        return _behaviour(self, cls, name, attr)

    def __setattr__(self, name: str, value: Any) -> None:
        live = self._rx_live()
        if live is None:
            raise _outside(f"set {self._rx_cls.__name__}.{name}")
        setattr(live, name, value)

    def __delattr__(self, name: str) -> None:
        live = self._rx_live()
        if live is None:
            raise _outside(f"delete {self._rx_cls.__name__}.{name}")
        delattr(live, name)

    def __repr__(self) -> str:
        where = "inside" if self._rx_live() is not None else "outside"
        return f"<background view of {self._rx_cls.__name__} ({where} async with self)>"
