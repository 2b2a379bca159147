"""Benchmarks of the engine, side by side with Reflex 0.10.1: `nox -s bench`.

The session's venv holds both the engine and `reflex==0.10.1`. `python -m
bench` (this package's `__main__`) starts one worker process per side and
alternates the same workloads between them, so both see the same machine at
about the same time; see docs/performance.md for what each figure means.

Subpackages, each one concept:

- `states/`: the state workloads (`modify_state`, `async with self`, memory per
  idle tab, and big states: one small change per block in 10 to 10,000 items),
  the engine, Reflex and bare redis-py as contenders, each in a worker process
  of its own; in memory and on Redis.
- `scale/`: live tabs through real sockets, the engine's docs server beside a
  bare python-socketio server.
- `report/`: the targets as ratios, the printed tables, the charts, and where
  the results are written (and published for the docs).

Modules:

- `cli`: `python -m bench`'s arguments and the run; `sections`: the sections in order.
- `against`: `--against REV`, this checkout's engine beside the one at a git revision.
- `roundtrip`: the event round trip through `TabClient` against a bare Socket.IO echo.
- `child_process`, `paths`: the processes the bench starts; where it runs and writes.
- `redis_server`: a private `redis-server` on a free loopback port (the Redis rows, two-worker scale).
- `machine`, `progress`: what the figures were measured on; progress lines as it runs.
"""
