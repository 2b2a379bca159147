"""Defence 6: updates carry seq; a tab that misses one sees the gap, resyncs, and ends equal."""

from __future__ import annotations

from typing import Any

from engine.protocol import NAMESPACE
from engine.testing import TabClient
from tests.hardening.ledger import Ledger
from tests.hardening.states import HardLedgerState

LEDGER = [HardLedgerState]


def _drop_one_delta(tab: TabClient) -> list[int]:
    """Make the tab lose the next delta on its way in, as a lost message would."""
    dropped: list[int] = []
    original = tab._on_update

    async def on_update(data: dict[str, Any]) -> None:
        if "delta" in data and not dropped:
            dropped.append(data["seq"])
            return
        await original(data)

    assert tab._sio is not None
    tab._sio.on("update", on_update, namespace=NAMESPACE)
    return dropped


async def test_a_lost_update_is_noticed_and_resynced(make_app):
    app = make_app()
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as tab:
        await ledger.send(tab)
        seqs = [tab.seq]
        dropped = _drop_one_delta(tab)
        await ledger.send(tab)  # its update is lost
        assert dropped == [seqs[0] + 1] and tab.seq == seqs[0]
        assert tab.state(HardLedgerState)["count"] == 1  # stale, for now
        await ledger.send(tab)  # the next update shows the gap; the tab asks for a full copy
        await tab.wait_for(lambda t: t.seq >= seqs[0] + 2)
        assert tab.resyncs == 1
        await ledger.verify([tab])
        assert tab.state(HardLedgerState)["count"] == 3


async def test_updates_carry_consecutive_seq_numbers(make_app):
    app = make_app()
    ledger = Ledger(app)
    async with TabClient(app, states=LEDGER) as tab:
        seen: list[int] = []
        original = tab._on_update

        async def on_update(data: dict[str, Any]) -> None:
            seen.append(data["seq"])
            await original(data)

        assert tab._sio is not None
        tab._sio.on("update", on_update, namespace=NAMESPACE)
        start = tab.seq
        for _ in range(20):
            await ledger.send(tab)
        await ledger.send(tab, HardLedgerState.apply_then_fail)  # rolled back: no update, no seq
        assert (await tab.send(HardLedgerState.bump_secret))["ok"]  # a backend var only: no update either
        await ledger.send(tab)
        await ledger.verify([tab])
        assert seen == list(range(start + 1, start + 22))
        assert tab.resyncs == 0
