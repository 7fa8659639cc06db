"""What a peer profile is: per layer type, the figure a peer tool computes.

A profile reproduces one tool's count with its default settings, layer by
layer, from the same shapes cnncalc computes (no torch, no forward pass).
Each rule gets a :class:`Layer` and returns a :class:`Count`; the reason is
a key of the profile's ``reasons``, one line each, as written in
docs/conventions.md §4 (a test checks that every line is there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping

from ..layers.base import numel


@dataclass(frozen=True)
class Layer:
    """One layer as a rule sees it: type, checked arguments, shapes (batch included), cnncalc's counts."""

    type: str
    cfg: Mapping[str, Any]
    inputs: tuple
    output: tuple
    param_shapes: Mapping[str, tuple]
    macs: Any
    flops: Any

    @property
    def x(self) -> tuple:
        """The first input's shape."""
        return self.inputs[0]

    @property
    def e_in(self) -> int:
        return numel(self.inputs[0])

    @property
    def e_out(self) -> int:
        return numel(self.output)

    @property
    def has_bias(self) -> bool:
        return "bias" in self.param_shapes


@dataclass(frozen=True)
class Count:
    """A peer's figures for one layer: MACs, FLOPs (None where the tool has none), why they differ."""

    macs: Any
    flops: Any = None
    reason: str | None = None      # a key of the profile's reasons; None: counted as cnncalc counts


Rule = Callable[[Layer], Count]


@dataclass(frozen=True)
class Profile:
    """One peer tool's convention."""

    name: str                      # the --count-as name
    tool: str                      # what the tool is, for tables and notes
    macs_figure: str               # which of the tool's numbers totals.macs holds
    flops_figure: str | None       # which number totals.flops holds (None: the tool has no FLOPs)
    rules: Mapping[str, Rule]      # layer type -> rule; types not listed count 0
    reasons: Mapping[str, str] = field(default_factory=dict)
    unlisted: str = "unlisted"     # reason key for a type with no rule (the tool counts 0)
    finish: Callable[[Any], Any] | None = None   # the tool's last step on its total MACs (ptflops: int())
    # None: a layer whose output the model never returns is counted like any other; else the reason key
    # under which the tool counts it 0 (fvcore traces with torch.jit, whose graph drops dead branches)
    dead_ends: str | None = None

    def count(self, layer: Layer) -> Count:
        rule = self.rules.get(layer.type)
        if rule is None:
            zero = Count(0, 0 if self.flops_figure else None)
            if layer.macs != 0 or (self.flops_figure and layer.flops != 0):
                return Count(0, zero.flops, self.unlisted)
            return zero
        return rule(layer)


def exact(value: Any) -> Any:
    """An int where the value is whole, else an exact Fraction (a float becomes its exact value)."""
    if isinstance(value, float):
        value = Fraction(value)
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def spatial(shape: tuple) -> tuple:
    """The sizes after batch and channels."""
    return tuple(shape[2:])


def kernel_volume(cfg: Mapping[str, Any]) -> int:
    """∏ kernel_size (an int or a tuple, as the type's schema normalised it)."""
    kernel = cfg["kernel_size"]
    return numel(kernel) if isinstance(kernel, (tuple, list)) else kernel


def types(*names: str, rule: Rule) -> dict[str, Rule]:
    """The same rule for several layer types."""
    return {name: rule for name in names}


def ranks(stem: str) -> tuple[str, ...]:
    """'Conv' -> ('Conv1d', 'Conv2d', 'Conv3d')."""
    return tuple(f"{stem}{d}d" for d in (1, 2, 3))


CONVS = ranks("Conv")
TRANSPOSED = ranks("ConvTranspose")
BATCHNORMS = ranks("BatchNorm")
INSTANCENORMS = ranks("InstanceNorm")
MAXPOOLS = ranks("MaxPool")
AVGPOOLS = ranks("AvgPool")
LPPOOLS = ranks("LPPool")
ADAPTIVE_AVG = ranks("AdaptiveAvgPool")
ADAPTIVE_MAX = ranks("AdaptiveMaxPool")


def same(layer: Layer) -> Count:
    """Counted as cnncalc counts MACs (and FLOPs = 2 × MACs where the tool has FLOPs)."""
    return Count(layer.macs)
