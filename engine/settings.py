"""Every tunable number of the engine, validated once, in one unit each.

Times are seconds (floats), sizes are bytes (ints), limits are counts (ints).
Each field's docstring-like `help` is what the settings reference page shows.
Values come from `Settings(...)` keyword arguments, or from environment
variables named `ENGINE_<FIELD>` (upper case) through `Settings.from_env()`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any

from .errors import SettingsError

__all__ = ["Settings"]


def _setting(
    default: Any, help: str, *, minimum: float | None = 0, maximum: float | None = None, unit: str = "",
    choices: tuple[str, ...] = (),
) -> Any:
    return dataclasses.field(
        default=default,
        metadata={"help": help, "minimum": minimum, "maximum": maximum, "unit": unit, "choices": choices},
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    """Validated engine settings; build with keywords or `Settings.from_env()`."""

    redis_url: str | None = _setting(
        None, "Redis URL for shared state; unset keeps state in this process's memory.", minimum=None
    )
    redis_pool_size: int = _setting(
        50, "Connections one worker opens to Redis for commands at most; beyond them, commands wait their turn.",
        minimum=1,
    )
    redis_pool_timeout: float = _setting(
        10.0, "How long a command waits for a free Redis connection before it fails (Redis itself is not blamed).",
        unit="s",
    )
    redis_commit_mode: str = _setting(
        "confirm",
        "With Redis: `confirm` ends a block once Redis has stored its change; `pipelined` ends it at once and "
        "sends the tab the update once Redis has stored it (faster; a worker killed meanwhile loses changes "
        "no tab was shown); `replicated` ends it once `redis_min_replicas` replicas have it too (WAIT), so that "
        "what a tab was shown survives a failover.",
        minimum=None, choices=("confirm", "pipelined", "replicated"),
    )
    redis_min_replicas: int | None = _setting(
        None, "With Redis in replicated mode: replicas that must have taken a block's change before it ends "
        "(unset: 1). None left within the lease: the block fails with an error naming this setting.",
        minimum=1,
    )
    redis_pipeline_depth: int = _setting(
        10_000, "With Redis in pipelined mode: commands on their way to Redis beyond which a block's end waits "
        "for its own commit, as in confirm mode.",
        minimum=1,
    )
    worker_heartbeat: float = _setting(
        5.0, "With Redis: how often a worker tells the others it is alive; one silent for three beats is dead.",
        unit="s",
    )
    state_ttl: float = _setting(
        3600.0, "How long a tab's stored state lives in Redis after its last use.", unit="s"
    )
    lock_lease: float = _setting(
        10.0, "Lease on a tab's Redis lock, renewed by each commit; a holder past it loses its changes.",
        unit="s",
    )
    lock_warn_after: float = _setting(
        2.0, "Log a warning when one holder keeps a tab's lock longer than this.", unit="s"
    )
    lock_timeout: float = _setting(
        30.0, "Give up waiting for a tab's lock after this long and report an error.", unit="s"
    )
    token_secret: str | None = _setting(
        None,
        "Key that signs tab tickets; unset, with Redis every worker shares one kept in Redis (created once), "
        "without Redis one is made at start (tickets then die with the process).",
        minimum=None,
    )
    token_max_age: float = _setting(
        7 * 24 * 3600.0, "A tab ticket older than this starts a fresh tab.", unit="s"
    )
    allowed_origins: tuple[str, ...] | None = _setting(
        None,
        "Extra origins allowed to open a socket; unset allows only the site's own origin.",
        minimum=None,
    )
    allowed_hosts: tuple[str, ...] | None = _setting(
        None,
        "Host names the server answers to ('*': any); unset allows localhost and the addresses it serves on.",
        minimum=None,
    )
    trusted_proxies: tuple[str, ...] | None = _setting(
        None,
        "Addresses of reverse proxies whose X-Forwarded-For names the real client (a socket's own address is its "
        "TCP peer's); unset trusts none.",
        minimum=None,
    )
    max_message_bytes: int = _setting(
        64 * 1024, "Largest message a tab may send.", minimum=1, unit="bytes"
    )
    max_json_depth: int = _setting(
        32, "Deepest nesting accepted in an event's arguments.", minimum=1
    )
    events_per_second: float = _setting(
        50.0, "Sustained events per second one connection may send (burst: twice this).", unit="1/s"
    )
    client_events_per_second: float = _setting(
        100.0, "Sustained events per second one client address may send, over all its sockets (burst: twice this).",
        unit="1/s",
    )
    max_connections_per_client: int = _setting(
        30, "Sockets one client address may have open at once.", minimum=1
    )
    new_tabs_per_client_per_minute: int = _setting(
        120, "New tab states one client address may open per minute.", minimum=1
    )
    max_bad_events: int = _setting(
        20, "Refused events after which a connection is closed.", minimum=1
    )
    max_tasks_per_tab: int = _setting(
        16, "Background tasks one tab may have running at once; one more waits for a slot (at most "
        "max_queued_events wait; `App.create_task` is refused instead).", minimum=1
    )
    max_tasks_total: int = _setting(
        10_000, "Background tasks the whole process may have running at once.", minimum=1
    )
    max_tabs: int = _setting(
        100_000,
        "Tab states one process keeps in memory; when full, the least recently used idle one makes room.",
        minimum=1,
    )
    max_tab_share_per_client: float = _setting(
        0.1,
        "Share of max_tabs one client address may hold (0 to 1); past it, a new tab of that address evicts its "
        "own least recently used idle state, or is refused when all of them are in use.",
        minimum=0.0001, maximum=1.0, unit="fraction",
    )
    max_state_bytes: int = _setting(
        1 << 20,
        "What one tab's state (all its states, backend vars too) may hold, as JSON; a block that would store "
        "more fails and is rolled back, naming the var that grew.",
        minimum=1, unit="bytes",
    )
    idle_state_ttl: float = _setting(
        3600.0, "An in-memory tab state unused this long is evicted (never while locked).", unit="s"
    )
    max_queued_events: int = _setting(
        100, "Events waiting to run for one tab before new ones are refused; also bounds the tab's background "
        "tasks waiting for a slot, and the waiting triggers of each \"queue\" handler.", minimum=1
    )
    max_queued_updates: int = _setting(
        256, "Updates waiting to be sent to one slow tab before it is resynced.", minimum=1
    )
    max_unsent_bytes: int = _setting(
        256 * 1024,
        "Bytes that may wait unsent for one socket that is not draining (queued, or in the web server's write "
        "buffer); past them the socket is closed, and its tab resyncs when it reads again.",
        minimum=1, unit="bytes",
    )
    drain_timeout: float = _setting(
        20.0, "A socket whose write has waited this long to be sent is closed (a tab that stopped reading).",
        minimum=0.05, unit="s",
    )
    max_chain_length: int = _setting(
        100, "Events one event may chain (return or yield) before it is stopped; also the generations of "
        "background tasks started by tasks from one event (a task that starts itself again).", minimum=1
    )
    tab_grace: float = _setting(
        60.0, "After a tab disconnects, its background tasks are cancelled after this long.", unit="s"
    )
    shutdown_timeout: float = _setting(
        10.0, "On shutdown, running tasks get this long to finish before they are cancelled.", unit="s"
    )
    pacing_lag: float = _setting(
        0.01, "When the event loop falls this far behind, background tasks' blocks take turns, a budget of them "
        "each loop turn, so that clicks are served first; 0 turns pacing off. Measured past saturation (5,000 "
        "counter tabs on one process) it answered clicks sooner and delivered more ticks than no pacing.", unit="s"
    )
    gc_young_threshold: int = _setting(
        50_000, "The garbage collector's youngest generation is collected once this many more objects exist "
        "than were freed (Python's default is 700): with thousands of tabs in flight, the default triggers full "
        "collections that stop the event loop for tenths of a second; 0 leaves Python's setting alone."
    )
    loop_lag_warn: float = _setting(
        0.5, "Log the running handler when the event loop is blocked longer than this.", unit="s"
    )

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            choices = field.metadata["choices"]
            if choices and value not in choices:
                raise SettingsError(
                    f"setting {field.name} must be one of {', '.join(map(repr, choices))}, got {value!r}"
                )
            minimum = field.metadata["minimum"]
            if minimum is None or value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SettingsError(
                    f"setting {field.name} must be a number, got {value!r}"
                )
            if field.type in ("int", "int | None") and not isinstance(value, int):
                raise SettingsError(f"setting {field.name} must be a whole number, got {value!r}")
            if math.isnan(value) or value < minimum:
                raise SettingsError(
                    f"setting {field.name} must be at least {minimum}, got {value!r}"
                )
            maximum = field.metadata["maximum"]
            if maximum is not None and value > maximum:
                raise SettingsError(f"setting {field.name} must be at most {maximum}, got {value!r}")

        if self.redis_min_replicas is not None and self.redis_commit_mode != "replicated":
            raise SettingsError(
                f"setting redis_min_replicas={self.redis_min_replicas} applies only to redis_commit_mode="
                f"'replicated' (it is {self.redis_commit_mode!r}): set both, or neither"
            )

    @property
    def replicas_to_wait_for(self) -> int:
        """How many replicas a block's change must reach before the block ends (0: not replicated mode)."""
        if self.redis_commit_mode != "replicated":
            return 0
        return self.redis_min_replicas or 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read `ENGINE_<NAME>` variables (and `REDIS_URL`), then apply keyword overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"ENGINE_{field.name.upper()}")
            if field.name == "redis_url" and raw is None:
                raw = env.get("REDIS_URL")
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(field, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (validated again)."""
        known = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SettingsError(
                f"unknown setting {', '.join(unknown)}; known settings: {', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **changes)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str, str]]:
        """(name, default, unit, help) for each setting, for the reference page."""
        rows = []
        for field in dataclasses.fields(cls):
            rows.append((field.name, repr(field.default), field.metadata["unit"], field.metadata["help"]))
        return rows


def _parse(field: dataclasses.Field[Any], raw: str) -> Any:
    name = f"ENGINE_{field.name.upper()}"
    kind = str(field.type)
    try:
        if kind in ("int", "int | None"):
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw
