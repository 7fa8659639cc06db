"""Merges of two or more tensors: add, mul (torch broadcasting) and concat."""

from __future__ import annotations

from .base import Arg, Backward, Context, LayerType, Outcome, Saved, fmt_shape, int_arg, normalize_dim, numel
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

    def backward(self, cfg, inputs, outcome, grads):
        """add keeps nothing; each input that needs a gradient gets grad_out, summed over the axes it
        was broadcast along (E_out − E_in adds)."""
        out = numel(outcome.output_shape)
        return Backward(0, 0, sum(out - numel(shape) for shape, need in zip(inputs, grads.inputs) if need))


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

    def backward(self, cfg, inputs, outcome, grads):
        """out = x0 · x1 · ... left to right; each product keeps one factor for the other's gradient
        (derivatives.yaml ``mul``: self is kept only when other needs a gradient, and the reverse).
        From the third input on the left factor is the running product (a new tensor).
        Backward: one multiply per output element for each factor that needs a gradient."""
        saved = []
        left, left_needs = inputs[0], grads.inputs[0]
        flops = 0
        for position in range(1, len(inputs)):
            right, right_needs = inputs[position], grads.inputs[position]
            product = broadcast_shapes([left, right], Context())
            if right_needs:
                saved.append(Saved("input", 0) if position == 1 else Saved("new", elements=numel(left)))
            if left_needs:
                saved.append(Saved("input", position))
            flops += numel(product) * ((1 if left_needs else 0) + (1 if right_needs else 0))
            left, left_needs = product, left_needs or right_needs
        return Backward(0, 0, flops, tuple(saved))

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
