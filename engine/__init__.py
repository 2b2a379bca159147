"""An embedded engine for server-side states, event handlers and background tasks.

Import it as `rx`:

    import engine as rx

    class Counter(rx.State):
        count: int = 0

        @rx.event(background=True)
        async def tick(self):
            async with self:
                self.count += 1
"""

from .app import App, get_app
from .components import button, cond, heading, hstack, input, number_input, progress, text, vstack
from .errors import (
    BackgroundCallError,
    EngineError,
    EventError,
    ImmutableStateError,
    InvalidArgumentError,
    InvalidValueError,
    LimitExceededError,
    LockExpiredError,
    NestedBlockError,
    SettingsError,
    StateDefinitionError,
    StateLockError,
    StateStoreError,
    StoredStateError,
    TaskSupersededError,
    TransitionError,
    UnknownEventError,
    UnknownStateError,
)
from .event import background, event
from .handler import EventHandler, EventSpec
from .inspector import show_backend_vars
from .lifecycle import TaskState
from .managers import MemoryStateManager, StateManager
from .runner import TaskHandle
from .settings import Settings
from .state import State
from .vars import Var

__all__ = [
    "App",
    "BackgroundCallError",
    "EngineError",
    "EventError",
    "EventHandler",
    "EventSpec",
    "ImmutableStateError",
    "InvalidArgumentError",
    "InvalidValueError",
    "LimitExceededError",
    "LockExpiredError",
    "MemoryStateManager",
    "NestedBlockError",
    "Settings",
    "SettingsError",
    "State",
    "StateDefinitionError",
    "StateLockError",
    "StateManager",
    "StateStoreError",
    "StoredStateError",
    "TaskHandle",
    "TaskState",
    "TaskSupersededError",
    "TransitionError",
    "UnknownEventError",
    "UnknownStateError",
    "Var",
    "background",
    "button",
    "cond",
    "event",
    "get_app",
    "heading",
    "hstack",
    "input",
    "number_input",
    "progress",
    "show_backend_vars",
    "text",
    "vstack",
]
