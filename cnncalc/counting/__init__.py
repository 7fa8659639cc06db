"""Peer conventions: each tool's MACs (and FLOPs) reproduced layer by layer.

``recount(plan, report, "fvcore")`` is the report as fvcore would count it:
each layer's ``macs`` (and ``flops`` where the tool has FLOPs) replaced by
the tool's figure, the totals summed the tool's way, and a note on every
layer where the tool counts something other than cnncalc. The profiles are
data (cnncalc/counting/<tool>.py, per layer type); their one-line reasons
are the lines of docs/conventions.md §4.
"""

from __future__ import annotations

import dataclasses
from importlib import import_module
from typing import Any

from ..errors import ArgumentError, did_you_mean
from .base import Count, Layer, Profile

PEERS = ("torchinfo", "fvcore", "ptflops", "thop", "torchscan", "flopcounter")

__all__ = ["PEERS", "Count", "Layer", "Profile", "check_peer", "layer_counts", "profile", "recount"]


def check_peer(name: Any) -> str:
    """The peer's name, or an ArgumentError listing the known ones."""
    if isinstance(name, str) and name.lower() in PEERS:
        return name.lower()
    from ..text import shown
    found = shown(name) if isinstance(name, str) else type(name).__name__
    raise ArgumentError(f"count_as: expected one of {', '.join(PEERS)}, found {found}",
                        hint=did_you_mean(name, PEERS) if isinstance(name, str) else None)


def profile(name: str) -> Profile:
    """The profile of peer ``name`` (one of PEERS)."""
    return import_module(f".{check_peer(name)}", __name__).PROFILE


def layer_counts(plan, report, name: str) -> list[tuple[Layer, Count]]:
    """Per layer of ``report`` (evaluated from ``plan``): what it is, and the peer's count of it."""
    from ..engine.plan import bind
    plan = bind(plan, report)            # arguments given as block-input sizes ($in.channels), resolved
    peer = profile(name)
    shapes = {row.name: row.output_shape for row in report.layers}
    out = []
    for planned, row in zip(plan.layers, report.layers):
        inputs = tuple(report.input_shape if source == "input" else shapes[source] for source in row.inputs)
        layer = Layer(row.type, planned.cfg, inputs, row.output_shape, row.param_shapes, row.macs, row.flops)
        out.append((layer, peer.count(layer)))
    return out


def _reaching_the_output(plan) -> set[int]:
    """Positions of the layers the network's output depends on (walked back from the last layer)."""
    live: set[int] = set()
    pending = [len(plan.layers) - 1] if plan.layers else []
    while pending:
        position = pending.pop()
        if position < 0 or position in live:
            continue
        live.add(position)
        pending.extend(plan.layers[position].input_slots)
    return live


def recount(plan, report, name: str):
    """``report`` counted as peer ``name`` counts: per-layer and total MACs (and FLOPs), with notes."""
    if report.symbols:
        raise ArgumentError(f"counting as {name} needs concrete sizes; the input has {', '.join(report.symbols)}",
                            hint="give them values with --set (sizes=) or replace the input with --input (input=)")
    peer = profile(name)
    rows = []
    total_macs: Any = 0
    total_flops: Any = 0
    live = _reaching_the_output(plan) if peer.dead_ends is not None else None
    for position, ((layer, count), row) in enumerate(zip(layer_counts(plan, report, name), report.layers)):
        if live is not None and position not in live:
            count = Count(0, 0 if peer.flops_figure else None,
                          peer.dead_ends if (row.macs != 0 or count.macs != 0) else None)
        flops = row.flops if count.flops is None else count.flops
        note = None if count.reason is None else peer.reasons[count.reason]
        rows.append(dataclasses.replace(row, macs=count.macs, flops=flops, count_note=note))
        total_macs += count.macs
        total_flops += flops
    if peer.finish is not None:
        total_macs = peer.finish(total_macs)
    totals = dataclasses.replace(report.totals, macs=total_macs,
                                 flops=total_flops if peer.flops_figure else report.totals.flops)
    return dataclasses.replace(report, layers=type(report.layers)(rows), totals=totals, counted_as=peer.name)
