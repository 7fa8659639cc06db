"""The loader's messages for hostile or puzzling input: located, bounded, and saying what to do.

Each case marks the offending token with ``# <- "TOKEN"`` on its line; the
expected line and column come from the marker. Every user string a message
echoes is cut (``cnncalc.text.shown``), so no message grows with the input.
"""

from __future__ import annotations

import re
import time

import pytest

import cnncalc
from cnncalc import SpecError
from cnncalc.spec import expand, expr, yaml_source
from ..conftest import HANG_LIMIT_S

LONG = 100_000
BIG = "9" * 5000                 # more digits than Python's int-to-str limit (4,300)
BOUND = 600                      # characters: any message and hint from the loader stay under this
_MARKER = re.compile(r'#\s*<- "(.*)"\s*$')


def _position(text: str) -> tuple[int, int]:
    for number, line in enumerate(text.splitlines(), start=1):
        match = _MARKER.search(line)
        if match:
            code = line[:match.start()]
            return number, code.index(match.group(1)) + 1
    raise AssertionError("no marker")


def _error(text: str) -> SpecError:
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        cnncalc.loads(text, "arch.yaml")
    assert time.perf_counter() - start < HANG_LIMIT_S
    err = info.value
    assert len(err.message) < BOUND and len(err.hint or "") < BOUND, (len(err.message), len(err.hint or ""))
    str(err)                                     # rendering cannot raise (an int too long for str())
    return err


HEAD = "input: [3, 8, 8]\n"
BLOCK = ("blocks:\n  b:\n    params: {o: 2}\n    layers:\n"
         "      - Conv2d: {out_channels: $o, kernel_size: 1}\n")

# (text with a marker, words the message and hint must hold)
CASES = {
    "long layer type": (HEAD + "layers:\n  - " + "Q" * LONG + '  # <- "QQQ"\n', ("unknown layer type", "100,000 characters")),
    "long name": (HEAD + "layers:\n  - ReLU: {name: " + "x" * LONG + '}  # <- "xxx"\n', ("too long", "100,000")),
    "long from": (HEAD + "layers:\n  - ReLU\n  - ReLU: {from: " + "f" * LONG + '}  # <- "fff"\n',
                  ("not defined", "100,000 characters")),
    "long dtype": ("dtype: " + "d" * LONG + '  # <- "ddd"\n' + HEAD + "layers: [ReLU]\n", ("unknown dtype", "100,000")),
    "long $param": (BLOCK.replace("$o,", "$" + "o" * LONG + ",") + HEAD + "layers: [b]\n",
                    ("unknown parameter", "characters")),
    "long block param": (BLOCK + HEAD + "layers:\n  - b:\n      ? " + "p" * LONG + '  # <- "ppp"\n      : 1\n',
                                ("no parameter", "100,000 characters")),
    "long top key": ("? " + "z" * LONG + '  # <- "zzz"\n: 1\n' + HEAD + "layers: [ReLU]\n",
                            ("unknown top-level key", "100,000 characters")),
    "many keys in a layer": (HEAD + "layers:\n  - {" + ", ".join(f"k{i}: 1" for i in range(5000)) + '}  # <- "{"\n',
                             ("5000 keys",)),
    "date as name": ('name: 2024-01-01  # <- "2024"\n' + HEAD + "layers: [ReLU]\n", ("date", '"2024-01-01"')),
    "date as layer name": (HEAD + 'layers:\n  - ReLU: {name: 2024-01-01}  # <- "2024"\n', ("date", "quote")),
    "equals sign": (HEAD + 'layers:\n  - ReLU: {name: =}  # <- "="\n', ("value key", "quote")),
    "explicit tag": (HEAD + 'layers:\n  - ReLU: {name: !!binary aGk=}  # <- "!!binary"\n', ("'!!binary'", "remove")),
    "second document": (HEAD + "layers: [ReLU]\n---  # <- \"---\"\nmore: 1\n", ("one document",)),
    "non-ASCII name": (HEAD + 'layers:\n  - ReLU: {name: conv_é}  # <- "conv"\n', ("ASCII", "'é'")),
    "non-ASCII block name": (HEAD.replace("input", "blocks:\n  blöck: {layers: [ReLU]}  # <- \"bl\"\ninput")
                             + "layers: [ReLU]\n", ("ASCII",)),
    "digit name": (HEAD + 'layers:\n  - ReLU: {name: "3"}  # <- ""3""\n', ("digits", "sequential: true")),
    "bare digit name": (HEAD + "layers:\n  - ReLU: {name: 3}  # <- \"3\"\n", ("digits",)),
    "input too long": ('input: [1, 3, 8, 8, 8]  # <- "["\nlayers: [ReLU]\n', ("has 5 sizes", "batch")),
    "input too short": ('input: [3]  # <- "["\nlayers: [ReLU]\n', ("has 1 size",)),
    "list as layer": (HEAD + 'layers:\n  - [ReLU]  # <- "["\n', ("a list of 1 item", "inner brackets")),
    "nested list in from": (HEAD + 'layers:\n  - ReLU: {from: [[a]]}  # <- "[a]"\n', ("a list of 1 item",)),
    "5000-digit integer argument": (HEAD + "layers:\n  - Conv2d: {out_channels: " + BIG + ', kernel_size: 1}  # <- "999"\n',
                                    ("5,000 characters", "2**63")),
    "5000-digit repeat": (HEAD + "layers:\n  - ReLU: {repeat: " + BIG + '}  # <- "999"\n', ("too large",)),
    "5000-digit negative from": (HEAD + "layers:\n  - ReLU: {from: -" + BIG + '}  # <- "-999"\n', ("too large",)),
    "5000-digit batch": ("batch: " + BIG + '  # <- "999"\n' + HEAD + "layers: [ReLU]\n", ("too large",)),
    "5000-digit input": ("input: [3, " + BIG + ', 8]  # <- "999"\nlayers: [ReLU]\n', ("too large",)),
    "5000-digit block param": (BLOCK + HEAD + "layers:\n  - b: {o: " + BIG + '}  # <- "999"\n', ("too large",)),
    "5000-digit hex": (HEAD + "layers:\n  - ReLU: {repeat: 0x" + "f" * 5000 + '}  # <- "0x"\n', ("too large",)),
    "5000-digit expression": (BLOCK.replace("$o,", '"$o * ' + BIG + '",') + HEAD + "layers: [b]\n", ("too long",)),
    "long expression term": (BLOCK.replace("$o,", '"$o * ' + "9" * 900 + '",') + HEAD + "layers: [b]\n",
                             ("exceeds 2**63",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_messages_are_located_bounded_and_helpful(case):
    text, words = CASES[case]
    err = _error(text)
    shown = f"{err.message}; {err.hint}"
    for word in words:
        assert word in shown, (word, shown)
    if any(_MARKER.search(line) for line in text.splitlines()):
        assert err.loc is not None and (err.loc.line, err.loc.col) == _position(text), (err.loc, _position(text))


def test_a_quoted_date_is_a_name():
    assert cnncalc.loads('name: "2024-01-01"\n' + HEAD + "layers: [ReLU]\n").name == "2024-01-01"


def test_long_words_get_no_suggestion_but_short_typos_do():
    """difflib is never run on a huge word; a real typo still gets its hint."""
    long_word = "Conv2d" * (expand.MAX_SUGGESTED // 6 + 1)
    assert _error(HEAD + f"layers:\n  - {long_word}\n").hint.startswith("layer types are")
    assert _error(HEAD + "layers:\n  - Conv2dd\n").hint == "did you mean 'Conv2d'?"


def test_integers_at_the_reader_limit():
    """The longest integer scalar read is MAX_INT_CHARS characters; within ±2**63 it is a number."""
    padded = "0" * (yaml_source.MAX_INT_CHARS - 1) + "3"
    spec = cnncalc.loads(HEAD + f"layers:\n  - Conv2d: {{out_channels: {padded}, kernel_size: 1}}\n")
    assert spec.layers[0].args["out_channels"] == 3
    err = _error(HEAD + f"layers:\n  - Conv2d: {{out_channels: 0{padded}, kernel_size: 1}}\n")
    assert "too large" in err.message


@pytest.mark.parametrize("text", ["$x * " + "9" * 5000, "(" * 5000 + "$x", "$x + " + "é" * 900, "$" + "y" * 900])
def test_expression_errors_are_bounded(text):
    with pytest.raises(expr.ExprError) as info:
        expr.evaluate(text, {"x": 3})
    assert len(str(info.value)) < BOUND
