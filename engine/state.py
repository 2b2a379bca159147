"""The State base class: per-tab vars declared by annotation, arranged in a tree.

Each subclass of `State` is a node of one class tree rooted at `State`
itself. A browser tab owns one instance of the root; instances of the
subclasses hang below it and are created the first time they are used, so an
idle tab costs only what it touched. Var values live in one dict per
instance; class-level access to a var gives a `Var` for components to bind to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from .codec import to_wire
from .declare import StateMeta
from .errors import UnknownStateError
from .fields import VarField
from .handler import EventHandler

__all__ = ["State", "VarField"]


class State(metaclass=StateMeta):
    """Base class of every state: subclass it and annotate vars.

    `class Counter(rx.State): count: int = 0` gives each browser tab its own
    `count`, a setter event `set_count`, and `Counter.count` for components.
    """

    __slots__ = ("_rx_parent", "_rx_pins", "_rx_sizes", "_rx_subs", "_rx_token", "_rx_total", "_rx_values")

    _rx_name: ClassVar[str] = "state"
    _rx_full_name: ClassVar[str] = "state"
    _rx_path: ClassVar[tuple[str, ...]] = ("state",)  # the full name's parts: what get_substate walks
    _rx_parent_cls: ClassVar[type[State] | None] = None
    _rx_children: ClassVar[dict[str, type[State]]] = {}
    _rx_fields: ClassVar[dict[str, VarField]] = {}
    _rx_handlers: ClassVar[dict[str, EventHandler]] = {}
    _rx_immutable_defaults: ClassVar[dict[str, Any]] = {}
    _rx_mutable_fields: ClassVar[tuple[VarField, ...]] = ()
    _rx_holds_containers: ClassVar[bool] = False  # a var of the program's own can hold a list, dict or set
    # This class and its ancestors, innermost first, each with the engine's own mutable vars at their
    # defaults (a task's copies: what a task reads for them between blocks; None when there are none) and
    # _rx_holds_containers: what a task's Seen takes at the end of every block, read in one lookup.
    _rx_lineage: ClassVar[tuple[tuple[type[State], dict[str, Any] | None, bool], ...]] = ()
    _rx_public: ClassVar[tuple[str, ...]] = ()
    _rx_backend: ClassVar[frozenset[str]] = frozenset()  # the names of its backend vars (never sent to the tab)

    _rx_values: dict[str, Any]
    _rx_parent: State | None
    _rx_subs: dict[str, State] | None
    _rx_token: str
    # Values of this state that background tasks saw at their last block's end and may read between
    # blocks: a container in one is shared with the live state until it is about to change (changes.py).
    _rx_pins: list[dict[str, Any]] | None
    _rx_sizes: dict[str, int] | None  # JSON size of each text and container var whose size is known
    _rx_total: int  # on a tab's root: the sum of every state's known sizes (max_state_bytes)

    # -- class side -------------------------------------------------------
    @classmethod
    def get_name(cls) -> str:
        """This state's own name: the class name in snake case."""
        return cls._rx_name

    @classmethod
    def get_full_name(cls) -> str:
        """The dotted path from the root, e.g. `state.my_task_state`; stable across runs."""
        return cls._rx_full_name

    @classmethod
    def var_fields(cls) -> dict[str, VarField]:
        """The vars this class declares (not the status the engine keeps for its background tasks)."""
        return {name: field for name, field in cls._rx_fields.items() if not field.internal}

    @classmethod
    def handlers(cls) -> dict[str, EventHandler]:
        """The handlers a tab may trigger on this state, setters included."""
        return dict(cls._rx_handlers)

    @classmethod
    def class_tree(cls) -> Iterator[type[State]]:
        """This class and every state class below it, parents first."""
        yield cls
        for child in list(cls._rx_children.values()):
            yield from child.class_tree()

    @classmethod
    def find_class(cls, full_name: str) -> type[State]:
        """The state class with this full name, or `UnknownStateError`."""
        parts = full_name.split(".")
        if not parts or parts[0] != State._rx_name:
            raise UnknownStateError(f"no state named {full_name!r}")
        node: type[State] = State
        for part in parts[1:]:
            child = node._rx_children.get(part)
            if child is None:
                raise UnknownStateError(f"no state named {full_name!r}")
            node = child
        return node

    @classmethod
    def _rx_new(cls, token: str, parent: State | None = None) -> State:
        obj = object.__new__(cls)
        values = dict(cls._rx_immutable_defaults)
        for field in cls._rx_mutable_fields:
            values[field.name] = field.fresh_default()
        obj._rx_values = values
        obj._rx_parent = parent
        obj._rx_subs = None
        obj._rx_token = token
        obj._rx_pins = None
        obj._rx_sizes = None
        obj._rx_total = 0
        return obj

    def __init__(self) -> None:
        raise TypeError(
            f"{type(self).__name__} instances belong to browser tabs; "
            "use `async with app.modify_state(token) as root` to reach one"
        )

    # -- instance side ----------------------------------------------------
    def get_token(self) -> str:
        """The token of the browser tab this state belongs to."""
        return self._rx_token

    def get_root(self) -> State:
        node = self
        while node._rx_parent is not None:
            node = node._rx_parent
        return node

    @property
    def parent_state(self) -> State | None:
        return self._rx_parent

    @property
    def substates(self) -> dict[str, State]:
        """The substates this tab has used so far, by name."""
        return dict(self._rx_subs or {})

    def existing_substate(self, state_cls: type[State]) -> State | None:
        """This tab's instance of `state_cls` if it was created already; never creates one.

        For readers that hold no lock (creating a substate changes the tree).
        """
        node: State | None = self.get_root()
        for part in state_cls._rx_path[1:]:
            subs = node._rx_subs if node is not None else None
            node = subs.get(part) if subs else None
        return node

    def get_substate(self, path: list[str] | tuple[str, ...]) -> State:
        """The tab's instance of the state at `path` below this one (created on first use).

        `path` may start with this state's own name, as `get_full_name().split(".")` does.
        """
        parts = iter(path)  # (no copies of `path`: every block of every task passes here)
        if path and path[0] == self._rx_name and type(self)._rx_children.get(path[0]) is None:
            next(parts)
        node: State = self
        for part in parts:
            subs = node._rx_subs
            child = subs.get(part) if subs is not None else None
            node = child if child is not None else node._rx_child(part)
        return node

    def _rx_child(self, name: str) -> State:
        subs = self._rx_subs
        if subs is not None and name in subs:
            return subs[name]
        cls = type(self)._rx_children.get(name)
        if cls is None:
            raise UnknownStateError(f"{type(self).__name__} has no substate {name!r}")
        child = cls._rx_new(self._rx_token, self)
        if subs is None:
            subs = self._rx_subs = {}
        subs[name] = child
        return child

    async def get_state(self, state_cls: type[State]) -> State:
        """Another state of the same tab, e.g. `await self.get_state(SettingsState)`."""
        return self.get_root().get_substate(state_cls._rx_path)

    @classmethod
    def public_defaults(cls) -> dict[str, Any]:
        """This state's public vars at their defaults, as JSON: what a page shows before it connects."""
        fields = cls._rx_fields
        return {name: to_wire(fields[name].default) for name in cls._rx_public}

    def public_values(self) -> dict[str, Any]:
        """This state's public vars as JSON, as the tab sees them."""
        values = self._rx_values
        return {name: to_wire(values[name]) for name in type(self)._rx_public}

    def walk(self) -> list[State]:
        """This instance and every substate instance created so far, parents first.

        A list, built without recursion: every commit walks the tree twice.
        """
        found = [self]
        index = 0
        while index < len(found):
            subs = found[index]._rx_subs
            if subs:
                found.extend(subs.values())
            index += 1
        return found

    def _rx_ancestor(self, owner: type[State]) -> State:
        node: State | None = self._rx_parent
        while node is not None and type(node) is not owner:
            node = node._rx_parent
        if node is None:
            raise AttributeError(f"{type(self).__name__} has no parent {owner.__name__}")
        return node

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._rx_values.items())
        return f"<{type(self).__name__} {shown}>"
