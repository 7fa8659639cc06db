"""The terminal table: one row per layer (or folded block), totals in the footer.

Columns are aligned here (widths from the cell strings) and rich only
prints and styles the finished lines: rich's Table lays out every cell
itself, which costs about 0.3 s for ResNet-50's 175 rows, longer than the
whole analysis. The look follows rich's SIMPLE_HEAD box.

Every cell that holds text from the file (network, layer and block names,
types, symbol names in shapes) goes through ``text.visible``: no control
character reaches the terminal. rich prints the lines as ``Text`` objects,
so markup in a name (``[red]x``) prints literally.

Given a width (``--width``, ``COLUMNS``, or the terminal's), the table fits
it: columns holding formulas (symbolic sizes) are wrapped first, then shapes,
then names; a cell's lines break after ``" + "``, ``"*"``, ``", "`` or ``"."``.
The summary under the table is wrapped to the same width.
"""

from __future__ import annotations

import re
import textwrap
from typing import Iterable, Iterator, Sequence

from ..report import Report
from ..text import visible
from ..units import format_bytes, format_count
from .rows import Row, depth_note, field_sentence, field_text, formula_text, memoised, rows, shape_text

# header, right-aligned?
COLUMNS = (("Layer", False), ("Type", False), ("Output shape", False), ("Params", True), ("MACs", True),
           ("FLOPs", True), ("Memory", True), ("Field", True))
GAP = "  "
LAYER, TYPE, SHAPE, PARAMS, MACS, FLOPS, MEMORY, FIELD = range(8)
# To fit a width, columns give up characters in this order (each stage down to its smallest width,
# the widest column first): figures that are formulas, shapes, names; at last every column.
SHRINK_STAGES = (((PARAMS, MACS, FLOPS, MEMORY), 11), ((SHAPE,), 12), ((LAYER, TYPE), 10),
                 (tuple(range(8)), 5))
# with a training step (--train): three more figures, which shrink with the other figures
TRAIN_COLUMNS = (("Bwd MACs", True), ("Saved", True), ("Grads", True))
TRAIN_SHRINK_STAGES = (((PARAMS, MACS, FLOPS, MEMORY, 8, 9, 10), 11), ((SHAPE,), 12), ((LAYER, TYPE), 10),
                       (tuple(range(11)), 5))


def _count(value) -> str:
    if type(value) is int:                  # ints only: 3000 and sympy's Integer(3000) are equal, printed apart
        return _int_count(value)
    return format_count(value) if isinstance(value, int) else compact(visible(formula_text(value)))


def _bytes(value) -> str:
    if type(value) is int:
        return _int_bytes(value)
    return format_bytes(value) if isinstance(value, int) else compact(visible(formula_text(value)))


_int_count = memoised(format_count)       # a long network's rows repeat their counts
_int_bytes = memoised(format_bytes)


@memoised
def _shape_cell(shape: tuple) -> str:
    return compact(visible(shape_text(shape)))


_ROUNDING = {"floor(": ("⌊", "⌋"), "ceiling(": ("⌈", "⌉"), "ceil(": ("⌈", "⌉")}
_ROUNDING_START = re.compile(r"\b(?:floor|ceiling|ceil)\(")


def compact(formula: str) -> str:
    """A formula as a table cell shows it: ``floor(H/2)`` as ``⌊H/2⌋`` (the full text is in JSON)."""
    if "(" not in formula:
        return formula
    out = []
    position = 0
    closers: list[str | None] = []          # per open parenthesis: its closing mark, or None for '('
    while True:
        match = _ROUNDING_START.search(formula, position)
        next_paren = min((i for i in (formula.find("(", position), formula.find(")", position)) if i >= 0),
                         default=-1)
        if match and (next_paren < 0 or match.start() <= next_paren):
            out.append(formula[position:match.start()])
            opener, closer = _ROUNDING[match.group()]
            out.append(opener)
            closers.append(closer)
            position = match.end()
        elif next_paren >= 0:
            out.append(formula[position:next_paren])
            if formula[next_paren] == "(":
                out.append("(")
                closers.append(None)
            else:
                closer = closers.pop() if closers else None
                out.append(closer or ")")
            position = next_paren + 1
        else:
            out.append(formula[position:])
            return "".join(out)


def _row_cells(row: Row) -> list[str]:
    return ["  " * row.depth + visible(row.name), visible(row.type), _shape_cell(row.output_shape),
            _count(row.params), _count(row.macs), _count(row.flops), _bytes(row.activation_bytes),
            field_text(row.receptive_field)]


def table_cells(report: Report, depth: int | None = None) -> tuple[list[list[str]], list[str]]:
    """The body cells (one list per row) and the footer cells, as strings (visible)."""
    shown = rows(report, depth)
    body = [_row_cells(row) for row in shown]
    t = report.totals
    footer = ["Total", "", _shape_cell(report.output_shape), _count(t.params), _count(t.macs),
              _count(t.flops), _bytes(t.activation_bytes), field_text(report.receptive_field)]
    step = report.training
    if step is not None:
        # each row stands for row.layers consecutive layers of the report: sum their training figures
        position = 0
        for cells, row in zip(body, shown):
            members = step.layers[position:position + row.layers]
            position += row.layers
            cells += [_count(sum(m.backward_macs for m in members)), _bytes(sum(m.saved_bytes for m in members)),
                      _bytes(sum(m.grad_bytes for m in members))]
        footer += [_count(step.backward_macs), _bytes(step.saved_bytes), _bytes(step.grad_bytes)]
    return body, footer


def fit_widths(natural: Sequence[int], width: int | None, fixed: Sequence[int] = (),
               stages: Sequence[tuple[Sequence[int], int]] = SHRINK_STAGES) -> list[int]:
    """Column widths that fit ``width`` (leading space and gaps included), taken from the widest first.

    ``fixed[i]`` is the least column i can have (its unbreakable cells, e.g. exact counts); the stages
    say which columns shrink first and how far.
    """
    widths = list(natural)
    if width is None:
        return widths
    floor = list(fixed) if fixed else [1] * len(widths)
    excess = 1 + sum(widths) + len(GAP) * (len(widths) - 1) - width
    for columns, smallest in stages:
        columns = [c for c in columns if c < len(widths)]
        while excess > 0:
            candidates = [c for c in columns if widths[c] > max(smallest, floor[c])]
            if not candidates:
                break
            widest = max(candidates, key=lambda c: widths[c])
            widths[widest] -= 1
            excess -= 1
    return widths


_BREAK = re.compile(r"(?<=[ *.,])")       # a line may break after a space, '*', '.' or ','



def wrap_cell(cell: str, width: int) -> list[str]:
    """``cell`` as lines of at most ``width`` characters, broken at the last break point that fits."""
    if len(cell) <= width:
        return [cell]
    lines = []
    rest = cell
    first = len(cell) - len(cell.lstrip(" ")) + 1          # not inside a name's indentation
    while len(rest) > width:
        cut_at = 0
        for match in _BREAK.finditer(rest, first, width):
            cut_at = match.start()
        if cut_at == 0:
            cut_at = width                  # one token longer than the column: split it
        lines.append(rest[:cut_at].rstrip())
        rest = rest[cut_at:].lstrip()
        first = 1
    if rest:
        lines.append(rest)
    return lines


# an exact figure as the table prints it ("9.408K", "3.06 MiB", "7×7", "global*"), never wrapped
_EXACT = re.compile(r"(?:[0-9.,/×]+(?: ?[KMGTPE]?i?B|[KMGTPE])?|global)\*?")


def _unbreakable(column: Iterable[str]) -> int:
    """Width of the longest cell that must not wrap: an exact count, size or field (not a formula)."""
    return max((len(cell) for cell in column if _EXACT.fullmatch(cell)), default=1)


def align(header: Sequence[str], body: list[list[str]], footer: Sequence[str] | None,
          right: Sequence[bool], width: int | None = None,
          fixed: Sequence[int] = (), stages: Sequence[tuple[Sequence[int], int]] = SHRINK_STAGES) -> list[str]:
    """Fixed-width lines: header, rule, body, rule, footer; cells wrapped to fit ``width``."""
    return list(aligned_lines(header, body, footer, right, width, fixed, stages))


def aligned_lines(header: Sequence[str], body: list[list[str]], footer: Sequence[str] | None,
                  right: Sequence[bool], width: int | None = None,
                  fixed: Sequence[int] = (), stages: Sequence[tuple[Sequence[int], int]] = SHRINK_STAGES
                  ) -> Iterator[str]:
    """`align`, one line at a time (a table of 100,000 rows is never one string)."""
    natural = [len(h) for h in header]
    for cells in body + ([list(footer)] if footer else []):
        for i, cell in enumerate(cells):
            if len(cell) > natural[i]:
                natural[i] = len(cell)
    widths = fit_widths(natural, width, fixed, stages)
    wrapped = widths != natural
    columns = list(zip(widths, right))

    def line(cells: Sequence[str]) -> Iterator[str]:
        if wrapped and any(len(c) > w for c, (w, _) in zip(cells, columns)):
            parts = [wrap_cell(c, w) for c, (w, _) in zip(cells, columns)]
            for index in range(max(len(p) for p in parts)):
                yield line_of([p[index] if index < len(p) else "" for p in parts])
            return
        yield line_of(cells)

    def line_of(cells: Sequence[str]) -> str:
        return " " + GAP.join(c.rjust(w) if r else c.ljust(w) for c, (w, r) in zip(cells, columns)).rstrip()

    rule = " " + "─" * (sum(widths) + len(GAP) * (len(widths) - 1))
    yield from line(header)
    yield rule
    for cells in body:
        yield from line(cells)
    if footer:
        yield rule
        yield from line(footer)


def summary_lines(report: Report, shown_rows: int | None = None, depth: int | None = None) -> list[str]:
    """The footer under the table: exact totals, memory, the output's field, how to unfold."""
    t = report.totals
    lines = [
        f"Params: {_exact_and_short(t.params)}; trainable {_exact(t.trainable_params)}, "
        f"non-trainable {_exact(t.non_trainable_params)}; buffers {_exact(t.buffers)}",
        *([f"Keras count_params(): {_exact(t.keras_params)} (params + the buffers, which Keras counts as "
           f"non-trainable weights)"] if getattr(t, "keras_params", None) is not None else []),
        *([f"MACs: {_exact_and_short(t.macs)}   FLOPs: {_exact_and_short(t.flops)}"]
          if isinstance(t.macs, int) and isinstance(t.flops, int)
          else [f"MACs: {_exact_and_short(t.macs)}", f"FLOPs: {_exact_and_short(t.flops)}"]),
        f"Memory ({report.dtype}): parameters {_bytes(t.param_bytes)}; "
        f"layer outputs {_bytes(t.activation_bytes)} summed over all layers",
        f"Peak activations: {_bytes(t.peak_activation_bytes)} alive at once "
        f"(input included, tensors freed after last use)",
    ]
    lines.append(field_sentence(report.receptive_field))
    step = report.training
    if step is not None:
        lines.append(f"training step at batch {step.batch:,} ({step.optimizer}, {step.precision}"
                     + (f", {step.device}" if step.device != "cuda" else "") + f"): peak {_bytes(step.peak_bytes)} "
                     f"at {visible(step.peak_at)}; backward {_exact_and_short(step.backward_macs)} MACs, "
                     f"{_exact_and_short(step.backward_flops)} FLOPs; saved {_bytes(step.saved_bytes)}, "
                     f"gradients {_bytes(step.grad_bytes)}, optimizer state {_bytes(step.optimizer_state_bytes)}")
    if any(not row.receptive_field.aligned for row in report.layers):
        lines.append("* merged paths disagree in jump or centre: see `cnncalc rf`")
    if shown_rows is not None:
        note = depth_note(report, shown_rows, depth)
        if note:
            lines.append(note)
    return lines


def _exact(value) -> str:
    return f"{value:,}" if isinstance(value, int) else compact(visible(formula_text(value)))


def _exact_and_short(value) -> str:
    """'25,557,032 (25.56M)' for a number; a formula once."""
    return f"{value:,} ({format_count(value)})" if isinstance(value, int) else compact(visible(formula_text(value)))


def wrap_lines(lines: Iterable[str], width: int | None) -> Iterator[str]:
    """Each line wrapped to ``width`` at spaces, continuation lines indented by two."""
    for line in lines:
        if width is None or len(line) <= width:
            yield line
        else:
            yield from textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False) or [""]


def table_lines(report: Report, depth: int | None = None, width: int | None = None) -> Iterator[str]:
    """The table's lines without line ends: title, table, summary."""
    body, footer = table_cells(report, depth)
    yield from wrap_lines([f"{visible(report.name)} — input {visible(shape_text(report.input_shape))}, "
                           f"{visible(report.dtype)}"], width)
    yield ""
    columns = COLUMNS + (TRAIN_COLUMNS if report.training is not None else ())
    stages = TRAIN_SHRINK_STAGES if report.training is not None else SHRINK_STAGES
    fixed = [1, 1, 1] + [_unbreakable(cells[i] for cells in body + [footer]) for i in range(3, len(columns))]
    yield from aligned_lines([h for h, _ in columns], body, footer, [r for _, r in columns], width, fixed, stages)
    yield ""
    yield from wrap_lines(summary_lines(report, len(body), depth), width)


def render_table(report: Report, depth: int | None = None, width: int | None = None) -> str:
    """Plain text; `print_table` adds colour on a terminal."""
    return "".join(line + "\n" for line in table_lines(report, depth, width))


def print_table(report: Report, depth: int | None = None, file=None, width: int | None = None) -> None:
    """Print with rich: bold header and totals, misaligned fields highlighted; plain lines written as they are."""
    from rich.console import Console
    from rich.text import Text
    console = Console(file=file, highlight=False, width=width)
    out = console.file
    pending: list[str] = []
    for index, line in enumerate(table_lines(report, depth, console.width if width is None else width)):
        style = "bold" if index in (0, 2) or line.startswith(" Total") else None
        if line.endswith("*") and not line.startswith("*"):        # a misaligned field's mark
            style = "yellow"
        if style is None:
            pending.append(line + "\n")
            if len(pending) >= 1000:
                out.write("".join(pending))
                pending.clear()
            continue
        if pending:
            out.write("".join(pending))
            pending.clear()
        console.print(Text(line, style=style), soft_wrap=True, crop=False)
    out.write("".join(pending))
    out.flush()

