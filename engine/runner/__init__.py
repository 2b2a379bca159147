"""The runner: events and background tasks against tab states, with no knowledge of sockets."""

from .blocks import MODIFY_STATE, Block
from .confirmed import InOrder
from .observe import Kind, Observation, Observers
from .outcome import EventResult, Outcome, failure_message
from .runner import Runner
from .session import Parts, Publisher
from .tasks import TaskHandle, TaskRegistry

__all__ = [
    "MODIFY_STATE", "Block", "EventResult", "InOrder", "Kind", "Observation", "Observers", "Outcome", "Parts",
    "Publisher", "Runner", "TaskHandle", "TaskRegistry", "failure_message",
]
