"""The engine's exceptions, in one small tree.

    EngineError
    ├── StateDefinitionError (TypeError)      a State class is declared wrongly
    ├── ImmutableStateError (AttributeError)  a background task changed state outside `async with self`
    ├── UnknownStateError (LookupError)       no state class has that name or path
    ├── InvalidValueError (TypeError)         a value written to a var does not fit its type, or is not JSON
    ├── StateLockError (RuntimeError)         the tab lock was misused (re-entered, not owned) or timed out
    │   ├── LockExpiredError                  a lease ran out before the commit; changes discarded
    │   ├── TaskSupersededError               this copy of a task was presumed dead and replaced; it stops
    │   └── NestedBlockError (+ImmutableStateError)  a block opened inside another block of the same tab
    ├── EventError (ValueError)               an event from a tab cannot be run as sent
    │   ├── UnknownEventError (LookupError)   no such handler
    │   └── InvalidArgumentError              an argument does not fit the handler or var type
    ├── BackgroundCallError (RuntimeError)    a background task was called like a function
    ├── LimitExceededError (RuntimeError)     a configured limit was hit (the message names the setting)
    ├── StateStoreError (ConnectionError)     the state store cannot be reached or read
    │   └── StoredStateError (ValueError)     stored data is not a valid state (the tab starts afresh)
    ├── TransitionError (RuntimeError)        a task's lifecycle was asked to take an edge it lacks
    └── SettingsError (ValueError)            a setting has a bad value
"""

from __future__ import annotations

__all__ = [
    "BackgroundCallError",
    "EngineError",
    "EventError",
    "ImmutableStateError",
    "InvalidArgumentError",
    "InvalidValueError",
    "LimitExceededError",
    "LockExpiredError",
    "NestedBlockError",
    "SettingsError",
    "StateDefinitionError",
    "StateLockError",
    "StateStoreError",
    "StoredStateError",
    "TaskSupersededError",
    "TransitionError",
    "UnknownStateError",
    "UnknownEventError",
]


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""


class StateDefinitionError(EngineError, TypeError):
    """A State subclass is declared in a way the engine cannot run."""


class ImmutableStateError(EngineError, AttributeError):
    """A background task tried to change its state outside `async with self`."""


class UnknownStateError(EngineError, LookupError):
    """No state class is registered under that name or path."""


class InvalidValueError(EngineError, TypeError):
    """A value written to a var does not fit the var's annotation, or is not plain finite JSON.

    Raised where it is written, so nothing was stored; a block it escapes is rolled back.
    """


class StateLockError(EngineError, RuntimeError):
    """A tab's state lock was used wrongly (re-entered, nested or not owned)."""


class LockExpiredError(StateLockError):
    """The lock's lease ran out before the commit; the changes were discarded."""


class TaskSupersededError(StateLockError):
    """This copy of a background task was presumed dead (its worker went unheard: paused, cut off) and its
    place in the tab's status was given away; it is stopped at its next block, before that block changes anything.
    """


class NestedBlockError(StateLockError, ImmutableStateError):
    """`async with self` (or `modify_state`) for a tab inside another open block for that tab.

    It would wait for a lock its own flow holds. Also an `ImmutableStateError`,
    which is what code written for Reflex catches.
    """


class EventError(EngineError, ValueError):
    """An event sent by a tab cannot be run as sent; nothing was changed."""


class UnknownEventError(EventError, LookupError):
    """The event names no handler that a tab may call."""


class InvalidArgumentError(EventError):
    """An event argument does not fit the handler or the var's annotated type."""


class BackgroundCallError(EngineError, RuntimeError):
    """A background task was called directly instead of being returned or yielded."""


class LimitExceededError(EngineError, RuntimeError):
    """A configured limit was reached; the message names the setting to change."""


class StateStoreError(EngineError, ConnectionError):
    """The state store could not be reached, or returned data that is not a valid state."""


class SettingsError(EngineError, ValueError):
    """A setting has a value the engine cannot use."""


class StoredStateError(StateStoreError, ValueError):
    """Stored data that is not a valid state for this app; the tab is treated as missing."""


class TransitionError(EngineError, RuntimeError):
    """A lifecycle was asked to move along an edge it does not have (a bug in the engine)."""
