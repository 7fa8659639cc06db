"""A GitHub-flavoured Markdown table (for READMEs and PR comments).

Text from the file is shown visibly (``text.visible``) and escaped for
Markdown: a ``|`` cannot end a cell, ``<img>`` is not HTML, ``*`` and a
word-boundary ``_`` are not emphasis, a backtick opens no code span.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..report import Report
from ..text import visible
from ..units import format_bytes, format_count
from .rows import depth_note, field_text, rows, shape_text

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones that could
# change a cell: table pipes, code spans, emphasis, links, HTML and entities, strikethrough. An
# underscore between two letters or digits never makes emphasis, so "conv2d_0" stays as it is.
_SPECIAL = re.compile(r"[\\`*\[\]<>|&~]|(?<![^\W_])_|_(?![^\W_])")


def md_text(text: Any) -> str:
    """File-controlled text as literal Markdown inside a table cell."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(), visible(text))


def _code(value: Any) -> str:
    """A formula as a code span (inside which only '|' needs escaping in a GFM table)."""
    return "`" + visible(value).replace("`", "'").replace("|", "\\|") + "`"


def _count(value: Any) -> str:
    return format_count(value) if isinstance(value, int) else _code(value)


def _bytes(value: Any) -> str:
    return format_bytes(value) if isinstance(value, int) else _code(value)


def markdown_lines(report: Report, depth: int | None = None) -> Iterator[str]:
    """The Markdown's lines without line ends."""
    yield f"### {md_text(report.name)}: input {md_text(shape_text(report.input_shape))}, {md_text(report.dtype)}"
    yield ""
    yield "| layer | type | output shape | params | MACs | FLOPs | activations | field |"
    yield "|---|---|---|--:|--:|--:|--:|---|"
    shown = 0
    for row in rows(report, depth):
        shown += 1
        indent = "&nbsp;&nbsp;" * row.depth
        yield (f"| {indent}{md_text(row.name)} | {md_text(row.type)} | {md_text(shape_text(row.output_shape))} | "
               f"{_count(row.params)} | {_count(row.macs)} | {_count(row.flops)} | {_bytes(row.activation_bytes)} | "
               f"{field_text(row.receptive_field)} |")
    t = report.totals
    yield (f"| **total** | | {md_text(shape_text(report.output_shape))} | **{_count(t.params)}** | "
           f"**{_count(t.macs)}** | **{_count(t.flops)}** | {_bytes(t.activation_bytes)} | "
           f"{field_text(report.receptive_field)} |")
    yield ""
    yield (f"Trainable params {_count(t.trainable_params)}, buffers {_count(t.buffers)}, "
           f"parameter memory {_bytes(t.param_bytes)}, peak activation memory {_bytes(t.peak_activation_bytes)} "
           f"(alive at once, the input included).")
    note = depth_note(report, shown, depth)
    if note:
        yield ""
        yield note


def render_markdown(report: Report, depth: int | None = None) -> str:
    return "".join(line + "\n" for line in markdown_lines(report, depth))
