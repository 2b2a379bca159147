"""Tab tickets: the signed credential a browser keeps to get its tab back after a reload.

A ticket is `<tab id>.<issued at>.<signature>`. The tab id is 144 random bits
and is what `State.get_token()` returns; the signature is an HMAC over the
id and time, so a client can neither forge a ticket nor pick another tab's
id, and a ticket past `token_max_age` is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

__all__ = ["TicketSigner", "new_tab_id"]


def new_tab_id() -> str:
    """A fresh tab id: 18 random bytes, URL-safe base64 (24 characters)."""
    return secrets.token_urlsafe(18)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TicketSigner:
    """Issues and checks tickets with one secret key."""

    def __init__(self, secret: str | bytes | None, max_age: float) -> None:
        self.configured = secret is not None  # else a key of this process's own, until `use` gives a shared one
        if secret is None:
            secret = secrets.token_bytes(32)
        self._key = secret.encode() if isinstance(secret, str) else secret
        self._old: bytes | None = None  # the key before `use`: tickets issued with it stay valid here
        self.max_age = max_age

    def use(self, key: bytes) -> None:
        """Sign with `key` from now on (the workers' shared one); tickets signed before still verify."""
        if key != self._key:
            self._old, self._key = self._key, key

    def _sign(self, tab_id: str, issued: str, key: bytes | None = None) -> str:
        mac = hmac.new(key or self._key, f"{tab_id}.{issued}".encode(), hashlib.sha256)
        return _b64(mac.digest()[:18])

    def issue(self, tab_id: str, now: float | None = None) -> str:
        issued = format(int(time.time() if now is None else now), "x")
        return f"{tab_id}.{issued}.{self._sign(tab_id, issued)}"

    def verify(self, ticket: object, now: float | None = None) -> str | None:
        """The tab id of a valid, unexpired ticket; None for anything else."""
        if not isinstance(ticket, str) or len(ticket) > 128 or not ticket.isascii():
            return None  # (compare_digest raises on non-ASCII text, and tickets are ASCII)
        parts = ticket.split(".")
        if len(parts) != 3:
            return None
        tab_id, issued, signature = parts
        if not hmac.compare_digest(signature, self._sign(tab_id, issued)) and (
            self._old is None or not hmac.compare_digest(signature, self._sign(tab_id, issued, self._old))
        ):
            return None
        try:
            age = (time.time() if now is None else now) - int(issued, 16)
        except ValueError:
            return None
        if age > self.max_age or age < -60:
            return None
        return tab_id
