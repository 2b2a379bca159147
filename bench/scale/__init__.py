"""Live tabs through real sockets: the engine's docs server beside a bare python-socketio server.

- `section`: the scale section, pairs of fleets taking turns window by window.
- `fleet`: one server and the client processes holding its tabs; one window's figures.
- `servers`: the two servers as process trees on free loopback ports.
- `client`: many live tabs in one process (`python -m bench.scale.client`).
- `bare_server`: the bare python-socketio server (`python -m bench.scale.bare_server`).
- `procstat`: CPU time and resident memory of a process tree, from /proc.
"""
