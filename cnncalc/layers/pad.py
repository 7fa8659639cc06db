"""Padding layers: Zero/Constant/Reflection/Replication/CircularPad 1d/2d/3d.

``padding`` is an int or torch's tuple, last axis first:
(left, right[, top, bottom[, front, back]]). A pad may be negative (a crop),
in every mode, as in torch. The field shifts by the left pad: c_out = c_in − p_left·S.
"""

from __future__ import annotations

from .base import Arg, ArgError, AxisMap, Backward, LayerType, Outcome, Saved, fmt_shape, is_int, list_problem, number_arg, numel
from .registry import register

MODE = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect", "Replication": "replicate",
        "Circular": "circular"}


def _padding_arg(rank: int, allow_negative: bool):
    def check(value):
        if is_int(value):
            values = (value,) * (2 * rank)
        elif isinstance(value, (list, tuple)) and len(value) == 2 * rank and all(is_int(v) for v in value):
            values = tuple(value)
        else:
            raise ArgError(f"an integer or a list of {2 * rank} integers (left, right"
                           + (", top, bottom" if rank > 1 else "") + (", front, back" if rank > 2 else "") + ")",
                           value, why=list_problem(value, 2 * rank, is_int, "an integer"))
        if not allow_negative and any(v < 0 for v in values):
            raise ArgError("non-negative padding", value)
        return values
    return check


class _Pad(LayerType):
    rank = 2
    family = "Zero"

    def backward(self, cfg, inputs, outcome, grads):
        """Constant and zero padding and circular padding (cat of slices) keep nothing: the gradient is
        sliced back. reflection_pad / replication_pad keep their input; their backward adds each
        padded element's gradient into its source (one add per padding element)."""
        if self.family in ("Reflection", "Replication"):
            extra = numel(outcome.output_shape) - numel(inputs[0])
            return Backward(0, 0, extra if grads.inputs[0] else 0, (Saved("input"),))
        return Backward()

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        rank = self.rank
        if self.family in ("Zero", "Constant"):
            # torch's constant pad takes any rank; dim 0 (the batch) is never padded here
            ctx.require(len(x) >= rank + 1, lambda: (
                f"{self.name} expects an input of {rank + 1} or more dimensions, found {len(x)}-d {fmt_shape(x)}"))
        else:
            ctx.require(len(x) in (rank + 1, rank + 2), lambda: (
                f"{self.name} expects a {rank + 1}-d or {rank + 2}-d input, found {len(x)}-d {fmt_shape(x)}"))
        pads = cfg["padding"]
        output = list(x)
        steps = []
        for axis in range(rank):
            dim = len(x) - 1 - axis                      # torch pads the last axis first
            left, right = pads[2 * axis], pads[2 * axis + 1]
            size = x[dim]
            if self.family == "Reflection":
                ctx.require_at_least(size, max(left, right) + 1, lambda: (
                    f"reflection padding {max(left, right)} must be smaller than the input size {size} "
                    f"(input {fmt_shape(x)})"))
            elif self.family == "Circular":
                ctx.require_at_least(size, max(left, right), lambda: (
                    f"circular padding {max(left, right)} must not exceed the input size {size}"))
            if self.family in ("Zero", "Constant"):
                # torch crops (narrow) before it pads: the negative pads alone must leave >= 0
                crop = min(left, 0) + min(right, 0)
                ctx.require_at_least(size + crop, 0, lambda: (
                    f"padding ({left}, {right}) crops {-crop} from size {size} (input {fmt_shape(x)})"))
            new = size + left + right
            ctx.require_at_least(new, 1, lambda: (
                f"padding ({left}, {right}) leaves no elements of size {size} (input {fmt_shape(x)})"))
            output[dim] = new
            steps.append(None if left == 0 and right == 0 else AxisMap(1, 1, (-left,), (-left,)))
        steps.reverse()                                   # back to first-spatial-axis-first
        # one step per spatial axis (dims 2..): a (rank + 1)-d input also pads dim 1, the channels
        spatial = len(x) - 2
        steps = ([None] * max(spatial - rank, 0) + steps)[-spatial:] if spatial > 0 else []
        field = None if all(s is None for s in steps) else tuple(steps)
        return Outcome(tuple(output), {}, {}, 0, 0, field)

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(**cfg)

    def reference(self, cfg, weights, inputs):
        from ..reference import ops
        return ops.pad(inputs[0], cfg["padding"], mode=MODE[self.family], value=cfg.get("value", 0.0))


for _family in MODE:
    for _rank in (1, 2, 3):
        _name = f"{_family}Pad{_rank}d"
        _args = (Arg("padding", _padding_arg(_rank, True)),)       # torch crops on a negative pad, every mode
        if _family == "Constant":
            _args += (Arg("value", number_arg()),)
        register(type(_name, (_Pad,), {"name": _name, "rank": _rank, "family": _family, "args": _args,
                                       "summary": f"{MODE[_family]} padding of the last {_rank} dimension(s)"}))
