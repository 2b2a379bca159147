"""Lab: a task that notices its tab is gone (`token_to_sid`) and stops on the server.

The reader opens a small window from the lab page's box and starts this task
there. The window is a tab of its own, with a token of its own; the two tabs
are paired by a random code that only the server links to the lab tab's
token, so neither tab ever learns the other's token (and no token is put in
a URL).
"""

import re
from collections import OrderedDict

from demos import pace

# --8<-- [start:task]
import asyncio

import engine as rx

STEP_SECONDS = 0.5  # how long one step of counting takes


class LabReaderState(rx.State):
    steps: int = 0

    @rx.event(background=True)
    async def count_until_gone(self, code: str = ""):
        app = rx.get_app()
        token = self.get_token()
        steps = 0
        # Reading the token and the mapping changes nothing: no block needed
        while token in app.event_namespace.token_to_sid:
            steps += 1
            async with self:
                self.steps = steps
            await tell_the_lab(code, f"Counting in the reader window: step {steps}.")
            await asyncio.sleep(STEP_SECONDS)
        await tell_the_lab(code, f"Stopped on the server after {steps} steps: its tab is gone.")
# --8<-- [end:task]


# --8<-- [start:pairing]
class LabWatchState(rx.State):
    report: str = "No reader window yet."
    _code: str = ""  # this tab's pairing code: stays on the server

    def pair(self, code: str):
        if not CODE.fullmatch(code):
            raise ValueError("a pairing code is 32 hexadecimal digits")
        _pairs.pop(self._code, None)  # a new window replaces the old pairing
        _pairs[code] = self.get_token()
        while len(_pairs) > MAX_PAIRS:
            _pairs.popitem(last=False)
        self._code = code
        self.report = "Waiting for the reader window to start its task."


async def tell_the_lab(code: str, text: str):
    """Write `text` into the paired lab tab's box, through the low-level API."""
    token = _pairs.get(code)
    if token is None:
        return  # not opened from the lab page, or paired again since
    async with rx.get_app().modify_state(token) as root:
        lab = root.get_substate(LabWatchState.get_full_name().split("."))
        lab.report = text
# --8<-- [end:pairing]


# Pairing codes of this process, newest last: code -> the lab tab's token.
_pairs: OrderedDict[str, str] = OrderedDict()
MAX_PAIRS = 1000
CODE = re.compile(r"[0-9a-f]{32}")


# --8<-- [start:ui]
def watch_example():
    return rx.vstack(
        rx.text(LabWatchState.report, aria_live="polite"),
        # lab.js adds a fresh pairing code to the click and opens the window
        rx.button("Open a reader window", on_click=LabWatchState.pair, class_name="lab-open-reader"),
    )


def reader_example():
    return rx.vstack(
        rx.text("Steps counted here: ", LabReaderState.steps),
        # lab.js adds the pairing code from this window's address
        rx.button("Start the task", on_click=LabReaderState.count_until_gone, class_name="lab-paired"),
    )
# --8<-- [end:ui]


# The tests run these pauses faster (DEMO_PACE, demos/pace.py); the site runs them as written.
STEP_SECONDS = pace.scaled(STEP_SECONDS)
