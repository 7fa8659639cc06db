"""Rows for the tabular formats: layers, or blocks folded to a depth."""

from __future__ import annotations

from dataclasses import dataclass
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
    out: list[Row] = []
    for layer in report.layers:
        if depth is not None and layer.depth > depth:
            scope = layer.scopes[depth]
            if out and out[-1].name == scope:
                last = out[-1]
                out[-1] = Row(scope, last.type, depth, layer.output_shape, last.params + layer.params,
                              last.trainable_params + layer.trainable_params, last.macs + layer.macs,
                              last.flops + layer.flops, last.activation_bytes + layer.activation_bytes,
                              layer.receptive_field, last.layers + 1)
                continue
            out.append(Row(scope, report.scope_types.get(scope, "block"), depth, layer.output_shape, layer.params,
                           layer.trainable_params, layer.macs, layer.flops, layer.activation_bytes,
                           layer.receptive_field))
            continue
        out.append(Row(layer.name, layer.type, layer.depth, layer.output_shape, layer.params,
                       layer.trainable_params, layer.macs, layer.flops, layer.activation_bytes,
                       layer.receptive_field))
    return out


def depth_note(report: Report, shown_rows: int, depth: int | None) -> str | None:
    """How to see every layer, when blocks were folded into fewer rows; else None."""
    total = len(report.layers)
    if depth is None or shown_rows >= total:
        return None
    return f"{shown_rows:,} rows for {total:,} layers (blocks folded below depth {depth}): --depth all shows every layer"


def shape_text(shape: tuple) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


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
    return str(value) if type(value) is int else str(json_value(value))
