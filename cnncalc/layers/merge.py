"""Merges of two or more tensors: add, mul (torch broadcasting) and concat."""

from __future__ import annotations

from .base import Arg, LayerType, Outcome, fmt_shape, int_arg, normalize_dim, numel
from .registry import register


def broadcast_shapes(shapes, ctx):
    """torch.broadcast_shapes: align on the right; sizes equal or 1."""
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for axis in range(rank):
        sizes = [s[axis] for s in padded]
        non_one = [size for size in sizes if not (isinstance(size, int) and size == 1)]
        if not non_one:
            out.append(1)
            continue
        first = non_one[0]
        for other in non_one[1:]:
            ctx.require_equal(other, first, lambda: (
                "shapes " + ", ".join(fmt_shape(s) for s in shapes)
                + f" do not broadcast: dimension {axis} is {first} in one and {other} in another"))
        out.append(first)
    return tuple(out)


class _Elementwise(LayerType):
    arity = None
    args = ()

    def evaluate(self, cfg, inputs, ctx):
        output = broadcast_shapes(inputs, ctx)
        elements = numel(output)
        # k inputs need k − 1 binary operations per output element
        flops = (len(inputs) - 1) * elements
        if ctx.explaining:
            ctx.explain("FLOPs", f"({len(inputs)} − 1) · {elements}", flops)
        return Outcome(output, {}, {}, 0, flops, None)


@register
class Add(_Elementwise):
    name = "add"
    summary = "elementwise sum of two or more tensors (broadcasting)"

    def to_torch(self, cfg, inputs):
        from ._torch_modules import modules
        return modules().Add()

    def reference(self, cfg, weights, inputs):
        out = inputs[0]
        for other in inputs[1:]:
            out = out + other
        return out


@register
class Mul(_Elementwise):
    name = "mul"
    summary = "elementwise product of two or more tensors (broadcasting)"

    def to_torch(self, cfg, inputs):
        from ._torch_modules import modules
        return modules().Mul()

    def reference(self, cfg, weights, inputs):
        out = inputs[0]
        for other in inputs[1:]:
            out = out * other
        return out


@register
class Concat(LayerType):
    name = "concat"
    arity = None
    args = (Arg("dim", int_arg(), 1),)
    summary = "torch.cat along dim (default 1, the channels; batch included)"

    def evaluate(self, cfg, inputs, ctx):
        first = inputs[0]
        rank = len(first)
        dim = normalize_dim(cfg["dim"], rank)
        for shape in inputs[1:]:
            ctx.require(len(shape) == rank, lambda: (
                "concat needs tensors of the same rank, found " + ", ".join(fmt_shape(s) for s in inputs)))
            for axis in range(rank):
                if axis != dim:
                    ctx.require_equal(shape[axis], first[axis], lambda: (
                        f"concat along dim {cfg['dim']} needs every other dimension equal; dimension {axis} is "
                        f"{first[axis]} and {shape[axis]} in " + ", ".join(fmt_shape(s) for s in inputs)))
        total = first[dim]
        for shape in inputs[1:]:
            total = total + shape[dim]
        output = tuple(total if axis == dim else first[axis] for axis in range(rank))
        return Outcome(output)

    def to_torch(self, cfg, inputs):
        from ._torch_modules import modules
        return modules().Concat(cfg["dim"])

    def reference(self, cfg, weights, inputs):
        import numpy as np
        return np.concatenate(inputs, axis=cfg["dim"])
