"""Renderers: they format a Report and compute nothing new.

``render`` returns the text; ``write`` streams it to a file as it is
produced (rows in batches), with the cyclic GC paused: a report of 100,000
layers is never one string, and no collection rescans its rows.
"""

from __future__ import annotations

from typing import IO, Iterator

from .._gc import gc_paused

FORMATS = ("table", "json", "markdown", "csv", "dot", "mermaid")
# What the command line shows when --depth is not given: blocks folded to depth 1 for the views
# people read; every layer for the formats programs read (JSON is always complete, SPEC §3).
DEFAULT_DEPTH: dict[str, int | None] = {"table": 1, "markdown": 1, "csv": None, "json": None,
                                        "dot": None, "mermaid": None}
_BATCH = 2000        # pieces per write


def chunks(report, fmt: str = "table", *, depth: int | None = None, width: int | None = None) -> Iterator[str]:
    """The output of one format in pieces; ``depth`` None shows every layer."""
    if fmt == "json":
        from .json import json_chunks
        return json_chunks(report)
    if fmt == "csv":
        from .csv import csv_lines
        return csv_lines(report, depth)
    if fmt in ("dot", "mermaid"):                 # the graph as text; blocks are clusters, not folded rows
        from .graph import render_dot, render_mermaid
        return iter(((render_dot if fmt == "dot" else render_mermaid)(report),))
    if fmt == "markdown":
        from .markdown import markdown_lines
        return (line + "\n" for line in markdown_lines(report, depth))
    from .table import table_lines
    return (line + "\n" for line in table_lines(report, depth, width))


@gc_paused
def render(report, fmt: str = "table", *, depth: int | None = None, width: int | None = None) -> str:
    """The whole output as one string (JSON exactly as ``json.dumps(report.to_dict(), indent=2)``)."""
    return "".join(chunks(report, fmt, depth=depth, width=width))


@gc_paused
def write(report, out: IO[str], fmt: str = "table", *, depth: int | None = None, width: int | None = None) -> None:
    """Write the output to ``out`` as it is produced, ending in a newline."""
    pending: list[str] = []
    last = "\n"
    for piece in chunks(report, fmt, depth=depth, width=width):
        pending.append(piece)
        if len(pending) >= _BATCH:
            out.write("".join(pending))
            last = pending[-1]
            pending.clear()
    if pending:
        last = pending[-1]
        out.write("".join(pending))
    if not last.endswith("\n"):
        out.write("\n")
