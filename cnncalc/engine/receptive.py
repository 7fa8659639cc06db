"""Receptive fields: Distill's quantities, computed exactly on any graph.

Per spatial axis a tensor's field is periodic: element m·period + r sees the
input elements from m·advance + low[r] to m·advance + high[r]. A plain
convolution chain keeps period 1 and this is exactly Araujo, Norris, Sim
(Distill 2019): size r = high − low + 1, jump S = advance, start
c = (low + high)/2 = −P + (r − 1)/2. Transposed convolutions, upsampling and
adaptive pooling make several phases whose fields are not evenly spaced;
composing their exact maps (layers.base.AxisMap) gives what the gradient
measures, where the article's affine recurrence would be off (U-Net: 204,
not 200). Reported: size = the largest phase, jump = advance/period,
start = the centre of element 0's field.

Global axes (global pooling, flatten, linear on the last axis, softmax over
an axis) are exact too: one output element reads, along that axis, the
union of what every element of the layer's input reads -- from the low end
of the first element that sees anything to the high end of the last, cut to
the input (padding is not read). SqueezeNet 1.0's unpadded 7×7/2 stem never
reads row 223 of a 224 input: its global field is 223 × 223 (`Mixed`).

Work is bounded before it is spent. A field whose period would pass
MAX_PERIOD (4096: 13 × Upsample(scale_factor=2), ConvTranspose strides
8·8·8·8·2, one stride of 4097) and every field once an evaluation has
enumerated PHASE_BUDGET phases in all is carried by Distill's affine rule
instead: jump stays exact (advance/period), size and start become the
article's r and c for that layer onward. Fields before that point, and
every network whose periods stay small (U-Net, FCN, any plain CNN), are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor, gcd
from typing import Any, Callable, Sequence

from ..layers.base import GLOBAL, AxisMap, AxisStep, MAX_PERIOD, dim_max
from ..report import Field

# one axis: (period, advance, low per phase, high per phase); low/high None = sees nothing
Axis = tuple


PHASE_BUDGET = 1_000_000       # phases one evaluation may enumerate in all (about a second of work)


class PhaseBudget:
    """How many more phases exact fields may enumerate in this evaluation (then: the affine rule)."""

    __slots__ = ("left",)

    def __init__(self, left: int = PHASE_BUDGET) -> None:
        self.left = left

    def spend(self, phases: int) -> bool:
        """True, and the phases counted, when they fit; False leaves the budget as it was."""
        if phases > self.left:
            return False
        self.left -= phases
        return True


@dataclass(frozen=True, slots=True)
class Mixed:
    """An axis some layer mixed entirely: every element reads input ``low`` … ``high`` (None: nothing)."""

    low: Any
    high: Any


def _clip_low(value: Any) -> Any:
    """The first input element at or after ``value`` (coordinates below 0 are padding, never read)."""
    if isinstance(value, (int, Fraction)):
        return max(0, ceil(value))
    import sympy
    return sympy.Max(0, sympy.ceiling(value))


def _clip_high(value: Any, extent: Any) -> Any:
    """The last input element at or before ``value`` (coordinates from ``extent`` on are padding)."""
    if isinstance(value, (int, Fraction)) and isinstance(extent, int):
        return min(extent - 1, floor(value))
    import sympy

    from ..layers.floors import floor_of
    value = floor_of(value)                  # sympy's floor, built without its general evaluation
    if _at_least(value - (extent - 1)):      # reads up to the border for every size: the border
        return extent - 1
    return sympy.Min(extent - 1, value)


def _at_least(expression: Any) -> bool:
    """Whether a symbolic expression is ≥ 0 for every size, proved with floor(u) ≥ u − 1.

    The bound is only applied where each floor has a positive coefficient
    (then replacing it by something smaller gives a lower bound); a False is
    "not proved", and the caller keeps the exact Min.
    """
    import sympy
    current = sympy.expand(expression)
    for _ in range(8):
        floors = [f for f in current.atoms(sympy.floor) if not any(
            f is not other and f.has(other) is False and other.has(f) for other in current.atoms(sympy.floor))]
        if not floors:
            break
        if not all(current.coeff(f).is_positive for f in floors):
            return False
        current = sympy.expand(current.xreplace({f: f.args[0] - 1 for f in floors}))
    if current.atoms(sympy.floor):
        return False
    return bool(current.is_nonnegative)


def hull(axis: Any, length: Any, extent: Any, exact: tuple | None = None) -> Mixed:
    """What all ``length`` elements of a tensor read along one axis, together, inside the input.

    Fields never move left as the index grows (SPEC §2, conventions §3.1), so
    the union runs from the low end of the first element that sees anything
    to the high end of the last one; padding (coordinates outside
    0 … extent − 1) is not read. ``exact``: the ends found by engine/reach.py, which also cuts
    the padding of every layer in between; this forward estimate is used where it cannot walk
    (symbolic sizes). Without the length (a tensor whose dims no
    longer line up with the input's axes), the whole input.
    """
    if type(axis) is Mixed:
        return axis
    if exact is not None:                    # walked back through the maps (engine/reach.py): padding cut at every layer
        return Mixed(*exact)
    if length is None:
        return Mixed(0, extent - 1)
    period, advance, low, high = axis
    if period == 1:
        if low[0] is None:
            return Mixed(None, None)
        first, last = low[0], (length - 1) * advance + high[0]
    else:
        if not isinstance(length, int):
            return Mixed(0, extent - 1)          # symbolic length with phases: the whole input (conventions §3.2)
        seeing = [q for q in range(period) if low[q] is not None and q < length]
        if not seeing:
            return Mixed(None, None)
        first = low[seeing[0]]
        tail = next(e for e in range(length - 1, max(-1, length - 1 - period), -1) if low[e % period] is not None)
        last = _field_at(tail, axis, high)
    lo, hi = _clip_low(first), _clip_high(last, extent)
    if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
        return Mixed(None, None)
    return Mixed(lo, hi)


def input_axes(rank: int) -> tuple[Axis, ...]:
    """The input: element i sees exactly itself."""
    return tuple((1, 1, (0,), (0,)) for _ in range(rank))


def half(value: Any) -> Any:
    if isinstance(value, int):
        return value // 2 if value % 2 == 0 else Fraction(value, 2)
    return value / 2


def _norm(value: Any) -> Any:
    if type(value) is Fraction and value.denominator == 1:
        return int(value)
    return value


def apply(axes: tuple[Axis, ...], steps: Sequence[Any], budget: PhaseBudget | None = None,
          lengths: Sequence[Any] | None = None, extent: Sequence[Any] = (),
          union: Callable[[int], tuple | None] | None = None) -> tuple[Axis, ...]:
    """The field after a layer whose per-axis maps are ``steps`` (None: unchanged; GLOBAL: the axis
    is mixed, see :func:`hull`; ``lengths``: the layer input's size per axis, ``extent``: the network input's)."""
    budget = PhaseBudget() if budget is None else budget
    out = list(axes)
    for index, step in enumerate(steps):
        if step is None or index >= len(out) or type(out[index]) is Mixed:
            continue                         # a mixed axis stays mixed: later layers read the same union
        if step is GLOBAL:
            out[index] = hull(out[index], None if lengths is None else lengths[index], extent[index],
                              None if union is None else union(index))
        elif type(step) is AxisMap:
            out[index] = _compose(out[index], step, budget)
        else:
            out[index] = _affine(out[index], step)
    return tuple(out)


def _compose(axis: Axis, step: AxisMap, budget: PhaseBudget) -> Axis:
    period, advance, low, high = axis
    if period == 1:                      # the common case: Distill's recurrence, in integers
        base_low, base_high = low[0], high[0]
        if base_low is None:             # nothing reaches this tensor: nothing reaches what it feeds
            return axis
        if step.period == 1:
            return (1, advance * step.advance, (_at(step.low[0], advance, base_low),),
                    (_at(step.high[0], advance, base_high),))
    common = gcd(step.advance, period) if isinstance(advance, int) or period == 1 else 1
    new_period = step.period * (period // common)
    # composing, then collapsing for the report, walks the new period twice
    if new_period > MAX_PERIOD or not budget.spend(2 * new_period):
        return _affine(axis, _as_step(step))
    new_advance = advance * (step.advance // common)
    forward, backward = _gaps(low) if None in low else (None, None)
    new_low, new_high = [], []
    for element in range(new_period):
        block, phase = divmod(element, step.period)
        first, last = step.low[phase], step.high[phase]
        if first is None:
            new_low.append(None)
            new_high.append(None)
            continue
        first, last = block * step.advance + first, block * step.advance + last
        if forward is not None:          # skip the elements that see nothing, from either end of the window
            first, last = first + forward[first % period], last - backward[last % period]
            if first > last:
                new_low.append(None)
                new_high.append(None)
                continue
        new_low.append(_field_at(first, axis, low))
        new_high.append(_field_at(last, axis, high))
    return (new_period, new_advance, tuple(new_low), tuple(new_high))


def _gaps(low: tuple) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per phase, how far forward and backward the nearest phase that sees something is (cyclic)."""
    period = len(low)
    if all(value is None for value in low):
        return (period,) * period, (period,) * period      # never found: every window comes out empty
    forward, backward = [0] * period, [0] * period
    distance = next(d for d in range(period) if low[period - 1 - d] is not None)    # at phase −1
    for phase in range(period):                           # backward: distance to the last seeing phase at or before
        distance = 0 if low[phase] is not None else distance + 1
        backward[phase] = distance
    distance = next(d for d in range(period) if low[d] is not None)                # at phase `period`
    for phase in range(period - 1, -1, -1):               # forward: distance to the next seeing phase at or after
        distance = 0 if low[phase] is not None else distance + 1
        forward[phase] = distance
    return tuple(forward), tuple(backward)


def _at(offset: int, advance: Any, base: Any) -> Any:
    return offset * advance + base


def _field_at(index: int, axis: Axis, bounds: tuple) -> Any:
    """low or high of the field of the input element ``index``."""
    period, advance = axis[0], axis[1]
    block, phase = divmod(index, period)
    bound = bounds[phase]
    return None if bound is None else block * advance + bound


def _collapse(axis: Axis) -> tuple:
    """(size, jump, start) of an axis: the report's figures."""
    period, advance, low, high = axis
    if period == 1:
        if low[0] is None:
            return (0, advance, 0)
        return (high[0] - low[0] + 1, advance, half(low[0] + high[0]))
    sizes = [h - l + 1 for l, h in zip(low, high) if l is not None]
    jump = Fraction(advance, period) if isinstance(advance, int) else advance / period
    first = next((i for i, l in enumerate(low) if l is not None), None)
    if first is None:
        return (0, jump, 0)
    start = half(low[first] + high[first]) - first * jump        # where element 0's centre would be
    return (dim_max(sizes), jump, start)


def _affine(axis: Axis, step: AxisStep) -> Axis:
    """Distill's affine rule, for maps that cannot be enumerated (symbolic sizes)."""
    size, jump, start = _collapse(axis)
    size = size + step.span * jump
    start = start + step.offset * jump
    jump = jump * step.stride
    low = start - half(size - 1)
    return (1, _norm(jump), (_norm(low),), (_norm(low + size - 1),))


_IDENTITY = AxisStep(0, 1, 0)


_AS_STEP: dict[int, tuple[AxisMap, AxisStep]] = {}      # id -> (the map, kept alive; its affine step)


def _as_step(step: AxisMap) -> AxisStep:
    """The affine summary of a map (widest phase, mean stride, centre of phase 0), once per map object."""
    cached = _AS_STEP.get(id(step))
    if cached is not None and cached[0] is step:
        return cached[1]
    if len(_AS_STEP) >= 256:
        _AS_STEP.clear()
    result = _affine_summary(step)
    _AS_STEP[id(step)] = (step, result)
    return result


def _affine_summary(step: AxisMap) -> AxisStep:
    spans = [h - l for l, h in zip(step.low, step.high) if l is not None]
    first = step.low[0] if step.low[0] is not None else 0
    return AxisStep(max(spans) if spans else 0, Fraction(step.advance, step.period),
                    half(first + (step.high[0] if step.high[0] is not None else 0)))


def to_field(axes: tuple[Axis, ...], aligned: bool = True, parted_at: str | None = None,
             extent: Sequence[Any] = ()) -> Field:
    """The report's figures. A mixed axis: size = high − low + 1 of the union read, start its
    centre, jump the input's extent (SPEC §2: one field for every element)."""
    sizes, jumps, starts, flags = [], [], [], []
    for index, axis in enumerate(axes):
        if type(axis) is Mixed:
            if axis.low is None:
                size, start = 0, 0
            else:
                size, start = axis.high - axis.low + 1, half(axis.low + axis.high)
            jump = extent[index]
            flags.append(True)
        else:
            size, jump, start = _collapse(axis)
            flags.append(False)
        sizes.append(_norm(size))
        jumps.append(_norm(jump))
        starts.append(_norm(start))
    partial = tuple(flags) if any(flags) and not all(flags) else ()
    return Field(tuple(sizes), tuple(jumps), tuple(starts), aligned, any(flags), parted_at, partial)


def mix_all(axes: tuple[Axis, ...], lengths: Sequence[Any] | None, extent: Sequence[Any],
            union: Callable[[int], tuple | None] | None = None) -> tuple[Axis, ...]:
    """Every axis mixed (flatten, a linear layer on a flat tensor, a reshape across the axes)."""
    return tuple(hull(axis, None if lengths is None else lengths[i], extent[i],
                      None if union is None or type(axis) is Mixed else union(i)) for i, axis in enumerate(axes))


def _expand(axis: Axis, period: int) -> Axis:
    """The same field written with a longer period (a multiple of its own)."""
    own, advance, low, high = axis
    if own == period:
        return axis
    factor = period // own
    new_low = tuple(None if low[e % own] is None else (e // own) * advance + low[e % own] for e in range(period))
    new_high = tuple(None if high[e % own] is None else (e // own) * advance + high[e % own] for e in range(period))
    return (period, advance * factor, new_low, new_high)


def _dim_min(values: Sequence[Any]) -> Any:
    values = list(values)
    if all(isinstance(v, (int, Fraction)) for v in values):
        return min(values)
    import sympy
    return sympy.Min(*values)


def _extreme(pick, values):
    present = [v for v in values if v is not None]
    return pick(present) if present else None


def merge(sources: list[tuple[tuple[Axis, ...], bool]],
          budget: PhaseBudget | None = None, lengths: Sequence[Any] | None = None,
          extent: Sequence[Any] = (), unions: Sequence[Callable[[int], tuple | None]] | None = None,
          ) -> tuple[tuple[Axis, ...], bool]:
    """The article's multi-path rule on exact fields.

    Aligned: the same jump and the same centre for every element. With the
    same jump the merged field is the union of the paths' fields, element by
    element (for aligned paths that is the largest, as in the article); with
    different jumps the widest path's field is kept (SPEC §2). Either
    disagreement makes aligned false. An axis mixed on any path is mixed:
    the union of every path's reads over all elements (``lengths``: the
    merge's size per axis), which does not change ``aligned``.
    """
    aligned = all(flag for _, flag in sources)
    rank = len(sources[0][0])
    merged = []
    for index in range(rank):
        axes = [state[index] for state, _ in sources]
        if all(a == axes[0] for a in axes):
            merged.append(axes[0])
            continue
        if any(type(a) is Mixed for a in axes):
            hulls = [hull(a, None if lengths is None else lengths[index], extent[index],
                          None if unions is None or type(a) is Mixed else unions[k](index))
                     for k, a in enumerate(axes)]
            merged.append(Mixed(_extreme(_dim_min, [h.low for h in hulls]), _extreme(dim_max, [h.high for h in hulls])))
            continue
        period = axes[0][0]
        for a in axes[1:]:
            period = period * a[0] // gcd(period, a[0]) if isinstance(period, int) and isinstance(a[0], int) else 1
        if isinstance(period, int) and period <= MAX_PERIOD and (budget or PhaseBudget()).spend(
                (len(axes) + 2) * period):
            expanded = [_expand(a, period) for a in axes]
        else:                               # too long to line up: every path collapsed to the affine rule
            expanded = [_affine(a, _IDENTITY) for a in axes]
            period = 1
        same_jump = all(a[1] == expanded[0][1] and a[0] == expanded[0][0] for a in expanded)
        same_centres = same_jump and all(
            all((l is None) == (l0 is None) and (l is None or l + h == l0 + h0)
                for l, h, l0, h0 in zip(a[2], a[3], expanded[0][2], expanded[0][3])) for a in expanded)
        if not same_centres:
            aligned = False
        if same_jump:
            # the union of the paths' fields, element by element: what the gradient sees
            merged.append((period, expanded[0][1],
                           tuple(_extreme(min, [a[2][p] for a in expanded]) for p in range(period)),
                           tuple(_extreme(max, [a[3][p] for a in expanded]) for p in range(period))))
        else:
            # jumps differ: the fields drift apart, no periodic union exists; SPEC: the widest path
            merged.append(max(axes, key=lambda a: _collapse(a)[0]))
    return tuple(merged), aligned


__all__ = ["GLOBAL", "PHASE_BUDGET", "Mixed", "PhaseBudget", "apply", "hull", "input_axes", "merge", "mix_all",
           "to_field"]
