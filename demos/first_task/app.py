"""A page with a live countdown: a background task on the server, shown in the browser."""

# --8<-- [start:state]
import asyncio
import html
import json
from pathlib import Path

from quart import Quart, Response

import engine as rx

TICK = 0.5  # seconds between two steps of the countdown


class CountdownState(rx.State):
    left: int = 5

    # "skip": a click while a countdown runs is ignored, so one runs at a time
    @rx.event(background=True, concurrency="skip")
    async def count_down(self):
        async with self:
            self.left = 5
        while True:
            await asyncio.sleep(TICK)  # wait outside the block: the tab stays free
            async with self:
                self.left -= 1
                if self.left == 0:
                    return
# --8<-- [end:state]


# --8<-- [start:ui]
def countdown():
    return rx.vstack(
        rx.heading(CountdownState.left),
        rx.button("Start the countdown", on_click=CountdownState.count_down),
        rx.text("Task: ", CountdownState.count_down.status),
    )
# --8<-- [end:ui]


# --8<-- [start:page]
def render_box(component):
    """The component as HTML with its states' first values, in a box the browser runtime connects."""
    names = sorted(component.state_names())
    defaults = {name: rx.State.find_class(name).public_defaults() for name in names}
    return (
        f"<div data-rx-demo data-rx-states='{html.escape(json.dumps(names))}'>"
        + component.render(defaults)
        + '<p>Connection: <span data-rx-status>offline</span></p>'
        + '<p data-rx-error hidden><span data-rx-error-message role="alert"></span>'
        + ' <button type="button" data-rx-dismiss>Dismiss</button></p>'
        + "</div>"
    )


PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Countdown</title></head>
<body>
<main>{box}</main>
<script src="/js/socket.io.min.js"></script>
<script src="/js/core.js"></script>
<script src="/js/engine.js"></script>
</body>
</html>
"""

ENGINE_JS = Path(rx.__file__).parent / "static"  # core.js and engine.js ship with the engine
SCRIPTS = {
    "socket.io.min.js": Path("node_modules/socket.io-client/dist/socket.io.min.js"),
    "core.js": ENGINE_JS / "core.js",
    "engine.js": ENGINE_JS / "engine.js",
}
# --8<-- [end:page]


# --8<-- [start:serve]
web = Quart(__name__, static_folder=None)


@web.get("/")
async def index():
    return Response(PAGE.format(box=render_box(countdown())), mimetype="text/html")


@web.get("/js/<name>")
async def script(name):
    if name not in SCRIPTS:
        return Response("no such script", status=404)
    return Response(SCRIPTS[name].read_bytes(), mimetype="text/javascript")


app = rx.App()
asgi = app.asgi(web)  # Socket.IO at /socket.io, the Quart app for the rest
# --8<-- [end:serve]
