"""The terminal table: one row per layer, totals in the footer.

Columns are aligned here (widths from the cell strings) and rich only
prints and styles the finished lines: rich's Table lays out every cell
itself, which costs about 0.3 s for ResNet-50's 175 rows, longer than the
whole analysis. The look follows rich's SIMPLE_HEAD box.
"""

from __future__ import annotations


from typing import Sequence

from ..report import Report
from ..units import format_bytes, format_count
from .rows import field_sentence, field_text, rows, shape_text

# header, right-aligned?
COLUMNS = (("Layer", False), ("Type", False), ("Output shape", False), ("Params", True), ("MACs", True),
           ("FLOPs", True), ("Memory", True), ("Field", True))
GAP = "  "


def _count(value) -> str:
    return format_count(value) if isinstance(value, int) else str(value)


def _bytes(value) -> str:
    return format_bytes(value) if isinstance(value, int) else str(value)


def table_cells(report: Report, depth: int | None = None) -> tuple[list[list[str]], list[str]]:
    """The body cells (one list per row) and the footer cells, as strings."""
    body = []
    for row in rows(report, depth):
        body.append(["  " * row.depth + row.name, row.type, shape_text(row.output_shape), _count(row.params),
                     _count(row.macs), _count(row.flops), _bytes(row.activation_bytes),
                     field_text(row.receptive_field)])
    t = report.totals
    footer = ["Total", "", shape_text(report.output_shape), _count(t.params), _count(t.macs), _count(t.flops),
              _bytes(t.activation_bytes), field_text(report.receptive_field)]
    return body, footer


def align(header: Sequence[str], body: list[list[str]], footer: Sequence[str] | None,
          right: Sequence[bool]) -> list[str]:
    """Fixed-width lines: header, rule, body, rule, footer."""
    widths = [len(h) for h in header]
    for cells in body + ([list(footer)] if footer else []):
        for i, cell in enumerate(cells):
            if len(cell) > widths[i]:
                widths[i] = len(cell)

    def line(cells: Sequence[str]) -> str:
        return " " + GAP.join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    rule = " " + "─" * (sum(widths) + len(GAP) * (len(widths) - 1))
    lines = [line(header), rule] + [line(cells) for cells in body]
    if footer:
        lines += [rule, line(footer)]
    return lines


def summary_lines(report: Report) -> list[str]:
    t = report.totals
    lines = [
        f"Params: {_exact(t.params)} ({_count(t.params)}); trainable {_exact(t.trainable_params)}, "
        f"non-trainable {_exact(t.non_trainable_params)}; buffers {_exact(t.buffers)}",
        f"MACs: {_exact(t.macs)} ({_count(t.macs)})   FLOPs: {_exact(t.flops)} ({_count(t.flops)})",
        f"Memory ({report.dtype}): parameters {_bytes(t.param_bytes)}, activations {_bytes(t.activation_bytes)} "
        f"in total, peak {_bytes(t.peak_activation_bytes)}",
    ]
    lines.append(field_sentence(report.receptive_field))
    if any(not row.receptive_field.aligned for row in report.layers):
        lines.append("* merged paths disagree in jump or centre: see `cnncalc rf`")
    return lines


def _exact(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_table(report: Report, depth: int | None = None, width: int | None = None) -> str:
    """Plain text; `print_table` adds colour on a terminal."""
    body, footer = table_cells(report, depth)
    title = f"{report.name} — input {shape_text(report.input_shape)}, {report.dtype}"
    lines = [title, ""] + align([h for h, _ in COLUMNS], body, footer, [r for _, r in COLUMNS]) + [""]
    lines += summary_lines(report)
    return "\n".join(lines) + "\n"


def print_table(report: Report, depth: int | None = None, file=None) -> None:
    """Print with rich: bold header and totals, misaligned fields highlighted."""
    from rich.console import Console
    from rich.text import Text
    console = Console(file=file, highlight=False)
    text = render_table(report, depth)
    lines = text.splitlines()
    for index, line in enumerate(lines):
        style = "bold" if index in (0, 2) or line.startswith(" Total") else None
        if "*" in line and not line.startswith("*"):
            style = "yellow"
        console.print(Text(line, style=style or ""), soft_wrap=True, crop=False)

