"""Options of the views shared by summarize and rf: --depth N|all and the table's width.

(Apart from cli.py so that command modules can use them without importing cli.py.)
"""

from __future__ import annotations

import sys
from typing import Any

import click


class DepthType(click.ParamType):
    """--depth N (fold blocks deeper than N into one row) or --depth all (every layer)."""

    name = "N|all"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or value == ALL or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "all":
            return ALL
        if text.isdigit() and 0 <= int(text) <= 64:
            return int(text)
        self.fail(f"expected a depth 0..64 or 'all', found {value!r}", param, ctx)


ALL = "all"
DEPTH_HELP = ("Fold blocks deeper than N into one row; 'all' shows every layer. "
              "Default: 1 for table and markdown, all for csv; JSON always lists every layer.")
WIDTH_HELP = "Fit the table to N columns (default: COLUMNS, or the terminal's width; none when piped)."


def resolve_depth(depth: Any, fmt: str) -> int | None:
    """The depth to render: the format's default when not given, None for every layer."""
    from .render import DEFAULT_DEPTH
    if depth is None:
        return DEFAULT_DEPTH.get(fmt)
    return None if depth == ALL else depth


def table_width(width: int | None) -> int | None:
    """Columns to fit: --width, else COLUMNS, else the terminal's when stdout is one, else no limit."""
    import os
    if width is not None:
        return width
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) >= 20:
        return int(columns)
    if sys.stdout.isatty():
        import shutil
        return shutil.get_terminal_size().columns
    return None
