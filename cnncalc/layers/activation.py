"""Elementwise activations and softmax: shape-preserving, no MACs.

FLOPs are counted per element as written in each row's ``cost`` (an
elementary function — exp, log, tanh, erf — counts as one operation; a
comparison counts as one). docs/conventions.md has the same table.
"""

from __future__ import annotations

from typing import Any, Callable

from .base import (
    GLOBAL, Arg, ArgError, Backward, LayerType, Outcome, Saved, bool_arg, choice_arg, int_arg, normalize_dim, number_arg, numel,
    optional,
)
from .registry import register_instance


class _Elementwise(LayerType):
    """A shape-preserving activation with a fixed FLOP cost per element."""

    cost: int = 1
    cost_formula: str = ""
    function: Callable[..., Any] | None = None      # numpy reference: f(np, x, **cfg)

    def cost_for(self, cfg) -> int:
        return self.cost

    def configure(self, args):
        # torch's Hardtanh asserts max_val > min_val at construction
        if "min_val" in args and "max_val" in args and not args["max_val"] > args["min_val"]:
            raise ArgError(f"max_val greater than min_val ({args['min_val']})", args["max_val"], arg="max_val")
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        elements = numel(x)
        cost = self.cost_for(cfg)
        flops = cost * elements
        if ctx.explaining:
            ctx.explain("FLOPs", f"{cost} · {elements}", flops)
        return Outcome(x, self.param_shapes(cfg, x), {}, 0, flops, None)

    def param_shapes(self, cfg, x) -> dict:
        return {}

    #: what the derivative is computed from (derivatives.yaml): "input", or "output" for
    #: relu, sigmoid, tanh (and softmax below), whose derivative is a function of the result
    saves: str = "input"
    #: extra tensors of the input's size its composite implementation keeps (Softsign: 1 + |x|)
    extra_saved: int = 0

    def backward(self, cfg, inputs, outcome, grads):
        """grad_in = f'(·) · grad_out, from what is saved: the derivative costs the forward's per-element
        operations once more (ReLU: one comparison), plus one multiply by the incoming gradient."""
        elements = numel(inputs[0])
        cost = self.cost_for(cfg) + 1
        saved = (Saved("output" if self.saves == "output" else "input"),) + (
            (Saved("new", elements=elements),) * self.extra_saved)
        return Backward(0, 0, cost * elements if grads.inputs[0] else 0, saved)

    def is_view(self, cfg):
        return bool(cfg.get("inplace", False))

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(**cfg)

    def reference(self, cfg, weights, inputs):
        import numpy as np
        kwargs = {k: v for k, v in cfg.items() if k != "inplace"}
        return self.function(np, inputs[0], **kwargs).astype(inputs[0].dtype, copy=False)


def _sigmoid(np, x):
    return 1.0 / (1.0 + np.exp(-x))


def _erf(np, x):
    from math import erf
    return np.vectorize(erf, otypes=[x.dtype])(x) if x.size else x


def _gelu(np, x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + _erf(np, x / np.sqrt(2.0)))


def _softplus(np, x, beta=1.0, threshold=20.0):
    scaled = beta * x
    return np.where(scaled > threshold, x, np.log1p(np.exp(np.minimum(scaled, threshold))) / beta)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

_INPLACE = Arg("inplace", bool_arg, False)

# name, torch args, cost per element, what is counted, numpy reference
_ROWS: list[tuple[str, tuple[Arg, ...], int, str, Callable]] = [
    ("ReLU", (_INPLACE,), 1, "max(x, 0): 1 comparison", lambda np, x: np.maximum(x, 0)),
    ("ReLU6", (_INPLACE,), 2, "min(max(x, 0), 6): 2 comparisons", lambda np, x: np.minimum(np.maximum(x, 0), 6)),
    ("LeakyReLU", (Arg("negative_slope", number_arg(), 0.01), _INPLACE), 2, "comparison, multiply",
     lambda np, x, negative_slope: np.where(x >= 0, x, negative_slope * x)),
    ("ELU", (Arg("alpha", number_arg(), 1.0), _INPLACE), 4, "comparison, exp, subtract 1, multiply by alpha",
     lambda np, x, alpha: np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))),
    ("SELU", (_INPLACE,), 5, "ELU (4) then multiply by scale",
     lambda np, x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * (np.exp(np.minimum(x, 0)) - 1))),
    ("CELU", (Arg("alpha", number_arg(0, strictly=True), 1.0), _INPLACE), 5,
     "comparison, divide by alpha, exp, subtract 1, multiply by alpha",
     lambda np, x, alpha: np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0) / alpha) - 1))),
    ("SiLU", (_INPLACE,), 5, "sigmoid (negate, exp, add 1, divide) then multiply by x",
     lambda np, x: x * _sigmoid(np, x)),
    ("Mish", (_INPLACE,), 5, "exp, add 1, log, tanh, multiply by x",
     lambda np, x: x * np.tanh(_softplus(np, x))),
    ("Sigmoid", (), 4, "negate, exp, add 1, divide", _sigmoid),
    ("Tanh", (), 1, "tanh", lambda np, x: np.tanh(x)),
    ("Hardswish", (_INPLACE,), 5, "add 3, clamp to [0, 6] (2), multiply by x, divide by 6",
     lambda np, x: x * np.clip(x + 3, 0, 6) / 6),
    ("Hardsigmoid", (_INPLACE,), 4, "add 3, clamp to [0, 6] (2), divide by 6",
     lambda np, x: np.clip(x + 3, 0, 6) / 6),
    ("Hardtanh", (Arg("min_val", number_arg(), -1.0), Arg("max_val", number_arg(), 1.0), _INPLACE), 2,
     "clamp: 2 comparisons", lambda np, x, min_val, max_val: np.clip(x, min_val, max_val)),
    ("Softplus", (Arg("beta", number_arg(), 1.0), Arg("threshold", number_arg(), 20.0)), 6,
     "multiply by beta, comparison with threshold, exp, add 1, log, divide by beta", _softplus),
    ("Softsign", (), 3, "abs, add 1, divide", lambda np, x: x / (1 + np.abs(x))),
]


_SAVES_OUTPUT = {"ReLU", "Sigmoid", "Tanh"}      # derivatives.yaml: relu, sigmoid, tanh use ``result``
_EXTRA_SAVED = {"Softsign": 1}                   # x / (1 + |x|): the division keeps its denominator


def _make(name, args, cost, formula, function):
    cls = type(name, (_Elementwise,), {
        "name": name, "args": args, "cost": cost, "cost_formula": formula,
        "function": staticmethod(function), "summary": f"elementwise {name}",
        "saves": "output" if name in _SAVES_OUTPUT else "input", "extra_saved": _EXTRA_SAVED.get(name, 0),
    })
    return register_instance(cls())


for _row in _ROWS:
    _make(*_row)

class GELU(_Elementwise):
    name = "GELU"
    args = (Arg("approximate", choice_arg("none", "tanh"), "none"),)
    cost_formula = ("erf form (5): divide by √2, erf, add 1, multiply by x, multiply by 1/2; "
                    "tanh form (9): x³ (2), ·0.044715, +x, ·√(2/π), tanh, +1, ·x, ·1/2")
    function = staticmethod(_gelu)
    summary = "Gaussian error linear unit"

    def cost_for(self, cfg) -> int:
        return 9 if cfg["approximate"] == "tanh" else 5


register_instance(GELU())


class PReLU(_Elementwise):
    name = "PReLU"
    args = (Arg("num_parameters", int_arg(1), 1), Arg("init", number_arg(), 0.25))
    cost = 2
    cost_formula = "comparison, multiply by the learnt slope"
    summary = "leaky ReLU with a learnt slope (1 or one per channel)"

    def param_shapes(self, cfg, x):
        return {"weight": (cfg["num_parameters"],)}

    autocast = "lower"          # prelu is on autocast's lower-precision list (CPU and CUDA)

    def backward(self, cfg, inputs, outcome, grads):
        """_prelu_kernel_backward keeps the input and the weight; grad_input: comparison, select, multiply
        (3 per element); grad_weight: x · grad where x < 0 and the sum (3 per element)."""
        elements = numel(inputs[0])
        flops = (3 * elements if grads.inputs[0] else 0) + (3 * elements if grads.weights else 0)
        return Backward(0, 0, flops, (Saved("input"), Saved("param", elements=cfg["num_parameters"])))

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        count = cfg["num_parameters"]
        if count != 1:
            ctx.require(len(x) >= 2, lambda: f"PReLU with {count} parameters needs a channel dimension")
            ctx.require_equal(x[1], count, lambda: (
                f"num_parameters={count} must be 1 or the channel count {x[1]}"))
        return super().evaluate(cfg, inputs, ctx)

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        slope = weights["weight"].reshape((1, -1) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else weights["weight"]
        import numpy as np
        return np.where(x >= 0, x, slope * x).astype(x.dtype, copy=False)


register_instance(PReLU())


class _Softmax(LayerType):
    """Softmax over ``dim``: exp, a running sum and a division per element."""

    per_element = 3
    log_per_row = 0

    def softmax_dim(self, cfg, x) -> int:
        dim = cfg.get("dim")
        if dim is None:
            # torch's legacy implicit choice (_get_softmax_dim): 0 for 0-, 1- and 3-d inputs, else 1
            return 0 if len(x) in (0, 1, 3) else 1
        return normalize_dim(dim, len(x))

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dim = self.softmax_dim(cfg, x)
        elements = numel(x)
        rows = elements // x[dim]
        flops = self.per_element * elements + self.log_per_row * rows
        if ctx.explaining:
            extra = f" + {self.log_per_row} · {rows}" if self.log_per_row else ""
            ctx.explain("FLOPs", f"{self.per_element} · {elements}{extra}", flops)
        # normalising over a spatial axis mixes that axis only; over channels the field is unchanged
        field = tuple(GLOBAL if axis == dim else None for axis in range(2, len(x))) if dim >= 2 else None
        return Outcome(x, {}, {}, 0, flops, field)

    def backward(self, cfg, inputs, outcome, grads):
        """_softmax_backward_data / _log_softmax_backward_data keep the output: softmax
        y·(g − Σ g·y) is 4 per element (multiply, sum, subtract, multiply); log-softmax
        g − exp(y)·Σg is 3 (exp, multiply, subtract) plus the row sum (1)."""
        elements = numel(inputs[0])
        return Backward(0, 0, 4 * elements if grads.inputs[0] else 0, (Saved("output"),))

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(**cfg)

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        dim = self.softmax_dim(cfg, x.shape)
        shifted = x - x.max(axis=dim, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=dim, keepdims=True)
        return (shifted - np.log(total)) if self.log_per_row else exp / total


class Softmax(_Softmax):
    name = "Softmax"
    args = (Arg("dim", optional(int_arg()), None),)
    summary = "softmax over dim (3 FLOPs per element: exp, add, divide)"


class LogSoftmax(_Softmax):
    name = "LogSoftmax"
    args = (Arg("dim", optional(int_arg()), None),)
    log_per_row = 1
    summary = "log-softmax over dim (3 per element: exp, add, subtract; 1 log per row)"


class Softmax2d(_Softmax):
    name = "Softmax2d"
    args = ()
    summary = "softmax over channels of a 3-d or 4-d input"

    def softmax_dim(self, cfg, x):
        return len(x) - 3

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        ctx.require(len(x) in (3, 4), lambda: f"Softmax2d expects a 3-d or 4-d input, found {len(x)}-d")
        return super().evaluate(cfg, inputs, ctx)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.Softmax2d()


for _cls in (Softmax, LogSoftmax, Softmax2d):
    register_instance(_cls())
