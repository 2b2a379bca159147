"""The host names a server answers to: the address it listens on, or every name of this machine."""

from __future__ import annotations

import socket

__all__ = ["served_names"]

_EVERYWHERE = ("0.0.0.0", "::", "")


def served_names(host: str) -> list[str]:
    """Names a browser may use for a server started with `--host host` (localhost is always allowed).

    Listening everywhere, the machine may be reached by its host name or by
    any of its addresses; those found are allowed. Others (a DNS name of a
    proxy in front of it, say) go in the allowed_hosts setting.
    """
    if host not in _EVERYWHERE:
        return [host]
    names = {socket.gethostname(), socket.getfqdn()}
    for name in list(names):
        try:
            names.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except OSError:  # a host name that does not resolve: the name itself is still allowed
            continue
    names.update(_outward_addresses())
    return sorted(names)


def _outward_addresses() -> list[str]:
    """The addresses this machine's default routes leave from (a UDP connect sends nothing)."""
    found = []
    for family, probe in ((socket.AF_INET, "10.255.255.255"), (socket.AF_INET6, "fd00::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))
                found.append(str(sock.getsockname()[0]))
        except OSError:  # no route of that family
            continue
    return found
