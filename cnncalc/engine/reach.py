"""What a whole tensor reads along one axis, exactly: the union behind a global field.

A layer that mixes every position along an axis (global pooling, flatten,
linear on the last axis, softmax over it) gives each output element the
union of what every element of its input reads. Fields never move left as
the index grows, so that union runs from the first input element read by
element 0 to the last read by element n − 1. Padding is never read, at any
depth: a ceil-mode pooling window that overhangs its input, or an unpadded
strided stem that never reaches the last row (SqueezeNet 1.0: 223 of 224),
reads only the elements that exist. So the ends are found by walking back
through each layer's map (layers.base.AxisMap) from the end element, the
tapped index cut to the elements that exist at every layer, down to the
network input (conventions §3.2).

A dilated window reads every d-th element (AxisMap.spacing), so where
padding cuts it the first element read is the first tap inside. Where a map is affine (symbolic sizes)
or an index is symbolic, the walk gives up (None) and the caller uses the
forward estimate.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Sequence

from ..layers.base import GLOBAL, AxisMap

MAX_SKIP = 64          # elements that read nothing (transposed convolution gaps) skipped before giving up


class Unknown(Exception):
    """The walk met an affine step or a symbolic index: not enumerable here."""


class Walker:
    """Walks back from one element along one axis; ``layer(p)`` -> (slots, step, input lengths, field)."""

    def __init__(self, axis: int, layer: Callable[[int], tuple[Sequence[int], Any, Sequence[Any], Any]]) -> None:
        self.axis = axis
        self._layer = layer
        self._layers: dict[int, tuple] = {}      # each layer's map read once per walker (ends revisit them)
        self._below: dict[int, int] = {}         # an elementwise layer: the first layer below its chain of them

    def layer(self, position: int) -> tuple[Sequence[int], Any, Sequence[Any], Any]:
        found = self._layers.get(position)
        if found is None:
            found = self._layers[position] = self._layer(position)
        return found

    def through(self, position: int) -> int:
        """The first layer at or below ``position`` that is not elementwise: a norm or an activation reads
        element i of its one input for element i, so a walk goes straight through the chain of them
        (two thirds of a ResNet's layers) without a step each."""
        found = self._below.get(position)
        if found is None:
            found = position
            while found != -1:
                slots, step, _, field = self.layer(found)
                if step is not None or len(slots) != 1 or (field is not None and field.axis_global(self.axis)):
                    break
                found = slots[0]
            self._below[position] = found
        return found

    def end(self, position: int, index: int, side: str) -> Any:
        """The lowest (side 'low') or highest ('high') network-input element that element ``index`` of
        layer ``position``'s output reads along the axis; None: it reads nothing. Iterative (deep nets)."""
        memo: dict[tuple[int, int], Any] = {}
        pick = min if side == "low" else max
        # explicit stack of (position, index, pending child keys or None)
        position = self.through(position)
        stack: list[tuple[int, int, list | None]] = [(position, index, None)]
        while stack:
            pos, idx, children = stack.pop()
            key = (pos, idx)
            if key in memo:
                continue
            if pos == -1:
                memo[key] = idx
                continue
            slots, step, lengths, field = self.layer(pos)
            if field is not None and field.axis_global(self.axis):      # already a union: its ends
                centre, size = field.start[self.axis], field.size[self.axis]
                if not isinstance(size, int) or not isinstance(centre, (int, Fraction)):
                    raise Unknown
                if size == 0:
                    memo[key] = None
                else:
                    end = Fraction(centre) + (Fraction(1 - size, 2) if side == "low" else Fraction(size - 1, 2))
                    memo[key] = int(end)
                continue
            if children is None:
                children = []
                for slot, length in zip(slots, lengths):
                    children.append([self.through(slot), self._taps(step, idx, length, side), 0])
                stack.append((pos, idx, children))
                for slot, taps, _ in children:
                    if taps:
                        stack.append((slot, taps[0], None))
                continue
            # every child's current tap is resolved: skip taps that read nothing, else combine
            waiting = False
            for child in children:
                slot, taps, at = child
                while at < len(taps) and memo.get((slot, taps[at]), 0) is None:
                    at += 1
                child[2] = at
                if at < len(taps) and (slot, taps[at]) not in memo:
                    stack.append((pos, idx, children))
                    stack.append((slot, taps[at], None))
                    waiting = True
                    break
            if waiting:
                continue
            found = [memo[(slot, taps[at])] for slot, taps, at in children if at < len(taps)]
            memo[key] = pick(found) if found else None
        return memo[(position, index)]

    def _taps(self, step: Any, index: int, length: Any, side: str) -> list[int]:
        """The input elements to try, in order, for element ``index``: the window's end nearest ``side``
        cut to the elements that exist, then inward (a tapped element may read nothing)."""
        if not isinstance(index, int) or not isinstance(length, int):
            raise Unknown
        if step is None:
            first = last = index
        elif type(step) is AxisMap:
            block, phase = divmod(index, step.period)
            if step.low[phase] is None:
                return []
            low = block * step.advance + step.low[phase]
            gap = step.spacing                   # a dilated window reads every d-th element
            first = low + max(0, -(low // gap)) * gap if low < 0 else low      # the first tap at or after 0
            high = block * step.advance + step.high[phase]
            last = high - max(0, -((length - 1 - high) // gap)) * gap if high > length - 1 else high
            if first > last:
                return []                    # the window lies in the padding
        else:
            raise Unknown
        gap = step.spacing if type(step) is AxisMap else 1
        if side == "low":
            return list(range(first, min(last, first + (MAX_SKIP - 1) * gap) + 1, gap))
        return list(range(last, max(first, last - (MAX_SKIP - 1) * gap) - 1, -gap))


def union(walker: Walker, position: int, length: Any) -> tuple[Any, Any] | None:
    """(low, high) input elements read by all ``length`` elements of layer ``position``'s output
    ((None, None): nothing), or None when not enumerable (the caller's forward estimate then)."""
    if not isinstance(length, int):
        return None
    try:
        low = next((v for v in (walker.end(position, i, "low") for i in range(min(length, MAX_SKIP)))
                    if v is not None), None)
        if low is None:
            return (None, None)
        high = next(v for v in (walker.end(position, i, "high")
                                for i in range(length - 1, max(-1, length - 1 - MAX_SKIP), -1)) if v is not None)
    except Unknown:
        return None
    return (low, high)


def axis_step(field: Any, axis: int, axes: int) -> Any:
    """A layer's map along ``axis`` from its Outcome.field (None: identity)."""
    if field is None or field is GLOBAL or len(field) != axes:
        return None
    return field[axis]


__all__ = ["Walker", "union", "axis_step"]
