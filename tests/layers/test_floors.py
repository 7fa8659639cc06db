"""layers/floors.py: exact floors of symbolic sizes, checked against sympy and against plain integers.

Truth is arithmetic: every expression is evaluated at random positive integer sizes and compared
with Python's own ``//`` on the same numbers; where no nested floor can collapse, the expression
is also the very object sympy's ``floor`` builds.
"""

from __future__ import annotations

import math
from fractions import Fraction

import sympy
from hypothesis import given, settings, strategies as st

from cnncalc.engine.symbolic import _coefficients, collapse_floors
from cnncalc.layers.floors import at_least, floor_div, floor_of, lower_bound

H, W = sympy.symbols("H W", integer=True, positive=True)


def _value(expr, h: int, w: int) -> Fraction:
    """expr at H=h, W=w, in exact rationals (floors by Python's integer arithmetic)."""
    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    if expr == H:
        return Fraction(h)
    if expr == W:
        return Fraction(w)
    if isinstance(expr, sympy.floor):
        return Fraction(math.floor(_value(expr.args[0], h, w)))
    if expr.is_Add:
        return sum((_value(a, h, w) for a in expr.args), Fraction(0))
    if expr.is_Mul:
        return math.prod((_value(a, h, w) for a in expr.args), start=Fraction(1))
    if expr.is_Pow:
        return _value(expr.base, h, w) ** int(expr.exp)
    raise AssertionError(f"unexpected {expr!r}")


@st.composite
def sizes(draw, depth: int = 2):
    """A size as layers make it: a symbol, then convolutions and pools, floor((L + a)/s) + b."""
    size = draw(st.sampled_from([H, W, H + W, 2 * H]))
    for _ in range(draw(st.integers(0, depth))):
        shift = draw(st.integers(-3, 3))
        stride = draw(st.integers(1, 4))
        size = floor_div(size + shift, stride) + draw(st.integers(0, 2))
    return size


def test_sizes_are_valid_by_construction():
    @settings(max_examples=30, deadline=None)
    @given(sizes())
    def valid(size):
        assert size.free_symbols <= {H, W}
    valid()


@settings(max_examples=200, deadline=None)
@given(sizes(), st.integers(-5, 5), st.integers(1, 6), st.integers(1, 40), st.integers(1, 40))
def test_floor_div_is_integer_floor_division(size, shift, stride, h, w):
    got = floor_div(size + shift, stride)
    expected = math.floor((_value(size, h, w) + shift) / stride)
    assert _value(got, h, w) == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(-7, 7), st.integers(1, 5), st.integers(-7, 7), st.integers(1, 5))
def test_without_a_nested_floor_it_is_what_sympy_builds(a, b, c, d):
    arg = sympy.Rational(a, b) * H + sympy.Rational(c, d)
    assert floor_of(arg) == sympy.floor(arg)


def test_nested_floors_collapse():
    # floor((floor((H - 1)/2) + 1 - 1)/2) = floor((H - 1)/4): Concrete Mathematics eq. 3.11
    inner = floor_div(H - 1, 2) + 1
    assert floor_div(inner - 1, 2) == sympy.floor(sympy.Rational(1, 4) * H - sympy.Rational(1, 4))
    assert collapse_floors(sympy.floor((sympy.floor((H - 1) / 2) + 3) / 2)) == sympy.floor((H + 5) / 4)


def test_outside_the_class_it_is_sympys_floor():
    x = sympy.Symbol("x", real=True)
    assert floor_of(x / 2) == sympy.floor(x / 2)
    assert floor_of(sympy.sqrt(H)) == sympy.floor(sympy.sqrt(H))
    assert floor_div(7, 2) == 3 and floor_div(-7, 2) == -4


@settings(max_examples=150, deadline=None)
@given(sizes(), st.integers(-3, 12), st.integers(1, 40), st.integers(1, 40))
def test_at_least_never_claims_what_fails(size, minimum, h, w):
    decided = at_least(size, minimum)
    if decided is sympy.true:
        assert _value(size, h, w) >= minimum
    bound = lower_bound(sympy.expand(size))
    if bound is not None:
        assert _value(size, h, w) >= _value(sympy.sympify(bound), h, w)


def test_at_least_proves_what_sympy_proves_here():
    size = floor_div(H + 2 - 3, 2) + 1                   # a stride-2 conv's output: at least 1
    assert at_least(size + 2, 3) is sympy.true and sympy.Ge(size + 2, 3) is sympy.true
    assert at_least(H, 5) == sympy.Ge(H, 5)              # not provable: kept as sympy's relation


@settings(max_examples=100, deadline=None)
@given(sizes(depth=1), sizes(depth=1), st.integers(1, 64))
def test_expanded_byte_counts_match_sympy_expand(a, b, channels):
    count = 4 * channels * a * b
    ours = _coefficients(count)
    theirs = {m: c for m, c in sympy.expand(count).as_coefficients_dict().items()}
    assert ours == {m: int(c) if c.is_Integer else Fraction(int(c.p), int(c.q)) for m, c in theirs.items()}


def test_a_negative_term_has_no_lower_bound():
    assert lower_bound(sympy.expand(3 - H)) is None
    assert at_least(3 - H, 0) != sympy.true             # false at H = 4
    assert lower_bound(sympy.expand(2 * floor_div(H - 1, 2) - W)) is None
