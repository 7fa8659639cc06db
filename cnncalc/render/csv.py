"""One CSV row per layer (or folded block), exact numbers.

Text cells from the file are shown visibly (``text.visible``: no control
character, no line break inside a cell) and guarded against spreadsheet
formula injection as OWASP advises: a text cell that starts with ``=``,
``+``, ``-``, ``@`` (tab and carriage return are already escapes) gets a
leading ``'``. Exact integers are written as they are.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterator

from ..report import Report, json_value
from ..text import visible
from .rows import field_text, rows, shape_text

HEADER = ["name", "type", "output_shape", "params", "trainable_params", "macs", "flops", "activation_bytes",
          "receptive_field"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> Any:
    """A cell: integers unchanged; text visible, with a ``'`` before a leading formula character."""
    if type(value) is int:
        return value
    text = visible(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cells(name: Any, type_: Any, shape: tuple, figures: tuple, field: Any) -> list:
    return [csv_text(name), csv_text(type_), csv_text(shape_text(shape))] + \
        [csv_text(json_value(v)) for v in figures] + [csv_text(field_text(field))]


def csv_lines(report: Report, depth: int | None = None) -> Iterator[str]:
    """The CSV's text in pieces of up to 1,000 lines, each line ending in a newline."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(HEADER)
    for index, row in enumerate(rows(report, depth), start=1):
        writer.writerow(_cells(row.name, row.type, row.output_shape, (row.params, row.trainable_params, row.macs,
                               row.flops, row.activation_bytes), row.receptive_field))
        if index % 1000 == 0:
            yield flush()
    t = report.totals
    writer.writerow(_cells("total", "", report.output_shape, (t.params, t.trainable_params, t.macs, t.flops,
                           t.activation_bytes), report.receptive_field))
    yield flush()


def render_csv(report: Report, depth: int | None = None) -> str:
    return "".join(csv_lines(report, depth))
