"""Reshapes: Flatten, Unflatten, PixelShuffle, PixelUnshuffle, ChannelShuffle."""

from __future__ import annotations

from .base import (
    GLOBAL, Arg, ArgError, AxisMap, LayerType, Outcome, conv_axis_step, fmt_shape, int_arg, is_int,
    list_problem, normalize_dim, numel,
)
from .registry import register


@register
class Flatten(LayerType):
    name = "Flatten"
    args = (Arg("start_dim", int_arg(), 1), Arg("end_dim", int_arg(), -1))
    summary = "merges dimensions start_dim..end_dim (a view)"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        start = normalize_dim(cfg["start_dim"], len(x), "start_dim")
        end = normalize_dim(cfg["end_dim"], len(x), "end_dim")
        ctx.require(start <= end, lambda: f"start_dim {cfg['start_dim']} comes after end_dim {cfg['end_dim']} "
                                          f"for input {fmt_shape(x)}")
        if start == end:
            return Outcome(x)
        output = (*x[:start], numel(x[start:end + 1]), *x[end + 1:])
        # merging spatial axes: every output element's position no longer maps to one input window
        field = GLOBAL if end >= 2 else None
        return Outcome(output, {}, {}, 0, 0, field)

    def is_view(self, cfg):
        return True

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.Flatten(**cfg)

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        start = cfg["start_dim"] % x.ndim
        end = cfg["end_dim"] % x.ndim
        return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


def _sizes_arg(value):
    if isinstance(value, (list, tuple)) and value and all(is_int(v) and (v >= 1 or v == -1) for v in value) \
            and sum(1 for v in value if v == -1) <= 1:
        return tuple(value)
    if isinstance(value, (list, tuple)) and sum(1 for v in value if v == -1) > 1:
        why = "more than one -1"
    else:
        why = list_problem(value, None, lambda v: is_int(v) and (v >= 1 or v == -1), "a positive integer or -1")
    raise ArgError("a list of positive integers (at most one -1)", value, why=why)


@register
class Unflatten(LayerType):
    name = "Unflatten"
    args = (Arg("dim", int_arg()), Arg("unflattened_size", _sizes_arg))
    summary = "splits one dimension into several (a view)"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dim = normalize_dim(cfg["dim"], len(x))
        sizes = list(cfg["unflattened_size"])
        known = numel([s for s in sizes if s != -1])
        if -1 in sizes:
            ctx.require_divisible(x[dim], known, lambda: (
                f"unflattened_size {sizes} does not divide dimension {dim} of size {x[dim]}"))
            sizes[sizes.index(-1)] = x[dim] // known
        else:
            ctx.require_equal(known, x[dim], lambda: (
                f"unflattened_size {sizes} has {known} elements, dimension {dim} has {x[dim]} "
                f"(input {fmt_shape(x)})"))
        output = (*x[:dim], *sizes, *x[dim + 1:])
        # splitting a dimension into several moves the spatial axes: the map to input pixels is lost
        field = None if len(sizes) == 1 else GLOBAL
        return Outcome(output, {}, {}, 0, 0, field)

    def is_view(self, cfg):
        return True

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.Unflatten(cfg["dim"], tuple(cfg["unflattened_size"]))

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        dim = cfg["dim"] % x.ndim
        return x.reshape(x.shape[:dim] + tuple(cfg["unflattened_size"]) + x.shape[dim + 1:])


@register
class PixelShuffle(LayerType):
    name = "PixelShuffle"
    args = (Arg("upscale_factor", int_arg(1)),)
    summary = "(C·r², H, W) → (C, H·r, W·r)"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        r = cfg["upscale_factor"]
        ctx.require(len(x) >= 3, lambda: f"PixelShuffle expects 3 or more dimensions, found {fmt_shape(x)}")
        ctx.require_divisible(x[-3], r * r, lambda: (
            f"{x[-3]} channels are not divisible by upscale_factor² = {r * r}"))
        output = (*x[:-3], x[-3] // (r * r), x[-2] * r, x[-1] * r)
        # output (i, j) reads input (i // r, j // r): like nearest upsampling
        step = AxisMap(r, 1, (0,) * r, (0,) * r) if r != 1 else None
        # one step per spatial axis (dims 2..): a 3-d input's dim 1 is torch's C, not a spatial axis
        field = tuple(([None] * max(len(x) - 4, 0) + [step, step])[-(len(x) - 2):]) if step else None
        return Outcome(output, {}, {}, 0, 0, field)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.PixelShuffle(cfg["upscale_factor"])

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        r = cfg["upscale_factor"]
        *lead, c, h, w = x.shape
        y = x.reshape(*lead, c // (r * r), r, r, h, w)
        n = len(lead)
        y = y.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
        return y.reshape(*lead, c // (r * r), h * r, w * r)


@register
class PixelUnshuffle(LayerType):
    name = "PixelUnshuffle"
    args = (Arg("downscale_factor", int_arg(1)),)
    summary = "(C, H·r, W·r) → (C·r², H, W)"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        r = cfg["downscale_factor"]
        ctx.require(len(x) >= 3, lambda: f"PixelUnshuffle expects 3 or more dimensions, found {fmt_shape(x)}")
        for axis in (-2, -1):
            ctx.require_divisible(x[axis], r, lambda: (
                f"spatial size {x[axis]} is not divisible by downscale_factor {r} (input {fmt_shape(x)})"))
        output = (*x[:-3], x[-3] * r * r, x[-2] // r, x[-1] // r)
        step = conv_axis_step(r, r, 0)            # an r×r window with stride r
        field = tuple(([None] * max(len(x) - 4, 0) + [step, step])[-(len(x) - 2):]) if step else None
        return Outcome(output, {}, {}, 0, 0, field)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.PixelUnshuffle(cfg["downscale_factor"])

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        r = cfg["downscale_factor"]
        *lead, c, h, w = x.shape
        n = len(lead)
        y = x.reshape(*lead, c, h // r, r, w // r, r)
        y = y.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
        return y.reshape(*lead, c * r * r, h // r, w // r)


@register
class ChannelShuffle(LayerType):
    name = "ChannelShuffle"
    args = (Arg("groups", int_arg(1)),)
    summary = "ShuffleNet's channel permutation"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        groups = cfg["groups"]
        ctx.require(len(x) >= 3, lambda: f"ChannelShuffle expects 3 or more dimensions, found {fmt_shape(x)}")
        ctx.require_divisible(x[1], groups, lambda: f"{x[1]} channels are not divisible by groups={groups}")
        return Outcome(x)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.ChannelShuffle(cfg["groups"])

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        n, c = x.shape[:2]
        g = cfg["groups"]
        return x.reshape(n, g, c // g, *x.shape[2:]).swapaxes(1, 2).reshape(x.shape)
