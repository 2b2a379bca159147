"""The demos' pace: their pauses as written, times DEMO_PACE (1 unless set).

The docs show each demo's pauses in seconds, as a reader would write them
(`TICK = 0.5`), and the site runs them so. The test suite sets DEMO_PACE
below 1 so that it need not sleep through them: each demo module passes its
pauses through `scaled` once, below the code the docs show.
"""

from __future__ import annotations

import math
import os

ENV = "DEMO_PACE"


def factor() -> float:
    """DEMO_PACE as a number: 1 runs the demos as written, 0.25 four times faster."""
    text = os.environ.get(ENV, "1")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{ENV}={text!r}: give a positive number (1 runs the demos as written, 0.25 faster)")
    return value


def scaled(seconds: float) -> float:
    """A pause of `seconds`, as written, at the demos' pace."""
    return seconds * factor()
