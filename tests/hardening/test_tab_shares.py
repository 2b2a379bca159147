"""One address cannot take the whole tab table: its share of `max_tabs` is capped, its own idle tabs go first.

Each visitor is a client on its own loopback address. The table is the
in-memory manager's (on Redis, tab states live in Redis and a worker's
`max_tabs` only bounds its cache).
"""

from __future__ import annotations

import pytest

from engine.errors import SettingsError
from engine.settings import Settings
from engine.testing import TabClient

from .states import HardLedgerState

LEDGER = [HardLedgerState]


async def _come_and_go(url: str, address: str) -> str:
    """A visitor opens a tab and leaves; returns its ticket."""
    tab = TabClient(url=url, states=LEDGER, local_address=address)
    await tab.connect()
    await tab.disconnect()
    assert tab.ticket is not None
    return tab.ticket


async def test_one_address_opening_many_tabs_does_not_evict_an_away_visitors_state(memory_apps):
    app = memory_apps(max_tabs=50)  # a share of 5 tabs per address, by default
    async with TabClient(app, states=LEDGER, local_address="127.0.3.9") as host:  # keeps the server up
        assert host.url is not None
        visitor = TabClient(url=host.url, states=LEDGER, local_address="127.0.3.1")
        await visitor.connect()
        assert (await visitor.send(HardLedgerState.apply, "mine"))["ok"]
        await visitor.disconnect()  # away for a moment (within tab_grace): its state should wait for it
        for _ in range(118):  # under the new-tab rate (120 a minute), 2.4 times the table
            await _come_and_go(host.url, "127.0.3.2")
        for n in range(10):  # newcomers find room too: taken from the address over its share
            await _come_and_go(host.url, f"127.0.5.{n + 1}")
        back = TabClient(url=host.url, states=LEDGER, local_address="127.0.3.1", ticket=visitor.ticket)
        await back.connect()
        try:
            assert back.token == visitor.token
            assert back.state(HardLedgerState)["applied"] == ["mine"], "the away visitor's state was evicted"
        finally:
            await back.disconnect()
        assert app.state_manager.stats()["tabs"] == 50


async def test_an_address_over_its_share_of_a_full_table_with_all_its_tabs_in_use_is_refused(memory_apps):
    app = memory_apps(max_tabs=4, max_tab_share_per_client=0.5)  # 2 tabs of 4 per address
    async with TabClient(app, states=LEDGER, local_address="127.0.3.3") as one:
        assert one.url is not None
        others = [await _come_and_go(one.url, "127.0.3.4"), await _come_and_go(one.url, "127.0.3.5")]
        async with TabClient(app, states=LEDGER, local_address="127.0.3.3") as two:  # the table is full now
            with pytest.raises(ConnectionRefusedError, match=r"setting max_tab_share_per_client=0.5"):
                async with TabClient(app, states=LEDGER, local_address="127.0.3.3"):
                    pass
            assert all(ticket.split(".")[0] in app.state_manager._entries for ticket in others)
            assert (await one.send(HardLedgerState.apply, "still"))["ok"]
            assert (await two.send(HardLedgerState.apply, "here"))["ok"]


async def test_an_address_over_its_share_of_a_full_table_makes_room_from_its_own_oldest_idle_tab(memory_apps):
    app = memory_apps(max_tabs=4, max_tab_share_per_client=0.5)
    async with TabClient(app, states=LEDGER, local_address="127.0.3.9") as host:
        assert host.url is not None
        other = await _come_and_go(host.url, "127.0.3.6")  # the least recently used idle state of the table
        oldest = await _come_and_go(host.url, "127.0.3.5")
        newer = await _come_and_go(host.url, "127.0.3.5")  # the table is full now
        await _come_and_go(host.url, "127.0.3.5")  # its third: its own oldest goes, not the other visitor's
        held = {ticket.split(".")[0] for ticket in (other, oldest, newer)} & set(app.state_manager._entries)
        assert held == {other.split(".")[0], newer.split(".")[0]}
        assert app.state_manager.stats()["evicted_for_room"] == 1


async def test_nobody_is_refused_or_evicted_while_the_table_has_room(memory_apps):
    app = memory_apps(max_tabs=20, max_tab_share_per_client=0.1)  # a share of 2
    async with TabClient(app, states=LEDGER, local_address="127.0.3.7") as one, \
            TabClient(app, states=LEDGER, local_address="127.0.3.7") as two, \
            TabClient(app, states=LEDGER, local_address="127.0.3.7") as three:
        assert len({one.token, two.token, three.token}) == 3
        assert app.state_manager.stats()["evicted_for_room"] == 0


async def test_another_visitors_state_is_evicted_only_when_the_table_is_full_of_many_visitors(memory_apps):
    app = memory_apps(max_tabs=20)
    async with TabClient(app, states=LEDGER, local_address="127.0.4.200") as host:
        assert host.url is not None
        first = await _come_and_go(host.url, "127.0.4.1")
        for n in range(2, 20):  # 18 more visitors, one tab each: with the host, the table is full
            await _come_and_go(host.url, f"127.0.4.{n}")
        assert first.split(".")[0] in app.state_manager._entries and app.state_manager.stats()["evicted_for_room"] == 0
        await _come_and_go(host.url, "127.0.4.100")  # one more visitor: the least recently used idle state goes
        assert first.split(".")[0] not in app.state_manager._entries
        assert app.state_manager.stats()["evicted_for_room"] == 1


def test_the_share_is_a_fraction_of_the_table():
    with pytest.raises(SettingsError, match="max_tab_share_per_client must be at most 1"):
        Settings(max_tab_share_per_client=1.5)
    with pytest.raises(SettingsError, match="max_tab_share_per_client must be at least"):
        Settings(max_tab_share_per_client=0)
