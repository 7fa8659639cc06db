"""Scaling by a learned or a constant factor, and stochastic depth.

LayerScale: torchvision ConvNeXt's ``nn.Parameter(torch.ones(C, 1, 1) * 1e-6)``
multiplied in (``dim: 1``, channels first), or timm's ``gamma`` of shape
``(C,)`` over the last dimension (``dim: -1``, channels last). Its C
parameters count; it costs one multiply per element (FLOPs) and no MACs,
which is FlopCounterMode's convention: it counts no elementwise multiply.
scale: ``x * 0.17`` by a constant, one multiply per element, no parameters.
StochasticDepth: ``torchvision.ops.StochasticDepth(p, mode)``, which draws
noise only in training: in eval it returns its input, so it is counted as
torch counts it there: an identity (a view, nothing computed).
"""

from __future__ import annotations

import math

from .base import Arg, ArgError, LayerType, Outcome, choice_arg, fmt_shape, int_arg, normalize_dim, number_arg, numel
from .registry import register


def _finite(value):
    number = number_arg()(value)
    if not math.isfinite(number):
        raise ArgError("a finite number", value)
    return number


class _TorchOp(LayerType):
    def to_torch(self, cfg, inputs):
        from ._torch_ops import build
        return build(self.torch_class, **self.torch_kwargs(cfg, inputs))

    def torch_kwargs(self, cfg, inputs):
        return dict(cfg)


@register
class LayerScale(_TorchOp):
    name = "LayerScale"
    torch_class = "LayerScale"
    args = (Arg("init_value", _finite, 1e-6, doc="the scale's initial value (torchvision ConvNeXt: 1e-6)"),
            Arg("dim", int_arg(), 1, doc="the channel axis: 1 (C, 1, 1) as torchvision, -1 (C,) as timm"))
    summary = "a learned per-channel scale (ConvNeXt's layer_scale): C params, one multiply per element"

    def _shape(self, cfg, x):
        axis = normalize_dim(cfg["dim"], len(x))
        from ..errors import ShapeError
        if axis == 0:
            raise ShapeError(f"LayerScale's dim {cfg['dim']} is the batch of {fmt_shape(x)}",
                             hint="dim: 1 for channels first, -1 for channels last")
        return (x[axis],) + (1,) * (len(x) - 1 - axis)   # broadcasts against the trailing dims

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        shape = self._shape(cfg, x)
        flops = numel(x)                                  # one multiply per element
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(x)} multiplies", flops)
        return Outcome(x, {"weight": shape}, {}, 0, flops, None)

    def torch_kwargs(self, cfg, inputs):
        return {"shape": list(self._shape(cfg, inputs[0])), "init_value": cfg["init_value"]}

    def reference(self, cfg, weights, inputs):
        return (weights["weight"] * inputs[0]).astype(inputs[0].dtype, copy=False)


@register
class Scale(_TorchOp):
    name = "scale"
    torch_class = "Scale"
    args = (Arg("factor", _finite, doc="the constant: x * factor"),)
    summary = "x * factor for a constant (InceptionResNetV2's 0.17 · branch): one multiply per element"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        flops = numel(x)                                  # one multiply per element
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(x)} multiplies", flops)
        return Outcome(x, {}, {}, 0, flops, None)

    def reference(self, cfg, weights, inputs):
        return (inputs[0] * cfg["factor"]).astype(inputs[0].dtype, copy=False)


def _probability(value):
    number = number_arg(0)(value)
    if not 0 <= number <= 1:
        raise ArgError("a probability between 0 and 1", value)
    return number


@register
class StochasticDepth(_TorchOp):
    name = "StochasticDepth"
    torch_class = "StochasticDepth"
    args = (Arg("p", _probability, doc="the probability of dropping a sample's branch (training only)"),
            Arg("mode", choice_arg("row", "batch"), "row", doc="row: per sample; batch: the whole batch"))
    summary = "torchvision.ops.StochasticDepth: identity in eval (no FLOPs, a view)"

    def evaluate(self, cfg, inputs, ctx):
        return Outcome(inputs[0])

    def is_view(self, cfg):
        return True

    def reference(self, cfg, weights, inputs):
        return inputs[0]
