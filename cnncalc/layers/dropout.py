"""Dropout layers: identity at inference (eval mode), so no FLOPs and no new memory."""

from __future__ import annotations

from .base import Arg, Backward, LayerType, Outcome, Saved, bool_arg, expect_rank, number_arg, numel
from .registry import register


class _Dropout(LayerType):
    ranks: tuple[int, ...] | None = None
    args = (Arg("p", number_arg(0), 0.5), Arg("inplace", bool_arg, False))
    summary = "dropout (identity in eval mode)"

    def configure(self, args):
        if not 0 <= args["p"] <= 1:          # also refuses NaN, as torch does
            from .base import ArgError
            raise ArgError("a probability between 0 and 1 for p", args["p"], arg="p")
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        if self.ranks is not None:
            expect_rank(ctx, x, self.ranks, "(batch, channels, ...)")
        return Outcome(x)

    def is_view(self, cfg):
        return True

    #: dims of the mask after (batch, channels): "all" (elementwise) or "channel" (feature dropout)
    mask = "all"

    def backward(self, cfg, inputs, outcome, grads):
        """Training mode. p = 0 returns the input itself (ATen's _dropout_impl): nothing kept. Otherwise
        out = x · noise with noise = bernoulli(1 − p) / (1 − p), and mul keeps the noise: elementwise in
        the input's dtype on CPU (one per element, or one per (sample, channel) for Dropout1d/2d/3d);
        on CUDA Dropout uses native_dropout, which keeps a bool mask (1 byte per element). Inplace
        writes into the input. Backward: one multiply per element."""
        x = inputs[0]
        if cfg["p"] == 0:
            return Backward(shares_input=True)
        elements = numel(x) if self.mask == "all" else x[0] * x[1]
        itemsize = 1 if grads.device == "cuda" and self.name == "Dropout" and cfg["p"] < 1 else None
        return Backward(0, 0, numel(x) if grads.inputs[0] else 0, (Saved("new", elements=elements, itemsize=itemsize),),
                        shares_input=bool(cfg["inplace"]))

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(**cfg)

    def reference(self, cfg, weights, inputs):
        return inputs[0]


@register
class Dropout(_Dropout):
    name = "Dropout"


@register
class Dropout1d(_Dropout):
    name = "Dropout1d"
    mask = "channel"
    ranks = (2, 3)


@register
class Dropout2d(_Dropout):
    name = "Dropout2d"
    mask = "channel"
    ranks = (3, 4)


@register
class Dropout3d(_Dropout):
    name = "Dropout3d"
    mask = "channel"
    ranks = (4, 5)


@register
class AlphaDropout(_Dropout):
    name = "AlphaDropout"
