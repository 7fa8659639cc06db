"""The terminal table (rich): one row per layer, totals in the footer."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table

from ..report import Report
from ..units import format_bytes, format_count
from .rows import field_text, rows, shape_text


def _count(value) -> str:
    return format_count(value) if isinstance(value, int) else str(value)


def _bytes(value) -> str:
    return format_bytes(value) if isinstance(value, int) else str(value)


def build_table(report: Report, depth: int | None = None) -> Table:
    t = report.totals
    table = Table(title=f"{report.name} — input {shape_text(report.input_shape)}, {report.dtype}",
                  box=box.SIMPLE_HEAD, show_footer=True, title_justify="left", header_style="bold")
    table.add_column("Layer", footer="Total", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Output shape", footer=shape_text(report.output_shape))
    table.add_column("Params", justify="right", footer=_count(t.params))
    table.add_column("MACs", justify="right", footer=_count(t.macs))
    table.add_column("FLOPs", justify="right", footer=_count(t.flops))
    table.add_column("Memory", justify="right", footer=_bytes(t.activation_bytes))
    table.add_column("Field", justify="right", footer=field_text(report.receptive_field))
    for row in rows(report, depth):
        name = "  " * row.depth + row.name
        table.add_row(name, row.type, shape_text(row.output_shape), _count(row.params), _count(row.macs),
                      _count(row.flops), _bytes(row.activation_bytes), field_text(row.receptive_field))
    return table


def summary_lines(report: Report) -> list[str]:
    t = report.totals
    lines = [
        f"Params: {_exact(t.params)} ({_count(t.params)}); trainable {_exact(t.trainable_params)}, "
        f"non-trainable {_exact(t.non_trainable_params)}; buffers {_exact(t.buffers)}",
        f"MACs: {_exact(t.macs)} ({_count(t.macs)})   FLOPs: {_exact(t.flops)} ({_count(t.flops)})",
        f"Memory ({report.dtype}): parameters {_bytes(t.param_bytes)}, activations {_bytes(t.activation_bytes)} "
        f"in total, peak {_bytes(t.peak_activation_bytes)}",
    ]
    field = report.receptive_field
    if field.is_global:
        lines.append("Receptive field of the output: the whole input (global)")
    else:
        lines.append(f"Receptive field of the output: {field_text(field)}, jump "
                     f"{'×'.join(str(j) for j in field.jump)}, start {', '.join(str(s) for s in field.start)}"
                     + ("" if field.aligned else f" (paths misaligned, parting at {field.parted_at})"))
    if any(not row.receptive_field.aligned for row in report.layers):
        lines.append("* the merged paths disagree in jump or centre: see `cnncalc rf`")
    return lines


def _exact(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_table(report: Report, depth: int | None = None, width: int | None = None) -> str:
    console = Console(file=io.StringIO(), width=width or 120, force_terminal=False, color_system=None,
                      highlight=False)
    console.print(build_table(report, depth))
    for line in summary_lines(report):
        console.print(line, soft_wrap=True)
    return console.file.getvalue()
