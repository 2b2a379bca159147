"""How a State subclass's body becomes per-tab vars and event handlers, when the class is created.

Annotations become `VarField`s with their defaults (and a setter event
each); methods become `EventHandler`s, with the options `@rx.event` gave
them; a background handler also gets its status vars and its `cancel`
event. Names that would shadow State's own methods are refused.
"""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any, ClassVar

from .checks import Misfit, check_for
from .errors import StateDefinitionError
from .event import TASK_VARS, event_options, task_var
from .fields import VarField, implicit_default, is_classvar, make_setter, resolve_hints
from .handler import EventHandler
from .views import detach, invalid

__all__ = ["RESERVED", "StateMeta", "class_annotations"]

# Methods of State itself: a subclass may not shadow them with handlers or vars.
RESERVED = frozenset(
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
        fn, name=key, background=options.background, concurrency=options.concurrency, lifetime=options.lifetime,
        resume=options.resume,
    )


def _cancel_placeholder(self: Any) -> None:
    """What a `cancel` event would run: nothing; the runner cancels the task instead of calling it."""


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def class_annotations(ns: dict[str, Any]) -> dict[str, Any]:
    """The annotations written in a class body, read from its namespace before the class exists.

    Up to Python 3.13 (and under `from __future__ import annotations`) they are
    in `__annotations__`. From 3.14 (PEP 649/749) they are evaluated lazily:
    the namespace holds an annotate function instead, which `annotationlib`
    calls; names not defined yet come back as forward references, which
    `resolve_hints` tries again once the class exists.
    """
    if "__annotations__" in ns:
        return dict(ns["__annotations__"])
    try:
        import annotationlib  # type: ignore[import-not-found,unused-ignore]  # Python 3.14+
    except ImportError:
        return {}
    annotate = annotationlib.get_annotate_from_class_namespace(ns)
    if annotate is None:
        return {}
    return dict(annotationlib.call_annotate_function(annotate, annotationlib.Format.FORWARDREF))


class StateMeta(type):
    """Turns annotations into VarFields and methods into EventHandlers at class creation."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> StateMeta:
        ns.setdefault("__slots__", ())
        is_root = not any(isinstance(base, StateMeta) for base in bases)
        if not is_root:
            for key in RESERVED & ns.keys():
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
                for key, value in class_annotations(ns).items()
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
        init_class(cls, raw_annotations, defaults, backend_plain, handlers, is_root)
        return cls


def init_class(
    cls: Any,
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
        cls._rx_lineage = ((cls, None, False),)
        return
    parent: Any = next(base for base in cls.__mro__[1:] if isinstance(base, StateMeta))
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
        add_field(cls, name, type_, default)
    for name, value in backend_plain.items():
        add_field(cls, name, type(value) if value is not None else Any, value)
    cls._rx_handlers = dict(handlers)
    for handler in handlers.values():
        handler.state_cls = cls
        if handler.background:
            add_task_control(cls, handler)
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
    engine_defaults = {f.name: f.default for f in cls._rx_mutable_fields if f.internal}  # (a task's copies...)
    cls._rx_holds_containers = any(not f.internal for f in cls._rx_mutable_fields)
    cls._rx_lineage = ((cls, engine_defaults or None, cls._rx_holds_containers), *parent._rx_lineage)
    cls._rx_public = tuple(name for name, f in cls._rx_fields.items() if not f.backend)
    cls._rx_backend = frozenset(name for name, f in cls._rx_fields.items() if f.backend)

def add_task_control(cls: Any, handler: EventHandler) -> None:
    """A background handler's status vars (kept by the engine, per tab) and its `cancel` event."""
    for what, (type_, default) in TASK_VARS.items():
        add_field(cls, task_var(handler.name, what), type_, default, internal=True)
    add_field(cls, task_var(handler.name, "copies"), list[str], [], internal=True)
    add_field(cls, task_var(handler.name, "resume"), Any, None, internal=True)  # the arguments of a stopped run
    if handler.resume:  # each running copy's arguments, to resume it if its worker dies (control.py: reconcile)
        add_field(cls, task_var(handler.name, "args"), Any, None, internal=True)
    cancel = EventHandler(_cancel_placeholder, name=f"{handler.name}@cancel")
    cancel.cancels = handler
    cancel.state_cls = cls
    handler.cancel_event = cancel
    cls._rx_handlers[cancel.name] = cancel

def add_field(cls: Any, name: str, type_: Any, default: Any, *, internal: bool = False) -> None:
    if name in RESERVED:
        raise StateDefinitionError(f"var {cls.__name__}.{name} shadows a State method; rename it")
    try:
        check = check_for(type_)
    except TypeError as exc:
        raise StateDefinitionError(f"var {cls.__name__}.{name}: {exc}") from None
    try:
        default = check(detach(default))
    except Misfit as misfit:
        problem = invalid(misfit, f"{cls.__name__}.{name}")
        raise StateDefinitionError(f"var {cls.__name__}.{name}: its default does not fit: {problem}") from None
    field = VarField(name, cls, type_, default, check, internal=internal)
    cls._rx_fields[name] = field
    setattr(cls, name, field)
