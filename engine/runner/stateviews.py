"""States as a block sees them: views bound to a guard, changing the tab's state only while it is open.

`BoundState` wraps one state instance of a tab. Reads work at any time;
containers come back as views under the same guard (engine/views.py), and so do
other states reached through it (`get_state`, `get_substate`,
`parent_state`). Changes go through only while the guard is open, that is
while the block that handed the view out is open, and what is stored is
detached from anything the holder still holds.
"""

from __future__ import annotations

import inspect
from types import MappingProxyType, MethodType
from typing import Any

from ..checks import Misfit
from ..codec import SCALAR_TYPES
from ..handler import EventHandler
from ..state import State, VarField
from ..views import Guard, guarded, invalid, stored, text_appended

__all__ = [
    "VIEW_CLASSES", "BoundState", "ViewVar", "attribute", "behaviour", "bind", "is_slot", "var_fields", "view_class",
]

_attributes: dict[type[State], dict[str, Any]] = {}  # class -> name -> class attribute: classes do not change


def attribute(cls: type[State], name: str) -> Any:
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


def behaviour(view: Any, cls: type[State], name: str, attr: Any) -> Any:
    """What a view gives for a handler, method, property or plain class attribute of its class."""
    if isinstance(attr, EventHandler):
        return attr.__get__(view, cls) if attr.background else MethodType(attr.fn, view)
    if inspect.isfunction(attr):
        return MethodType(attr, view)
    if isinstance(attr, property) and attr.fget is not None:
        return attr.fget(view)
    return getattr(cls, name)


def is_slot(attr: Any) -> bool:
    """An instance slot of State itself (`_rx_values`...): engine internals, read through a view."""
    return inspect.ismemberdescriptor(attr)


def var_fields(cls: type[State]) -> dict[str, VarField]:
    """Every var an instance of `cls` has, its ancestors' included."""
    fields: dict[str, VarField] = {}
    for klass in reversed(cls.__mro__):
        fields.update((name, value) for name, value in vars(klass).items() if isinstance(value, VarField))
    return fields


class ViewVar:
    """A var on a state view: read through the view's state, written only while its guard is open.

    A data descriptor on a class made per State class (`view_class`), so
    reading `view.counter` is an attribute lookup, not a failed one followed
    by `__getattr__`: a view is on the path of every change a handler makes.
    A value written is checked against the var's annotation (checks.py) and
    the change reported to the block's log (changes.py) before it is made.
    """

    __slots__ = ("check", "checks", "exact", "field", "name", "owner", "where")

    def __init__(self, field: VarField) -> None:
        self.field = field
        self.name = field.name
        self.owner = field.owner
        self.check = field.check  # what may be stored in it, for the views of its containers
        self.checks = field.check.fn  # the same, called on every write
        self.exact = _EXACT.get(field.check.name)  # a type every value of which fits (no check needed)
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
        return guarded(value, view._rx_guard, state, self.name, (), self.check)

    def __set__(self, view: Any, value: Any) -> None:
        guard = view._rx_guard
        if not guard.open:
            guard.check(f"set {self.where}")
        state = view._rx_state
        if type(state) is not self.owner:
            state = state._rx_ancestor(self.owner)
        values = state._rx_values
        name = self.name
        old = values[name]
        kind = type(value)
        if kind in _PLAIN:  # a number, a bool or None: the usual change, in as few steps as it takes
            if kind is not self.exact:  # (an int to an int var needs no call: every int fits)
                try:
                    value = self.checks(value)
                except Misfit as misfit:
                    raise invalid(misfit, self.where) from None
            log = guard.log
            if log is not None:
                olds = log.olds.get(state)  # (log.before(), inlined for a scalar)
                if olds is None or name not in olds:
                    if type(old) not in SCALAR_TYPES:
                        log.before(state, name)
                    elif olds is None:
                        log.olds[state] = {name: old}
                    else:
                        olds[name] = old
                logs = log.logs
                if logs is not None and (state, name) in logs:  # (operations were logged: it goes out whole now)
                    logs[(state, name)].whole = True
            values[name] = value
            return
        if kind not in SCALAR_TYPES:
            value = stored(value, old)
            if value is old:  # (`self.rows += [...]`: changed in place through its view, and logged there)
                return
        if kind is not self.exact:  # (an int to an int var needs no call: every int fits)
            try:
                value = self.checks(value)
            except Misfit as misfit:
                raise invalid(misfit, self.where) from None
        log = guard.log
        if log is not None:
            olds = log.olds.get(state)  # (log.before(), inlined for a scalar: every change a handler makes)
            if olds is None:
                if type(old) in SCALAR_TYPES:
                    olds = log.olds[state] = {name: old}
                else:
                    log.before(state, name)
                    olds = log.olds[state]
            elif name not in olds:
                if type(old) in SCALAR_TYPES:
                    olds[name] = old
                else:
                    log.before(state, name)
            logs = log.logs
            if logs is None and kind is not str and kind in SCALAR_TYPES:  # (a number, a bool or None)
                values[name] = value
                return
            logged = logs is not None and (state, name) in logs
            if type(value) is str and type(old) is str:
                text = text_appended(old, value)
                if text is not None and (logged or olds[name] is old):  # (its operations say all it went through)
                    values[name] = value  # `self.reply += token` on a long text: the tab is sent the token
                    log.op(state, name, ["text", [], text], len(text))
                    return
            if logged or type(value) not in SCALAR_TYPES:
                log.var_log(state, name).whole = True
        values[name] = value

    def __delete__(self, view: Any) -> None:
        guard = view._rx_guard
        if not guard.open:
            guard.check(f"delete {self.where}")
        delattr(view._rx_state, self.name)


VIEW_CLASSES: dict[type[State], type[BoundState]] = {}
_EXACT: dict[str, type] = {"int": int, "str": str, "bool": bool}  # (checks.py's names for those annotations)
_PLAIN = SCALAR_TYPES - {str}  # the scalars that are never counted (max_state_bytes) nor sent as operations


def _var_names(view_class: type) -> list[str]:
    """The vars a view of this class reads (not the engine's own status vars)."""
    return [
        name for klass in view_class.__mro__ for name, value in vars(klass).items()
        if isinstance(value, ViewVar) and not value.field.internal
    ]


def view_class(cls: type[State]) -> type[BoundState]:
    """The class of the views of `cls`'s states, made at its first use (kept in VIEW_CLASSES)."""
    found = VIEW_CLASSES.get(cls)
    if found is None:
        namespace: dict[str, Any] = {"__slots__": ()}
        namespace.update((name, ViewVar(field)) for name, field in var_fields(cls).items())
        found = VIEW_CLASSES[cls] = type(f"{cls.__name__}View", (BoundState,), namespace)
    return found


def bind(state: State, guard: Guard) -> BoundState:
    """The view of `state` under `guard` (one per state and guard)."""
    view = guard.states.get(state)
    if view is None:
        cls = VIEW_CLASSES.get(type(state)) or view_class(type(state))
        view = guard.states[state] = object.__new__(cls)  # (no __init__ frame: this is a hot path)
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
        attr = attribute(cls, name)
        if is_slot(attr):
            return self._rx_slot(name)
        return behaviour(self, cls, name, attr)

    def _rx_slot(self, name: str) -> Any:
        """The engine's own slots of the state, read through the view: states come back as views."""
        state = self._rx_state
        if name == "_rx_parent":
            return self._rx_bind(state._rx_parent)
        if name == "_rx_subs":
            return None if state._rx_subs is None else self.substates
        if name == "_rx_values":  # read-only: a var is changed by setting it, where it is checked
            return self.__dict__
        if name == "_rx_token":
            return state._rx_token
        raise AttributeError(f"{type(state).__name__}.{name} is the engine's own; it is not read through a view")

    @property
    def __dict__(self) -> MappingProxyType[str, Any]:  # type: ignore[override]
        """The vars as this view reads them (`vars(self)`), read-only."""
        view_class = type(self)
        return MappingProxyType({name: getattr(self, name) for name in _var_names(view_class)})

    def __repr__(self) -> str:
        where = "open" if self._rx_guard.open else "ended"
        return f"<view of {self._rx_state!r} (block {where})>"
