"""The Common mistakes page quotes the engine word for word: the entries the lab's tests do not make.

tests/site/test_lab.py makes the mistakes the lab's boxes show; this file
makes the others against a real App and compares each message with the
page. Only a demo class name, and a setting's value where the test uses a
smaller one than the default the page shows, are replaced. Every entry is
made by one of the two files (test_lab.py's last test checks that none is left out).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import engine as rx
from engine.testing import TabClient
from tests.site.test_lab import assert_quoted
from tests.support.env import ROOT
from tests.support.mistakes_page import entry_messages


class MistakeOtherState(rx.State):
    x: int = 0


class MistakeGetState(rx.State):
    @rx.event(background=True)
    async def get_other(self):
        await self.get_state(MistakeOtherState)


class MistakeChainSelfState(rx.State):
    n: int = 0

    @rx.event(background=True)
    async def my_task(self):
        async with self:
            self.n += 1
        return MistakeChainSelfState.my_task


class MistakeProgressState(rx.State):
    @rx.event(background=True)
    async def my_task(self):
        await self.set_progress(5, 0)


class MistakeGrowingState(rx.State):
    log: str = ""

    @rx.event(background=True)
    async def my_task(self):
        for _ in range(100):
            async with self:
                self.log += "a line of the log\n"


class MistakeSetterState(rx.State):
    max_counter: int = 10


async def _errors(handler: rx.EventHandler, *args: object, **settings: object) -> tuple[list[str], dict]:
    app = rx.App(**settings)
    try:
        async with TabClient(app) as tab:
            ack = await tab.send(handler, *args)
            await tab.settle()
            return tab.errors, ack
    finally:
        await app.shutdown(timeout=1)


async def test_getting_another_state_outside_the_block() -> None:
    errors, _ = await _errors(MistakeGetState.get_other)
    (message,) = errors
    assert_quoted(message.replace("MistakeOtherState", "OtherState").replace("MistakeGetState", "MyState"))


async def test_a_chain_of_tasks_that_starts_itself_again() -> None:
    errors, _ = await _errors(MistakeChainSelfState.my_task, max_chain_length=5)
    (message,) = errors
    assert_quoted(message.replace("MistakeChainSelfState", "MyTaskState").replace("=5", "=100").replace(" 5 ", " 100 "))
    assert rx.Settings().max_chain_length == 100  # the value the page shows


async def test_a_value_the_vars_type_refuses() -> None:
    _, ack = await _errors(MistakeSetterState.set_max_counter, "abc")
    assert ack["ok"] is False
    assert_quoted(ack["error"].replace("MistakeSetterState", "MyTaskState"))


async def test_a_state_that_grew_past_what_a_tab_may_hold() -> None:
    errors, _ = await _errors(MistakeGrowingState.my_task, max_state_bytes=1000)
    (message,) = errors
    token = re.search(r"tab ([\w-]{8})'s", message)
    assert token is not None, message
    message = re.sub(r"to [\d,]+ bytes", "to 1,048,600 bytes", message.replace(token.group(1), "1a2b3c4d"))
    assert_quoted(message.replace("MistakeGrowingState", "MyState").replace("=1,000)", "=1,048,576)"))
    assert rx.Settings().max_state_bytes == 1_048_576  # the value the page shows


async def test_a_progress_total_of_zero() -> None:
    errors, _ = await _errors(MistakeProgressState.my_task)
    (message,) = errors
    assert_quoted(message.replace("MistakeProgressState", "MyState"))


def test_a_policy_that_does_not_exist() -> None:
    with pytest.raises(rx.StateDefinitionError) as raised:

        class MyState(rx.State):
            @rx.event(background=True, concurrency="skipp")
            async def my_task(self):
                pass

    assert_quoted(str(raised.value))


def test_task_options_on_a_regular_handler() -> None:
    with pytest.raises(rx.StateDefinitionError) as raised:

        class MyState(rx.State):
            @rx.event(concurrency="skip")
            def my_task(self):
                pass

    assert_quoted(str(raised.value))


def test_the_held_lock_log_line_is_the_redis_managers() -> None:
    (quoted,) = [m for m in entry_messages() if m.startswith("has held the lock")]
    source = (ROOT / "engine" / "redis" / "manager.py").read_text(encoding="utf-8")
    (logged,) = re.findall(r'"%s (has held the lock of tab %s [^"]*)"', source)
    pattern = re.escape(quoted).replace(re.escape("…"), ".+")
    assert re.match(pattern, logged), (quoted, logged)


def test_the_page_has_a_heading_for_each_message(built_site: Path) -> None:
    html = (built_site / "mistakes" / "index.html").read_text(encoding="utf-8")
    assert len(entry_messages()) >= 17
    for message, anchor in entry_messages().items():
        assert f'id="{anchor}"' in html, f"no heading {anchor} for {message!r}"
