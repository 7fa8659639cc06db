"""Renderers: they format a Report and compute nothing new."""

from __future__ import annotations

FORMATS = ("table", "json", "markdown", "csv")


def render(report, fmt: str = "table", *, depth: int | None = None, width: int | None = None) -> str:
    if fmt == "json":
        from .json import render_json
        return render_json(report)
    if fmt == "csv":
        from .csv import render_csv
        return render_csv(report, depth=depth)
    if fmt == "markdown":
        from .markdown import render_markdown
        return render_markdown(report, depth=depth)
    from .table import render_table
    return render_table(report, depth=depth, width=width)
