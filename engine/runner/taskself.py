"""A background task's `self`: the live state inside `async with self`, the values it saw last outside.

Inside a block, `self` is the view of the tab's live state for the block
this flow has open (stateviews.py); outside, it reads the values the task
saw when its last block ended (possibly stale) and refuses every change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import Any

from ..codec import SCALAR_TYPES
from ..errors import ImmutableStateError
from ..state import State, VarField
from ..views import STALE, guarded
from .flow import OPEN_BLOCKS, OpenBlock, open_block
from .linked import OtherState
from .seen import Seen
from .stateviews import BoundState, ViewVar, attribute, behaviour, is_slot, var_fields

__all__ = ["TaskSelf"]

_LIVE_PROPERTIES = frozenset({"parent_state", "substates"})


def _outside(what: str) -> ImmutableStateError:
    return ImmutableStateError(f"cannot {what} outside `async with self`; {STALE.refusal.split('; ', 1)[1]}")


def _live_view(me: TaskSelf) -> BoundState | None:
    """The view of the live state in the block this flow has open for the tab, or None outside one.

    (Helpers gathered in separate tasks share this `self` but not their blocks,
    so the last block found is used only when it is this flow's innermost one.)
    A function, and `TaskSelf._rx_live`: every read and write of a var asks,
    and a method of a class with `__getattr__` is looked up the slow way.
    """
    last = me._rx_in
    if last is not None:
        blocks = OPEN_BLOCKS.get()
        if blocks and blocks[-1] is last[0] and last[0].open:
            return last[1]
    block = open_block(me._rx_token)
    if block is None:
        return None
    view: BoundState = block.view_of(me._rx_cls)
    me._rx_in = (block, view)
    return view


class TaskSelf:
    """A background task's `self` (see the module docstring)."""

    __slots__ = ("_rx_block", "_rx_cls", "_rx_in", "_rx_leaving", "_rx_progress", "_rx_stale", "_rx_token")

    def __init__(
        self,
        token: str,
        state_cls: type[State],
        stale: Seen,
        block: Callable[[], OpenBlock],
        progress: Callable[[float, float], Awaitable[None]],
    ) -> None:
        """`block()` makes a block for the tab whose `async with` gives the view of `state_cls` (`Session.gives`)."""
        self._rx_token = token
        self._rx_cls = state_cls
        self._rx_stale = stale
        self._rx_block = block
        self._rx_progress = progress
        self._rx_in: tuple[OpenBlock, BoundState] | None = None  # the last block found, and the view in it
        self._rx_leaving: State | None = None  # the state of the block being left, until it has committed

    @staticmethod
    def of(state_cls: type[State]) -> type[TaskSelf]:
        """The class of a task's `self` for this state: its vars are descriptors (reads and writes are fast)."""
        task_class = _task_classes.get(state_cls)
        if task_class is None:
            namespace: dict[str, Any] = {"__slots__": ()}
            namespace.update((name, _TaskVar(field)) for name, field in var_fields(state_cls).items())
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

    @property
    def __dict__(self) -> MappingProxyType[str, Any]:  # type: ignore[override]
        """The vars as the task reads them here (`vars(self)`): live inside a block, what it saw outside."""
        fields = var_fields(self._rx_cls)
        return MappingProxyType({name: getattr(self, name) for name, field in fields.items() if not field.internal})

    _rx_live = _live_view

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
        """Another state of the tab; `async with` on it takes the tab's lock again (linked.py)."""
        view = await self._rx_inside(f"get {state_cls.__name__}, another state,").get_state(state_cls)
        return OtherState(view, self._rx_token, self._rx_block)

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
    # (`async with self` awaits the block's own `__aenter__` and `__aexit__`: two coroutines a block fewer.
    # The block calls back `_rx_entered` as it opens, and `_rx_saw` or `_rx_failed` as it ends.)
    def __aenter__(self) -> Awaitable[Any]:
        block = self._rx_block()
        block.holder = self
        return block.__aenter__()

    def _rx_entered(self, block: OpenBlock, view: BoundState) -> TaskSelf:
        """The block has the lock: it reads the live state, and its own changes copy nothing."""
        stale = self._rx_stale
        if stale.pinned:
            stale.unpin()
        self._rx_in = (block, view)
        return self

    def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Awaitable[None]:
        view = _live_view(self)  # (finds the block, and keeps it in _rx_in)
        found = self._rx_in
        assert view is not None and found is not None, "`async with self` left a block it did not open"
        if exc_type is None:  # what the task reads next, outside a block, is what it saw when this one committed
            self._rx_leaving = view._rx_state
        return found[0].__aexit__(exc_type, exc, tb)

    def _rx_saw(self) -> None:
        """The block being left has committed: keep what it saw (pinned as it is made)."""
        leaving = self._rx_leaving
        if leaving is not None:
            self._rx_stale = Seen(leaving)
            self._rx_leaving = None

    def _rx_failed(self) -> None:
        """The block ended without committing: what the task saw before it is kept safe again."""
        self._rx_leaving = None
        stale = self._rx_stale
        if not stale.pinned and stale._nodes is not None:
            stale.pin()

    def _rx_done(self) -> None:
        """The task has ended: what it saw need not be kept any more."""
        self._rx_stale.unpin()

    # -- vars, handlers, methods ------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        cls = self._rx_cls
        live = self._rx_live()
        if name in _LIVE_PROPERTIES:  # (a property here would hide the error: it is an AttributeError)
            if live is None:
                raise _outside(f"use {name} of {cls.__name__}")
            return getattr(live, name)
        attr = attribute(cls, name)
        if isinstance(attr, VarField):
            if live is not None:
                return getattr(live, name)
            values = self._rx_stale.get(attr.owner)
            value = values[name] if values is not None else attr.default
            return guarded(value, STALE, attr.owner, name)  # (a class: the message names it)
        if is_slot(attr):  # the engine's own slots: there is no state behind them outside a block
            if live is None:
                raise _outside(f"read {cls.__name__}.{name}")
            return getattr(live, name)
        # Methods and handlers are bound to the task's `self`, inside a block or not, so a helper
        # called inside one can take its own block later, and one called outside sees stale values.
        return behaviour(self, cls, name, attr)

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
        self.live = ViewVar(field)  # the same var on the view of the live state

    def __get__(self, me: Any, objtype: Any = None) -> Any:
        if me is None:
            return self.field.var
        view = _live_view(me)
        if view is not None:
            return self.live.__get__(view)
        values = me._rx_stale.get(self.field.owner)
        value = values[self.name] if values is not None else self.field.default
        if type(value) in SCALAR_TYPES:
            return value
        return guarded(value, STALE, self.field.owner, self.name)

    def __set__(self, me: Any, value: Any) -> None:
        view = _live_view(me)
        if view is None:
            raise _outside(f"set {self.where}")
        self.live.__set__(view, value)

    def __delete__(self, me: Any) -> None:
        block = open_block(me._rx_token)
        if block is None:
            raise _outside(f"delete {self.where}")
        delattr(block.view_of(me._rx_cls), self.name)
