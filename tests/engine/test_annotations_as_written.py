"""States declared without `from __future__ import annotations`, as a reader's demo is.

Every other test module has the future import, so its annotations are
strings in `__annotations__` on every Python. Here they are what the Python
running the test makes of them: evaluated at once up to 3.13, evaluated
lazily from 3.14 (PEP 649: the class body holds an annotate function, which
the engine calls). The run on CPython 3.14 (test_on_python_314.py) runs
this module too; both must give the same vars, defaults and conversions.
"""

import pytest

import engine as rx
from engine.testing import TabClient


class AsWrittenState(rx.State):
    count: int = 0
    ratio: float = 0.5
    names: list[str]
    table: dict[str, int]
    picked: int | None
    _backend: int = 0

    def add(self, amount: int):
        self.count += amount
        self._backend += 1

    def rename(self, names: list[str]):
        self.names = names


class AsWrittenChildState(AsWrittenState):
    label: str = "child"


def test_annotations_evaluated_lazily_or_not_declare_the_same_vars_and_defaults():
    assert set(AsWrittenState.var_fields()) == {"count", "ratio", "names", "table", "picked", "_backend"}
    assert set(AsWrittenChildState.var_fields()) == {"label"}  # (a substate declares its own)
    assert AsWrittenState.var_fields()["names"].type_ == list[str]


async def test_a_tab_sees_the_defaults_and_handlers_convert_by_the_annotations(memory_app):
    async with TabClient(memory_app, states=[AsWrittenState]) as tab:
        expected = {"count": 0, "ratio": 0.5, "names": [], "table": {}, "picked": None}
        assert tab.state(AsWrittenState) == expected
        await tab.send(AsWrittenState.add, 2)
        await tab.send(AsWrittenState.set_ratio, 2)  # an int given to a float var's setter is converted
        await tab.send(AsWrittenState.rename, ["a", "b"])
        await tab.wait_for(lambda t: t.state(AsWrittenState)["names"] == ["a", "b"])
        assert tab.state(AsWrittenState) == {**expected, "count": 2, "ratio": 2.0, "names": ["a", "b"]}
        ack = await tab.send(AsWrittenState.add, "two")
        assert ack["ok"] is False and "argument amount" in ack["error"]


def test_a_var_with_no_natural_default_is_refused_by_name():
    with pytest.raises(rx.StateDefinitionError, match=r"AsWrittenBadState\.when"):
        class AsWrittenBadState(rx.State):
            when: float
