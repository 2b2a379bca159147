"""The State base class: per-tab vars declared by annotation, arranged in a tree.

Each subclass of `State` is a node of one class tree rooted at `State`
itself. A browser tab owns one instance of the root; instances of the
subclasses hang below it and are created the first time they are used, so an
idle tab costs only what it touched. Var values live in one dict per
instance; class-level access to a var gives a `Var` for components to bind to.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Iterator
from typing import Any, ClassVar

from .codec import to_wire
from .errors import StateDefinitionError, UnknownStateError
from .event import TASK_VARS, EventHandler, event_options, task_var
from .fields import VarField, implicit_default, is_classvar, make_setter, resolve_hints

__all__ = ["State", "VarField"]

# Methods of State itself: a subclass may not shadow them with handlers or vars.
_RESERVED = frozenset(
    {
        "get_name", "get_full_name", "get_token", "get_substate", "get_state",
        "get_root", "parent_state", "substates", "class_tree", "public_values", "public_defaults",
        "existing_substate",
        "var_fields", "handlers",
    }
)


def _handler(state_name: str, key: str, fn: Any) -> EventHandler:
    """The EventHandler for one method, with the options `@rx.event` gave it, checked."""
    options = event_options(fn)
    if options is None:
        return EventHandler(fn, name=key)
    options.check(f"{state_name}.{key}")
    if options.background and not (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)):
        raise TypeError(
            f"background task {state_name}.{key} must be `async def` (a coroutine or async generator function)"
        )
    return EventHandler(
        fn, name=key, background=options.background, concurrency=options.concurrency, lifetime=options.lifetime
    )


def _cancel_placeholder(self: Any) -> None:
    """What a `cancel` event would run: nothing; the runner cancels the task instead of calling it."""


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class _StateMeta(type):
    """Turns annotations into VarFields and methods into EventHandlers at class creation."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> _StateMeta:
        ns.setdefault("__slots__", ())
        is_root = not any(isinstance(base, _StateMeta) for base in bases)
        if not is_root:
            for key in _RESERVED & ns.keys():
                raise StateDefinitionError(
                    f"{name}.{key} shadows a State method of the same name; rename it"
                )
        handlers: dict[str, EventHandler] = {}
        if not is_root:
            for key, value in list(ns.items()):
                if key.startswith("_") or not callable(value) or isinstance(value, type):
                    continue
                if isinstance(value, (staticmethod, classmethod, EventHandler)):
                    continue
                handlers[key] = ns[key] = _handler(name, key, value)
        raw_annotations: dict[str, Any] = {}
        defaults: dict[str, Any] = {}
        backend_plain: dict[str, Any] = {}
        if not is_root:
            raw_annotations = {
                key: value
                for key, value in ns.get("__annotations__", {}).items()
                if not is_classvar(value)
            }
            defaults = {key: ns.pop(key) for key in raw_annotations if key in ns}
            backend_plain = {
                key: ns.pop(key)
                for key, value in list(ns.items())
                if key.startswith("_") and not key.startswith("__")
                and not callable(value)
                and not isinstance(value, (property, staticmethod, classmethod))
            }
        cls = super().__new__(mcls, name, bases, ns, **kw)
        typing.cast("type[State]", cls)._rx_init_class(
            raw_annotations, defaults, backend_plain, handlers, is_root
        )
        return cls


class State(metaclass=_StateMeta):
    """Base class of every state: subclass it and annotate vars.

    `class Counter(rx.State): count: int = 0` gives each browser tab its own
    `count`, a setter event `set_count`, and `Counter.count` for components.
    """

    __slots__ = ("_rx_values", "_rx_parent", "_rx_subs", "_rx_token")

    _rx_name: ClassVar[str] = "state"
    _rx_full_name: ClassVar[str] = "state"
    _rx_path: ClassVar[tuple[str, ...]] = ("state",)  # the full name's parts: what get_substate walks
    _rx_parent_cls: ClassVar[type[State] | None] = None
    _rx_children: ClassVar[dict[str, type[State]]] = {}
    _rx_fields: ClassVar[dict[str, VarField]] = {}
    _rx_handlers: ClassVar[dict[str, EventHandler]] = {}
    _rx_immutable_defaults: ClassVar[dict[str, Any]] = {}
    _rx_mutable_fields: ClassVar[tuple[VarField, ...]] = ()
    _rx_public: ClassVar[tuple[str, ...]] = ()

    _rx_values: dict[str, Any]
    _rx_parent: State | None
    _rx_subs: dict[str, State] | None
    _rx_token: str

    # -- class side -------------------------------------------------------
    @classmethod
    def _rx_init_class(
        cls,
        annotations: dict[str, Any],
        defaults: dict[str, Any],
        backend_plain: dict[str, Any],
        handlers: dict[str, EventHandler],
        is_root: bool,
    ) -> None:
        cls._rx_children = {}
        cls._rx_fields = {}
        if is_root:
            cls._rx_handlers = {}
            return
        parent: type[State] = next(
            base for base in cls.__mro__[1:] if isinstance(base, _StateMeta) and issubclass(base, State)
        )
        cls._rx_parent_cls = parent
        cls._rx_name = _snake(cls.__name__)
        cls._rx_full_name = f"{parent._rx_full_name}.{cls._rx_name}"
        cls._rx_path = (*parent._rx_path, cls._rx_name)
        existing = parent._rx_children.get(cls._rx_name)
        if existing is not None and (existing.__module__, existing.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise StateDefinitionError(
                f"state name {cls._rx_full_name!r} is taken by {existing.__module__}.{existing.__qualname__}; "
                f"rename {cls.__module__}.{cls.__qualname__}"
            )
        parent._rx_children[cls._rx_name] = cls
        hints = resolve_hints(cls, annotations)
        for name, type_ in hints.items():
            if typing.get_origin(type_) is ClassVar or name.startswith("_rx_"):
                continue
            if name.startswith("__"):
                raise StateDefinitionError(f"var {cls.__name__}.{name}: names may not start with '__'")
            default = defaults[name] if name in defaults else implicit_default(cls, name, type_)
            cls._rx_add_field(name, type_, default)
        for name, value in backend_plain.items():
            cls._rx_add_field(name, type(value) if value is not None else Any, value)
        cls._rx_handlers = dict(handlers)
        for handler in handlers.values():
            handler.state_cls = cls
            if handler.background:
                cls._rx_add_task_control(handler)
        for field in cls._rx_fields.values():
            setter = f"set_{field.name}"
            if field.backend or field.internal or setter in cls.__dict__:
                continue
            handler = EventHandler(make_setter(cls, field), name=setter)
            handler.state_cls = cls
            setattr(cls, setter, handler)
            cls._rx_handlers[setter] = handler
        cls._rx_immutable_defaults = {
            f.name: f.default for f in cls._rx_fields.values() if not f.mutable
        }
        cls._rx_mutable_fields = tuple(f for f in cls._rx_fields.values() if f.mutable)
        cls._rx_public = tuple(name for name, f in cls._rx_fields.items() if not f.backend)

    @classmethod
    def _rx_add_task_control(cls, handler: EventHandler) -> None:
        """A background handler's status vars (kept by the engine, per tab) and its `cancel` event."""
        for what, (type_, default) in TASK_VARS.items():
            cls._rx_add_field(task_var(handler.name, what), type_, default, internal=True)
        cls._rx_add_field(task_var(handler.name, "copies"), list[str], [], internal=True)
        cancel = EventHandler(_cancel_placeholder, name=f"{handler.name}@cancel")
        cancel.cancels = handler
        cancel.state_cls = cls
        handler._cancel = cancel
        cls._rx_handlers[cancel.name] = cancel

    @classmethod
    def _rx_add_field(cls, name: str, type_: Any, default: Any, *, internal: bool = False) -> None:
        if name in _RESERVED:
            raise StateDefinitionError(f"var {cls.__name__}.{name} shadows a State method; rename it")
        if not name.startswith("_"):
            try:
                to_wire(default)
            except TypeError as exc:
                raise StateDefinitionError(f"var {cls.__name__}.{name}: {exc}") from None
        field = VarField(name, cls, type_, default, internal=internal)
        cls._rx_fields[name] = field
        setattr(cls, name, field)

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
        skip = 1 if path and path[0] == self._rx_name and type(self)._rx_children.get(path[0]) is None else 0
        node: State = self
        for index in range(skip, len(path)):  # (no copies of `path`: every block of every task passes here)
            subs = node._rx_subs
            child = subs.get(path[index]) if subs is not None else None
            node = child if child is not None else node._rx_child(path[index])
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
