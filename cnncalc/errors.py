"""One exception hierarchy for every user error.

Each error carries where it happened (``loc``: file:line:col) and which layer
(``path``: ``basic_4.bn2``), added as the error rises through the loader and
the engine (cfgv-style breadcrumbs). ``str(err)`` is the one line the CLI
prints, e.g. ``arch.yaml:14:7: layers[3] conv2d_3 (Conv2d): kernel_size 7
exceeds the padded input 5x5 (input 3x3, padding 1)``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Loc:
    """A position in a source file; line and column are 1-based."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class CnnCalcError(Exception):
    """Base class of every error cnncalc reports to a user (exit code 2)."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        loc: Loc | None = None,
        path: str | None = None,
        layer_type: str | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.path = path
        self.layer_type = layer_type
        self.hint = hint
        # Multi-line explanation (e.g. the failing layer's formulas), shown
        # below the one-line message.
        self.detail = detail

    def add_context(
        self,
        *,
        loc: Loc | None = None,
        path: str | None = None,
        layer_type: str | None = None,
    ) -> "CnnCalcError":
        """Fill in location and layer where still unknown; returns self."""
        if self.loc is None and loc is not None:
            self.loc = loc
        if self.path is None and path is not None:
            self.path = path
        if self.layer_type is None and layer_type is not None:
            self.layer_type = layer_type
        return self

    def headline(self) -> str:
        """The one line the CLI prints: every part visible (no control character, no newline) and bounded.

        Any part may hold text from the file (a path, a layer name, a type, a quoted value), so each is
        passed through ``text.cut``: a 100,000-character name cannot flood a terminal or a CI log.
        """
        from .text import cut
        parts = []
        if self.loc is not None:
            parts.append(f"{cut(self.loc, MAX_LOCATION)}: ")
        if self.path:
            parts.append(cut(self.path, MAX_NAME))
            if self.layer_type:
                parts.append(f" ({cut(self.layer_type, MAX_NAME)})")
            parts.append(": ")
        parts.append(cut(self.message, MAX_MESSAGE))
        if self.hint:
            parts.append(f"; {cut(self.hint, MAX_MESSAGE)}")
        return "".join(parts)

    def detail_lines(self) -> list[str]:
        """The multi-line explanation, each line visible and bounded, at most MAX_DETAIL_LINES of them."""
        if not self.detail:
            return []
        from .text import cut
        lines = self.detail.splitlines()
        shown = [cut(line, MAX_MESSAGE) for line in lines[:MAX_DETAIL_LINES]]
        if len(lines) > MAX_DETAIL_LINES:
            shown.append(f"  ... ({len(lines) - MAX_DETAIL_LINES:,} more lines)")
        return shown

    def __str__(self) -> str:
        return "\n".join([self.headline()] + self.detail_lines())


# Bounds on what one error shows (characters; lines of detail): enough for any real message.
MAX_LOCATION = 300
MAX_NAME = 200
MAX_MESSAGE = 1000
MAX_DETAIL_LINES = 500


class SpecError(CnnCalcError):
    """The architecture file is malformed: syntax, schema, names, graph."""


class ArgumentError(CnnCalcError):
    """A command-line argument or a Python API argument is invalid."""


class ShapeError(CnnCalcError):
    """A layer refuses its input shape (torch would raise at forward time)."""


class BudgetExceeded(CnnCalcError):
    """A model exceeds a budget limit (exit code 1)."""

    exit_code = 1


class VerifyMismatch(CnnCalcError):
    """An analytic figure disagrees with what torch measures (exit code 1)."""

    exit_code = 1


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean X?' hint for a misspelt name, or None."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    if matches:
        return f"did you mean {lowered[matches[0]]!r}?"
    return None
