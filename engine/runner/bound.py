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

from ..codec import SCALAR_TYPES
from ..delta import detached, note, note_all
from ..errors import ImmutableStateError
from ..event import EventHandler
from ..state import State, VarField
from ..views import STALE, Guard, guarded, stored
from .flow import OpenBlock, innermost, open_block

__all__ = ["BoundState", "TaskSelf", "bind", "stale_copies"]

Stale = dict[type[State], dict[str, Any]]


def stale_copies(state: State) -> Stale:
    """Detached values of a state and its ancestors, keyed by class (taken at the end of every block).

    The engine's own lists (which copies of a handler run) are not copied:
    a task has no use for them, and reads them as their defaults.
    """
    copies: Stale = {}
    node: State | None = state
    while node is not None:
        values = copies[type(node)] = dict(node._rx_values)
        for field in type(node)._rx_mutable_fields:
            name = field.name
            values[name] = field.default if field.internal else detached(values[name])
        node = node._rx_parent
    return copies


_attributes: dict[type[State], dict[str, Any]] = {}  # class -> name -> class attribute: classes do not change


def _attribute(cls: type[State], name: str) -> Any:
    """The class attribute behind `name` (no descriptor runs); AttributeError when there is none."""
    known = _attributes.get(cls)
    if known is None:
        known = _attributes[cls] = {}
    try:
        return known[name]
    except KeyError:
        pass
    try:
        attr = known[name] = inspect.getattr_static(cls, name)
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


def _var_fields(cls: type[State]) -> dict[str, VarField]:
    """Every var an instance of `cls` has, its ancestors' included."""
    fields: dict[str, VarField] = {}
    for klass in reversed(cls.__mro__):
        fields.update((name, value) for name, value in vars(klass).items() if isinstance(value, VarField))
    return fields


class _ViewVar:
    """A var on a state view: read through the view's state, written only while its guard is open.

    A data descriptor on a class made per State class (`_view_class`), so
    reading `view.counter` is an attribute lookup, not a failed one followed
    by `__getattr__`: a view is on the path of every change a task makes.
    """

    __slots__ = ("field", "name", "where")

    def __init__(self, field: VarField) -> None:
        self.field = field
        self.name = field.name
        self.where = f"{field.owner.__name__}.{field.name}"

    def __get__(self, view: Any, objtype: Any = None) -> Any:
        if view is None:
            return self.field.var
        state = view._rx_state
        if type(state) is not self.field.owner:
            state = state._rx_ancestor(self.field.owner)
        value = state._rx_values[self.name]
        if type(value) in SCALAR_TYPES:
            return value
        guard = view._rx_guard
        if guard.open and guard.writes is not None:  # a container may be changed in place through its view
            note(guard.writes, state, self.name)
        return guarded(value, guard, self.where)

    def __set__(self, view: Any, value: Any) -> None:
        guard = view._rx_guard
        if not guard.open:
            guard.check(f"set {self.where}")
        state = view._rx_state
        if type(state) is not self.field.owner:
            state = state._rx_ancestor(self.field.owner)
        values = state._rx_values
        name = self.name
        writes = guard.writes
        if writes is not None:  # (note(), inlined for scalars: every change a task makes passes here)
            before = writes.get(state)
            if before is None or name not in before:
                old = values[name]
                if type(old) not in SCALAR_TYPES:
                    note(writes, state, name)
                elif before is None:
                    writes[state] = {name: old}
                else:
                    before[name] = old
        if type(value) not in SCALAR_TYPES:
            value = stored(value, values[name])
        values[name] = value

    def __delete__(self, view: Any) -> None:
        guard = view._rx_guard
        if not guard.open:
            guard.check(f"delete {self.where}")
        delattr(view._rx_state, self.name)


_view_classes: dict[type[State], type[BoundState]] = {}


def _view_class(cls: type[State]) -> type[BoundState]:
    view_class = _view_classes.get(cls)
    if view_class is None:
        namespace: dict[str, Any] = {"__slots__": ()}
        namespace.update((name, _ViewVar(field)) for name, field in _var_fields(cls).items())
        view_class = _view_classes[cls] = type(f"{cls.__name__}View", (BoundState,), namespace)
    return view_class


def bind(state: State, guard: Guard) -> BoundState:
    """The view of `state` under `guard` (one per state and guard)."""
    view = guard.states.get(state)
    if view is None:
        view_class = _view_classes.get(type(state)) or _view_class(type(state))
        view = guard.states[state] = object.__new__(view_class)  # (no __init__ frame: this is a hot path)
        view._rx_state = state
        view._rx_guard = guard
    return view  # type: ignore[no-any-return]


class BoundState:
    """One state instance of a tab, seen through a guard (see the module docstring)."""

    __slots__ = ("_rx_guard", "_rx_state")

    def __init__(self, state: State, guard: Guard) -> None:
        self._rx_state = state
        self._rx_guard = guard

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
        if not self._rx_guard.open:
            self._rx_guard.check(f"get {state_cls.__name__} from {type(self._rx_state).__name__}")
        return self._rx_bind(await self._rx_state.get_state(state_cls))

    def get_substate(self, path: list[str] | tuple[str, ...]) -> Any:
        guard = self._rx_guard
        if not guard.open:
            guard.check(f"get substate {'.'.join(path)!r} of {type(self._rx_state).__name__}")
        return bind(self._rx_state.get_substate(path), guard)

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

    # -- handlers, methods, the rest (vars are descriptors of the view's class) -------------
    def __getattr__(self, name: str) -> Any:
        state = self._rx_state
        cls = type(state)
        attr = _attribute(cls, name)
        if _is_slot(attr):
            return self._rx_slot(name)
        return _behaviour(self, cls, name, attr)

    def _rx_slot(self, name: str) -> Any:
        """The engine's own slots of the state, read through the view: states come back as views."""
        state, guard = self._rx_state, self._rx_guard
        if name == "_rx_parent":
            return self._rx_bind(state._rx_parent)
        if name == "_rx_subs":
            return None if state._rx_subs is None else self.substates
        if name == "_rx_values" and guard.open and guard.writes is not None:
            note_all(guard.writes, state)  # every var may be changed through it
        return guarded(getattr(state, name), guard, f"{type(state).__name__}.{name}")

    def __repr__(self) -> str:
        where = "open" if self._rx_guard.open else "ended"
        return f"<view of {self._rx_state!r} (block {where})>"


_LIVE_PROPERTIES = frozenset({"parent_state", "substates"})


def _outside(what: str) -> ImmutableStateError:
    return ImmutableStateError(f"cannot {what} outside `async with self`; {STALE.refusal.split('; ', 1)[1]}")


class TaskSelf:
    """A background task's `self` (see the module docstring)."""

    __slots__ = ("_rx_block", "_rx_cls", "_rx_in", "_rx_progress", "_rx_stale", "_rx_token")

    def __init__(
        self,
        token: str,
        state_cls: type[State],
        stale: Stale,
        block: Callable[[], OpenBlock],
        progress: Callable[[float, float], Awaitable[None]],
    ) -> None:
        self._rx_token = token
        self._rx_cls = state_cls
        self._rx_stale = stale
        self._rx_block = block
        self._rx_progress = progress
        self._rx_in: tuple[OpenBlock, BoundState] | None = None  # the last block found, and the view in it

    @staticmethod
    def of(state_cls: type[State]) -> type[TaskSelf]:
        """The class of a task's `self` for this state: its vars are descriptors (reads and writes are fast)."""
        task_class = _task_classes.get(state_cls)
        if task_class is None:
            namespace: dict[str, Any] = {"__slots__": ()}
            namespace.update((name, _TaskVar(field)) for name, field in _var_fields(state_cls).items())
            task_class = _task_classes[state_cls] = type(f"{state_cls.__name__}Task", (TaskSelf,), namespace)
        return task_class

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
        """The view of the live state in the block this flow has open for the tab, or None outside one.

        (Helpers gathered in separate tasks share this `self` but not their blocks,
        so the last block found is used only when it is this flow's innermost one.)
        """
        last = self._rx_in
        if last is not None and last[0] is innermost() and last[0].open:
            return last[1]
        block = open_block(self._rx_token)
        if block is None:
            return None
        view: BoundState = block.view_of(self._rx_cls)
        self._rx_in = (block, view)
        return view

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
        await block.__aenter__()
        self._rx_in = (block, block.view_of(self._rx_cls))
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        view = self._rx_live()  # (finds the block, and keeps it in _rx_in)
        assert view is not None and self._rx_in is not None, "`async with self` left a block it did not open"
        block = self._rx_in[0]
        if exc_type is None:  # what the task reads next, outside a block, is what it saw last
            self._rx_stale = stale_copies(view._rx_state)
        await block.__aexit__(exc_type, exc, tb)

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

    def __repr__(self) -> str:
        where = "inside" if self._rx_live() is not None else "outside"
        return f"<background view of {self._rx_cls.__name__} ({where} async with self)>"


_task_classes: dict[type[State], type[TaskSelf]] = {}


class _TaskVar:
    """A var on a task's `self`: the live value inside the flow's block, the stale one outside (read-only)."""

    __slots__ = ("field", "live", "name", "where")

    def __init__(self, field: VarField) -> None:
        self.field = field
        self.name = field.name
        self.where = f"{field.owner.__name__}.{field.name}"
        self.live = _ViewVar(field)  # the same var on the view of the live state

    def __get__(self, me: Any, objtype: Any = None) -> Any:
        if me is None:
            return self.field.var
        view = me._rx_live()
        if view is not None:
            return self.live.__get__(view)
        values = me._rx_stale.get(self.field.owner)
        value = values[self.name] if values is not None else self.field.default
        if type(value) in SCALAR_TYPES:
            return value
        return guarded(value, STALE, self.where)

    def __set__(self, me: Any, value: Any) -> None:
        view = me._rx_live()
        if view is None:
            raise _outside(f"set {self.where}")
        self.live.__set__(view, value)

    def __delete__(self, me: Any) -> None:
        block = open_block(me._rx_token)
        if block is None:
            raise _outside(f"delete {self.where}")
        delattr(block.view_of(me._rx_cls), self.name)
