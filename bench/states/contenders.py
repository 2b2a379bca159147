"""Who is measured in the state workloads: each a worker process of one side in one configuration."""

from __future__ import annotations

from dataclasses import dataclass

from . import big

__all__ = [
    "BIG_REDIS_CONTENDERS", "MEMORY_CONTENDERS", "REDIS_CONTENDERS", "REDIS_WORKLOADS", "STATE_WORKLOADS", "Contender",
    "big_workloads",
]


@dataclass(frozen=True)
class Contender:
    """`key` names it in the JSON; `side` and `variant` are what `bench.states.worker` is started with.

    The engine's key and side are `ours`: the results, the published figures
    and older revisions' workers (`--against`) all name it so.
    """

    key: str
    side: str
    variant: str
    label: str


ENGINE = Contender("ours", "ours", "", "ours")
REFLEX = Contender("reflex", "reflex", "", "Reflex 0.10.1")
MEMORY_CONTENDERS = [ENGINE, REFLEX]

REDIS_CONTENDERS = [
    Contender("ours", "ours", "confirm", "ours, confirm"),
    Contender("ours-pipelined", "ours", "pipelined", "ours, pipelined"),
    Contender("ours-replicated", "ours", "replicated", "ours, replicated"),
    Contender("reflex", "reflex", "", "Reflex default"),
    Contender("reflex-oplock", "reflex", "oplock", "Reflex oplock"),
    Contender("redis-py", "redis-py", "", "redis-py round trips"),
]

# (key, label) of the state workloads, in table order.
STATE_WORKLOADS = [
    ("one_token", "`modify_state`, 1 token"),
    ("many_tokens", "`modify_state`, 100 tokens at once"),
    ("contended", "`modify_state`, 50 tasks on 1 token"),
    ("background", "`async with self` in a background task"),
    ("background_demo", "the demo's loop in a background task (an await between blocks)"),
]
REDIS_WORKLOADS = STATE_WORKLOADS[:3]

# The big states on Redis: ours in confirm mode (its default) beside Reflex's default.
BIG_REDIS_CONTENDERS = [REDIS_CONTENDERS[0], REDIS_CONTENDERS[3]]


def big_workloads(kinds: list[str], items: list[int]) -> list[tuple[str, str]]:
    """(key, label) of the big-state workloads, kind by kind, smallest state first."""
    unknown = [kind for kind in kinds if kind not in big.KINDS]
    if unknown:
        raise ValueError(f"unknown big-state kinds {unknown}: pick from {', '.join(big.KINDS)}")
    keys = [(kind, n, "task") for kind in kinds for n in items]
    keys += [(kind, n, "modify") for kind in kinds if kind in big.MODIFY_KINDS for n in items]
    return [(big.run_key(*key), big.label(*key)) for key in keys]
