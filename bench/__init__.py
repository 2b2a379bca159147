"""Benchmarks of the engine, side by side with Reflex 0.10.1: `nox -s bench`.

The session's venv holds both the engine and `reflex==0.10.1`. `python -m
bench` (this package's `__main__`) starts one worker process per side and
alternates the same workloads between them, so both see the same machine at
about the same time; see docs/performance.md for what each figure means.

Modules:

- `runner`: the sections in order, the printed report and `bench-results/latest.json`.
- `contenders`, `state_runs`, `worker`, `remote`: the state workloads, one process per contender.
- `ours`, `theirs`, `redis_limit`: each contender's side of the workloads (`workloads`),
  written once per framework, step for step alike; `redis_limit` is bare redis-py.
- `roundtrip`: the event round trip through `TabClient` against a bare Socket.IO echo.
- `scale`, `scale_servers`, `scale_client`, `scale_bare`, `procstat`: live tabs through
  real sockets, against a bare python-socketio server.
- `targets`, `report`, `charts`, `svg`: the targets as ratios, the tables, the charts.
- `redis_server`: a private `redis-server` on a free loopback port.
- `machine`, `progress`: what the figures were measured on; progress lines as it runs.
"""
