"""A small SVG writer for horizontal bar charts: no plotting library, readable on a phone and in dark mode.

Each bar has its own line of text above it (series name and value), so the
chart reads without telling colours apart and without a legend. The chart
is narrow (its text stays about 13 px on a 390 px phone screen) and draws
its own background, light or dark after the reader's colour-scheme setting,
so it stays legible on either page colour. `<title>` and `<desc>` carry the
figures for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

__all__ = ["Group", "bar_chart"]

WIDTH = 360  # user units; shown at 1.25x on a wide screen, scaled to fit a narrow one
PAD = 12
FONT = 13
LABEL_LINE = 17  # a series' text line above its bar
BAR = 9
BAR_GAP = 7
GROUP_LINE = 24

_STYLE = """
.bg{fill:#ffffff}.fg{fill:#1f2328}.muted{fill:#59636e}.rule{stroke:#d1d9e0}.mark{stroke:#1f2328}
.s0{fill:#0b6bcb}.s1{fill:#1a7f37}.s2{fill:#c2410c}.s3{fill:#8250df}.s4{fill:#6e7781}
@media (prefers-color-scheme:dark){
.bg{fill:#151b23}.fg{fill:#f0f6fc}.muted{fill:#9198a1}.rule{stroke:#3d444d}.mark{stroke:#f0f6fc}
.s0{fill:#4493f8}.s1{fill:#3fb950}.s2{fill:#f0883e}.s3{fill:#ab7df8}.s4{fill:#9198a1}}
text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:13px}
.title{font-size:15px;font-weight:600}.group{font-weight:600}.small{font-size:11.5px}
"""


@dataclass(frozen=True)
class Group:
    """One group of bars (one per series; None leaves a series out), with an optional reference mark."""

    label: str
    values: Sequence[float | None]
    marker: tuple[float, str] | None = None  # (value, what it is), drawn as a dashed line across the group


def _text(x: float, y: float, content: str, css: str = "fg", anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{css}" text-anchor="{anchor}">{escape(content)}</text>'


def _wrap(text: str, width: float, size: float = FONT, em: float = 0.56) -> list[str]:
    """Break `text` into lines that fit `width` user units (an estimate: `em` of the size per character)."""
    per_line = max(10, int(width / (size * em)))
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def bar_chart(
    title: str, desc: str, series: Sequence[str], groups: Sequence[Group], fmt: Callable[[float], str],
    *, note: str = "",
) -> str:
    """The SVG document of a horizontal bar chart: `groups` of bars, one per series, `fmt` for the values."""
    values = [v for g in groups for v in g.values if v is not None]
    values += [g.marker[0] for g in groups if g.marker]
    top = max(values, default=1.0) or 1.0
    span = WIDTH - 2 * PAD
    body: list[str] = []
    y = PAD
    for line in _wrap(title, span, 15, em=0.62):  # bold
        y += 19
        body.append(_text(PAD, y, line, "fg title"))
    y += 6
    for group in groups:
        y += GROUP_LINE - LABEL_LINE
        for line in _wrap(group.label, span, FONT, em=0.6):  # bold
            y += LABEL_LINE
            body.append(_text(PAD, y, line, "fg group"))
        y += 3
        mark_x = PAD + span * group.marker[0] / top if group.marker else None
        for index, value in enumerate(group.values):
            if value is None:
                continue
            y += LABEL_LINE
            body.append(_text(PAD, y, f"{series[index]}: {fmt(value)}", "fg"))
            y += 4
            length = max(1.5, span * value / top)
            body.append(
                f'<rect x="{PAD}" y="{y:.1f}" width="{length:.1f}" height="{BAR}" rx="2" class="s{index % 5}"/>'
            )
            if mark_x is not None:  # the reference, across this bar's row only (never over text)
                body.append(
                    f'<line x1="{mark_x:.1f}" y1="{y - 3:.1f}" x2="{mark_x:.1f}" y2="{y + BAR + 3:.1f}" '
                    'class="mark" stroke-width="1.5" stroke-dasharray="2 2"/>'
                )
            y += BAR + BAR_GAP - 4
        if group.marker and mark_x is not None:
            x = mark_x
            y += 14
            anchor = "end" if x > WIDTH / 2 else "start"
            body.append(_text(x, y, f"{group.marker[1]}: {fmt(group.marker[0])}", "muted small", anchor))
    if note:
        y += 8
        for line in _wrap(note, span, 11.5):
            y += 15
            body.append(_text(PAD, y, line, "muted small"))
    height = y + PAD
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH * 1.25:.0f}" height="{height * 1.25:.0f}" role="img" aria-labelledby="title desc">',
        f'<title id="title">{escape(title)}</title>',
        f'<desc id="desc">{escape(desc)}</desc>',
        f"<style>{_STYLE}</style>",
        f'<rect width="{WIDTH}" height="{height:.0f}" rx="6" class="bg"/>',
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1:.0f}" rx="6" fill="none" class="rule"/>',
        *body,
        "</svg>",
        "",
    ])
