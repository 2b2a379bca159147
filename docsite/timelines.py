"""The `timeline` fence: a small picture of what a lab box's timeline should look like, drawn at build time.

Beside each lab box's "Watch:" line the page shows the expected picture,
drawn with the very marks (and lab.css classes, so both colour schemes) of
the live panel. The fence body is one lane a line, time from 0 to 100:

    events: hold 40-46, update 46
    my_task#1: hold 2-6, run 6-30, hold 30-34, update 34, end 34

Marks: `hold a-b` (holds the lock), `wait a-b` (waits for it), `run a-b`
(runs outside a block), `update x` (an update sent), `error x`, `end x`.
An optional first line `title: ...` is the picture's accessible name.
"""

from __future__ import annotations

import html
from typing import Any

from pymdownx.superfences import SuperFencesException

__all__ = ["TimelineError", "render_timeline", "timeline_fence"]

LANE = 20  # px per lane
LABEL = 110  # px for the lane names
WIDTH = 300  # px for time 0..100


class TimelineError(SuperFencesException):  # type: ignore[misc]
    """A timeline fence that cannot be drawn; the build stops."""


def _x(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 100:
        raise TimelineError(f"timeline: {value} is outside 0..100")
    return LABEL + number * WIDTH / 100


def _mark(kind: str, where: str, y: float) -> str:
    mid = y + LANE / 2
    if kind in ("hold", "wait", "run"):
        start, _, stop = where.partition("-")
        a, b = _x(start), _x(stop)
        if kind == "run":
            return f'<line class="lab-run" x1="{a:g}" y1="{mid:g}" x2="{b:g}" y2="{mid:g}"/>'
        inset = 4 if kind == "hold" else 5
        return (f'<rect class="lab-{kind}" x="{a:g}" y="{y + inset:g}" width="{max(b - a, 1.5):g}" '
                f'height="{LANE - 2 * inset:g}"/>')
    x = _x(where)
    if kind == "update":
        return f'<circle class="lab-update" cx="{x:g}" cy="{mid:g}" r="3.5"/>'
    if kind == "error":
        cross = f"M{x - 4:g} {mid - 4:g} L{x + 4:g} {mid + 4:g} M{x + 4:g} {mid - 4:g} L{x - 4:g} {mid + 4:g}"
        return f'<path class="lab-error" d="{cross}"/>'
    if kind == "end":
        return f'<line class="lab-end" x1="{x:g}" y1="{y + 2:g}" x2="{x:g}" y2="{y + LANE - 2:g}"/>'
    raise TimelineError(f"timeline: unknown mark {kind!r} (hold, wait, run, update, error, end)")


def render_timeline(spec: str) -> str:
    """The inline SVG of a timeline fence's body."""
    lines = [line.strip() for line in spec.strip().splitlines() if line.strip()]
    title = "Expected timeline"
    if lines and lines[0].startswith("title:"):
        title = lines.pop(0).partition(":")[2].strip()
    if not lines:
        raise TimelineError("timeline: no lanes")
    parts = []
    for i, line in enumerate(lines):
        name, sep, marks = line.partition(":")
        if not sep:
            raise TimelineError(f"timeline: {line!r} is not `lane: marks`")
        y = i * LANE
        parts.append(f'<text class="lab-lane-label" x="0" y="{y + LANE / 2 + 4:g}">{html.escape(name.strip())}</text>')
        for mark in filter(None, (m.strip() for m in marks.split(","))):
            kind, _, where = mark.partition(" ")
            parts.append(_mark(kind, where.strip(), y))
    height = len(lines) * LANE
    return (
        f'<figure class="lab-expected"><svg class="lab-svg" role="img" aria-label="{html.escape(title, quote=True)}" '
        f'viewBox="0 0 {LABEL + WIDTH + 6} {height}" width="{LABEL + WIDTH + 6}" height="{height}">'
        + "".join(parts)
        + f"</svg><figcaption>{html.escape(title)}</figcaption></figure>"
    )


def timeline_fence(src: str, language: str, class_name: str, options: Any, md: Any, **kwargs: Any) -> str:
    """pymdownx.superfences formatter for ```timeline fences."""
    return render_timeline(src)
