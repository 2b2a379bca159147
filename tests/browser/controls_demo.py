"""A demo for the browser tests only: the generic control bindings, driven by ordinary state vars."""

import engine as rx

# Until engine/__init__.py exports it as rx.progress (the lead's file).
from engine.components import progress

FAILURE = "the probe failed on purpose, and says so in a sentence long enough to wrap on a phone"


class ControlsProbeState(rx.State):
    ready: bool = False
    loading: bool = False
    fraction: float | None = None
    clicks: int = 0

    def click(self):
        self.clicks += 1

    def toggle_ready(self):
        self.ready = not self.ready

    def toggle_loading(self):
        self.loading = not self.loading

    def half(self):
        self.fraction = 0.5

    def too_much(self):
        self.fraction = 3  # clamped to 1 by the bar

    def unknown(self):
        self.fraction = None

    def fail(self):
        raise ValueError(FAILURE)


def controls_example():
    return rx.vstack(
        rx.text("clicks: ", ControlsProbeState.clicks),
        rx.hstack(
            rx.button("Guarded", on_click=ControlsProbeState.click, disabled=~ControlsProbeState.ready),
            rx.button("Busy", on_click=ControlsProbeState.click, busy=ControlsProbeState.loading),
            rx.button("Toggle ready", on_click=ControlsProbeState.toggle_ready),
            rx.button("Toggle loading", on_click=ControlsProbeState.toggle_loading),
        ),
        progress(value=ControlsProbeState.fraction, aria_label="Probe progress"),
        rx.hstack(
            rx.button("Half", on_click=ControlsProbeState.half),
            rx.button("Too much", on_click=ControlsProbeState.too_much),
            rx.button("Unknown", on_click=ControlsProbeState.unknown),
            rx.button("Fail", on_click=ControlsProbeState.fail),
        ),
    )
