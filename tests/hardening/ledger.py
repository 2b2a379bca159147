"""A ledger for fault tests: what was attempted, acknowledged, refused and applied, and by whom.

Every event a test sends through the ledger carries a fresh operation id
(`HardLedgerState.apply(op_id)` and its variants append the id to the tab's
`applied` list). After the faults, `verify()` checks the promises the docs
make (docs/limits.md):

- acknowledged ⊆ applied ⊆ attempted, and no operation is applied twice;
- every attempted operation was acknowledged or failed explicitly (an error
  in its acknowledgement), none just vanished, and a failed one left no trace;
- each operation is applied in the state of the tab that sent it, no other;
- each tab's mirror (what `TabClient` built from updates) equals the server
  state, read under the tab's lock with `app.modify_state`;
- no tab's lock is left held;
and `assert_no_leaked_tasks()` checks that the set of asyncio tasks is back
to the one the ledger started with.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import engine as rx
from engine.handler import EventHandler
from engine.testing import TabClient
from tests.hardening.states import HardLedgerState

_numbers = itertools.count(1)


@dataclass
class Outcome:
    op_id: str
    tab: str  # token of the tab that sent it
    ok: bool | None = None  # None: no acknowledgement came (the operation is lost)
    error: str = ""


@dataclass
class Ledger:
    app: rx.App
    state: type[rx.State] = HardLedgerState
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    baseline: set[asyncio.Task[Any]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.baseline = set(asyncio.all_tasks())

    # -- recording -------------------------------------------------------------
    def new_op(self, tab: TabClient) -> str:
        op_id = f"op{next(_numbers)}"
        self.outcomes[op_id] = Outcome(op_id, tab.token)
        return op_id

    def record(self, op_id: str, ack: dict[str, Any] | None, error: str = "") -> None:
        outcome = self.outcomes[op_id]
        if ack is None:
            outcome.ok, outcome.error = None, error
        else:
            outcome.ok = bool(ack.get("ok"))
            outcome.error = "" if outcome.ok else str(ack.get("error"))

    async def send(
        self, tab: TabClient, handler: EventHandler = HardLedgerState.apply, *extra: Any, timeout: float = 15
    ) -> str:
        """Send one operation from `tab` and record how it ended; returns its id."""
        op_id = self.new_op(tab)
        try:
            ack = await tab.send(handler, op_id, *extra, timeout=timeout)
        except Exception as exc:  # no acknowledgement: recorded as lost, verify() fails
            self.record(op_id, None, f"{type(exc).__name__}: {exc}")
        else:
            self.record(op_id, ack)
        return op_id

    # -- reading the server ------------------------------------------------------------
    async def lock_released(self, token: str, settle: float = 2.0) -> None:
        """The tab's lock is free (a manager may release it a moment after its holder ends)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settle
        while self.app.state_manager.locked(token):
            assert loop.time() < deadline, f"tab {token[:8]}'s lock is still held"
            await asyncio.sleep(0.01)

    async def server_values(self, token: str) -> dict[str, Any]:
        assert not self.app.state_manager.locked(token), f"tab {token[:8]}'s lock is held"
        async with asyncio.timeout(10):
            async with self.app.modify_state(token) as root:
                state = root.get_substate(self.state.get_full_name().split("."))
                return state.public_values()

    @property
    def attempted(self) -> set[str]:
        return set(self.outcomes)

    @property
    def acknowledged(self) -> set[str]:
        return {op for op, o in self.outcomes.items() if o.ok is True}

    @property
    def failed(self) -> dict[str, str]:
        return {op: o.error for op, o in self.outcomes.items() if o.ok is False}

    # -- the checks ------------------------------------------------------------
    async def verify(self, tabs: Iterable[TabClient], *, mirror_timeout: float = 10) -> dict[str, list[str]]:
        """Check every promise for these tabs; returns {token: applied op ids}."""
        tabs = list(tabs)
        lost = {op: o.error for op, o in self.outcomes.items() if o.ok is None}
        assert not lost, f"operations neither acknowledged nor refused: {lost}"
        for tab in tabs:
            await self.lock_released(tab.token)
        applied: dict[str, list[str]] = {}
        for tab in tabs:
            applied[tab.token] = list((await self.server_values(tab.token))["applied"])
        everything = [op for ops in applied.values() for op in ops]
        assert len(everything) == len(set(everything)), f"an operation was applied twice: {everything}"
        applied_set = set(everything)
        mine = {op for op, o in self.outcomes.items() if o.tab in applied}
        assert self.acknowledged & mine <= applied_set, (
            f"acknowledged but not applied: {sorted((self.acknowledged & mine) - applied_set)}"
        )
        strays = applied_set - self.attempted
        assert not strays, f"applied but never attempted: {sorted(strays)}"
        leftovers = set(self.failed) & applied_set
        assert not leftovers, f"operations refused but applied anyway: {sorted(leftovers)}"
        for token, ops in applied.items():
            strangers = [op for op in ops if self.outcomes[op].tab != token]
            assert not strangers, f"tab {token[:8]} holds operations sent by another tab: {strangers}"
        for tab in tabs:
            server = await self.server_values(tab.token)
            try:
                await tab.wait_for(
                    lambda t, s=server: t.state(self.state, with_tasks=True) == s, timeout=mirror_timeout
                )
            except TimeoutError:
                raise AssertionError(
                    f"tab {tab.token[:8]} shows {tab.state(self.state, with_tasks=True)!r}, the server has {server!r}"
                ) from None
        stats = self.app.state_manager.stats()
        assert stats.get("locks_held", 0) == 0, f"locks left held: {stats}"
        return applied

    async def assert_no_leaked_tasks(self, settle: float = 5.0) -> None:
        """Every task started since the ledger was made has ended (after a short settle)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settle
        while True:
            extra = {
                task for task in set(asyncio.all_tasks()) - self.baseline - {asyncio.current_task()}
                if not _engineio_ping_timer(task)
            }
            if not extra or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        assert not extra, "tasks left running: " + ", ".join(
            sorted(f"{t.get_name()} {t.get_coro()!r}" for t in extra)
        )


def _engineio_ping_timer(task: asyncio.Task[Any]) -> bool:
    """python-engineio's per-socket ping timer: it sleeps `ping_interval` (25 s) and then
    ends by itself once its socket has closed; nothing in the engine starts or holds it."""
    return getattr(task.get_coro(), "__qualname__", "") == "AsyncSocket._send_ping"


def task_counts_balance(app: rx.App) -> dict[str, int]:
    """The supervisor's counts, checked: started == done + failed + cancelled + running."""
    counts = {key: app.tasks.counts.get(key, 0) for key in ("started", "done", "failed", "cancelled")}
    ended = counts["done"] + counts["failed"] + counts["cancelled"]
    assert counts["started"] == ended + len(app.tasks.running), f"task counts do not add up: {counts}"
    return counts


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]], timeout: float = 10.0) -> None:
    """Cancel tasks until they have ended, for tests whose subject is not cancellation.

    (With the Redis manager on Python 3.11 a cancellation can be lost inside redis-py, see
    engine/runner/tasks.py, so one `cancel()` is not always enough.)
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = [task for task in tasks if not task.done()]
    while pending:
        assert loop.time() < deadline, f"tasks would not stop: {[t.get_name() for t in pending]}"
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.2)
        pending = [task for task in pending if not task.done()]
