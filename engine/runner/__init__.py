"""The runner: events and background tasks against tab states, with no knowledge of sockets."""

from .confirmed import InOrder
from .observe import Kind, Observation, Observers
from .outcome import EventResult, Outcome, failure_message
from .pacing import Pacer
from .runner import Runner
from .session import MODIFY_STATE, Parts, Publisher, Session
from .tasks import TaskHandle, TaskRegistry

__all__ = [
    "MODIFY_STATE", "EventResult", "InOrder", "Kind", "Observation", "Observers", "Outcome", "Pacer",
    "Parts", "Publisher", "Runner", "Session", "TaskHandle", "TaskRegistry", "failure_message",
]
