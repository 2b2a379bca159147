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
from typing import TYPE_CHECKING, Any, overload

from .codec import convert
from .errors import BackgroundCallError, InvalidArgumentError
from .event import TASK_VARS, task_var
from .vars import Var

if TYPE_CHECKING:
    from .state import State

__all__ = ["EventHandler", "EventSpec", "as_specs"]


class EventHandler:
    """A State method that can be triggered as an event; a descriptor on its class.

    A background handler also has, per tab, `status`, `running`, `progress`
    and `error` (Vars a component can bind) and `cancel` (an event).
    """

    __slots__ = (
        "_hints", "_plain", "_signature", "background", "cancel_event", "cancels", "concurrency", "fn", "lifetime",
        "name", "resume", "state_cls",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        background: bool = False,
        concurrency: str | None = None,
        lifetime: str | None = None,
        resume: bool = False,
    ) -> None:
        self.fn = fn
        self.resume = resume  # a run a server's shutdown stopped is started again where the tab is next served
        self.name = name or fn.__name__
        self.background = background
        self.concurrency = concurrency or "parallel"
        self.lifetime = lifetime or "tab"
        self.state_cls: type[State] | None = None
        self.cancels: EventHandler | None = None  # set on a `cancel` event: the handler it cancels
        self.cancel_event: EventHandler | None = None  # set on a background handler: its `cancel` (read that)
        self._signature: inspect.Signature | None = None
        self._hints: dict[str, Any] | None = None
        # The parameters after `self` with their annotations, when all are plain positional ones
        # (no default, no *args or **kwargs): their arguments need no `Signature.bind`.
        self._plain: tuple[tuple[str, Any], ...] | None = None

    # -- task control: what a page binds to ----------------------------------------
    def _task_var(self, what: str) -> Var:
        if not self.background or self.state_cls is None:
            raise AttributeError(
                f"{self.qualname} is not a background handler: only tasks have a {what}; "
                "declare it with @rx.event(background=True)"
            )
        type_, _ = TASK_VARS[what]
        return Var(self.state_cls.get_full_name(), task_var(self.name, what), type_)

    @property
    def status(self) -> Var:
        """"idle" until it first runs on a tab, "running" while a copy runs, then "done", "failed" or "cancelled"."""
        return self._task_var("status")

    @property
    def running(self) -> Var:
        """Whether a copy of this task runs for the tab."""
        return self._task_var("running")

    @property
    def progress(self) -> Var:
        """What the task last reported with `set_progress`, in [0, 1]; None before any report."""
        return self._task_var("progress")

    @property
    def error(self) -> Var:
        """The message of the copy that failed ("" otherwise)."""
        return self._task_var("error")

    @property
    def cancel(self) -> EventHandler:
        """An event that cancels every running copy of this task for the tab that sends it."""
        if self.cancel_event is None:
            self._task_var("cancel")  # raises the explanation for a regular handler
            raise AttributeError(f"{self.qualname} is not attached to a State class yet")
        return self.cancel_event

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
            return _DirectBackgroundCall(self, obj)
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
            params = list(self._signature.parameters.values())[1:]
            if all(p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty for p in params):
                self._plain = tuple((p.name, self._hints.get(p.name, _UNCONVERTED)) for p in params)
        plain = self._plain
        if plain is not None and len(args) == len(plain):  # (the usual case: every event passes here)
            converted = []
            for (name, hint), item in zip(plain, args, strict=True):
                if hint is not _UNCONVERTED:
                    try:
                        item = convert(item, hint)
                    except InvalidArgumentError as exc:
                        raise InvalidArgumentError(f"{self.qualname}: argument {name}: {exc}") from None
                converted.append(item)
            return tuple(converted)
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


_UNCONVERTED = object()  # a parameter without an annotation: its argument is passed as it came


class EventSpec:
    """A handler together with the arguments to run it with."""

    __slots__ = ("handler", "args")

    def __init__(self, handler: EventHandler, args: tuple[Any, ...] = ()) -> None:
        self.handler = handler
        self.args = tuple(args)

    def __repr__(self) -> str:
        return f"EventSpec({self.handler.qualname}, args={self.args!r})"


class _DirectBackgroundCall:
    """What `self.my_task` is on an instance: its status values; calling it explains how to start it."""

    __slots__ = ("handler", "obj")

    def __init__(self, handler: EventHandler, obj: object) -> None:
        self.handler = handler
        self.obj = obj

    def _value(self, what: str) -> Any:
        return getattr(self.obj, task_var(self.handler.name, what))

    @property
    def status(self) -> str:
        """This tab's status of the task, as `MyState.task.status` shows it on the page."""
        return str(self._value("status"))

    @property
    def running(self) -> bool:
        """Whether a copy of the task runs for this tab (copies whose server died are not counted)."""
        return bool(self._value("running"))

    @property
    def progress(self) -> float | None:
        value = self._value("progress")
        return None if value is None else float(value)

    @property
    def error(self) -> str:
        return str(self._value("error"))

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
