"""The lab page: every demo box it describes is on it, and the Common mistakes page quotes the engine word for word.

Each message the page quotes is produced here by making the mistake against
a real App (the lab's own demo states where a box shows it), then compared
with the page's text. Only the parts that differ from run to run are
replaced: a tab's id (the first 8 characters of its token), and a setting's
value where the test uses a smaller one than the default the page shows.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path

import pytest

import engine as rx
from demos.lab_duplicates import LabUnguardedState
from demos.lab_immutable import LabImmutableState
from demos.lab_waiting import PAUSE_SECONDS, LabWaitingState
from demos.low_level import LowLevelState
from engine.testing import TabClient
from tests.support.env import ROOT

LAB = ROOT / "docs" / "lab.md"
MISTAKES = ROOT / "docs" / "mistakes.md"  # the Common mistakes page the lab links to
PAGE_TAB_ID = "1a2b3c4d"  # the tab id the page prints in messages that name one

BOXES = (
    "demos.lab_stale:stale_read_example",
    "demos.lab_immutable:immutable_example",
    "demos.lab_duplicates:unguarded_example",
    "demos.background_tasks:background_task_example",
    "demos.lab_waiting:waiting_example",
    "demos.lab_tab_gone:watch_example",
    "demos.lab_chain:chain_example",
    "demos.low_level:low_level_example",
)


def quoted_messages() -> list[str]:
    """The messages the Common mistakes page quotes: its ``double-backtick`` spans."""
    section = MISTAKES.read_text(encoding="utf-8").split("# Common mistakes", 1)[1]
    return [span.strip() for span in re.findall(r"``(.+?)``(?!`)", section)]


def assert_quoted(message: str) -> None:
    quoted = quoted_messages()
    assert message in quoted, f"the Common mistakes page does not quote the engine message {message!r}: {quoted}"


def test_the_lab_page_places_every_demo_box_and_the_reader_window() -> None:
    page = LAB.read_text(encoding="utf-8")
    for target in BOXES:
        assert f"```demo\n{target}\n```" in page, f"the lab page lacks the box {target}"
    reader = (ROOT / "docs" / "lab-reader.md").read_text(encoding="utf-8")
    assert "```demo\ndemos.lab_tab_gone:reader_example\n```" in reader
    assert "[The lab](lab.md)" in (ROOT / "docs" / "background-tasks.md").read_text(encoding="utf-8")


async def _errors_of(handler: rx.EventHandler) -> tuple[str, list[str]]:
    app = rx.App()
    try:
        async with TabClient(app, states=[LabImmutableState]) as tab:
            await tab.send(handler)
            await tab.settle()
            return tab.token[:8], tab.errors
    finally:
        await app.shutdown(timeout=1)


async def test_changing_state_outside_the_block() -> None:
    _, errors = await _errors_of(LabImmutableState.add_outside)
    (message,) = errors
    assert_quoted(message)


async def test_changing_a_list_kept_from_an_earlier_block() -> None:
    _, errors = await _errors_of(LabImmutableState.append_later)
    (message,) = errors
    assert_quoted(message)


async def test_nesting_blocks() -> None:
    tab_id, errors = await _errors_of(LabImmutableState.nest)
    (message,) = errors
    assert tab_id in message
    assert_quoted(message.replace(tab_id, PAGE_TAB_ID))


class MistakeChainState(rx.State):
    rows: int = 0

    @rx.event(background=True)
    async def summarize(self):
        async with self:
            self.rows += 1

    def call_it(self):
        self.summarize()


async def test_calling_a_background_task_like_a_function() -> None:
    app = rx.App()
    try:
        async with TabClient(app, states=[MistakeChainState]) as tab:
            ack = await tab.send(MistakeChainState.call_it)
    finally:
        await app.shutdown(timeout=1)
    assert ack["ok"] is False
    assert_quoted(ack["error"].replace("MistakeChainState", "LabChainState"))


def test_a_background_handler_that_is_not_async() -> None:
    with pytest.raises(TypeError) as raised:

        class MyState(rx.State):  # never defined: the decorator refuses first
            @rx.event(background=True)
            def my_task(self):
                pass

    assert_quoted(str(raised.value))


async def test_starting_a_copy_on_every_click() -> None:
    app = rx.App(events_per_second=1000)  # (so many clicks at once are not refused as a flood)
    limit = app.settings.max_tasks_per_tab + app.settings.max_queued_events  # running, and waiting for a slot
    try:
        async with TabClient(app, states=[LabUnguardedState]) as tab:
            await tab.send(LabUnguardedState.toggle_running)  # running, with one copy
            acks = [await tab.send(LabUnguardedState.my_task) for _ in range(limit)]
            await tab.send(LabUnguardedState.toggle_running)  # Stop: every copy leaves
            await tab.settle()
    finally:
        await app.shutdown(timeout=1)
    assert [ack["ok"] for ack in acks] == [True] * (limit - 1) + [False]
    assert_quoted(acks[-1]["error"])


async def test_holding_the_lock_while_waiting() -> None:
    timeout = round(0.3 * PAUSE_SECONDS, 3)  # well within the task's pause, which holds the lock
    app = rx.App(lock_timeout=timeout)
    try:
        async with TabClient(app, states=[LabWaitingState]) as tab:
            await tab.send(LabWaitingState.sleep_inside)
            await tab.wait_for(lambda t: t.state(LabWaitingState)["ticks"] == 1, timeout=5)  # now in its 2nd block
            ack = await tab.send(LabWaitingState.click)
            tab_id = tab.token[:8]
            await tab.settle()
    finally:
        await app.shutdown(timeout=1)
    assert ack["ok"] is False
    shown = ack["error"].replace(f"waited {timeout}s", f"waited {rx.Settings().lock_timeout}s").replace(tab_id, PAGE_TAB_ID)
    assert_quoted(shown)


class MistakeBlockingState(rx.State):
    done: bool = False

    def block(self):
        time.sleep(0.6)
        self.done = True


async def test_blocking_the_event_loop(caplog: pytest.LogCaptureFixture) -> None:
    app = rx.App(loop_lag_warn=0.2)
    await app.startup()  # starts the watchdog (a real server's lifespan does this)
    try:
        with caplog.at_level(logging.WARNING, logger="engine"):
            async with TabClient(app, states=[MistakeBlockingState]) as tab:
                await tab.send(MistakeBlockingState.block)
                deadline = time.monotonic() + 3
                while not any("event loop blocked" in r.getMessage() for r in caplog.records):
                    assert time.monotonic() < deadline, "the watchdog said nothing"
                    await asyncio.sleep(0.05)
    finally:
        await app.shutdown(timeout=1)
    (logged,) = [r.getMessage() for r in caplog.records if "event loop blocked" in r.getMessage()]
    (quoted,) = [m for m in quoted_messages() if m.startswith("event loop blocked")]
    pattern = re.escape(quoted).replace(re.escape("2.0s"), r"\d+\.\ds").replace(re.escape("…"), ".+")
    assert re.fullmatch(pattern, logged), (logged, quoted)


async def test_reaching_a_tabs_state_without_a_token() -> None:
    with pytest.raises(RuntimeError) as no_app:
        rx.get_app()
    assert_quoted(str(no_app.value))
    with pytest.raises(TypeError) as built:
        LowLevelState()
    assert_quoted(str(built.value))
    app = rx.App()
    try:
        with pytest.raises(TypeError) as no_token:
            async with app.modify_state(None):  # type: ignore[arg-type]
                pass
    finally:
        await app.shutdown(timeout=1)
    assert_quoted(str(no_token.value))


def test_every_quoted_message_is_checked_here() -> None:
    """A message added to the page without a test here would drift: each quote is one of these."""
    # Checked here, or in test_mistakes.py (the entries no lab box shows).
    source = Path(__file__).read_text(encoding="utf-8") + (Path(__file__).parent / "test_mistakes.py").read_text()
    checked = {"cannot set", "through a reference", "is already open", "cannot be called directly",
               "must be `async def`", "already runs", "waited", "event loop blocked", "get_app()",
               "modify_state needs", "instances belong", "cannot get OtherState", "started by a chain",
               "set_max_counter: expected", "set_progress total", "is not a policy", "apply to background",
               "has held the lock", "state to 1,048,600 bytes"}
    excerpts = {"cannot change"}  # a part of a message, in prose
    for message in quoted_messages():
        assert any(key in message for key in checked | excerpts), f"no test checks the quoted {message!r}"
    assert all(key in source for key in checked)
