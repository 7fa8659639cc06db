"""report.json_value: the exact JSON form of every kind of value a report holds."""

from collections import namedtuple
from fractions import Fraction

import pytest

from cnncalc.report import json_value

Pair = namedtuple("Pair", "a b")


@pytest.mark.parametrize("value, expected", [
    (7, 7),
    (True, True),                                   # a bool stays a bool, not 1
    (None, None),
    (Fraction(6, 3), 2),                            # a whole fraction is an int
    (Fraction(1, 3), "1/3"),
    ((1, 2, 3), [1, 2, 3]),
    ([4, 5], [4, 5]),
    ((1, Fraction(1, 2), True, None), [1, "1/2", True, None]),   # mixed items go one by one
    (((1, 2), (Fraction(3, 2),)), [[1, 2], ["3/2"]]),            # nested
    (Pair(1, Fraction(5, 2)), [1, "5/2"]),          # a tuple subclass is a list too
    ((), []),
])
def test_json_value(value, expected):
    result = json_value(value)
    assert result == expected
    assert type(result) is type(expected)


def test_json_value_of_sympy_terms():
    sympy = pytest.importorskip("sympy")
    h = sympy.Symbol("H", integer=True, positive=True)
    assert json_value((sympy.Integer(3), sympy.Rational(1, 2), h + 1)) == [3, "1/2", "H + 1"]
    assert type(json_value(sympy.Integer(3))) is int
