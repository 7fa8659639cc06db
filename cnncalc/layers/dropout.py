"""Dropout layers: identity at inference (eval mode), so no FLOPs and no new memory."""

from __future__ import annotations

from .base import Arg, LayerType, Outcome, bool_arg, expect_rank, number_arg
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
    ranks = (2, 3)


@register
class Dropout2d(_Dropout):
    name = "Dropout2d"
    ranks = (3, 4)


@register
class Dropout3d(_Dropout):
    name = "Dropout3d"
    ranks = (4, 5)


@register
class AlphaDropout(_Dropout):
    name = "AlphaDropout"
