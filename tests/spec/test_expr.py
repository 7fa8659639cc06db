"""The integer expression parser of block arguments (cnncalc.spec.expr).

Grammar: integers, ``$params``, ``+ - * //``, unary minus and parentheses,
with Python's precedence and floor division. It never evaluates Python.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.spec import expr
from cnncalc.spec.expr import ExprError, evaluate
from ..conftest import HANG_LIMIT_S

P = {"c": 7, "mid": 16, "k": 3, "zero": 0, "neg": -5, "flag": True, "ks": [1, 3], "s": "x", "f": 1.5}


@pytest.mark.parametrize("text, value", [
    ("1", 1),
    ("  42  ", 42),
    ("$mid * 4", 64),
    ("($c + 1) // 2", 4),
    ("$c + 1 // 2", 7),              # // binds tighter than +
    ("2 + 3 * 4", 14),
    ("(2 + 3) * 4", 20),
    ("2 * 3 + 4", 10),
    ("10 - 4 - 3", 3),               # left associative
    ("100 // 10 // 5", 2),
    ("2 * 3 // 4", 1),               # same level: left to right
    ("2 * (3 // 4)", 0),
    ("-3", -3),
    ("--3", 3),
    ("-$c + 10", 3),
    ("-(2 + 3) * 2", -10),
    ("$c * -1", -7),
    ("7 // -2", -4),                 # floor division, as Python and torch's shapes
    ("-7 // 2", -4),
    ("$neg // 2", -3),
    ("((((1))))", 1),
    ("$k*$k*$mid", 144),
    ("$mid//4", 4),
    ("0", 0),
    ("007", 7),
])
def test_values(text, value):
    assert evaluate(text, P) == value


@pytest.mark.parametrize("text, message", [
    ("$nope + 1", "unknown parameter '$nope'"),
    ("$flag + 1", "not an integer"),
    ("$ks * 2", "not an integer"),
    ("$s * 2", "not an integer"),
    ("$f * 2", "not an integer"),
    ("1 2", "unexpected"),
    ("($c + 1", "missing ')'"),
    ("$c + 1)", "unexpected"),
    ("", "ends too early"),
    ("   ", "ends too early"),
    ("$c +", "ends too early"),
    ("* 2", "unexpected '*'"),
    ("()", "unexpected ')'"),
    ("$c / 2", "cannot read"),       # only floor division
    ("$c % 2", "cannot read"),
    ("$c ** 2", "unexpected '*'"),
    ("1.5 * 2", "cannot read"),
    ("1e3", "cannot read"),
    ("$", "cannot read"),
    ("$1", "cannot read"),
    ("0x10", "cannot read"),
    ("$c // 0", "division by zero"),
    ("$c // ($k - 3)", "division by zero"),
    ("$c // $zero", "division by zero"),
])
def test_errors(text, message):
    with pytest.raises(ExprError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")
                       .replace("$", r"\$")):
        evaluate(text, P)


@pytest.mark.parametrize("text", [
    "__import__('os')",
    "__import__('os').system('echo pwned')",
    "$c.__class__",
    "open('/etc/passwd')",
    "lambda: 1",
    "1; import os",
    "[1, 2]",
    "$c if 1 else 2",
    "exec('1')",
    "1 and 2",
    "`ls`",
    "$(ls)",
    "${HOME}",
])
def test_never_evaluates_python(text, monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):  # pragma: no cover - must not be called
        raise AssertionError("the parser called eval/exec/__import__")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    with pytest.raises(ExprError):
        evaluate(text, P)


def test_bounds():
    big = 2**62
    assert evaluate("$b - 1 + $b", {"b": big}) == 2**63 - 1   # every step is bounded, not only the end
    with pytest.raises(ExprError, match="exceeds 2\\*\\*63"):
        evaluate("$b * 2", {"b": big})
    with pytest.raises(ExprError, match="exceeds 2\\*\\*63"):
        evaluate("$b + $b", {"b": big})
    with pytest.raises(ExprError, match="exceeds 2\\*\\*63"):
        evaluate("0 - $b - $b - 1", {"b": big})
    with pytest.raises(ExprError, match="exceeds 2\\*\\*63"):
        evaluate("99999999999999999999", {})
    with pytest.raises(ExprError, match="exceeds 2\\*\\*63"):
        evaluate("$x + 1", {"x": 2**70})
    # leading zeros are not digits that count
    assert evaluate("0" * 100 + "5", {}) == 5


@pytest.mark.parametrize("text", [
    "9" * 5000,                            # more digits than int() converts
    "(" * 5000 + "1" + ")" * 5000,        # deeper than Python's recursion limit
    "-" * 5000 + "1",
    "1" + " + 1" * 5000,
    "$c * " * 300 + "1",
])
def test_huge_expressions_fail_fast(text):
    start = time.perf_counter()
    with pytest.raises(ExprError):
        evaluate(text, P)
    assert time.perf_counter() - start < HANG_LIMIT_S


def test_nesting_limit_is_generous():
    depth = expr.MAX_NESTING
    assert evaluate("(" * depth + "$c" + ")" * depth, P) == 7
    with pytest.raises(ExprError, match="nests more than"):
        evaluate("(" * (depth + 1) + "$c" + ")" * (depth + 1), P)


# -- property: the parser agrees with Python's own integer arithmetic -------------------

_names = st.sampled_from(["a", "b", "c"])


def _leaf():
    return st.one_of(st.integers(0, 50).map(lambda n: (str(n), n)),
                     _names.map(lambda name: (f"${name}", name)))


def _combine(children):
    def op(pair):
        (lt, lv), (rt, rv), o = pair
        return (f"({lt} {o} {rt})", (o, lv, rv))
    neg = children.map(lambda c: (f"-{c[0]}", ("neg", c[1])))
    return st.one_of(st.tuples(children, children, st.sampled_from(["+", "-", "*", "//"])).map(op), neg)


_trees = st.recursive(_leaf(), _combine, max_leaves=12)


def _value(tree, env):
    if isinstance(tree, int):
        return tree
    if isinstance(tree, str):
        return env[tree]
    if tree[0] == "neg":
        return -_value(tree[1], env)
    o, left, right = tree
    lv, rv = _value(left, env), _value(right, env)
    if o == "+":
        return lv + rv
    if o == "-":
        return lv - rv
    if o == "*":
        return lv * rv
    if rv == 0:
        raise ZeroDivisionError
    return lv // rv


@given(_trees, st.fixed_dictionaries({"a": st.integers(-100, 100), "b": st.integers(1, 100),
                                      "c": st.integers(-3, 3)}), st.booleans())
def test_matches_python_arithmetic(tree, env, strip_parens):
    text, structure = tree
    try:
        expected = _value(structure, env)
    except ZeroDivisionError:
        with pytest.raises(ExprError, match="division by zero"):
            evaluate(text, env)
        return
    if abs(expected) >= 2**63:
        return
    assert evaluate(text, env) == expected
    # the outermost parentheses never matter
    if strip_parens and text.startswith("(") and text.endswith(")"):
        assert evaluate(text[1:-1], env) == expected


@given(st.text(max_size=40))
def test_any_text_is_a_value_or_an_expr_error(text):
    try:
        value = evaluate(text, P)
    except ExprError:
        return
    assert isinstance(value, int) and not isinstance(value, bool)
