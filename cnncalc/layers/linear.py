"""Linear (on the last dimension, as torch) and Identity."""

from __future__ import annotations

from .base import GLOBAL, Arg, Backward, LayerType, Outcome, Saved, bool_arg, int_arg, numel
from .registry import register


@register
class Linear(LayerType):
    name = "Linear"
    summary = "y = x·Wᵀ + b on the last dimension"
    args = (Arg("out_features", int_arg(1)), Arg("bias", bool_arg, True))

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        in_features, out_features = x[-1], cfg["out_features"]
        output = (*x[:-1], out_features)
        params = {"weight": (out_features, in_features)}
        if cfg["bias"]:
            params["bias"] = (out_features,)
        rows = numel(x[:-1])                       # every leading dim, batch included
        macs = rows * in_features * out_features   # one MAC per weight per row
        flops = 2 * macs + (rows * out_features if cfg["bias"] else 0)   # + one bias add per output
        if ctx.explaining:
            ctx.explain("MACs", f"{rows} · {in_features} · {out_features}", macs)
            ctx.explain("FLOPs", f"2 · {macs}" + (f" + {rows * out_features}" if cfg["bias"] else ""), flops)
        # torch applies the weight to the last axis only: global along it, every other axis unchanged
        field = GLOBAL if len(x) < 3 else (*(None,) * (len(x) - 3), GLOBAL)
        return Outcome(output, params, {}, macs, flops, field)

    autocast = "lower"

    def backward(self, cfg, inputs, outcome, grads):
        """addmm / mm backward (derivatives.yaml): grad_input = grad · W (rows · in · out MACs) when the input
        needs it, grad_weight = gradᵀ · x (the same) when trainable, grad_bias Σ over rows (one add per
        output). Each matrix is kept only for the other's gradient (the codegen's should_compute_output
        guard): the input only when the weight is trainable, the weight (a parameter) only when the input
        needs a gradient."""
        x = inputs[0]
        input_macs = outcome.macs if grads.inputs[0] else 0
        weight_macs = outcome.macs if grads.weights else 0
        bias = numel(outcome.output_shape) if grads.weights and cfg["bias"] else 0
        saved = ((Saved("input"),) if grads.weights else ()) + (
            (Saved("param", elements=x[-1] * cfg["out_features"]),) if grads.inputs[0] else ())
        return Backward(input_macs, weight_macs, 2 * (input_macs + weight_macs) + bias, saved)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.Linear(in_features=inputs[0][-1], **cfg)

    def reference(self, cfg, weights, inputs):
        out = inputs[0] @ weights["weight"].T
        return out + weights["bias"] if cfg["bias"] else out


@register
class Identity(LayerType):
    name = "Identity"
    summary = "returns its input"
    args = ()

    def evaluate(self, cfg, inputs, ctx):
        return Outcome(inputs[0])

    def is_view(self, cfg):
        return True

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.Identity()

    def reference(self, cfg, weights, inputs):
        return inputs[0]


