"""Benchmarks of the engine, side by side with Reflex 0.10.1: `nox -s bench`.

The session's venv holds both the engine and `reflex==0.10.1`. `python -m
bench` (this package's `__main__`) starts one worker process per side and
alternates the same workloads between them, so both see the same machine at
about the same time; see docs/performance.md for what each figure means.

Modules:

- `runner`: the orchestration, the table and `bench-results/latest.json`.
- `worker`: the process each side's workloads run in (JSON lines on a pipe).
- `ours`, `theirs`: the workloads, written once per framework, step for step alike.
- `roundtrip`: the event round trip through `TabClient` against a bare Socket.IO echo.
- `redis_server`: a private `redis-server` on a free loopback port.
- `machine`: what the figures were measured on.
"""
