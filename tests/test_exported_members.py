"""`engine.__all__` is complete, sorted, and every name in it can be imported (as httpx checks its own)."""

from __future__ import annotations

import importlib
import types

import engine


def _public_members(module: types.ModuleType) -> list[str]:
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    ]


def test_all_public_members_are_exported_and_sorted():
    assert engine.__all__ == sorted(_public_members(module=engine))


def test_all_has_no_duplicates():
    assert len(engine.__all__) == len(set(engine.__all__))


def test_every_exported_name_can_be_imported():
    for name in engine.__all__:
        namespace: dict[str, object] = {}
        exec(f"from engine import {name}", namespace)
        assert namespace[name] is getattr(engine, name)


def test_star_import_gives_exactly_the_exported_names():
    namespace: dict[str, object] = {}
    exec("from engine import *", namespace)
    assert sorted(name for name in namespace if name != "__builtins__") == sorted(engine.__all__)


def test_exported_objects_belong_to_the_engine():
    for name in engine.__all__:
        value = getattr(engine, name)
        assert getattr(value, "__module__", "engine").startswith("engine"), name


def test_the_test_client_is_public_in_engine_testing():
    testing = importlib.import_module("engine.testing")
    assert "TabClient" in testing.__all__
    for name in testing.__all__:
        assert hasattr(testing, name), name
