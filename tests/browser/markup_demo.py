"""A demo for the browser tests only: state values that look like markup must stay text."""

import engine as rx

FIRST = '<img src=x onerror="window.__injected = 1"> &amp; <b>bold</b>'
SECOND = "<script>window.__injected = 2</script><img src=y onerror='window.__injected = 3'>"


class MarkupProbeState(rx.State):
    shown: str = FIRST

    def swap(self):
        self.shown = SECOND


def markup_example():
    return rx.vstack(
        rx.text(MarkupProbeState.shown),
        rx.button("Swap", on_click=MarkupProbeState.swap),
    )
