"""Exact floors of symbolic sizes, built without sympy's general ``floor`` evaluation.

A size rule's ``(L + 2p - d(k-1) - 1) // s`` on a sympy ``L`` is ``sympy.floor``,
whose evaluation asks the assumptions system about the whole argument (is it
real, zero, positive, imaginary...) and costs milliseconds per distinct
expression: on ResNet-50 at ``[3, H, W]`` most of the analysis. Sizes are a
narrow class of expressions, sums of rational multiples of integer-valued
terms (positive integer symbols, floors of such sums, their products), and for
those the value of ``floor`` follows from two rules, applied here directly:

* an integer term (integer coefficient times an integer-valued term, or an
  integer) leaves the floor: ⌊x + n⌋ = ⌊x⌋ + n;
* nested floors collapse: ⌊(⌊x⌋ + m)/n⌋ = ⌊(x + m)/n⌋ for an integer m and a
  positive integer n (Graham, Knuth, Patashnik, Concrete Mathematics, eq. 3.11),
  so a ResNet's sizes stay short: floor((H - 1)/32) + 1.

The result is the expression sympy's own ``floor`` gives for such an argument
(its ``RoundFunction.eval`` pulls out the same integer part and keeps the rest
unevaluated), with the nested floors already collapsed. Anything outside the
class goes to ``sympy.floor``. Imported only for symbolic sizes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sympy


def floor_div(numerator: Any, denominator: Any) -> Any:
    """⌊numerator / denominator⌋ for a sympy numerator and a positive int denominator."""
    if not isinstance(denominator, int) or denominator < 1:
        return numerator // denominator
    return floor_of(numerator / denominator)


@lru_cache(maxsize=8192)
def floor_of(arg: Any) -> Any:
    """⌊arg⌋, nested floors collapsed (see the module docstring); ``sympy.floor`` outside the class."""
    arg = sympy.expand(arg)
    whole: list[Any] = []            # the integer terms: they leave the floor
    inside: list[Any] = []           # the rest stays in it
    number = sympy.S.Zero            # a non-integer rational term
    for term in sympy.Add.make_args(arg):
        coefficient, factor = term.as_coeff_Mul()
        if not coefficient.is_Rational or not _integer_valued(factor):
            return sympy.floor(arg)
        if factor is sympy.S.One:
            if coefficient.is_Integer:
                whole.append(coefficient)
            else:
                number = coefficient
        elif coefficient.is_Integer:
            whole.append(term)
        else:
            inside.append(term)
    if not inside:
        return sympy.Add(*whole, sympy.Integer(number.p // number.q))
    collapsed = _collapsed(inside, number)
    if collapsed is not None:
        return sympy.Add(*whole) + collapsed
    return sympy.Add(*whole) + sympy.floor(sympy.Add(*inside, number), evaluate=False)


def _collapsed(inside: list[Any], number: Any) -> Any | None:
    """⌊(⌊x⌋ + m)/n⌋ -> ⌊(x + m)/n⌋ where ``inside`` + ``number`` is ⌊x⌋/n + (the rest, m/n)."""
    with_floor = [term for term in inside if term.has(sympy.floor)]
    if len(with_floor) != 1:
        return None
    coefficient, inner = with_floor[0].as_coeff_Mul()
    if not (isinstance(inner, sympy.floor) and coefficient > 0 and coefficient.p == 1):
        return None
    divisor = coefficient.q                                   # the n of the identity
    rest = sympy.Add(*(term for term in inside if term is not with_floor[0]), number)
    shift = sympy.expand(rest * divisor)                      # the m of the identity
    if not shift.is_integer:
        return None
    return floor_of((inner.args[0] + shift) / divisor)


def _integer_valued(factor: Any) -> bool:
    """An integer symbol, a floor or ceiling, or a product or positive power of such."""
    if factor is sympy.S.One:
        return True
    if factor.is_Symbol:
        return factor.is_integer is True
    if isinstance(factor, (sympy.floor, sympy.ceiling)):
        return True
    if factor.is_Mul:
        return all(_integer_valued(f) for f in factor.args)
    if factor.is_Pow:
        return factor.exp.is_Integer and factor.exp > 0 and _integer_valued(factor.base)
    return False


def at_least(value: Any, minimum: Any) -> Any:
    """``value >= minimum`` decided: sympy.true where the class's lower bounds prove it (every size
    term's coefficient non-negative), else sympy.Ge, which decides or keeps it (a constraint)."""
    bound = lower_bound(sympy.expand(value - minimum))
    if bound is not None and bound >= 0:
        return sympy.true
    return sympy.Ge(value, minimum)


def lower_bound(expr: Any) -> Any | None:
    """A lower bound of a size expression over all positive integer values of its symbols, or None:
    a symbol is at least 1, ⌊x⌋ at least ⌊lower bound of x⌋, a sum or product of non-negatively
    weighted terms the sum or product of theirs."""
    if expr.is_Number:
        return expr if expr.is_Rational else None
    if expr.is_Symbol:
        return sympy.S.One if expr.is_integer and expr.is_positive else None
    if isinstance(expr, sympy.floor):
        inner = lower_bound(expr.args[0])
        return None if inner is None else sympy.floor(inner)
    if expr.is_Add:
        total = sympy.S.Zero
        for term in expr.args:
            bound = lower_bound(term)
            if bound is None:
                return None
            total += bound
        return total
    if expr.is_Mul:
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient < 0:
            return None
        product = coefficient
        for factor in sympy.Mul.make_args(rest):
            bound = lower_bound(factor)
            if bound is None or bound < 0:
                return None
            product *= bound
        return product
    return None
