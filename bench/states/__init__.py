"""The state workloads: `modify_state` and `async with self` rows, each contender in a worker process of its own.

- `contenders`: who is measured (the engine, Reflex, bare redis-py) and the workloads, in table order.
- `workloads`: the workloads, written once for every side.
- `big`, `big_engine`, `big_reflex`: the big-state workloads (a log, a table, a chat transcript, a counter
  beside big rows) and each side's state for them.
- `engine_side`, `reflex_side`, `redis_py_side`: each contender's side of the workloads, step for step alike.
- `worker`: the worker process of one side (`python -m bench.states.worker`).
- `runs`: the runs in every contender's worker in turn, and the memory per idle tab.
"""
