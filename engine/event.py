"""Event handlers: the methods of a State that a tab (or another handler) can trigger.

A handler is referenced through its class (`MyTaskState.my_task`): that
reference can be bound to a component, returned or yielded from another
handler to chain it, or sent by the test client. Calling the reference with
arguments (`MyTaskState.add(5)`) makes an `EventSpec` with those arguments.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .codec import convert
from .errors import BackgroundCallError, InvalidArgumentError

if TYPE_CHECKING:
    from .state import State

__all__ = ["EventHandler", "EventSpec", "background", "event", "is_background_function"]

F = TypeVar("F", bound=Callable[..., Any])

_BACKGROUND_MARK = "_rx_background"


@overload
def event(fn: F, *, background: bool = False) -> F: ...
@overload
def event(fn: None = None, *, background: bool = False) -> Callable[[F], F]: ...
def event(fn: F | None = None, *, background: bool = False) -> F | Callable[[F], F]:
    """Mark a State method as an event handler; `background=True` runs it as a task.

    Background handlers must be `async def` (optionally async generators);
    a sync one is refused with `TypeError` when its class is created.
    """

    def mark(func: F) -> F:
        setattr(func, _BACKGROUND_MARK, background)
        return func

    return mark(fn) if fn is not None else mark


def background(fn: F) -> F:
    """The older spelling of `@event(background=True)`."""
    return event(fn, background=True)


def is_background_function(fn: Any) -> bool:
    return bool(getattr(fn, _BACKGROUND_MARK, False))


class EventHandler:
    """A State method that can be triggered as an event; a descriptor on its class."""

    __slots__ = ("fn", "name", "state_cls", "background", "_signature", "_hints")

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, background: bool = False) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.background = background
        self.state_cls: type[State] | None = None
        self._signature: inspect.Signature | None = None
        self._hints: dict[str, Any] | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def full_name(self) -> str:
        assert self.state_cls is not None, "handler is not attached to a State class"
        return f"{self.state_cls.get_full_name()}.{self.name}"

    @property
    def qualname(self) -> str:
        owner = self.state_cls.__name__ if self.state_cls is not None else "?"
        return f"{owner}.{self.name}"

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> EventHandler: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> Callable[..., Any]: ...
    def __get__(self, obj: object | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        if self.background:
            return _DirectBackgroundCall(self)
        return self.fn.__get__(obj, objtype)

    def __call__(self, *args: Any) -> EventSpec:
        return EventSpec(self, args)

    def __repr__(self) -> str:
        kind = "background handler" if self.background else "handler"
        return f"<{kind} {self.qualname}>"

    def prepare_args(self, args: list[Any] | tuple[Any, ...]) -> tuple[Any, ...]:
        """Check the arguments a tab sent against the signature; convert annotated ones.

        Raises `InvalidArgumentError` with the handler's name; nothing has run yet.
        """
        if self._signature is None:
            self._signature = inspect.signature(self.fn)
            try:
                self._hints = typing.get_type_hints(self.fn)
            except Exception:  # unresolvable annotations are simply not converted
                self._hints = {}
        try:
            bound = self._signature.bind(None, *args)
        except TypeError as exc:
            raise InvalidArgumentError(f"{self.qualname}: {exc}") from None
        hints = self._hints or {}
        converted = []
        for name, value in list(bound.arguments.items())[1:]:
            param = self._signature.parameters[name]
            values = value if param.kind is param.VAR_POSITIONAL else (value,)
            for item in values:
                if name in hints:
                    try:
                        item = convert(item, hints[name])
                    except InvalidArgumentError as exc:
                        raise InvalidArgumentError(f"{self.qualname}: argument {name}: {exc}") from None
                converted.append(item)
        return tuple(converted)


class EventSpec:
    """A handler together with the arguments to run it with."""

    __slots__ = ("handler", "args")

    def __init__(self, handler: EventHandler, args: tuple[Any, ...] = ()) -> None:
        self.handler = handler
        self.args = tuple(args)

    def __repr__(self) -> str:
        return f"EventSpec({self.handler.qualname}, args={self.args!r})"


class _DirectBackgroundCall:
    """What `self.my_task` is on an instance: calling it explains how to start the task."""

    __slots__ = ("handler",)

    def __init__(self, handler: EventHandler) -> None:
        self.handler = handler

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self.handler.qualname
        raise BackgroundCallError(
            f"background task {name} cannot be called directly; "
            f"`return {name}` or `yield {name}` from a handler to start it"
        )


def as_specs(value: Any, origin: str) -> list[EventSpec]:
    """Normalise what a handler returned or yielded into the events it chains."""
    if value is None:
        return []
    if isinstance(value, EventSpec):
        return [value]
    if isinstance(value, EventHandler):
        return [EventSpec(value)]
    if isinstance(value, (list, tuple)):
        specs: list[EventSpec] = []
        for item in value:
            specs.extend(as_specs(item, origin))
        return specs
    raise TypeError(
        f"{origin} returned or yielded {value!r}; a handler may only return or yield "
        "None, a handler reference such as `MyState.other`, `MyState.other(args)`, or a list of them"
    )
