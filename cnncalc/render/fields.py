"""Text for `cnncalc rf` and `cnncalc sizes`."""

from __future__ import annotations

from typing import Any

from ..report import Report, json_value
from ..text import visible
from .rows import depth_note, field_sentence, global_note, rows, shape_text
from .table import align


def _value(value: Any) -> str:
    return str(json_value(value))


def _axes(values: tuple) -> str:
    return " × ".join(_value(v) for v in values)


def render_fields(report: Report, depth: int | None = None) -> str:
    """The `cnncalc rf` table; with ``depth``, a folded block shows its output's field."""
    body = []
    for row in rows(report, depth):
        field = row.receptive_field
        if field.is_global:
            state = global_note(field)
        elif field.aligned:
            state = "aligned"
        else:
            state = f"MISALIGNED (paths part at {visible(field.parted_at)})"
        body.append(["  " * row.depth + visible(row.name), visible(row.type), visible(shape_text(row.output_shape)),
                     _axes(field.size),
                     _axes(field.jump), ", ".join(_value(s) for s in field.start), state])
    header = ["Layer", "Type", "Output shape", "Size", "Jump", "Start", ""]
    lines = [f"{visible(report.name)} — receptive fields on input {visible(shape_text(report.input_shape))}", ""]
    lines += align(header, body, None, [False, False, False, True, True, True, False])
    lines += ["", field_sentence(report.receptive_field)]
    note = depth_note(report, len(body), depth)
    if note:
        lines.append(note)
    return "\n".join(lines) + "\n"


def sizes_dict(result) -> dict:
    return {
        "name": result.name, "input": [_value(d) if not isinstance(d, str) else d for d in result.input],
        "limit": result.limit,
        "symbols": [{
            "symbol": rule.symbol, "rule": rule.rule, "smallest": rule.smallest, "period": rule.period,
            "residues": list(rule.residues), "valid_examples": list(rule.valid_examples),
            "refusals": [{"size": r.size, "layer": r.layer, "reason": r.reason} for r in rule.refusals],
            "final_size": rule.final_size,
        } for rule in result.rules],
        "notes": list(result.notes),
    }


def render_sizes(result) -> str:
    lines = [f"{visible(result.name)} — valid input sizes for [{', '.join(visible(d) for d in result.input)}] "
             f"(sizes 1..{result.limit} tried)", ""]
    for rule in result.rules:
        lines.append(f"{rule.symbol}: {rule.rule}")
        if rule.smallest is not None:
            lines.append(f"  smallest: {rule.smallest}; e.g. {', '.join(map(str, rule.valid_examples))}")
        if rule.final_size:
            lines.append(f"  last spatial size before the output: {rule.final_size}")
        for refusal in rule.refusals:
            lines.append(f"  {rule.symbol} = {refusal.size} is refused by {visible(refusal.layer)}: "
                         f"{visible(refusal.reason)}")
        lines.append("")
    for note in result.notes:
        lines.append(f"note: {visible(note)}")
    return "\n".join(lines).rstrip() + "\n"
