"""The inspector is engine/inspector.py (the port transport uses it too), named here for the socket layer."""

from ..inspector import FLUSH_EVERY, MAX_PENDING, Inspector, show_backend_vars, shown_values

__all__ = ["FLUSH_EVERY", "MAX_PENDING", "Inspector", "show_backend_vars", "shown_values"]
