"""Rows for the tabular formats: layers, or blocks folded to a depth."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import wraps
from typing import Any

from ..report import Field, Report, json_value


@dataclass(frozen=True)
class Row:
    name: str
    type: str
    depth: int
    output_shape: tuple
    params: Any
    trainable_params: Any
    macs: Any
    flops: Any
    activation_bytes: Any
    receptive_field: Field
    layers: int = 1            # how many layers the row stands for


def rows(report: Report, depth: int | None = None) -> list[Row]:
    """One row per layer; with ``depth``, layers deeper than it are folded into their block."""
    groups: list[tuple[str, str, int, list]] = []     # (name, type, depth, the layers it stands for)
    for layer in report.layers:
        if depth is not None and layer.depth > depth:
            scope = layer.scopes[depth]
            if groups and groups[-1][0] == scope:
                groups[-1][3].append(layer)
            else:
                groups.append((scope, report.scope_types.get(scope, "block"), depth, [layer]))
        else:
            groups.append((layer.name, layer.type, layer.depth, [layer]))
    out: list[Row] = []
    for name, type_, row_depth, members in groups:
        last = members[-1]
        if len(members) == 1:
            out.append(Row(name, type_, row_depth, last.output_shape, last.params, last.trainable_params,
                           last.macs, last.flops, last.activation_bytes, last.receptive_field))
            continue
        # each sum made once: adding symbolic terms one by one re-sorts the growing sum every time
        out.append(Row(name, type_, row_depth, last.output_shape, *(
            _total([getattr(m, attribute) for m in members])
            for attribute in ("params", "trainable_params", "macs", "flops", "activation_bytes")),
            last.receptive_field, len(members)))
    return out


def _total(terms: list) -> Any:
    """``terms[0] + terms[1] + ...``: ints as ints, symbolic terms in one sympy Add (the same expression)."""
    if all(type(term) is int for term in terms):
        return sum(terms)
    import sympy
    return sympy.Add(*terms)


def depth_note(report: Report, shown_rows: int, depth: int | None) -> str | None:
    """How to see every layer, when blocks were folded into fewer rows; else None."""
    total = len(report.layers)
    if depth is None or shown_rows >= total:
        return None
    return f"{shown_rows:,} rows for {total:,} layers (blocks folded below depth {depth}): --depth all shows every layer"


def memoised(function: Any) -> Any:
    """``function`` of one value, remembering its text per distinct value (at most _MEMO_LIMIT of them).

    A long network repeats the same shapes, fields and counts row after row (a chain of 100,000
    layers has 2,000 distinct fields), so each is formatted once per value. Only for functions whose
    text depends on the value alone: equal values (3 and Fraction(3), a field whose start is
    Fraction(0)) give equal texts. An unhashable value is formatted each time.
    """
    memo: dict = {}

    @wraps(function)
    def wrapper(value: Any) -> str:
        try:
            return memo[value]
        except KeyError:
            text = function(value)
            if len(memo) < _MEMO_LIMIT:
                memo[value] = text
            return text
        except TypeError:
            return function(value)
    return wrapper


_MEMO_LIMIT = 1 << 16


@memoised
def shape_text(shape: tuple) -> str:
    return "[" + ", ".join(formula_text(s) for s in shape) + "]"


_MEMO_PRINTER: Any = None


def formula_text(value: Any) -> str:
    """``str(value)``, with sympy expressions printed by one memoising printer.

    A symbolic table repeats the same sub-expressions (``floor(H/4 - 1/4) + 1``)
    in hundreds of cells, and sympy's printer sorts the terms of every sum it
    meets (773 ``__str__`` calls, 0.7 s for ResNet-50 at [3, H, W]); printing
    each distinct sub-expression once gives the same text. sympy is never
    imported here: a value can only be a sympy object if sympy is loaded.
    """
    if type(value) is int or "sympy" not in sys.modules:
        return str(value)
    import sympy
    if not isinstance(value, sympy.Basic):
        return str(value)
    global _MEMO_PRINTER
    if _MEMO_PRINTER is None:
        _MEMO_PRINTER = _memo_printer()
    return _MEMO_PRINTER.doprint(value)


def _memo_printer() -> Any:
    from sympy.printing.str import StrPrinter

    class MemoPrinter(StrPrinter):
        """StrPrinter (what ``str`` uses, default settings) remembering each sub-expression's text."""

        def __init__(self) -> None:
            super().__init__()
            self.memo: dict = {}

        def _print(self, expr, **kwargs) -> str:
            if kwargs:
                return super()._print(expr, **kwargs)
            try:
                return self.memo[expr]
            except KeyError:
                text = self.memo[expr] = super()._print(expr)
                return text
            except TypeError:                          # unhashable: print it as it is
                return super()._print(expr)

    return MemoPrinter()


def axis_names(count: int) -> tuple[str, ...]:
    """The spatial axes' names: L for one, H W for two, D H W for three."""
    return ("L",) if count == 1 else ("D", "H", "W")[-count:] if count <= 3 else tuple(f"axis {i}" for i in range(count))


def whole_input(field: Field) -> bool:
    """Global on every axis and reading the whole input (on a global axis jump is the input's extent)."""
    return field.all_global and all(s == j for s, j in zip(field.size, field.jump))


def global_note(field: Field) -> str:
    """'global', or 'global along W' where only some axes are mixed."""
    if field.all_global:
        return "global"
    names = axis_names(len(field.size))
    return "global along " + " and ".join(n for axis, n in enumerate(names) if field.axis_global(axis))


@memoised
def field_text(field: Field) -> str:
    """'7×7', 'global' (the whole input), '223×223 global', '3×32 global along W'; '*' when paths disagree."""
    if whole_input(field):
        text = "global"
    else:
        text = "×".join(_number(s) for s in field.size) + (f" {global_note(field)}" if field.is_global else "")
    return text + ("*" if not field.aligned else "")


def field_sentence(field: Field) -> str:
    """The output's field in one sentence, for the summary and `cnncalc rf`."""
    if whole_input(field):
        return "Receptive field of the output: the whole input (global)"
    if field.all_global:
        return (f"Receptive field of the output: size {' × '.join(_number(v) for v in field.size)} of the input's "
                f"{' × '.join(_number(v) for v in field.jump)} (global: every output element reads the same "
                f"part; the rest is never read)")
    return (f"Receptive field of the output: size {' × '.join(_number(v) for v in field.size)}, "
            f"jump {' × '.join(_number(v) for v in field.jump)}, start {', '.join(_number(v) for v in field.start)}"
            + (f" ({global_note(field)})" if field.is_global else "")
            + ("" if field.aligned else f" (paths misaligned, parting at {field.parted_at})"))


def _number(value: Any) -> str:
    return str(value) if type(value) is int else formula_text(json_value(value))
