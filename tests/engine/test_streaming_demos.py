"""The Big states page's demos (demos/streaming.py), through TabClient on both managers.

A reply streamed token by token sends one small update per token however long the transcript is; Stop
cancels it and the reply says so; the transcript keeps its latest messages; the orders table sends one
field per change, never its 1,000 rows. Each time, the tab's copy, built only from the updates it was
sent, is the server's state.
"""

from __future__ import annotations

import json
import re
from typing import Any

import demos.streaming as demo
from demos.streaming import ChatState, OrdersState
from engine.vars import to_text
from tests.engine.server_side import server_values, tasks_finished
from tests.support.tabs import RecordingTab


def _size(update: dict[str, Any]) -> int:
    return len(json.dumps(update, separators=(",", ":")))


def _changing(updates: list[dict[str, Any]], state: type, var: str) -> list[dict[str, Any]]:
    """The updates that carry operations on `state`'s `var`."""
    return [u for u in updates if var in (u.get("ops") or {}).get(state.get_full_name(), {})]


def _tokens(question: str) -> list[str]:
    return re.findall(r"\s*\S+", demo.ANSWERS[question])



async def _same_as_server(app: Any, tab: RecordingTab, state: type, *names: str) -> None:
    await tasks_finished(app, tab.token)
    await tab.settle()
    server = await server_values(app, tab.token, state)
    for name in names:
        shown = tab.state(state)[name]
        held = server[name]
        assert (sorted(shown) if isinstance(held, set) else shown) == (sorted(held) if isinstance(held, set) else held)


async def test_a_reply_streams_one_small_update_per_token_and_the_tab_holds_the_transcript(app, monkeypatch):
    monkeypatch.setattr(demo, "TOKEN_SECONDS", 0.001)
    reply = ChatState.stream_reply
    async with RecordingTab(app, states=[ChatState]) as tab:
        for asked in range(4):  # the transcript grows, the updates do not
            since = len(tab.updates)
            await tab.send(reply)
            await tab.settle(timeout=20)
            question = demo.QUESTIONS[asked % len(demo.QUESTIONS)]
            messages = tab.state(ChatState)["messages"]
            assert messages[-2:] == [{"who": "You", "text": question},
                                     {"who": "Reply", "text": demo.ANSWERS[question]}]
            assert tab.task(reply)["status"] == "done" and tab.task(reply)["progress"] == 1.0
            streamed = _changing(tab.updates[since:], ChatState, "messages")
            tokens = _tokens(question)
            assert len(streamed) >= len(tokens)  # one per token (and the block that added the two messages)
            per_token = streamed[-len(tokens):]
            assert max(_size(u) for u in per_token) <= 300, [_size(u) for u in per_token]
            # Past the first characters (sent whole while short), a token is sent as the text appended.
            kinds = [op[0] for u in per_token for op in u["ops"][ChatState.get_full_name()]["messages"]]
            assert kinds[-1] == "text" and "set" in kinds[:3]
        await _same_as_server(app, tab, ChatState, "messages", "asked")


async def test_stop_cancels_the_reply_half_way_and_the_reply_says_it_was_stopped(app, monkeypatch):
    monkeypatch.setattr(demo, "TOKEN_SECONDS", 0.03)
    reply = ChatState.stream_reply
    async with RecordingTab(app, states=[ChatState]) as tab:
        await tab.send(reply)
        await tab.wait_for(lambda t: len(t.state(ChatState)["messages"]) == 3
                           and len(t.state(ChatState)["messages"][-1]["text"]) > 20, timeout=10)
        await tab.send(reply.cancel)
        await tab.settle(timeout=10)
        text = tab.state(ChatState)["messages"][-1]["text"]
        assert text.endswith(" [stopped]")
        assert demo.ANSWERS[demo.QUESTIONS[0]].startswith(text.removesuffix(" [stopped]"))
        assert tab.task(reply)["status"] == "cancelled" and 0 < tab.task(reply)["progress"] < 1
        await _same_as_server(app, tab, ChatState, "messages")


async def test_the_transcript_keeps_its_latest_messages_and_clear_starts_over(app, monkeypatch):
    monkeypatch.setattr(demo, "TOKEN_SECONDS", 0)
    async with RecordingTab(app, states=[ChatState]) as tab:
        for _ in range(demo.KEEP_MESSAGES // 2 + 2):
            await tab.send(ChatState.stream_reply)
            await tab.settle(timeout=20)
        messages = tab.state(ChatState)["messages"]
        assert len(messages) == demo.KEEP_MESSAGES and messages[0]["who"] == "You"  # the oldest pairs went
        deletes = [op for u in tab.updates for op in (u.get("ops") or {}).get(ChatState.get_full_name(), {})
                   .get("messages", []) if op[0] == "del"]
        assert deletes, "the oldest messages were dropped as operations, not by sending the transcript again"
        await _same_as_server(app, tab, ChatState, "messages")
        await tab.send(ChatState.clear)
        await tab.settle()
        assert tab.state(ChatState)["messages"] == [{"who": "Reply", "text": "Cleared. Ask again."}]


async def test_the_orders_table_sends_one_field_per_change_not_its_rows(app, monkeypatch):
    monkeypatch.setattr(demo, "CHANGE_SECONDS", 0)
    async with RecordingTab(app, states=[OrdersState]) as tab:
        assert len(tab.state(OrdersState)["orders"]) == demo.ROWS
        since = len(tab.updates)
        await tab.send(OrdersState.run_orders(12))
        await tab.settle(timeout=20)
        changes = _changing(tab.updates[since:], OrdersState, "orders")
        # One update per change, or (a tab that fell behind) one merged update for several: `from` is the
        # first seq it stands for. Either way each change costs a field, not the rows.
        covered = [u["seq"] - u.get("from", u["seq"]) + 1 for u in changes]
        assert sum(covered) >= 12, covered
        sized = [(_size(u), n) for u, n in zip(changes, covered, strict=True)]
        assert all(size <= 300 * n for size, n in sized), sized
        assert tab.state(OrdersState)["changes"] == 12
        moved = [o for o in tab.state(OrdersState)["orders"] if o["status"] != "open"]
        assert sorted(o["id"] for o in moved) == sorted(tab.state(OrdersState)["flagged"])
        await _same_as_server(app, tab, OrdersState, "orders", "flagged", "changes")
        await tab.send(OrdersState.reset_orders)
        await tab.settle()
        assert tab.state(OrdersState)["flagged"] == [] and tab.state(OrdersState)["changes"] == 0


def test_the_transcript_reads_as_each_message_written_into_its_template() -> None:
    messages = [{"who": "You", "text": "Why?"}, {"who": "Reply", "text": "Because."}]
    expr = ChatState.messages.join("{who}: {text}", "\n\n")
    values = {ChatState.get_full_name(): {"messages": messages}}
    assert to_text(expr.evaluate(values)) == "You: Why?\n\nReply: Because."
    assert expr.to_json()["op"] == "join" and expr.var_paths() == {f"{ChatState.get_full_name()}.messages"}
