"""Normalisations: BatchNorm, GroupNorm, LayerNorm, InstanceNorm, LocalResponseNorm.

FLOPs follow inference (eval) semantics, per element:
  normalise with known statistics: subtract mean, multiply by 1/√(var + ε) = 2
  statistics from the data (GroupNorm, LayerNorm, InstanceNorm): mean 1
    (add) + variance 3 (subtract, square, add) = 4 more
  affine: multiply by γ, add β = 2 more
Per-group scalar work (dividing sums, √) is not counted. The receptive field
treats statistics as constants, as inference does (identity).
"""

from __future__ import annotations

from .base import (
    ACC, Arg, Backward, LayerType, Outcome, Saved, bool_arg, expect_rank, fmt_shape, int_arg, int_tuple_arg, number_arg, numel, optional,
)
from .registry import register

NORMALISE = 2      # (x − mean) · rsqrt(var + ε)
STATISTICS = 4     # mean: 1 add; variance: subtract, square, add
AFFINE = 2         # · γ + β


def _norm_flops(elements, statistics: bool, affine: bool):
    return elements * (NORMALISE + (STATISTICS if statistics else 0) + (AFFINE if affine else 0))


# Backward, per element (training mode: statistics from the batch): x̂ again (2), the two
# reductions Σg and Σg·x̂ that both gradients need (2), and for grad_input
# γ·rstd/n · (n·g − Σg − x̂·Σg·x̂) (4). grad_γ = Σg·x̂ and grad_β = Σg come from those sums.
BACKWARD_SUMS = 4
BACKWARD_INPUT = 4


def norm_backward(inputs, grads, stats, stat_size=ACC, extra=()) -> Backward:
    """A normalisation keeps its input and ``stats`` tensors (mean, rstd) of per-group size."""
    elements = numel(inputs[0])
    flops = elements * BACKWARD_SUMS + (elements * BACKWARD_INPUT if grads.inputs[0] else 0)
    return Backward(0, 0, flops, (Saved("input"), Saved("new", elements=stats, itemsize=stat_size),
                                  Saved("new", elements=stats, itemsize=stat_size)) + tuple(extra))


class _BatchNorm(LayerType):
    ranks: tuple[int, ...] = (4,)
    args = (
        Arg("eps", number_arg(0, strictly=True), 1e-5),
        Arg("momentum", optional(number_arg(0)), 0.1),
        Arg("affine", bool_arg, True),
        Arg("track_running_stats", bool_arg, True),
    )
    summary = "batch normalisation over the channel dimension"

    def check_statistics(self, x, ctx) -> None:
        """Statistics from the batch in every mode: torch's _verify_batch_size."""
        channels = x[1]
        ctx.require_at_least(numel(x) // channels, 2, lambda: (
            f"batch statistics need more than 1 value per channel, input {fmt_shape(x)} has "
            f"{numel(x) // channels} (track_running_stats false)"))

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        expect_rank(ctx, x, self.ranks, "(batch, channels, ...)")
        channels = x[1]
        statistics = not cfg["track_running_stats"]     # eval mode with running stats: no pass over the data
        if statistics:
            self.check_statistics(x, ctx)
        params = {"weight": (channels,), "bias": (channels,)} if cfg["affine"] else {}
        buffers = ({"running_mean": (channels,), "running_var": (channels,), "num_batches_tracked": ()}
                   if cfg["track_running_stats"] else {})
        elements = numel(x)
        flops = _norm_flops(elements, statistics=statistics, affine=cfg["affine"])
        if ctx.explaining:
            ctx.explain("FLOPs", f"{elements} · ({NORMALISE}" + (f" + {STATISTICS}" if statistics else "")
                        + (f" + {AFFINE}" if cfg["affine"] else "") + ")", flops)
        return Outcome(x, params, buffers, 0, flops, None)

    def backward(self, cfg, inputs, outcome, grads):
        """native_batch_norm / _batch_norm_with_update keep the input and save_mean, save_invstd
        (C each, float32 for half inputs); the running statistics are buffers, not counted."""
        return norm_backward(inputs, grads, inputs[0][1])

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(num_features=inputs[0][1], **cfg)

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        view = (1, -1) + (1,) * (x.ndim - 2)
        if cfg["track_running_stats"]:
            mean = weights["running_mean"].reshape(view)
            var = weights["running_var"].reshape(view)
        else:
            axes = (0,) + tuple(range(2, x.ndim))
            mean = x.mean(axis=axes, keepdims=True)
            var = x.var(axis=axes, keepdims=True)
        # (x - mean) / sqrt(var + eps) · weight + bias, folded per channel into x · scale + shift:
        # two passes over x instead of four (a third of `cnncalc run`'s time on ResNet-50 otherwise)
        scale = (var + cfg["eps"]) ** -0.5
        if cfg["affine"]:
            scale = scale * weights["weight"].reshape(view)
        shift = -mean * scale
        if cfg["affine"]:
            shift = shift + weights["bias"].reshape(view)
        y = x * scale.astype(x.dtype, copy=False)
        y += shift.astype(x.dtype, copy=False)
        return y


@register
class BatchNorm1d(_BatchNorm):
    name = "BatchNorm1d"
    ranks = (2, 3)


@register
class BatchNorm2d(_BatchNorm):
    name = "BatchNorm2d"
    ranks = (4,)


@register
class BatchNorm3d(_BatchNorm):
    name = "BatchNorm3d"
    ranks = (5,)


class _InstanceNorm(_BatchNorm):
    args = (
        Arg("eps", number_arg(0, strictly=True), 1e-5),
        Arg("momentum", optional(number_arg(0)), 0.1),
        Arg("affine", bool_arg, False),
        Arg("track_running_stats", bool_arg, False),
    )
    summary = "instance normalisation: per sample and channel"

    def backward(self, cfg, inputs, outcome, grads):
        """F.instance_norm runs batch_norm on the input viewed as (1, N·C, ...): mean and invstd of N·C
        in the input's dtype, and repeat(N) copies of what it passes in: the weight (affine) and the
        running mean and variance (track_running_stats), N·C float32 each."""
        x = inputs[0]
        groups = x[0] * x[1]
        copies = (1 if cfg["affine"] else 0) + (2 if cfg["track_running_stats"] else 0)
        return norm_backward(inputs, grads, groups, None, (Saved("new", elements=groups, itemsize=4),) * copies)

    def check_statistics(self, x, ctx) -> None:
        """Statistics from each sample in every mode: torch's _verify_spatial_size."""
        ctx.require_at_least(numel(x[2:]), 2, lambda: (
            f"instance statistics need more than 1 spatial element, input {fmt_shape(x)} has "
            f"{numel(x[2:])} (track_running_stats false)"))

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        view = (1, -1) + (1,) * (x.ndim - 2)
        if cfg["track_running_stats"]:
            return super().reference(cfg, weights, inputs)
        axes = tuple(range(2, x.ndim))
        y = (x - x.mean(axis=axes, keepdims=True)) / (x.var(axis=axes, keepdims=True) + cfg["eps"]) ** 0.5
        if cfg["affine"]:
            y = y * weights["weight"].reshape(view) + weights["bias"].reshape(view)
        return y.astype(x.dtype, copy=False)


@register
class InstanceNorm1d(_InstanceNorm):
    name = "InstanceNorm1d"
    ranks = (3,)


@register
class InstanceNorm2d(_InstanceNorm):
    name = "InstanceNorm2d"
    ranks = (4,)


@register
class InstanceNorm3d(_InstanceNorm):
    name = "InstanceNorm3d"
    ranks = (5,)


@register
class GroupNorm(LayerType):
    name = "GroupNorm"
    args = (
        Arg("num_groups", int_arg(1)),
        Arg("eps", number_arg(0, strictly=True), 1e-5),
        Arg("affine", bool_arg, True),
    )
    summary = "group normalisation: statistics per sample and channel group"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        expect_rank(ctx, x, (2, 3, 4, 5, 6), "(batch, channels, ...)")
        channels, groups = x[1], cfg["num_groups"]
        ctx.require_divisible(channels, groups, lambda: (
            f"{channels} channels are not divisible by num_groups={groups}"))
        # torch's group_norm checks N · C/groups · spatial > 1 in every mode (_verify_batch_size)
        ctx.require_at_least(numel(x) // groups, 2, lambda: (
            f"group statistics need more than 1 value per group, input {fmt_shape(x)} has "
            f"{numel(x) // groups} with num_groups={groups}"))
        params = {"weight": (channels,), "bias": (channels,)} if cfg["affine"] else {}
        flops = _norm_flops(numel(x), statistics=True, affine=cfg["affine"])
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(x)} · ({NORMALISE} + {STATISTICS}" + (f" + {AFFINE}" if cfg["affine"] else "")
                        + ")", flops)
        return Outcome(x, params, {}, 0, flops, None)

    autocast_fp32_on = frozenset({"cuda"})      # group_norm is on CUDA autocast's float32 list

    def backward(self, cfg, inputs, outcome, grads):
        """native_group_norm keeps the input, mean and rstd (N·G each, float32 for half inputs)."""
        return norm_backward(inputs, grads, inputs[0][0] * cfg["num_groups"])

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.GroupNorm(num_channels=inputs[0][1], **cfg)

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        n, c = x.shape[:2]
        grouped = x.reshape(n, cfg["num_groups"], -1)
        y = (grouped - grouped.mean(axis=2, keepdims=True)) / (grouped.var(axis=2, keepdims=True) + cfg["eps"]) ** 0.5
        y = y.reshape(x.shape)
        if cfg["affine"]:
            view = (1, -1) + (1,) * (x.ndim - 2)
            y = y * weights["weight"].reshape(view) + weights["bias"].reshape(view)
        return y.astype(x.dtype, copy=False)


def _shape_arg(value):
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    return int_tuple_arg(len(value) if isinstance(value, (list, tuple)) and value else 1, 1)(value)


@register
class LayerNorm(LayerType):
    name = "LayerNorm"
    args = (
        Arg("normalized_shape", _shape_arg),
        Arg("eps", number_arg(0, strictly=True), 1e-5),
        Arg("elementwise_affine", bool_arg, True),
        Arg("bias", bool_arg, True),
    )
    summary = "layer normalisation over the trailing normalized_shape dimensions"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        shape = tuple(cfg["normalized_shape"])
        trailing = tuple(x[len(x) - len(shape):]) if len(shape) <= len(x) else None
        # torch normalises over the trailing dims and accepts them all, the batch included
        ctx.require(trailing is not None, lambda: (
            f"normalized_shape {list(shape)} needs at least {len(shape)} dimensions, input is {fmt_shape(x)}"))
        for have, want in zip(trailing, shape):
            ctx.require_equal(have, want, lambda: (
                f"normalized_shape {list(shape)} does not match the input's trailing dimensions "
                f"{list(trailing)} (input {fmt_shape(x)})"))
        params = {}
        if cfg["elementwise_affine"]:
            params["weight"] = shape
            if cfg["bias"]:
                params["bias"] = shape
        affine_cost = (1 if cfg["elementwise_affine"] else 0) + (1 if cfg["elementwise_affine"] and cfg["bias"] else 0)
        flops = numel(x) * (NORMALISE + STATISTICS + affine_cost)
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(x)} · ({NORMALISE} + {STATISTICS} + {affine_cost})", flops)
        return Outcome(x, params, {}, 0, flops, None)

    autocast_fp32_on = frozenset({"cuda"})      # layer_norm is on CUDA autocast's float32 list

    def backward(self, cfg, inputs, outcome, grads):
        """native_layer_norm keeps the input, mean and rstd (one per normalised row, float32 for half)."""
        x = inputs[0]
        return norm_backward(inputs, grads, numel(x[:len(x) - len(cfg["normalized_shape"])]))

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.LayerNorm(**{**cfg, "normalized_shape": list(cfg["normalized_shape"])})

    def reference(self, cfg, weights, inputs):
        x = inputs[0]
        axes = tuple(range(x.ndim - len(cfg["normalized_shape"]), x.ndim))
        y = (x - x.mean(axis=axes, keepdims=True)) / (x.var(axis=axes, keepdims=True) + cfg["eps"]) ** 0.5
        if cfg["elementwise_affine"]:
            y = y * weights["weight"]
            if cfg["bias"]:
                y = y + weights["bias"]
        return y.astype(x.dtype, copy=False)


@register
class LocalResponseNorm(LayerType):
    name = "LocalResponseNorm"
    args = (
        Arg("size", int_arg(1)),
        Arg("alpha", number_arg(), 1e-4),
        Arg("beta", number_arg(), 0.75),
        Arg("k", number_arg(), 1.0),
    )
    summary = "AlexNet's local response normalisation across channels"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        ctx.require(len(x) >= 3, lambda: f"LocalResponseNorm expects 3 or more dimensions, found {fmt_shape(x)}")
        size = cfg["size"]
        # square 1, window sum size−1, ·α/n 1, +k 1, ^β 1, divide 1
        per_element = size + 4
        flops = numel(x) * per_element
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(x)} · ({size} + 4)", flops)
        return Outcome(x, {}, {}, 0, flops, None)

    def backward(self, cfg, inputs, outcome, grads):
        """F.local_response_norm is composite: x·x, pad, avg_pool over channels (keeps the padded
        squares, N·(C + size − 1)·spatial), ·α + k, pow β (keeps its base), x / that (keeps the input
        and the divisor): the input and three new tensors. Backward: the chain's derivatives, about
        size + 6 per element."""
        x = inputs[0]
        padded = x[0] * (x[1] + cfg["size"] - 1) * numel(x[2:])
        elements = numel(x)
        return Backward(0, 0, (cfg["size"] + 6) * elements if grads.inputs[0] else 0,
                        (Saved("input"), Saved("new", elements=padded), Saved("new", elements=elements),
                         Saved("new", elements=elements)))

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.LocalResponseNorm(**cfg)

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        size = cfg["size"]
        squared = x * x
        channels = x.shape[1]
        padded = np.pad(squared, [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (x.ndim - 2))
        window = sum(padded[:, i:i + channels] for i in range(size))
        return (x / (cfg["k"] + cfg["alpha"] / size * window) ** cfg["beta"]).astype(x.dtype, copy=False)
