"""Symbolic input sizes ([3, H, W]) with sympy, imported only when a file has a symbol.

Sizes are positive-integer symbols. Layer rules use ``+ - * //``, which
sympy turns into exact floors; checks that depend on a symbol become
constraints (with the layer that needs them) that `cnncalc sizes` solves.
Nested floors collapse by the identity ⌊(⌊x⌋ + m)/n⌋ = ⌊(x + m)/n⌋ for an
integer m and a positive integer n (Graham, Knuth, Patashnik, Concrete
Mathematics, eq. 3.11), so ⌊(⌊x/a⌋ + b)/c⌋ = ⌊(x + ab)/(ac)⌋ and a ResNet's
sizes stay short: floor((H - 1)/32) + 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable

import sympy
from sympy.printing.str import StrPrinter

from ..errors import ShapeError
from ..layers.base import Context
from ..layers.floors import at_least, floor_of


def make_dims(dims: tuple) -> tuple:
    return tuple(sympy.Symbol(d, integer=True, positive=True) if isinstance(d, str) else d for d in dims)


@dataclass(frozen=True)
class Constraint:
    """A condition on the symbols that a layer needs (recorded, not raised)."""

    condition: Any          # a sympy relational (Ge, Eq)
    message: Callable[[], str]
    layer: str              # the layer's path
    layer_type: str


def _decide(condition: Any) -> bool | None:
    if condition is sympy.true or condition is True:
        return True
    if condition is sympy.false or condition is False:
        return False
    return None


class SymbolicContext(Context):
    """Records conditions that depend on a symbol; raises those that never hold."""

    def __init__(self) -> None:
        super().__init__()
        self.constraints: list[Constraint] = []
        self.layer = ""
        self.layer_type = ""

    def _record(self, condition: Any, message: Callable[[], str]) -> None:
        self.constraints.append(Constraint(condition, message, self.layer, self.layer_type))

    def _check(self, condition: Any, message: Callable[[], str]) -> None:
        decided = _decide(condition)
        if decided is False:
            raise ShapeError(message() + " for every input size")
        if decided is None:
            self._record(condition, message)

    def require(self, ok: Any, message: Callable[[], str]) -> None:
        self._check(sympy.sympify(ok), message)

    def require_at_least(self, value: Any, minimum: Any, message: Callable[[], str]) -> None:
        self._check(_at_least(value, minimum), message)

    def require_equal(self, value: Any, expected: Any, message: Callable[[], str]) -> None:
        difference = sympy.simplify(value - expected)
        if difference == 0:
            return
        if difference.is_number:
            raise ShapeError(message() + " for every input size")
        self._record(sympy.Eq(value, expected), message)

    def require_divisible(self, value: Any, divisor: int, message: Callable[[], str]) -> None:
        remainder = sympy.Mod(value, divisor)
        if remainder == 0:
            return
        if remainder.is_number:
            raise ShapeError(message() + " for every input size")
        self._record(sympy.Eq(remainder, 0), message)

    def is_true(self, condition_fn: Callable[[], Any]) -> bool:
        condition = condition_fn()
        decided = _decide(sympy.sympify(condition))
        if decided is None:
            raise ShapeError("with ceil_mode the output size has no closed form for a symbolic input "
                             "(torch drops a last window that would start in the padding); "
                             "give a concrete size with --set")
        return decided


@lru_cache(maxsize=8192)
def _at_least(value: Any, minimum: Any) -> Any:
    """value >= minimum (layers/floors.py: proved from lower bounds, else sympy.Ge), once per distinct
    pair: a stage's layers ask the same question of the same size."""
    return at_least(value, minimum)


def collapse_floors(expr: Any) -> Any:
    """Rewrite ⌊(⌊x⌋ + m)/n⌋ as ⌊(x + m)/n⌋, innermost first."""
    if not isinstance(expr, sympy.Basic):
        return expr
    return _collapsed(expr)


@lru_cache(maxsize=8192)
def _collapsed(expr: Any) -> Any:
    """collapse_floors, once per distinct expression: a long network repeats the same sizes layer after layer."""
    if not expr.has(sympy.floor):
        return expr
    return expr.replace(sympy.floor, floor_of)


def simplify(value: Any) -> Any:
    if isinstance(value, sympy.Basic):
        value = collapse_floors(value)
        if value.is_Integer:
            return int(value)
    return value


def simplify_outcome(outcome):
    """The outcome with every size and count's nested floors collapsed."""
    from dataclasses import replace
    return replace(
        outcome,
        output_shape=tuple(simplify(d) for d in outcome.output_shape),
        param_shapes={k: tuple(simplify(d) for d in v) for k, v in outcome.param_shapes.items()},
        macs=simplify(outcome.macs), flops=simplify(outcome.flops),
    )


def peak_of(live_sets: list[frozenset], storage_bytes: dict) -> Any:
    """The exact peak of live memory: a max over allocation steps.

    A step whose set of live tensors is a subset of another step's can never
    be the larger (every size is non-negative), so only maximal sets stay;
    of those, one whose byte count is termwise dominated by another's
    (as a polynomial in non-negative floor terms) goes too. Byte counts are
    expanded once per tensor into coefficient dicts, so the comparisons are
    plain arithmetic; sympy.Max's own simplification is far too slow here.
    """
    maximal: list[frozenset] = []
    holding: dict[int, list[int]] = {}     # storage id -> the kept sets that hold it
    for live in sorted(set(live_sets), key=len, reverse=True):
        # a superset of ``live`` holds each of its members: look only among the kept sets of its rarest one
        rarest = min((holding.get(sid, ()) for sid in live), key=len, default=())
        if not any(live <= maximal[index] for index in rarest):
            for sid in live:
                holding.setdefault(sid, []).append(len(maximal))
            maximal.append(live)
    terms: dict[int, dict] = {}
    for live in maximal:
        for sid in live:
            if sid not in terms:
                terms[sid] = _coefficients(sympy.sympify(storage_bytes[sid]))
    totals = []
    for live in maximal:
        total: dict = {}
        for sid in live:
            for monomial, coefficient in terms[sid].items():
                total[monomial] = total.get(monomial, 0) + coefficient
        totals.append(total)
    survivors = []
    for index, total in enumerate(totals):
        if not any(j != index and _dominates(other, total) and (not _dominates(total, other) or j < index)
                   for j, other in enumerate(totals)):
            survivors.append(sympy.Add(*(sympy.Rational(coefficient.numerator, coefficient.denominator) * monomial
                                         for monomial, coefficient in total.items())))
    if len(survivors) == 1:
        return survivors[0]
    return sympy.Max(*survivors, evaluate=False)


@lru_cache(maxsize=4096)
def _coefficients(expr: Any) -> dict:
    """A byte count expanded as {monomial: coefficient}, once per distinct count (a stage's tensors share one).
    The dict is only read."""
    polynomial = _expanded(expr)
    if polynomial is None:               # outside sums and products of sizes: sympy's own expansion
        return {monomial: _plain(coefficient) for monomial, coefficient in
                sympy.expand(expr).as_coefficients_dict().items()}
    return {sympy.Mul(*atoms): coefficient for atoms, coefficient in polynomial.items() if coefficient}


def _expanded(expr: Any) -> dict | None:
    """expr as {sorted tuple of atoms (symbols, floors): Python rational}, multiplied out in plain
    arithmetic (sympy.expand's hint machinery costs milliseconds per byte count); None where expr
    is not a sum or product of numbers, symbols, floors and integer powers of them."""
    if expr.is_Rational:
        return {(): _plain(expr)}
    if expr.is_Symbol or isinstance(expr, sympy.floor):
        return {(expr,): 1}
    if expr.is_Add:
        total: dict = {}
        for term in expr.args:
            part = _expanded(term)
            if part is None:
                return None
            for atoms, coefficient in part.items():
                total[atoms] = total.get(atoms, 0) + coefficient
        return total
    if expr.is_Mul or (expr.is_Pow and expr.exp.is_Integer and expr.exp > 0):
        return _multiply_all(expr.args if expr.is_Mul else (expr.base,) * int(expr.exp))
    return None


def _multiply_all(factors: Any) -> dict | None:
    """The product of ``factors``, each expanded, multiplied out term by term."""
    product: dict = {(): 1}
    for factor in factors:
        part = _expanded(factor)
        if part is None:
            return None
        result: dict = {}
        for atoms_a, coefficient_a in product.items():
            for atoms_b, coefficient_b in part.items():
                atoms = tuple(sorted(atoms_a + atoms_b, key=sympy.default_sort_key))
                result[atoms] = result.get(atoms, 0) + coefficient_a * coefficient_b
        product = result
    return product


def _plain(number: Any) -> int | Fraction:
    """A sympy rational as a Python number: comparing those is plain arithmetic, not sympy's."""
    return int(number) if number.is_Integer else Fraction(int(number.p), int(number.q))


def total_of(terms: list) -> Any:
    """The sum of a layer-by-layer list of sizes: ints added as ints, sympy terms in one Add."""
    whole = sum(term for term in terms if isinstance(term, int))
    rest = [term for term in terms if not isinstance(term, int)]
    if not rest:
        return whole
    total = sympy.Add(*rest, whole)
    return int(total) if total.is_Integer else total


def _dominates(big: dict, small: dict) -> bool:
    """Every coefficient of big − small is non-negative (all terms are ≥ 0)."""
    return all(big.get(monomial, 0) >= coefficient for monomial, coefficient in small.items()) and \
        all(coefficient >= 0 for coefficient in big.values())


class _Printer(StrPrinter):
    """floor((H - 1)/2) rather than floor(H/2 - 1/2)."""

    def _print_floor(self, expr):
        return f"floor({self._print(sympy.together(expr.args[0]))})"

    def _print_ceiling(self, expr):
        return f"ceil({self._print(sympy.together(expr.args[0]))})"


_PRINTER = _Printer()


def format_expr(value: Any) -> str:
    return _PRINTER.doprint(value)
