"""The Controlling tasks demos: progress and cancel, search, skip, a failure."""

from demos import pace

# --8<-- [start:report]
import asyncio

import engine as rx

PAGES = 10
SECONDS_PER_PAGE = 0.4


class ReportBuilderState(rx.State):
    pages_done: int = 0

    # "skip": a second click while a report is being built changes nothing
    @rx.event(background=True, concurrency="skip")
    async def build_report(self):
        async with self:
            self.pages_done = 0
        await self.set_progress(0, PAGES)  # an empty bar, not an unknown one
        for page in range(1, PAGES + 1):
            # Laying out a page is the slow part: it happens outside the lock
            await asyncio.sleep(SECONDS_PER_PAGE)
            async with self:
                self.pages_done = page
            # Outside a block, this takes the lock just long enough to store it
            await self.set_progress(page, PAGES)
# --8<-- [end:report]


# --8<-- [start:report_ui]
def report_example():
    job = ReportBuilderState.build_report
    done = ReportBuilderState.pages_done
    return rx.vstack(
        # Before the first run: an empty bar, not an indeterminate (busy) one
        rx.cond(
            job.status == "idle",
            rx.progress(value=0, aria_label="Report progress"),
            rx.progress(value=job.progress, aria_label="Report progress"),
        ),
        rx.text("Report: ", job.status, " (", done, f" of {PAGES} pages)"),
        rx.hstack(
            # Starts the task, so it shows as busy while the task runs
            rx.button("Build report", on_click=job),
            rx.button("Cancel", on_click=job.cancel, disabled=~job.running),
        ),
    )
# --8<-- [end:report_ui]


# --8<-- [start:search]
WORDS = (
    "cabin", "cable", "cactus", "camel", "canal", "candle", "canyon",
    "carbon", "cargo", "carrot", "castle", "cedar", "cellar", "chalk",
    "cherry", "chimney", "cider", "circle", "citrus", "clover", "cobalt",
    "comet", "copper", "coral", "cotton", "crane", "crater", "cricket",
    "crystal", "cypress",
)
LOOKUP_SECONDS = 1.2
KEEP_RUNS = 5


class WordSearchState(rx.State):
    results: str = "Nothing searched yet."
    runs: str = ""  # the latest runs, newest first, one per line

    # "replace": new text cancels the search still running for the old text
    @rx.event(background=True, concurrency="replace")
    async def search(self, text: str):
        query = text.strip().lower()
        outcome = "cancelled"  # unless the lookup gets to the end
        try:
            # A stand-in for a slow search service
            await asyncio.sleep(LOOKUP_SECONDS)
            found = [w for w in WORDS if query and w.startswith(query)]
            listed = ", ".join(found) or "none"
            async with self:
                if query:
                    self.results = f"Words starting with “{query}”: {listed}"
                else:  # the field was cleared: nothing to look for
                    self.results = "Type a word to search."
            outcome = f"done, {len(found)} found"
        finally:
            # Runs for a cancelled search too: the older run says how it ended
            async with self:
                lines = [f"“{query}”: {outcome}", *self.runs.splitlines()]
                self.runs = "\n".join(lines[:KEEP_RUNS])
# --8<-- [end:search]


# --8<-- [start:search_ui]
def search_example():
    return rx.vstack(
        rx.input(
            on_change=WordSearchState.search,
            type="search",
            aria_label="Search words",
            placeholder="Type a word, such as cactus",
        ),
        # While a search runs, say so; screen readers read out each change
        rx.text(
            rx.cond(
                WordSearchState.search.running,
                "Searching…",
                WordSearchState.results,
            ),
            aria_live="polite",
        ),
        rx.text("Recent searches:", class_name="rx-caption"),
        rx.text(WordSearchState.runs, class_name="rx-log"),
    )
# --8<-- [end:search_ui]


# --8<-- [start:skip_counter]
TICK = 0.5  # seconds between two counts


class SkipCounterState(rx.State):
    counter: int = 0
    max_counter: int = 10
    running: bool = False

    # "skip": a trigger that arrives while a copy counts is ignored,
    # which is all the hand-written _n_tasks guard did
    @rx.event(background=True, concurrency="skip")
    async def count(self):
        while True:
            async with self:
                if self.counter >= self.max_counter:
                    self.running = False
                if not self.running:
                    return
                self.counter += 1
            await asyncio.sleep(TICK)

    def toggle_running(self):
        self.running = not self.running
        if self.running:
            if self.counter >= self.max_counter:
                self.counter = 0
            return SkipCounterState.count

    def clear_counter(self):
        self.counter = 0
# --8<-- [end:skip_counter]


# --8<-- [start:skip_counter_ui]
def skip_counter_example():
    return rx.vstack(
        rx.hstack(
            rx.text(SkipCounterState.counter, " /", class_name="rx-counter"),
            rx.number_input(
                value=SkipCounterState.max_counter,
                on_change=SkipCounterState.set_max_counter,
                min=1,
                max=100,
                aria_label="Limit",
                width="8em",
            ),
            rx.button(
                rx.cond(~SkipCounterState.running, "Start", "Stop"),
                on_click=SkipCounterState.toggle_running,
            ),
            rx.button("Reset", on_click=SkipCounterState.clear_counter),
        ),
        rx.text("Counting task: ", SkipCounterState.count.status),
    )
# --8<-- [end:skip_counter_ui]


# --8<-- [start:rates]
TRIES = 3
SERVICE_SECONDS = 0.4  # how long the service takes to refuse
RETRY_SECONDS = 0.3  # the pause before the next try


async def ask_rates_service():
    """A stand-in for a call to a rates service that is down today."""
    await asyncio.sleep(SERVICE_SECONDS)
    raise ConnectionRefusedError("the rates service refused the connection")


class RatesState(rx.State):
    tries: int = 0
    rates: str = ""

    @rx.event(background=True)
    async def fetch_rates(self):
        for attempt in range(1, TRIES + 1):
            async with self:
                self.tries = attempt
            try:
                answer = await ask_rates_service()
            except ConnectionRefusedError:
                if attempt == TRIES:
                    # Out of tries: let it fail; the task's error var says why
                    raise
                await asyncio.sleep(RETRY_SECONDS)  # a short pause before the next try
            else:
                async with self:
                    self.rates = answer
                return
# --8<-- [end:rates]


# --8<-- [start:rates_ui]
def rates_example():
    fetch = RatesState.fetch_rates
    return rx.vstack(
        rx.hstack(
            rx.button("Fetch rates", on_click=fetch),
            rx.text(
                "Status: ", fetch.status,
                ", tries: ", RatesState.tries, f" of {TRIES}",
            ),
        ),
        # Empty unless the last run failed: then the message of what it raised
        # (read out when it appears; the box does not repeat it as an alert)
        rx.text(fetch.error, class_name="rx-failure", aria_live="polite"),
    )
# --8<-- [end:rates_ui]


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
SECONDS_PER_PAGE = pace.scaled(SECONDS_PER_PAGE)
LOOKUP_SECONDS = pace.scaled(LOOKUP_SECONDS)
TICK = pace.scaled(TICK)
SERVICE_SECONDS = pace.scaled(SERVICE_SECONDS)
RETRY_SECONDS = pace.scaled(RETRY_SECONDS)
