"""The App: wires a state manager, the runner and the Socket.IO layer together, and starts and stops them.

    app = rx.App()                       # tab states in this process's memory
    app = rx.App(redis_url="redis://…")  # in Redis, shared by several workers

It holds no logic of its own beyond that: events and tasks run in the
runner (engine/runner/), messages are turned into runner calls in the socket
layer (engine/socket/), and their shapes are in engine/protocol.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from .directory import TabDirectory
from .gctune import raise_young_threshold
from .handler import EventSpec
from .managers import MemoryStateManager, StateManager
from .redisparts import RedisParts, stop_pubsub
from .runner import MODIFY_STATE, InOrder, Observers, Pacer, Parts, Runner, Session, TaskHandle, TaskRegistry
from .settings import Settings
from .watchdog import LoopWatchdog

__all__ = ["App", "get_app", "resolve_settings"]

logger = logging.getLogger("engine")

_current_app: contextvars.ContextVar[App] = contextvars.ContextVar("engine_app")


def get_app() -> App:
    """The App running the current event handler or background task."""
    app = _current_app.get(None)
    if app is None:
        raise RuntimeError(
            "rx.get_app() is only known inside an event handler or a background task; "
            "call it there and pass the app on to the code that needs it"
        )
    return app


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
        # The Socket.IO layer (python-socketio and the rest) is imported only when an App is built:
        # `import engine` needs the standard library alone, so the engine also runs in a browser (Pyodide).
        from .socket import (
            Bindings,
            ClientLimits,
            EventNamespace,
            SocketPublisher,
            SocketServer,
            TicketSigner,
            UnsentLimits,
            origin_policy,
        )

        self.settings = settings = resolve_settings(settings, redis_url, overrides)
        shared = bool(settings.redis_url)
        redis = self._redis = RedisParts(settings) if shared else None
        # Built in dependency order, each part given what it needs (nothing is set on a part afterwards).
        self.observers = Observers()
        self.tickets = TicketSigner(settings.token_secret, settings.token_max_age)
        directory = redis.directory if redis else TabDirectory()
        bindings = Bindings(self.tickets, directory, ClientLimits(settings), settings)
        relay = redis.relay(bindings.connected_here) if redis else None
        self.sio = SocketServer(
            async_mode="asgi",
            cors_allowed_origins=origin_policy(settings.allowed_origins),
            client_manager=relay,
            max_http_buffer_size=settings.max_message_bytes,
            unsent=UnsentLimits.of(settings),
            transports=["websocket"],
            always_connect=True,
        )
        publisher = SocketPublisher(self.sio, bindings.connection_of, shared=shared)
        confirmed = InOrder()
        tasks = TaskRegistry(settings, self.observers)
        if state_manager is None:
            if redis is not None and relay is not None:
                state_manager = redis.manager(
                    publisher, relay, confirmed, busy=tasks.has_tasks, on_refused=self._commit_refused
                )
            else:
                state_manager = MemoryStateManager(settings, protect=self._in_use)
        elif isinstance(state_manager, MemoryStateManager) and state_manager.protect is None:
            state_manager.protect = self._in_use  # (a manager made by the caller: the App adopts it)
        self.state_manager = state_manager
        self.pacer = Pacer(settings.pacing_lag)
        parts = Parts(state_manager, publisher, self.observers, settings, self._enter, confirmed, self.pacer)
        self.runner = Runner(parts, redis.cluster if redis else None, tasks=tasks)
        self.event_namespace = EventNamespace(self.runner, settings, bindings, relay=relay)
        self.sio.register_namespace(self.event_namespace)
        self._watchdog: LoopWatchdog | None = None
        self._restore_gc: Callable[[], None] | None = None  # (App.startup raised the GC's young threshold)
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping: asyncio.Future[dict[str, int]] | None = None

    def _commit_refused(self, token: str, error: Exception) -> None:
        """A pipelined commit was refused: tell the tab, and send it what Redis holds.

        Not when this worker is, or lately was, cut off from Redis: its lease ran out while it was, the
        others took it for dead and the tab moved on to one of them, which tells it its own story.
        """
        if not self.runner.control.cluster.cut_off_lately():
            self.runner.report_soon(token, str(error))
        self.event_namespace.resend(token)

    def _enter(self) -> None:
        """Run at the start of each handler and task: what `rx.get_app()` returns there."""
        _current_app.set(self)

    def _in_use(self, token: str) -> bool:
        """Whether a tab's state must stay in memory: its tab is connected or it runs tasks."""
        return token in self.event_namespace.token_to_sid or self.tasks.has_tasks(token)

    # -- what users reach ----------------------------------------------------------------
    @property
    def tasks(self) -> TaskRegistry:
        """Every running background task: `app.tasks.for_tab(token)` gives a tab's handles."""
        return self.runner.tasks

    @property
    def background_tasks(self) -> set[asyncio.Task[Any]]:
        """The asyncio tasks of every running background task (held until they end)."""
        return self.runner.tasks.running

    def modify_state(self, token: str) -> Any:
        """Exclusive access to one tab's state from any coroutine.

        `async with app.modify_state(token) as root:` locks the tab, loads its
        state (a new token gets defaults), and on exit commits and sends the
        tab the delta. If the body raises, nothing it changed is kept. `root`
        and every state reached through it can change the tab's state only
        until the block ends.
        """
        if not isinstance(token, str) or not token:
            raise TypeError(f"modify_state needs a tab token (a non-empty str), got {token!r}")
        return Session(self.runner.parts, token, MODIFY_STATE)

    def create_task(self, token: str, coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> TaskHandle:
        """Run a coroutine as a supervised task of one tab: the safe `asyncio.create_task`.

        The engine holds it (no set of your own to keep it alive), names it,
        counts it against `max_tasks_per_tab` and `max_tasks_total` (a task over
        a limit is refused with `LimitExceededError` and never runs), cancels it
        once its tab has been gone for `tab_grace` and at shutdown, logs and
        reports its failure to the tab. `rx.get_app()` works inside it.
        """
        if not isinstance(token, str) or not token:
            raise TypeError(f"create_task needs a tab token (a non-empty str), got {token!r}")
        return self.runner.create_task(token, coro, name)

    def start_background(self, token: str, spec: EventSpec) -> TaskHandle:
        """Start a background handler for a tab, as returning it from a handler would."""
        return self.runner.start_background(token, spec)

    # -- serving -------------------------------------------------------------------------
    def asgi(self, other_asgi_app: Any = None, *, on_startup: Any = None, hosts: Iterable[str] = ()) -> Any:
        """An ASGI app serving Socket.IO at `/socket.io`, and `other_asgi_app` for the rest.

        It answers only to the host names in the `allowed_hosts` setting, or by
        default to localhost and `hosts` (the names and addresses the server was
        started for). Its lifespan shutdown runs `App.shutdown`.
        """
        async def startup() -> None:
            await self.startup()
            if on_startup is not None:
                await on_startup()

        from .socket import LOCAL_NAMES, GuardedASGIApp, HostGuard

        guarded = GuardedASGIApp(self.sio, other_asgi_app=other_asgi_app, on_startup=startup, on_shutdown=self.shutdown)
        allowed = self.settings.allowed_hosts or (*LOCAL_NAMES, *hosts)
        return HostGuard(guarded, allowed)

    async def startup(self) -> None:
        """Start the loop-lag watchdog and the idle-state sweeper (the server's lifespan calls this);
        with Redis and no `token_secret`, take the ticket key every worker shares from Redis."""
        self.event_namespace.token_to_sid.start()  # with Redis: learn other workers' tabs now
        await self._ticket_key()
        if self._watchdog is None:
            self._watchdog = LoopWatchdog(self.settings.loop_lag_warn)
            self._watchdog.start()
        if self._restore_gc is None:
            self._restore_gc = raise_young_threshold(self.settings.gc_young_threshold)
        if self._sweeper is None and isinstance(self.state_manager, MemoryStateManager):
            self._sweeper = asyncio.create_task(self._sweep_idle(self.state_manager), name="engine:idle-sweeper")

    async def _ticket_key(self) -> None:
        """Say in the log what a restart does to the tickets tabs hold (and so to their states)."""
        if self.tickets.configured:
            logger.info("tab tickets are signed with token_secret: they survive restarts of every worker")
        elif self._redis is None:
            logger.info("tab tickets are signed with a key made at start, and tab states live in this process: "
                        "a restart gives every tab a fresh state (use Redis to keep them)")
        else:
            from .redis import shared_ticket_key  # only an App on Redis imports it

            key = await shared_ticket_key(str(self.settings.redis_url))
            if key is None:
                logger.error("tab tickets are signed with a key of this process only (Redis did not answer): "
                             "after a restart its tabs come back fresh; set ENGINE_TOKEN_SECRET to avoid it")
                return
            self.tickets.use(key)
            logger.info("tab tickets are signed with the key kept in Redis (engine:ticket-key), shared by every "
                        "worker and every restart; ENGINE_TOKEN_SECRET would take its place")

    async def _sweep_idle(self, manager: MemoryStateManager) -> None:
        period = min(60.0, max(0.05, self.settings.idle_state_ttl / 4))
        while True:
            await asyncio.sleep(period)
            evicted = manager.evict_idle(keep=self._in_use)
            if evicted:
                logger.info("evicted %d idle tab states (setting idle_state_ttl=%gs)", evicted,
                            self.settings.idle_state_ttl)

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
        counts = await self.runner.shutdown(self.settings.shutdown_timeout if timeout is None else timeout)
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._watchdog is not None:
            await self._watchdog.stop()
            self._watchdog = None
        self.pacer.stop()
        if self._restore_gc is not None:
            self._restore_gc()
            self._restore_gc = None
        await self.sio.shutdown()  # python-socketio's own background task (its client monitor)
        await stop_pubsub(self.sio.manager)
        await self.state_manager.close()
        await self.event_namespace.token_to_sid.close()
        logger.info(
            "engine stopped in %.1fs: tasks started=%d done=%d failed=%d cancelled=%d; locks held=%d",
            time.monotonic() - began, counts["started"], counts["done"], counts["failed"],
            counts["cancelled"], self.state_manager.stats().get("locks_held", 0),
        )
        return counts


def resolve_settings(settings: Settings | None, redis_url: str | None, overrides: dict[str, Any]) -> Settings:
    """The settings an App runs with: `settings` (or the environment), with a Redis URL and overrides applied."""
    result = settings or Settings.from_env()
    if redis_url is not None:
        overrides["redis_url"] = redis_url
    return result.replace(**overrides) if overrides else result
