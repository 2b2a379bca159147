"""The ledger harness itself, on a realistic mix: several tabs, failures, reconnects, refusals."""

from __future__ import annotations

import asyncio

from engine.testing import TabClient
from tests.hardening.ledger import Ledger, task_counts_balance
from tests.hardening.states import HardLedgerState

STATES = [HardLedgerState]


async def test_ledger_holds_for_concurrent_tabs_with_failures_and_reconnects(make_app):
    ledger_baseline = Ledger(make_app())  # only for its task baseline, taken before any server
    app = ledger_baseline.app
    ledger = ledger_baseline
    async with TabClient(app, states=STATES) as one, TabClient(app, states=STATES) as two:

        async def drive(tab: TabClient, n: int) -> None:
            for i in range(n):
                if i % 7 == 3:
                    await ledger.send(tab, HardLedgerState.apply_then_fail)
                elif i % 5 == 4:
                    await ledger.send(tab, HardLedgerState.apply_slowly, 0.01)
                else:
                    await ledger.send(tab, HardLedgerState.apply)

        await asyncio.gather(drive(one, 30), drive(two, 30))
        await two.reconnect()  # a network blip: same tab, same state
        await asyncio.gather(drive(one, 10), drive(two, 10))
        applied = await ledger.verify([one, two])

        assert len(ledger.failed) == 2 * 5  # i = 3, 10, 17, 24 of 30 and 3 of 10, per tab
        assert all("failed on purpose" in error for error in ledger.failed.values())
        assert len(applied[one.token]) == len(applied[two.token]) == 40 - 5
        assert one.token != two.token
        for tab in (one, two):  # each tab heard of its own failures, and only those
            mine = {op for op, outcome in ledger.outcomes.items() if outcome.tab == tab.token}
            assert len(tab.errors) == 5
            assert all(any(op in error for op in mine) for error in tab.errors)
    await app.shutdown()
    task_counts_balance(app)
    await ledger.assert_no_leaked_tasks()


async def test_a_concurrent_burst_from_one_tab_is_applied_once_each_in_order(make_app):
    app = make_app()
    ledger = Ledger(app)
    async with TabClient(app, states=STATES) as tab:
        ops = await asyncio.gather(*(ledger.send(tab) for _ in range(60)))
        applied = await ledger.verify([tab])
        assert applied[tab.token] == ops  # the order the tab sent them
    await app.shutdown()
    await ledger.assert_no_leaked_tasks()
