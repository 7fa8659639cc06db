"""Reorderings of dimensions: Permute (torchvision.ops.Permute) and transpose.

Both are views (torch.permute and Tensor.transpose return views): no FLOPs,
no new memory. Field: a reordering that leaves the batch, the channels and
the spatial axes where they are passes the field through; one that moves a
spatial axis is reported global (cnncalc does not follow a field across
axes; ConvNeXt's permute, LayerNorm, Linear, permute back ends as global).
"""

from __future__ import annotations

from .base import GLOBAL, Arg, ArgError, LayerType, Outcome, fmt_shape, int_arg, is_int, list_problem, normalize_dim
from .registry import register


def _dims_arg(value):
    if isinstance(value, (list, tuple)) and value and all(is_int(v) for v in value):
        return tuple(value)
    raise ArgError("a list of dimension indices", value, why=list_problem(value, None, is_int, "an integer"))


def _field(order, rank):
    """None when every spatial axis stays in place, else GLOBAL."""
    return None if all(order[axis] == axis for axis in range(2, rank)) else GLOBAL


class _Reorder(LayerType):
    def is_view(self, cfg):
        return True

    def to_torch(self, cfg, inputs):
        from ._torch_ops import build
        return build(self.torch_class, **self.torch_kwargs(cfg, inputs))


@register
class Permute(_Reorder):
    name = "Permute"
    torch_class = "Permute"
    args = (Arg("dims", _dims_arg, doc="the new order of the dimensions, batch included: [0, 2, 3, 1] is NCHW -> NHWC"),)
    summary = "torch.permute(x, dims) (torchvision.ops.Permute; a view)"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dims = cfg["dims"]
        ctx.require(len(dims) == len(x), lambda: f"dims {list(dims)} has {len(dims)} entries for the {len(x)}-d input "
                                                 f"{fmt_shape(x)}")
        order = [normalize_dim(d, len(x), "dims entry") for d in dims]
        ctx.require(len(set(order)) == len(order), lambda: f"dims {list(dims)} repeats a dimension")
        output = tuple(x[axis] for axis in order)
        return Outcome(output, {}, {}, 0, 0, _field(order, len(x)))

    def torch_kwargs(self, cfg, inputs):
        return {"dims": list(cfg["dims"])}

    def reference(self, cfg, weights, inputs):
        return inputs[0].transpose(cfg["dims"])


@register
class Transpose(_Reorder):
    name = "transpose"
    torch_class = "Transpose"
    args = (Arg("dim0", int_arg(), doc="first dimension to swap (batch included)"),
            Arg("dim1", int_arg(), doc="second dimension to swap"))
    summary = "x.transpose(dim0, dim1) (a view)"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        a = normalize_dim(cfg["dim0"], len(x), "dim0")
        b = normalize_dim(cfg["dim1"], len(x), "dim1")
        order = list(range(len(x)))
        order[a], order[b] = b, a
        return Outcome(tuple(x[axis] for axis in order), {}, {}, 0, 0, _field(order, len(x)))

    def torch_kwargs(self, cfg, inputs):
        return dict(cfg)

    def reference(self, cfg, weights, inputs):
        return inputs[0].swapaxes(cfg["dim0"], cfg["dim1"])
