"""The browser shows a value as the server's first render did: core.js's toText is engine/vars.py's to_text.

The server renders each page's first values with `to_text`; the browser
writes every later one with `toText` (engine/static/core.js). Both are fed
the same values here, several thousand of them (seeded, so a failure
repeats), through one Node process, and must agree character for character.

Only values that reach the browser unchanged are compared: JSON cannot tell
the float 1.0 inside a list from the int 1, nor keep the order of a dict's
keys that look like whole numbers (a JS object puts them first); the
docstring of core.js's pyJson says so too.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import struct
import subprocess
from typing import Any

from engine.vars import to_text
from tests.support.env import ROOT

CORE = ROOT / "engine" / "static" / "core.js"
SEED = 19
COUNT = 3000

# Every escape rule of json.dumps and both sides of printable ASCII, an astral character (a surrogate pair in JS).
CHARS = list("abcXYZ 09.,:-_{}[]") + ['"', "\\", "/", "\n", "\t", "\r", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f",
                                      "\x80", "é", "ß", "中", "\u2028", "\ufeff", "\U0001f600", "\U00010348"]
INDEX_LIKE = re.compile(r"0|[1-9][0-9]*")

EDGES: list[Any] = [
    None, True, False, 0, -0.0, 1, -1, 2**53, 2**53 + 2, 2**65, -(2**70), 10**21, 1e16, 1e21, 1e22, 1.5e300,
    3.0, 3.5, 0.1, 0.1 + 0.2, 1e-4, 9.999e-5, 1e-5, -2.5e-5, 1e-6, 1e-7, 5e-324, 1.7976931348623157e308,
    123456789.123, 1234567890123456.7, "", "text", "é", "\U0001f600",
    [], {}, [1, "é", None, True, 0.5], {"b": 1, "a": [False, 1e-5]}, ["\x00\x1f\x7f\u2028"], {"é": {"": []}},
]


def _float(rng: random.Random) -> float:
    """A finite double: any bit pattern, or a short decimal at any magnitude."""
    if rng.random() < 0.5:
        value: float = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        return value if math.isfinite(value) else 0.5
    return round(rng.uniform(-10, 10), rng.randint(0, 6)) * 10.0 ** rng.randint(-12, 24)


def _scalar(rng: random.Random, inside: bool) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**53), 2**53)
    if kind == 2:
        value = _float(rng)
        # Inside a list or dict a whole float would arrive as an int (see the module's docstring).
        return value + 0.5 if inside and value.is_integer() and abs(value) < 2**52 else value
    if kind == 3 and not inside:
        return float(int(_float(rng)))  # a whole float: shown without ".0"
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 8)))


def _value(rng: random.Random, depth: int = 0, inside: bool = False) -> Any:
    kind = rng.randrange(4) if depth < 3 else 0
    if kind <= 1:
        value = _scalar(rng, inside)
        if inside and isinstance(value, float) and value.is_integer():
            return rng.randint(-1000, 1000)
        return value
    if kind == 2:
        return [_value(rng, depth + 1, True) for _ in range(rng.randint(0, 4))]
    keys = ("".join(rng.choice(CHARS) for _ in range(rng.randint(0, 4))) for _ in range(rng.randint(0, 4)))
    return {key: _value(rng, depth + 1, True) for key in keys if not INDEX_LIKE.fullmatch(key)}


def _browser_texts(values: list[Any]) -> list[str]:
    node = shutil.which("node")
    assert node, "node is needed to run the browser code's tests: install Node.js (`apt-get install nodejs`)"
    script = (
        f"const core = require({json.dumps(str(CORE))});"
        "let input = '';"
        "process.stdin.on('data', (chunk) => (input += chunk));"
        "process.stdin.on('end', () => process.stdout.write(JSON.stringify(JSON.parse(input).map(core.toText))));"
    )
    # json.dumps as the server sends an update (ASCII only; the browser parses it back).
    done = subprocess.run([node, "-e", script], input=json.dumps(values), capture_output=True, text=True,
                          encoding="utf-8", timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    texts: list[str] = json.loads(done.stdout)
    return texts


def test_to_text_and_the_browsers_to_text_agree_on_every_value() -> None:
    rng = random.Random(SEED)
    values = EDGES + [_value(rng) for _ in range(COUNT)]
    expected = [to_text(value) for value in values]
    got = _browser_texts(values)
    assert len(got) == len(values)
    wrong = [(value, want, have) for value, want, have in zip(values, expected, got, strict=True) if want != have]
    assert not wrong, f"{len(wrong)} of {len(values)} differ, e.g. (value, to_text, toText): {wrong[:5]}"


def test_the_cases_compared_reach_every_kind_of_value() -> None:
    """The generator is not vacuous: it makes every kind of value the page can show."""
    rng = random.Random(SEED)
    values = [_value(rng) for _ in range(COUNT)]
    texts = [to_text(value) for value in values]
    assert any(isinstance(v, float) and "e-" in t for v, t in zip(values, texts, strict=True))
    assert any(isinstance(v, float) and v.is_integer() and abs(v) > 2**53 for v in values)
    assert any(isinstance(v, str) and "\U0001f600" in v for v in values)
    assert any(isinstance(v, list) and "\\u" in t for v, t in zip(values, texts, strict=True))
    assert any(isinstance(v, dict) and v for v in values)
    assert any(v is None for v in values) and any(v is True for v in values)


def test_join_writes_a_list_into_its_template_as_the_server_does() -> None:
    """`Var.join` (engine/vars.py) and core.js's `join` agree on lists of every kind of item and template."""
    from engine.vars import Literal, Op

    rng = random.Random(SEED + 1)
    keys = ["who", "text", "n", "missing", "é"]
    cases = []
    for _ in range(300):
        items = [_value(rng, 1, True) for _ in range(rng.randint(0, 4))]
        items += [{key: _value(rng, 2, True) for key in rng.sample(keys, 3)} for _ in range(rng.randint(0, 3))]
        rng.shuffle(items)
        template = "".join(rng.choice(["{}", "{who}", "{text}: ", "{n}", "{missing}", "{é}", "x", " ", "{"])
                           for _ in range(rng.randint(0, 5)))
        cases.append([items if rng.random() < 0.95 else "not a list", template, rng.choice(["\n", ", ", ""])])
    expected = [Op("join", Literal(c[0]), c[1], c[2]).evaluate({}) for c in cases]
    node = shutil.which("node")
    assert node, "node is needed to run the browser code's tests: install Node.js (`apt-get install nodejs`)"
    script = (
        f"const core = require({json.dumps(str(CORE))});"
        "let input = '';"
        "process.stdin.on('data', (chunk) => (input += chunk));"
        "process.stdin.on('end', () => process.stdout.write(JSON.stringify(JSON.parse(input).map((c) =>"
        " core.evaluate({op: 'join', args: [{lit: c[0]}, {lit: c[1]}, {lit: c[2]}]}, {})))));"
    )
    done = subprocess.run([node, "-e", script], input=json.dumps(cases), capture_output=True, text=True,
                          encoding="utf-8", timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    wrong = [(case, want, have) for case, want, have in zip(cases, expected, got, strict=True) if want != have]
    assert not wrong, f"{len(wrong)} of {len(cases)} differ, e.g. (case, Python, core.js): {wrong[:3]}"
    assert any("{" in c[1] and "}" in c[1] and e for c, e in zip(cases, expected, strict=True))  # not vacuous
