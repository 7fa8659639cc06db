"""A GitHub-flavoured Markdown table (for READMEs and PR comments)."""

from __future__ import annotations

from ..report import Report
from ..units import format_bytes, format_count
from .rows import field_text, rows, shape_text


def _count(value) -> str:
    return format_count(value) if isinstance(value, int) else f"`{value}`"


def _bytes(value) -> str:
    return format_bytes(value) if isinstance(value, int) else f"`{value}`"


def render_markdown(report: Report, depth: int | None = None) -> str:
    lines = [f"### {report.name}: input {shape_text(report.input_shape)}, {report.dtype}", "",
             "| layer | type | output shape | params | MACs | FLOPs | activations | field |",
             "|---|---|---|--:|--:|--:|--:|---|"]
    for row in rows(report, depth):
        indent = "&nbsp;&nbsp;" * row.depth
        lines.append(f"| {indent}{row.name} | {row.type} | {shape_text(row.output_shape)} | {_count(row.params)} | "
                     f"{_count(row.macs)} | {_count(row.flops)} | {_bytes(row.activation_bytes)} | "
                     f"{field_text(row.receptive_field)} |")
    t = report.totals
    lines.append(f"| **total** | | {shape_text(report.output_shape)} | **{_count(t.params)}** | **{_count(t.macs)}** | "
                 f"**{_count(t.flops)}** | {_bytes(t.activation_bytes)} | {field_text(report.receptive_field)} |")
    lines += ["", f"Trainable params {_count(t.trainable_params)}, buffers {_count(t.buffers)}, "
                  f"parameter memory {_bytes(t.param_bytes)}, peak activation memory "
                  f"{_bytes(t.peak_activation_bytes)}."]
    return "\n".join(lines) + "\n"
