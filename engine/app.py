"""The App: runs events against tab states, supervises background tasks, sends updates.

One App serves many tabs. Regular events of a tab run one at a time, in the
order the tab sent them, each under the tab's lock; background tasks run
beside them and take the lock only inside `async with self`. Every change is
committed, then sent to the tab's Socket.IO room while the lock is still
held, so a tab sees its updates in the order its state changed.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from collections import deque
from typing import Any

import socketio

from .delta import Delta, every_public_value
from .errors import (
    EventError,
    LimitExceededError,
    UnknownEventError,
    UnknownStateError,
)
from .event import EventHandler, EventSpec, as_specs
from .managers import MemoryStateManager, StateManager, Transaction
from .messages import failure_message
from .origins import origin_policy
from .proxy import StateProxy, stale_copies
from .settings import Settings
from .socket import NAMESPACE, EventNamespace, GuardedASGIApp, SocketServer
from .state import State
from .tabs import TabQueues
from .tasks import TaskSupervisor
from .tickets import TicketSigner
from .watchdog import LoopWatchdog

__all__ = ["COMMITTED", "App", "get_app"]

# The message of a CancelledError that cut short only the sending of an event's update:
# its changes are stored (see App._run_regular; the event's acknowledgement says it ran).
COMMITTED = "committed before it was cancelled"

logger = logging.getLogger("engine")

_current_app: contextvars.ContextVar[App] = contextvars.ContextVar("engine_app")
_last_app: list[App] = []


def get_app() -> App:
    """The App handling the current event or task (or the only App, outside of one)."""
    app = _current_app.get(None)
    if app is not None:
        return app
    if _last_app:
        return _last_app[-1]
    raise RuntimeError("no engine App exists yet; create one with `rx.App()`")


class _StateBlock:
    """`async with app.modify_state(token) as root`: lock, load, yield, commit, send, release."""

    __slots__ = ("_app", "_token", "_inner", "_tx")

    def __init__(self, app: App, token: str) -> None:
        self._app = app
        self._token = token

    async def __aenter__(self) -> State:
        self._inner = self._app.state_manager.modify(self._token)
        self._tx = await self._inner.__aenter__()
        return self._tx.root

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        if exc_type is None:
            try:
                await self._app._commit(self._tx, final=True)
            except BaseException as error:
                await self._inner.__aexit__(type(error), error, error.__traceback__)
                raise
        return await self._inner.__aexit__(exc_type, exc, tb)


class App:
    """The engine application: states, events, background tasks and the Socket.IO server.

    Args:
        state_manager: where tab states live; by default in memory, or in Redis
            when `redis_url` (or the `REDIS_URL` environment variable) is set.
        redis_url: shorthand for a Redis state manager and Socket.IO client manager.
        settings: a `Settings`; by default read from the environment.
        **overrides: individual settings by name (`rx.App(lock_timeout=5)`), which
            take precedence over `settings` and the environment.
    """

    def __init__(
        self,
        *,
        state_manager: StateManager | None = None,
        redis_url: str | None = None,
        settings: Settings | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings or Settings.from_env()
        if redis_url is not None:
            overrides["redis_url"] = redis_url
        if overrides:
            self.settings = self.settings.replace(**overrides)
        self.state_manager = state_manager or self._default_manager()
        self.tasks = TaskSupervisor(self.settings)
        self.background_tasks: set[asyncio.Task[Any]] = self.tasks.running
        self.tickets = TicketSigner(self.settings.token_secret, self.settings.token_max_age)
        self.sio = SocketServer(
            async_mode="asgi",
            cors_allowed_origins=origin_policy(self.settings.allowed_origins),
            client_manager=self._client_manager(),
            max_http_buffer_size=self.settings.max_message_bytes,
            transports=["websocket"],
            always_connect=True,
        )
        self.event_namespace = EventNamespace(self, NAMESPACE)
        self.sio.register_namespace(self.event_namespace)
        self._queues = TabQueues(self)
        self._helpers: set[asyncio.Future[None]] = set()
        self._watchdog: LoopWatchdog | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping: asyncio.Future[dict[str, int]] | None = None
        if isinstance(self.state_manager, MemoryStateManager):
            self.state_manager.protect = self._in_use
        _last_app.append(self)

    def _in_use(self, token: str) -> bool:
        """Whether a tab's state must stay in memory: its tab is connected or it runs tasks."""
        return token in self.event_namespace.token_to_sid or self.tasks.has_tasks(token)

    def _default_manager(self) -> StateManager:
        if self.settings.redis_url:
            from .managers.redis import RedisStateManager

            manager: StateManager = RedisStateManager(self.settings)
            return manager
        return MemoryStateManager(self.settings)

    def _client_manager(self) -> socketio.AsyncManager | None:
        if self.settings.redis_url:
            from .relay import RedisRelay

            return RedisRelay(self.settings.redis_url)
        return None

    def asgi(self, other_asgi_app: Any = None, *, on_startup: Any = None) -> socketio.ASGIApp:
        """An ASGI app serving Socket.IO at `/socket.io`, and `other_asgi_app` for the rest.

        Its lifespan shutdown runs `App.shutdown` (tasks finish or are cancelled).
        """
        async def startup() -> None:
            await self.startup()
            if on_startup is not None:
                await on_startup()

        return GuardedASGIApp(
            self.sio, other_asgi_app=other_asgi_app, on_startup=startup, on_shutdown=self.shutdown
        )

    async def startup(self) -> None:
        """Start the loop-lag watchdog and the idle-state sweeper (the server's lifespan calls this)."""
        self.event_namespace.token_to_sid.start()  # with Redis: learn other workers' tabs now
        if self._watchdog is None:
            self._watchdog = LoopWatchdog(self.settings.loop_lag_warn)
            self._watchdog.start()
        if self._sweeper is None and isinstance(self.state_manager, MemoryStateManager):
            self._sweeper = asyncio.create_task(self._sweep_idle(), name="engine:idle-sweeper")

    async def _sweep_idle(self) -> None:
        manager = self.state_manager
        assert isinstance(manager, MemoryStateManager)
        period = min(60.0, max(0.05, self.settings.idle_state_ttl / 4))
        while True:
            await asyncio.sleep(period)
            evicted = manager.evict_idle(keep=self._in_use)
            if evicted:
                logger.info(
                    "evicted %d idle tab states (setting idle_state_ttl=%gs)", evicted, self.settings.idle_state_ttl
                )

    # -- state access --------------------------------------------------------
    def modify_state(self, token: str) -> _StateBlock:
        """Exclusive access to one tab's state from any coroutine.

        `async with app.modify_state(token) as root:` locks the tab, loads its
        state (a new token gets defaults), and on exit commits and sends the
        tab the delta. If the body raises, nothing it changed is kept.
        """
        if not isinstance(token, str) or not token:
            raise TypeError(f"modify_state needs a tab token (a non-empty str), got {token!r}")
        return _StateBlock(self, token)

    async def _commit(self, tx: Transaction, *, final: bool) -> None:
        await self._publish(tx, await tx.commit(final=final))

    async def _publish(self, tx: Transaction, delta: Delta) -> None:
        """Send the tab what a commit changed."""
        if tx.fresh:  # its stored state vanished: replace whatever the tab still shows
            tx.fresh = False
            full = every_public_value(tx.root)
            await self.sio.emit("update", {"seq": tx.seq, "full": full}, room=tx.token, namespace=NAMESPACE)
        elif delta:
            await self._send_delta(tx.token, tx.seq, delta)

    async def _send_delta(self, token: str, seq: int, delta: Delta) -> None:
        connected_here = token in self.event_namespace.token_to_sid
        if not connected_here and not self.settings.redis_url:
            return  # one process and no socket for this tab: nobody could receive it
        await self.sio.emit("update", {"seq": seq, "delta": delta}, room=token, namespace=NAMESPACE)
        if connected_here:
            await self.event_namespace.check_backlog(token)

    async def send_error(self, token: str, message: str, event_id: str | None = None) -> None:
        """Tell a tab that something it caused failed (shown in its demo box)."""
        await self.sio.emit(
            "error", {"message": message, "event": event_id}, room=token, namespace=NAMESPACE
        )

    # -- events ----------------------------------------------------------------
    def resolve(self, name: object) -> EventHandler:
        """The handler a tab may call by this full name, or `UnknownEventError`."""
        if not isinstance(name, str) or "." not in name or len(name) > 300:
            raise UnknownEventError(f"no event handler named {str(name)[:80]!r}")
        state_name, _, handler_name = name.rpartition(".")
        try:
            state_cls = State.find_class(state_name)
        except UnknownStateError:
            raise UnknownEventError(f"no state named {state_name[:80]!r}") from None
        handler = state_cls._rx_handlers.get(handler_name)
        if handler is None:
            raise UnknownEventError(
                f"{state_cls.__name__} has no event handler {handler_name[:80]!r} a tab may call"
            )
        return handler

    def prepare(self, name: object, args: object) -> EventSpec:
        """Check an event sent by a tab; raises `EventError` before anything runs."""
        handler = self.resolve(name)
        if not isinstance(args, list):
            raise EventError(f"{handler.qualname}: arguments must be a list, got {type(args).__name__}")
        return EventSpec(handler, handler.prepare_args(args))

    async def submit(self, token: str, spec: EventSpec) -> None:
        """Run an event in the tab's queue and wait for it; raises what the tab should hear."""
        await self._queues.run(token, spec)

    async def run_event(self, token: str, spec: EventSpec) -> None:
        """Run one event and everything it chains, in order (the tab's queue calls this)."""
        _current_app.set(self)
        pending: deque[EventSpec] = deque([spec])
        ran = 0
        while pending:
            current = pending.popleft()
            ran += 1
            if ran > self.settings.max_chain_length:
                raise LimitExceededError(
                    f"{spec.handler.qualname} chained more than {self.settings.max_chain_length} "
                    "events (setting max_chain_length); stopped to avoid an endless loop"
                )
            if current.handler.background:
                self.start_background(token, current)
            else:
                pending.extend(await self._run_regular(token, current))

    async def _run_regular(self, token: str, spec: EventSpec) -> list[EventSpec]:
        handler = spec.handler
        assert handler.state_cls is not None
        path = handler.state_cls.get_full_name().split(".")
        chained: list[EventSpec] = []
        origin = handler.qualname
        committed = False
        try:
            async with self.state_manager.modify(token) as tx:
                state = tx.root.get_substate(path)
                result = handler.fn(state, *spec.args)
                if inspect.isasyncgen(result):
                    async for item in result:
                        chained += self._start_now(token, as_specs(item, origin), state)
                        await self._commit(tx, final=False)
                elif inspect.isgenerator(result):
                    for item in result:
                        chained += self._start_now(token, as_specs(item, origin), state)
                        await self._commit(tx, final=False)
                else:
                    if inspect.isawaitable(result):
                        result = await result
                    chained += self._start_now(token, as_specs(result, origin), state)
                delta = await tx.commit(final=True)
                committed = True
                await self._publish(tx, delta)
        except asyncio.CancelledError:
            if committed:
                # Stored already; only sending the update (python-socketio finishes that from
                # tasks of its own) or letting go of the lock was cut short: the event ran.
                raise asyncio.CancelledError(COMMITTED) from None
            raise
        return chained

    def _start_now(self, token: str, specs: list[EventSpec], state: State) -> list[EventSpec]:
        """Start chained background tasks at once (seeing `state`); return the regular ones."""
        regular = []
        for spec in specs:
            if spec.handler.background:
                owner = spec.handler.state_cls
                assert owner is not None
                seen = state.get_root().get_substate(owner.get_full_name().split("."))
                self.start_background(token, spec, stale_copies(seen))
            else:
                regular.append(spec)
        return regular

    # -- background tasks ------------------------------------------------------
    def start_background(
        self, token: str, spec: EventSpec, stale: dict[type[State], dict[str, Any]] | None = None
    ) -> asyncio.Task[None]:
        """Start a background handler as a supervised task; it begins at once."""
        return self.tasks.start(
            token, spec.handler.qualname, self._run_background(token, spec, stale)
        )

    async def _run_background(
        self, token: str, spec: EventSpec, stale: dict[type[State], dict[str, Any]] | None
    ) -> None:
        _current_app.set(self)
        handler = spec.handler
        owner = handler.state_cls
        assert owner is not None
        try:
            if stale is None:
                stale = await self._peek_stale(token, owner)
            proxy = StateProxy(self, token, owner, stale)
            result = handler.fn(proxy, *spec.args)
            if inspect.isasyncgen(result):
                async for item in result:
                    await self._chain_from_task(token, as_specs(item, handler.qualname))
            else:
                await self._chain_from_task(token, as_specs(await result, handler.qualname))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.error("background task %s of tab %s failed", handler.qualname, token[:8], exc_info=True)
            await self._report(token, failure_message(handler, exc))
            raise

    async def _peek_stale(self, token: str, owner: type[State]) -> dict[type[State], dict[str, Any]]:
        root = await self.state_manager.peek(token)
        if root is None:
            return {}
        node = root.existing_substate(owner)
        return stale_copies(node) if node is not None else {}

    async def _chain_from_task(self, token: str, specs: list[EventSpec]) -> None:
        for spec in specs:
            if spec.handler.background:
                self.start_background(token, spec)
                continue
            future = self._queues.enqueue(token, spec)

            def report(done: asyncio.Future[None], spec: EventSpec = spec) -> None:
                if not done.cancelled() and done.exception() is not None:
                    message = failure_message(spec.handler, done.exception())  # type: ignore[arg-type]
                    helper = asyncio.ensure_future(self._report(token, message))
                    self._helpers.add(helper)
                    helper.add_done_callback(self._helpers.discard)

            future.add_done_callback(report)

    async def _report(self, token: str, message: str) -> None:
        try:
            await self.send_error(token, message)
        except Exception:  # the tab may be gone; the log already has the error
            logger.debug("could not report an error to tab %s", token[:8], exc_info=True)

    # -- lifecycle -------------------------------------------------------------
    async def shutdown(self, timeout: float | None = None) -> dict[str, int]:
        """Stop taking events, let tasks finish up to `timeout`, cancel the rest; return the counts.

        Cancelled tasks leave their `async with self` blocks, which rolls back
        and releases their locks. One summary line goes to the log. Calling it
        again (the lifespan and a signal handler may both do) waits for the
        first call and returns the same counts.
        """
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop(timeout))
        return dict(await asyncio.shield(self._stopping))

    async def _stop(self, timeout: float | None) -> dict[str, int]:
        began = time.monotonic()
        self._queues.close()
        counts = await self.tasks.shutdown(self.settings.shutdown_timeout if timeout is None else timeout)
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._watchdog is not None:
            await self._watchdog.stop()
            self._watchdog = None
        await self.sio.shutdown()  # python-socketio's own background task (its client monitor)
        await _stop_pubsub(self.sio.manager)
        await self.state_manager.close()
        await self.event_namespace.token_to_sid.close()
        logger.info(
            "engine stopped in %.1fs: tasks started=%d done=%d failed=%d cancelled=%d; locks held=%d",
            time.monotonic() - began, counts["started"], counts["done"], counts["failed"],
            counts["cancelled"], self.state_manager.stats().get("locks_held", 0),
        )
        if self in _last_app:
            _last_app.remove(self)
        return counts


async def _stop_pubsub(manager: Any) -> None:
    """Stop python-socketio's Redis listener task and close its connections (it has no close())."""
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task) and not listener.done():
        listener.cancel()
        await asyncio.wait([listener], timeout=1.0)
    for name in ("pubsub", "redis"):
        client = getattr(manager, name, None)
        closing = getattr(client, "aclose", None)
        if closing is not None:
            try:
                await closing()
            except Exception:  # already closed, or the connection is gone: nothing to release
                logger.debug("closing the Socket.IO Redis %s failed", name, exc_info=True)
