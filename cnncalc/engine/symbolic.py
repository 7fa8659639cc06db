"""Symbolic input sizes ([3, H, W]) with sympy, imported only when a file has a symbol.

Sizes are positive-integer symbols. Layer rules use ``+ - * //`` which sympy
turns into exact floors; checks that depend on a symbol become constraints
that `cnncalc sizes` solves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import sympy

from ..errors import ShapeError
from ..layers.base import Context


def make_dims(dims: tuple) -> tuple:
    return tuple(sympy.Symbol(d, integer=True, positive=True) if isinstance(d, str) else d for d in dims)


@dataclass(frozen=True)
class Constraint:
    """A condition on the symbols that a layer needs (recorded, not raised)."""

    condition: Any          # a sympy relational or boolean
    message: Callable[[], str]


def _decide(condition: Any) -> bool | None:
    if condition is sympy.true or condition is True:
        return True
    if condition is sympy.false or condition is False:
        return False
    return None


class SymbolicContext(Context):
    def __init__(self) -> None:
        super().__init__()
        self.constraints: list[Constraint] = []

    def _check(self, condition: Any, message: Callable[[], str]) -> None:
        decided = _decide(condition)
        if decided is False:
            raise ShapeError(message())
        if decided is None:
            self.constraints.append(Constraint(condition, message))

    def require(self, ok: Any, message: Callable[[], str]) -> None:
        self._check(sympy.sympify(ok), message)

    def require_at_least(self, value: Any, minimum: Any, message: Callable[[], str]) -> None:
        self._check(sympy.Ge(value, minimum), message)

    def require_equal(self, value: Any, expected: Any, message: Callable[[], str]) -> None:
        difference = sympy.simplify(value - expected)
        if difference == 0:
            return
        if difference.is_number:
            raise ShapeError(message())
        self.constraints.append(Constraint(sympy.Eq(value, expected), message))

    def require_divisible(self, value: Any, divisor: int, message: Callable[[], str]) -> None:
        remainder = sympy.Mod(value, divisor)
        if remainder == 0:
            return
        if remainder.is_number:
            raise ShapeError(message())
        self.constraints.append(Constraint(sympy.Eq(remainder, 0), message))

    def is_true(self, condition_fn: Callable[[], Any]) -> bool:
        condition = condition_fn()
        decided = _decide(sympy.sympify(condition))
        if decided is None:
            raise ShapeError("this layer's output size depends on a branch that cannot be decided "
                             "symbolically; give a concrete size with --set")
        return decided


def symbolic_max(a: Any, b: Any) -> Any:
    return sympy.Max(a, b)


def format_expr(value: Any) -> str:
    return str(value)
