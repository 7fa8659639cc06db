"""More torch.nn elementwise modules: Threshold, shrinks, LogSigmoid, RReLU, Softmin, GLU, RMSNorm, ...

Costs per element follow activation.py's convention (an elementary
function or a comparison counts as one). RReLU in eval is a leaky ReLU
with slope (lower + upper) / 2. GLU halves ``dim``: a sigmoid (4) and a
multiply per output. RMSNorm over the trailing ``normalized_shape``:
square, mean (add + divide), add eps, rsqrt, multiply (6 per element,
the running sum counted per element) plus the affine weight (1).
FeatureAlphaDropout is an identity in eval. CrossMapLRN2d is
LocalResponseNorm on 4-d input.
"""

from __future__ import annotations

from .activation import _Elementwise, _Softmax
from .base import Arg, ArgError, LayerType, Outcome, bool_arg, fmt_shape, int_arg, normalize_dim, number_arg, numel, optional
from .dropout import _Dropout
from .norm import LocalResponseNorm, _shape_arg
from .registry import register, register_instance

_INPLACE = Arg("inplace", bool_arg, False)

_ROWS = [
    ("Threshold", (Arg("threshold", number_arg()), Arg("value", number_arg()), _INPLACE), 1,
     "comparison with threshold", lambda np, x, threshold, value: np.where(x > threshold, x, value)),
    ("Hardshrink", (Arg("lambd", number_arg(0), 0.5),), 2, "|x| (1), comparison",
     lambda np, x, lambd: np.where(np.abs(x) > lambd, x, 0)),
    ("Softshrink", (Arg("lambd", number_arg(0), 0.5),), 3, "2 comparisons, a subtract or add",
     lambda np, x, lambd: np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0))),
    ("Tanhshrink", (), 2, "tanh, subtract", lambda np, x: x - np.tanh(x)),
    ("LogSigmoid", (), 5, "sigmoid (4), log", lambda np, x: -np.logaddexp(0, -x)),
]

for _name, _args, _cost, _formula, _function in _ROWS:
    register_instance(type(_name, (_Elementwise,), {
        "name": _name, "args": _args, "cost": _cost, "cost_formula": _formula,
        "function": staticmethod(_function), "summary": f"elementwise {_name}"})())


@register
class RReLU(_Elementwise):
    name = "RReLU"
    args = (Arg("lower", number_arg(), 1 / 8), Arg("upper", number_arg(), 1 / 3), _INPLACE)
    cost = 2
    cost_formula = "comparison, multiply (eval: the slope is (lower + upper) / 2)"
    summary = "randomized leaky ReLU (eval: slope (lower + upper) / 2)"

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        return np.where(x >= 0, x, (cfg["lower"] + cfg["upper"]) / 2 * x).astype(x.dtype, copy=False)


class Softmin(_Softmax):
    name = "Softmin"
    args = (Arg("dim", optional(int_arg()), None),)
    per_element = 4
    summary = "softmax of −x over dim (4 per element: negate, exp, add, divide)"

    def reference(self, cfg, weights, inputs):
        return _Softmax.reference(self, cfg, weights, [-inputs[0]])


register_instance(Softmin())


@register
class GLU(LayerType):
    name = "GLU"
    args = (Arg("dim", int_arg(), -1, doc="the dimension halved into a and b: a · σ(b)"),)
    summary = "gated linear unit: halves dim, a · sigmoid(b) (5 per output)"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dim = normalize_dim(cfg["dim"], len(x))
        ctx.require_divisible(x[dim], 2, lambda: f"GLU halves dimension {dim}, which has {x[dim]} (odd) elements")
        output = tuple(size // 2 if axis == dim else size for axis, size in enumerate(x))
        flops = 5 * numel(output)                     # sigmoid (4) and a multiply per output element
        from .base import GLOBAL
        return Outcome(output, {}, {}, 0, flops, GLOBAL if dim >= 2 else None)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.GLU(**cfg)

    def reference(self, cfg, weights, inputs):
        import numpy as np
        a, b = np.split(inputs[0], 2, axis=cfg["dim"])
        return (a / (1 + np.exp(-b))).astype(a.dtype, copy=False)


@register
class RMSNorm(LayerType):
    name = "RMSNorm"
    args = (Arg("normalized_shape", _shape_arg, doc="the trailing dimensions normalised"),
            Arg("eps", optional(number_arg(0, strictly=True)), None, doc="added to the mean square (None: finfo eps)"),
            Arg("elementwise_affine", bool_arg, True, doc="a learned weight of normalized_shape"))
    summary = "root-mean-square normalisation over the trailing normalized_shape"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        shape = tuple(cfg["normalized_shape"])
        ctx.require(len(shape) <= len(x), lambda: f"normalized_shape {list(shape)} needs {len(shape)} dimensions, "
                                                  f"input is {fmt_shape(x)}")
        for have, want in zip(x[len(x) - len(shape):], shape):
            ctx.require_equal(have, want, lambda: f"normalized_shape {list(shape)} does not match the input's "
                                                  f"trailing dimensions (input {fmt_shape(x)})")
        affine = 1 if cfg["elementwise_affine"] else 0
        # square, add (mean), divide, add eps, rsqrt, multiply: 6 per element; the weight: 1
        flops = numel(x) * (6 + affine)
        params = {"weight": shape} if affine else {}
        # normalising over a spatial axis mixes it: every output sees the whole of that axis
        from .base import GLOBAL
        field = GLOBAL if len(x) > 2 else None     # the trailing dims of a 3-d or larger input are spatial
        return Outcome(x, params, {}, 0, flops, field)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.RMSNorm(**{**cfg, "normalized_shape": list(cfg["normalized_shape"])})

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        axes = tuple(range(x.ndim - len(cfg["normalized_shape"]), x.ndim))
        eps = np.finfo(x.dtype).eps if cfg["eps"] is None else cfg["eps"]
        y = x / np.sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
        return (y * weights["weight"] if cfg["elementwise_affine"] else y).astype(x.dtype, copy=False)


@register
class FeatureAlphaDropout(_Dropout):
    name = "FeatureAlphaDropout"


@register
class CrossMapLRN2d(LocalResponseNorm):
    name = "CrossMapLRN2d"
    summary = "LocalResponseNorm of a 4-d input (the legacy Lua-torch spelling)"

    def evaluate(self, cfg, inputs, ctx):
        ctx.require(len(inputs[0]) == 4, lambda: f"CrossMapLRN2d expects a 4-d input, found {fmt_shape(inputs[0])}")
        return LocalResponseNorm.evaluate(self, cfg, inputs, ctx)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.CrossMapLRN2d(**cfg)
