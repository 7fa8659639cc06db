"""Which input sizes a network accepts: `cnncalc sizes`.

The spatial sizes become symbols (a file's own names, or L / H, W / D, H, W
for concrete inputs); one symbolic pass records every condition a layer
needs (sizes ≥ 1, kernels that fit, merged tensors that agree). Each
symbol's conditions are checked numerically for sizes 1..limit with the
other symbols held at a valid size, a rule is read off (smallest size,
period, residues: H = 16k, k ≥ 1), and an invalid size is confirmed by a
concrete evaluation, which names the layer that refuses it and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import CnnCalcError, ShapeError
from ..spec.model import NetworkSpec
from .plan import Plan, plan

AXIS_SYMBOLS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True)
class Refusal:
    size: int
    layer: str
    reason: str


@dataclass(frozen=True)
class SymbolRule:
    symbol: str
    smallest: int | None           # None: no valid size up to the limit
    period: int | None             # valid sizes repeat with this period (1: every size from smallest on)
    residues: tuple[int, ...]      # valid residues modulo the period
    rule: str                      # "H = 16k, k ≥ 1"
    valid_examples: tuple[int, ...]
    refusals: tuple[Refusal, ...]  # invalid sizes, each confirmed by a concrete evaluation
    final_size: str | None = None  # the last spatial size along this axis before the output goes global


@dataclass(frozen=True)
class SizesReport:
    name: str
    input: tuple
    rules: tuple[SymbolRule, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    limit: int = 0


def symbolic_input(network: NetworkSpec) -> tuple:
    """The input with every spatial size a symbol (a file's own names kept)."""
    dims = network.input
    spatial = len(dims) - 1
    names = AXIS_SYMBOLS[spatial] if spatial in AXIS_SYMBOLS else tuple(f"S{i}" for i in range(spatial))
    if network.channels_last:          # Keras files: [*spatial, C]
        return tuple(d if isinstance(d, str) else names[i] for i, d in enumerate(dims[:-1])) + (dims[-1],)
    return (dims[0],) + tuple(d if isinstance(d, str) else names[i] for i, d in enumerate(dims[1:]))


def solve_sizes(network: NetworkSpec, limit: int = 2048) -> SizesReport:
    import sympy

    from .analyze import evaluate
    the_plan = plan(network)
    dims = symbolic_input(network)
    symbols = [d for d in dims if isinstance(d, str)]
    report = evaluate(the_plan, input=dims)
    constraints = report.constraints
    by_name = {s.name: s for c in constraints for s in c.condition.free_symbols}
    checks = []
    for constraint in constraints:
        names = tuple(sorted(s.name for s in constraint.condition.free_symbols))
        arguments = [by_name[n] for n in names]
        function = numeric_function(arguments, constraint.condition)
        checks.append((names, function, constraint))

    # weights whose size follows the input (a Linear after Flatten) fix it to the file's own size
    notes = []
    reference = evaluate(the_plan) if not network.symbols else None
    for row in report.layers:
        if row.params and not isinstance(row.params, int):
            if reference is not None:
                expected = reference.layers[row.name].params
                names = tuple(sorted(s.name for s in row.params.free_symbols))
                function = numeric_function([by_name.get(n) or sympy.Symbol(n, integer=True, positive=True)
                                             for n in names], sympy.Eq(row.params, expected))
                checks.append((names, function, None))
                notes.append(f"{row.name} ({row.type}) has {expected:,} parameters at the file's input "
                             f"{list(network.input)}; its count {_show(row.params)} follows the input size, "
                             f"so only sizes that give the same count are valid")
            else:
                notes.append(f"{row.name} ({row.type}): its parameter count {_show(row.params)} follows the input "
                             f"size; a model built for one size accepts only sizes giving the same count")

    def holds(values: dict[str, int]) -> bool:
        for names, function, _ in checks:
            if not function(*(values[n] for n in names)):
                return False
        return True

    # a size valid for every symbol at once, to hold the others at
    base = next((v for v in range(1, limit + 1) if holds({s: v for s in symbols})), None)
    rules = []
    for symbol in symbols:
        others = {s: base if base is not None else 1 for s in symbols}
        valid = []
        for value in range(1, limit + 1):
            others[symbol] = value
            valid.append(holds(others))
        rules.append(_rule(symbol, valid, the_plan, dims, base, limit, report, reference))
    return SizesReport(network.name, dims, tuple(rules), tuple(notes), limit)


def _show(value: Any) -> str:
    from .symbolic import format_expr
    return format_expr(value)


def numeric_function(arguments: list, expr: Any) -> Any:
    """``expr`` as a plain Python function of ``arguments``, whatever the symbols are called.

    The file names the symbols (``[3, floor, W]``, ``lambda``, ``E``): lambdify would print
    those names into its generated code and namespace, where ``floor`` shadows the floor
    function and ``lambda`` is a syntax error. Each symbol is renamed ``_size0``, ``_size1``,
    ... (same assumptions) first, so no name from a file reaches generated code.
    """
    import sympy
    renamed = [sympy.Symbol(f"_size{index}", integer=True, positive=True) for index in range(len(arguments))]
    safe = expr.xreplace(dict(zip(arguments, renamed))) if isinstance(expr, sympy.Basic) else expr
    return sympy.lambdify(renamed, safe, modules=[{"floor": _floor, "ceiling": _ceil, "Mod": _mod}, "math"])


def _mod(a: Any, b: Any) -> Any:
    return a % b


def _floor(x: Any) -> int:
    import math
    return math.floor(x)


def _ceil(x: Any) -> int:
    import math
    return math.ceil(x)


def _rule(symbol: str, valid: list[bool], the_plan: Plan, dims: tuple, base: int | None, limit: int,
          report, reference) -> SymbolRule:
    sizes = [i + 1 for i, ok in enumerate(valid) if ok]
    final = _final_size(report, dims.index(symbol) + 1)      # the symbol's index in a batched shape
    if not sizes:
        refusals = _confirm(the_plan, dims, symbol, [1, limit], base, reference)
        return SymbolRule(symbol, None, None, (), f"no {symbol} from 1 to {limit} is valid", (), refusals, final)
    smallest = sizes[0]
    period = _period(valid, smallest - 1, limit)
    if period is None:
        finite = sizes[-1] < limit // 2
        rule = f"{symbol} in {_ranges(sizes)}" + ("" if finite else f" (no period found up to {limit})")
        residues: tuple[int, ...] = ()
    else:
        residues = tuple(sorted({s % period for s in sizes if s < smallest + period}))
        rule = _rule_text(symbol, smallest, period, residues)
    invalid = [i + 1 for i, ok in enumerate(valid) if not ok]
    probes = []
    if invalid:
        below = [s for s in invalid if s < smallest]
        above = [s for s in invalid if s > smallest]
        probes = ([below[-1]] if below else []) + above[:1]
    refusals = _confirm(the_plan, dims, symbol, probes, base, reference)
    return SymbolRule(symbol, smallest, period, residues, rule, tuple(sizes[:6]), refusals, final)


def _period(valid: list[bool], start: int, limit: int) -> int | None:
    tail = valid[start:]
    for period in range(1, max(2, len(tail) // 2 + 1)):       # at least two periods of evidence
        if all(tail[i] == tail[i + period] for i in range(len(tail) - period)):
            return period
    return None


def _rule_text(symbol: str, smallest: int, period: int, residues: tuple[int, ...]) -> str:
    if period == 1:
        return f"{symbol} ≥ {smallest}"
    if len(residues) == 1:
        residue = residues[0]
        k0 = (smallest - residue) // period
        offset = f" + {residue}" if residue else ""
        return f"{symbol} = {period}k{offset}, k ≥ {k0}"
    return f"{symbol} mod {period} in {{{', '.join(map(str, residues))}}}, {symbol} ≥ {smallest}"


def _ranges(sizes: list[int]) -> str:
    spans, start, previous = [], sizes[0], sizes[0]
    for size in sizes[1:] + [None]:
        if size != (previous + 1 if previous is not None else None):
            spans.append(f"{start}" if start == previous else f"{start}..{previous}")
            start = size
        previous = size
    return ", ".join(spans[:8]) + (", ..." if len(spans) > 8 else "")


def _confirm(the_plan: Plan, dims: tuple, symbol: str, probes: list[int], base: int | None,
             reference=None) -> tuple[Refusal, ...]:
    """Evaluate concretely at each probe size: the layer that refuses it and its message."""
    from .analyze import evaluate
    refusals = []
    for size in probes:
        concrete = tuple(size if d == symbol else (base or size) if isinstance(d, str) else d for d in dims)
        try:
            concrete_report = evaluate(the_plan, input=concrete)
        except ShapeError as err:
            refusals.append(Refusal(size, err.path or "?", err.message))
            continue
        except CnnCalcError:
            continue
        if reference is not None:
            for row, own in zip(concrete_report.layers, reference.layers):
                if row.params != own.params:
                    refusals.append(Refusal(size, row.name, f"needs {row.params:,} parameters, the file's size "
                                                            f"gives it {own.params:,} (input features differ)"))
                    break
    return tuple(refusals)


def _final_size(report, index: int) -> str | None:
    """The last size at ``index`` of the batched shape (a spatial axis) before the field turns global."""
    from .symbolic import format_expr
    last = None
    for row in report.layers:
        if row.receptive_field.is_global:
            break
        if len(row.output_shape) == len(report.input_shape):
            last = row
    if last is None:
        return None
    value = last.output_shape[index]
    if isinstance(value, int):
        return f"{last.name}: {value}"
    text = f"{last.name}: {format_expr(value)}"
    (symbol,) = value.free_symbols if len(value.free_symbols) == 1 else (None,)
    if symbol is None or value == symbol:
        return text
    import sympy
    function = numeric_function([symbol], value)
    spans, start, current = [], 1, function(1)
    for size in range(2, 4097):
        now = function(size)
        if now != current:
            spans.append(f"{current} for {symbol} in {start}..{size - 1}")
            start, current = size, now
            if len(spans) == 3:
                break
    return text + (f" ({'; '.join(spans)}; ...)" if spans else "")
