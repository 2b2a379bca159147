"""The Big states demos: a reply streamed token by token into a transcript, and a large table whose rows change live."""

from demos import pace

# --8<-- [start:reply]
import asyncio
import re

import engine as rx

TOKEN_SECONDS = 0.06  # how long the model takes to think of one token
KEEP_MESSAGES = 12  # the transcript keeps the latest messages only

ANSWERS = {
    "What is a background task?": (
        "A handler that runs next to the tab's other events instead of blocking them. "
        "It takes the tab's lock only inside async with self, for the moment it writes, "
        "so every button keeps answering while it works."
    ),
    "Why does each token cost so little?": (
        "The engine records what a block changed, here a few characters added to the "
        "last message, and sends the tab just that: the text appended at its path. "
        "It never copies or resends the transcript, however long it grows."
    ),
    "What does Stop do?": (
        "It cancels the task. The cancellation arrives at the await between two tokens, "
        "the reply keeps what it had, and the task's finally says that it was stopped."
    ),
}
QUESTIONS = list(ANSWERS)


async def local_model(question: str):
    """A stand-in for a language model: the canned answer, a token at a time (no network)."""
    for token in re.findall(r"\s*\S+", ANSWERS[question]):
        await asyncio.sleep(TOKEN_SECONDS)  # thinking, with no lock held
        yield token


class ChatState(rx.State):
    messages: list[dict[str, str]] = [
        {"who": "Reply", "text": "Ask a question and watch the answer arrive."},
    ]
    asked: int = 0

    # "skip": one reply at a time; a click while one streams changes nothing
    @rx.event(background=True, concurrency="skip")
    async def stream_reply(self):
        async with self:
            question = QUESTIONS[self.asked % len(QUESTIONS)]
            self.asked += 1
            self.messages.append({"who": "You", "text": question})
            self.messages.append({"who": "Reply", "text": ""})
            while len(self.messages) > KEEP_MESSAGES:
                self.messages.pop(0)  # the oldest goes: the tab is sent a delete
        total = len(re.findall(r"\s*\S+", ANSWERS[question]))
        done = 0
        try:
            async for token in local_model(question):
                async with self:
                    # One token: the tab is sent these few characters, not the transcript
                    self.messages[-1]["text"] += token
                    done += 1
                    await self.set_progress(done, total)  # in the same update
        finally:
            if done < total:  # cancelled (Stop), or the model failed
                async with self:
                    self.messages[-1]["text"] += " [stopped]"

    def clear(self):
        self.messages = [{"who": "Reply", "text": "Cleared. Ask again."}]
# --8<-- [end:reply]


# --8<-- [start:reply_ui]
def reply_example():
    reply = ChatState.stream_reply
    return rx.vstack(
        # The transcript, written from the page's copy of `messages`
        rx.text(
            ChatState.messages.join("{who}: {text}", "\n\n"),
            class_name="rx-transcript",
            tabindex="0",
            role="region",
            aria_label="Transcript",
        ),
        rx.progress(value=reply.progress, aria_label="Reply progress"),
        rx.hstack(
            rx.button("Ask the next question", on_click=reply),
            rx.button("Stop", on_click=reply.cancel, disabled=~reply.running),
            rx.button("Clear", on_click=ChatState.clear, disabled=reply.running),
        ),
        rx.text("Reply: ", reply.status),
    )
# --8<-- [end:reply_ui]


# --8<-- [start:table]
ROWS = 1_000
CHANGE_SECONDS = 0.25  # one order changes this often
STATUSES = ("open", "packed", "shipped", "paid")


def new_orders():
    return [{"id": f"{n:04d}", "status": "open"} for n in range(ROWS)]


class OrdersState(rx.State):
    orders: list[dict[str, str]] = new_orders()
    flagged: set[str] = set()  # orders whose status changed, by id
    changes: int = 0

    @rx.event(background=True, concurrency="skip")
    async def run_orders(self, changes: int = 40):
        for n in range(changes):
            await asyncio.sleep(CHANGE_SECONDS)
            async with self:
                # One row's field: the tab is sent that field, not 1,000 rows
                order = self.orders[(n * 137 + self.changes) % ROWS]
                order["status"] = STATUSES[(STATUSES.index(order["status"]) + 1) % len(STATUSES)]
                if order["status"] == "open":
                    self.flagged.discard(order["id"])
                else:
                    self.flagged.add(order["id"])
                self.changes += 1

    def reset_orders(self):
        self.orders = new_orders()
        self.flagged = set()
        self.changes = 0
# --8<-- [end:table]


# --8<-- [start:table_ui]
def table_example():
    job = OrdersState.run_orders
    return rx.vstack(
        rx.hstack(
            rx.button("Change 40 orders", on_click=job),
            rx.button("Stop", on_click=job.cancel, disabled=~job.running),
            rx.button("Reset", on_click=OrdersState.reset_orders, disabled=job.running),
        ),
        rx.text("Changes so far: ", OrdersState.changes, f", in a table of {ROWS:,} orders"),
        rx.text("Orders not open: ", OrdersState.flagged.join("{}", ", ")),
        rx.text(
            OrdersState.orders.join("order {id}: {status}", "\n"),
            class_name="rx-transcript",
            tabindex="0",
            role="region",
            aria_label="Orders",
        ),
    )
# --8<-- [end:table_ui]


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
TOKEN_SECONDS = pace.scaled(TOKEN_SECONDS)
CHANGE_SECONDS = pace.scaled(CHANGE_SECONDS)
