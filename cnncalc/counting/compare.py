"""Every peer's MACs for one network, side by side, and why they differ.

Rows are the layer types whose count differs between cnncalc and at least
one tool (summed over the layers of that type), then the total. Reasons are
the profiles' one-line explanations (docs/conventions.md §4), each once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import PEERS, layer_counts, profile

COLUMNS = ("cnncalc", *PEERS)


@dataclass(frozen=True)
class Comparison:
    """MACs per layer type and per tool (``cnncalc`` first), the totals, and the reasons (tool, line)."""

    name: str
    rows: tuple[tuple[str, tuple[Any, ...]], ...]
    total: tuple[Any, ...]
    reasons: tuple[tuple[str, str], ...]


def compare(plan, report) -> Comparison:
    """The comparison for ``report`` (evaluated from ``plan``, concrete sizes)."""
    by_type: dict[str, list[Any]] = {}
    totals: list[Any] = [report.totals.macs]
    reasons: dict[tuple[str, str], None] = {}
    for row in report.layers:
        by_type.setdefault(row.type, [0] * len(COLUMNS))[0] += row.macs
    for column, peer in enumerate(PEERS, 1):
        the_profile = profile(peer)
        total: Any = 0
        for layer, count in layer_counts(plan, report, peer):
            by_type[layer.type][column] += count.macs
            total += count.macs
            if count.reason is not None and count.macs != layer.macs:
                reasons[(peer, the_profile.reasons[count.reason])] = None
        totals.append(the_profile.finish(total) if the_profile.finish else total)
    rows = tuple((name, tuple(values)) for name, values in by_type.items() if len(set(values)) > 1)
    return Comparison(report.name, rows, tuple(totals), tuple(reasons))
