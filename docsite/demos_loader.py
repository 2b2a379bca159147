"""Every demo module, imported: importing one registers its states with the engine.

The server must know every state a page can show, so it imports the whole
`demos` package rather than a list someone has to keep up to date.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import demos

__all__ = ["import_demos"]


def import_demos() -> list[ModuleType]:
    """Import each module of the `demos` package (once); returns them, by name."""
    names = sorted(info.name for info in pkgutil.iter_modules(demos.__path__, prefix="demos."))
    return [importlib.import_module(name) for name in names]
