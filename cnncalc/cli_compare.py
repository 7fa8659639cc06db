"""`cnncalc compare FILE`: every peer tool's MACs, the rows where they differ, and why."""

from __future__ import annotations

import click

COMPARE_EXAMPLES = """
\b
Examples:
  cnncalc compare examples/resnet50.yaml
  cnncalc compare examples/unet.yaml --input 1,64,64
  cnncalc summarize examples/resnet50.yaml --count-as fvcore
"""


def _number(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _grid(cells: list[tuple[str, ...]]) -> tuple[list[int], int]:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return widths, sum(widths) + 2 * (len(widths) - 1)


def format_comparison(comparison, width: int | None = None) -> str:
    """The table and its reasons as plain text (layer types are registered names; the name is made visible).

    A column per tool with exact figures; where that is wider than ``width``, a row per tool with
    compact figures (4.089G) instead, so an 80-column terminal shows it whole."""
    from .counting.compare import COLUMNS
    from .text import visible
    from .units import format_count
    cells = [("type", *COLUMNS)]
    cells += [(visible(name), *(_number(v) for v in values)) for name, values in comparison.rows]
    cells.append(("Total", *(_number(v) for v in comparison.total)))
    widths, total_width = _grid(cells)
    if width is not None and total_width > width:
        short = lambda value: format_count(value) if isinstance(value, int) else str(value)   # noqa: E731
        types = [name for name, _ in comparison.rows]
        cells = [("tool", *(visible(t) for t in types), "Total")]
        for column, tool in enumerate(COLUMNS):
            cells.append((tool, *(short(values[column]) for _, values in comparison.rows),
                          short(comparison.total[column])))
        widths, _ = _grid(cells)
    lines = [f"{visible(comparison.name)}: MACs as each tool counts them (default settings)", ""]
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))).rstrip())
        if index == 0 or (index == len(cells) - 2 and cells[0][0] == "type"):
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("Why:" if comparison.reasons else "Every tool counts this network as cnncalc does.")
    lines += [f"- {line}" for _, line in comparison.reasons]
    return "\n".join(lines)


def register(main: click.Group) -> None:
    from .cli_common import analysis_options, parse_batch, parse_input, parse_sets

    from .cli_view import WIDTH_HELP, table_width

    @main.command(epilog=COMPARE_EXAMPLES)
    @click.argument("file")
    @analysis_options
    @click.option("--width", type=click.IntRange(40, 1000), default=None, metavar="N", help=WIDTH_HELP)
    def compare(file, input_text, sets, batch, dtype, width):
        """MACs as torchinfo, fvcore, ptflops, thop, torchscan and FlopCounterMode count them.

        One column per tool (reproduced analytically, no torch needed), the
        layer types where they differ, and one line per reason
        (docs/conventions.md §4).
        """
        from .api import load
        from .counting.compare import compare as build
        from .engine import evaluate, plan
        from .errors import ArgumentError
        from .overrides import check_overrides
        overrides = check_overrides(input=parse_input(input_text), sizes=parse_sets(sets),
                                    batch=parse_batch(batch), dtype=dtype)
        the_plan = plan(load(file))
        report = evaluate(the_plan, **overrides.as_kwargs())
        if report.symbols:
            raise ArgumentError(f"compare needs concrete sizes; the input has {', '.join(report.symbols)}",
                                hint="give them values with --set H=224,W=224 or replace the input with --input")
        click.echo(format_comparison(build(the_plan, report), table_width(width)))
