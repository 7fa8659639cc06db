"""`cnncalc explain`: one layer's figures as formulas with the numbers put in.

The shape, MACs and FLOPs lines come from the layer's own rule (it records
them while it computes, so they cannot drift apart); parameter and buffer
counts are spelt out from their shapes, and the receptive-field step from
Distill's recurrences with the layer's kernel, stride and padding.
"""

from __future__ import annotations

from fractions import Fraction

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .api import NetLike, as_network
from .errors import ArgumentError
from .overrides import check_overrides, describe
from .report import json_value


@dataclass(frozen=True)
class Explanation:
    """One layer's figures: each line is (label, formula with the numbers put in, value)."""

    layer: str
    type: str
    location: str
    inputs: tuple[tuple, ...]
    output_shape: tuple
    lines: tuple[tuple[str, str, Any], ...]      # label, formula with numbers, value


def _text(value: Any) -> str:
    out = json_value(value)
    if isinstance(out, int):
        return f"{out:,}"
    return str(out)


def _product(shape: Sequence[Any]) -> str:
    return " · ".join(str(s) for s in shape) if shape else "1"


def explain(net: NetLike, layer: str, *, input: Sequence[Any] | None = None,
            sizes: Mapping[str, int] | None = None, batch: int | None = None,
            dtype: str | None = None) -> Explanation:
    """The formulas of one layer (by its path, e.g. ``layer1.0.conv1``) with the numbers put in.

    The keyword arguments are :func:`cnncalc.analyze`'s, checked the same way.
    """
    from .engine import evaluate, plan
    if not isinstance(layer, str):
        raise ArgumentError(f"layer expected a layer's name (a string such as 'conv1'), found {describe(layer)}")
    overrides = check_overrides(input=input, sizes=sizes, batch=batch, dtype=dtype).as_kwargs()
    network = as_network(net)
    the_plan = plan(network)
    names = [planned.spec.path for planned in the_plan.layers]
    if layer not in names and len(layer) > 200:            # too long to be a misspelling worth a suggestion
        from .text import shown
        raise ArgumentError(f"no layer named {shown(layer)} in {shown(network.name)}")
    if layer not in names:
        # the error helper of Report suggests the nearest name
        report = evaluate(the_plan, **overrides)
        report.layer(layer)
    report = evaluate(the_plan, explain=layer, **overrides)
    row = report.layers[layer]
    index = names.index(layer)
    planned = the_plan.layers[index]
    inputs = tuple(report.input_shape if slot == -1 else report.layers[slot].output_shape
                   for slot in planned.input_slots)
    lines: list[tuple[str, str, Any]] = []
    recorded = list(report.explanation)
    lines += [line for line in recorded if line[0].endswith("_out")]
    if row.param_shapes:
        formula = " + ".join(f"{name} {_product(shape)}" for name, shape in row.param_shapes.items())
        lines.append(("params", formula, row.params))
    if row.buffer_shapes:
        formula = " + ".join(f"{name} {_product(shape)}" for name, shape in row.buffer_shapes.items())
        lines.append(("buffers", formula, row.buffers))
    lines += [line for line in recorded if not line[0].endswith("_out")]
    lines.append(("activation bytes", f"{_product(row.output_shape)} · {_bytes_of(report)}", row.activation_bytes))
    lines += _field_lines(report, planned, row)
    return Explanation(layer, row.type, str(planned.spec.loc), inputs, row.output_shape, tuple(lines))


def _bytes_of(report) -> int:
    from .spec.model import DTYPE_BYTES
    return DTYPE_BYTES[report.dtype]


def _field_lines(report, planned, row) -> list[tuple[str, str, Any]]:
    """r, S and c of the output field, per axis, from the input's field and this layer's step."""
    field = row.receptive_field
    slots = planned.input_slots
    axes = ("L",) if len(field.size) == 1 else ("D", "H", "W")[-len(field.size):]
    if field.all_global:
        return [_global_line(name, field, axis) for axis, name in enumerate(axes)]
    if len(slots) != 1 and field.is_global:
        return [_global_line(name, field, axis) if field.axis_global(axis) else
                (f"field {name}", "largest of the merged paths", f"r {_text(field.size[axis])}")
                for axis, name in enumerate(axes)]
    if len(slots) != 1:
        state = "aligned" if field.aligned else f"misaligned (paths part at {field.parted_at})"
        return [("field", f"largest of the merged paths, {state}", "×".join(_text(s) for s in field.size))]
    source = None if slots[0] == -1 else report.layers[slots[0]].receptive_field
    steps = report.explained_step
    lines = []
    for axis, name in enumerate(axes):
        if field.axis_global(axis):
            lines.append(_global_line(name, field, axis))
            continue
        r_in = 1 if source is None else source.size[axis]
        s_in = 1 if source is None else source.jump[axis]
        c_in = 0 if source is None else source.start[axis]
        r, s, c = field.size[axis], field.jump[axis], field.start[axis]
        step = steps[axis] if isinstance(steps, tuple) and axis < len(steps) else None
        result = f"r {_text(r)}, S {_text(s)}, c {_text(c)}"
        if step is None:
            lines.append((f"field {name}", "unchanged", result))
        elif hasattr(step, "period") and step.period == 1 and not _affine_holds(step, r_in, s_in, c_in, r, s, c):
            lines.append((f"field {name}", f"output j reads inputs j·{step.advance} + ({step.low[0]} … "
                          f"{step.high[0]}), composed exactly with the input's field, whose elements differ by "
                          f"phase (Distill's one-step rule does not apply)", result))
        elif hasattr(step, "period") and step.period == 1:
            low, high = step.low[0], step.high[0]
            lines.append((f"field {name}",
                          f"output j reads inputs j·{step.advance} + ({low} … {high}): "
                          f"r = r_in + ({high} − ({low}))·S_in = {_text(r_in)} + {high - low}·{_text(s_in)} = {_text(r)}; "
                          f"S = S_in·{step.advance} = {_text(s_in)}·{step.advance} = {_text(s)}; "
                          f"c = c_in + (({low}) + {high})/2·S_in = {_text(c_in)} + (({low}) + {high})/2·{_text(s_in)} "
                          f"= {_text(c)}", result))
        elif hasattr(step, "period"):
            phases = "; ".join(f"{q}: {'nothing' if lo is None else f'{lo} … {hi}'}"
                               for q, (lo, hi) in enumerate(zip(step.low, step.high)))
            lines.append((f"field {name}",
                          f"output {step.period}n + q reads inputs {step.advance}n + (q {phases}); "
                          f"fields composed exactly per phase", result))
        else:
            lines.append((f"field {name}",
                          f"r = r_in + span·S_in = {_text(r_in)} + {_text(step.span)}·{_text(s_in)} = {_text(r)}; "
                          f"S = S_in·stride = {_text(s_in)}·{_text(step.stride)} = {_text(s)}; "
                          f"c = c_in + offset·S_in = {_text(c_in)} + ({_text(step.offset)})·{_text(s_in)} = {_text(c)}",
                          result))
    return lines


def _affine_holds(step, r_in, s_in, c_in, r, s, c) -> bool:
    """Whether Distill's recurrence from the input's r, S, c gives this layer's figures (it does unless
    the input's field differs by phase, after a transposed convolution, upsampling or a misaligned merge)."""
    try:
        low, high = step.low[0], step.high[0]
        return (r_in + (high - low) * s_in == r and s_in * step.advance == s
                and c_in + Fraction(low + high, 2) * s_in == c)
    except TypeError:               # symbolic sizes: sympy compares structurally; keep the formula
        return True


def _global_line(name: str, field, axis: int) -> tuple[str, str, Any]:
    """A global axis: every output element reads the same part, what all the input's elements read together."""
    size, centre = field.size[axis], field.start[axis]
    if size == 0:
        return (f"field {name}", "global: no input element is read", "r 0")
    low, high = centre - Fraction(size - 1, 2), centre + Fraction(size - 1, 2)
    whole = size == field.jump[axis]
    return (f"field {name}", f"global: every output element reads input {_text(low)} … {_text(high)} "
            f"({'the whole input' if whole else 'the rest is never read'}): r = {_text(high)} − {_text(low)} + 1 "
            f"= {_text(size)}", f"r {_text(size)}, c {_text(centre)}")


def format_explanation(explanation: Explanation) -> str:
    out = [f"{explanation.layer} ({explanation.type}) at {explanation.location}",
           "  input  " + ", ".join("[" + ", ".join(_text(d).replace(",", "") for d in shape) + "]"
                                   for shape in explanation.inputs)]
    for label, formula, value in explanation.lines:
        shown = f" = {_text(value)}" if value is not None and not isinstance(value, str) else (f" → {value}" if value else "")
        out.append(f"  {label} = {formula}{shown}")
    out.append("  output [" + ", ".join(_text(d).replace(",", "") for d in explanation.output_shape) + "]")
    return "\n".join(out)


def explain_text(net: NetLike, layer: str, **overrides: Any) -> str:
    """The explanation of ``layer`` as the text ``cnncalc explain`` prints."""
    return format_explanation(explain(net, layer, **overrides))
