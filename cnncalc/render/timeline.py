"""Activation memory alive over the forward pass, layer by layer, and its peak.

The report gives the peak (``totals.peak_activation_bytes``); the report and
charts also want the curve and the layer where the peak is reached. This
walks the plan with the rule the engine uses: a layer's output is allocated
when it runs (views and in-place layers share their input's storage), and a
storage is freed after its last reader; the network input is alive from the
start and the output to the end. Tests hold the curve's maximum to the
report's peak on every example.
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


def memory_timeline(report: Report, the_plan: Any) -> Timeline | None:
    """The curve of live activation bytes for ``report`` (made from ``the_plan``); None if symbolic."""
    sizes = [row.activation_bytes for row in report.layers]
    if report.symbols or not all(isinstance(size, int) for size in sizes):
        return None
    input_bytes = _numel(report.input_shape) * _element_bytes(report)
    storage: list[int] = []
    storage_bytes: dict[int, int] = {-1: input_bytes}
    storage_last: dict[int, int | None] = {-1: the_plan.input_last_use}
    last_use = the_plan.last_use
    alive = input_bytes
    peak, peak_layer = alive, None
    allocated: list[int] = []
    after: list[int] = []
    for position, layer in enumerate(the_plan.layers):
        slots = layer.input_slots
        if layer.is_view:
            sid = -1 if slots[0] == -1 else storage[slots[0]]
            storage.append(sid)
            storage_last[sid] = max(storage_last[sid], last_use[position])
        else:
            sid = position
            storage.append(sid)
            storage_bytes[sid] = sizes[position]
            storage_last[sid] = last_use[position]
            alive += sizes[position]
        allocated.append(alive)
        if alive > peak:
            peak, peak_layer = alive, position
        for slot in slots:
            sid_in = -1 if slot == -1 else storage[slot]
            if storage_last.get(sid_in) == position:
                alive -= storage_bytes[sid_in]
                storage_last[sid_in] = None
        if storage_last.get(sid) == position:
            alive -= storage_bytes[sid]
            storage_last[sid] = None
        after.append(alive)
    return Timeline(input_bytes, tuple(allocated), tuple(after), peak, peak_layer)


def _element_bytes(report: Report) -> int:
    from ..spec.model import DTYPE_BYTES
    return DTYPE_BYTES[report.dtype]


def _numel(shape: tuple) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count
