"""Activation memory alive over the forward pass, layer by layer, and its peak.

The report gives the peak (``totals.peak_activation_bytes``) and the curve
behind it (``Report.memory_curve``, computed by the engine's one liveness
pass: a layer's output is allocated when it runs, views and in-place layers
share their input's storage, a storage is freed after its last reader, the
input is alive from the start and the output to the end). This names the
layer where the peak is reached, for the page and the charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..report import Report


@dataclass(frozen=True)
class Timeline:
    """``allocated[i]``: bytes alive while layer i runs (its inputs and its new output);
    ``after[i]``: alive once layer i's dead inputs are freed. None when sizes are symbolic."""

    start: int                          # the input, alive before the first layer
    allocated: tuple[int, ...]
    after: tuple[int, ...]
    peak: int
    peak_layer: int | None              # index of the layer at the peak; None when it is the input alone


def memory_timeline(report: Report, the_plan: Any = None) -> Timeline | None:
    """The curve of live activation bytes for ``report``, as the engine computed it; None if symbolic.

    ``the_plan`` is accepted for callers that pass it; the curve is the report's own
    (``Report.memory_curve``), so the page and the peak cannot disagree."""
    if report.symbols or not report.memory_curve:
        return None
    running = tuple(during for during, _ in report.memory_curve)
    after = tuple(left for _, left in report.memory_curve)
    start = _numel(report.input_shape) * _element_bytes(report)
    peak, peak_layer = start, None
    for position, alive in enumerate(running):
        if alive > peak:
            peak, peak_layer = alive, position
    return Timeline(start, running, after, peak, peak_layer)


def _element_bytes(report: Report) -> int:
    from ..spec.model import DTYPE_BYTES
    return DTYPE_BYTES[report.dtype]


def _numel(shape: tuple) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count
