"""Sliding blocks and random pooling: Unfold (im2col), Fold (col2im), FractionalMaxPool2d/3d.

Unfold: (N, C, H, W) -> (N, C·∏k, L), L = ∏ ⌊(size + 2p − d(k − 1) − 1) / s⌋ + 1
(torch.nn.Unfold's documented shape); a copy: no MACs, no FLOPs (FlopCounterMode
counts none for im2col). Fold: (N, C·∏k, L) -> (N, C, *output_size), L must
equal the block count of output_size; col2im adds each input element into the
(zeroed) output: one add per input element (FlopCounterMode counts none).
Both flatten the spatial axes into L (or back), so their field is global, as
Flatten's.

FractionalMaxPool (Graham 2014, torch.nn.FractionalMaxPool2d/3d): the output
size is exact — ``output_size``, or ⌊size · output_ratio⌋ per axis
(torch: ``int(input.size(-1) * output_ratio)``) — but the windows start at
random positions, even in eval: start_i = ⌊(i + u)·α⌋ − ⌊u·α⌋ with
α = (L − k)/(O − 1), u uniform, the last window at L − k. Each output reads
one k-window, so the field step is a k-window advancing α on average
(span k − 1): the largest window one output can read; the exact positions
depend on the random draw. Max pooling's FLOPs: K − 1 comparisons per output
(conventions.md; FlopCounterMode counts none).
"""

from __future__ import annotations

from fractions import Fraction

from .base import (
    GLOBAL, Arg, ArgError, AxisStep, LayerType, Outcome, Saved, Backward, bool_arg, expect_rank, fmt_spatial,
    int_tuple_arg, is_int, list_problem, numel, optional,
)
from .conv import AXIS_NAMES
from .registry import register


def _blocks(ctx, sizes, kernel, dilation, padding, stride, what):
    """The number of sliding blocks per axis, torch's formula; each must be at least 1."""
    counts = []
    for size, k, d, p, s in zip(sizes, kernel, dilation, padding, stride):
        count = (size + 2 * p - d * (k - 1) - 1) // s + 1
        ctx.require_at_least(count, 1, lambda: (
            f"the {'dilated ' if d != 1 else ''}block {fmt_spatial([dd * (kk - 1) + 1 for kk, dd in zip(kernel, dilation)])} "
            f"does not fit the padded {what} {fmt_spatial(sizes)} (padding {fmt_spatial(padding)})"))
        counts.append(count)
    return counts


_WINDOW_ARGS = (
    Arg("kernel_size", int_tuple_arg(2, 1), doc="the block's size"),
    Arg("dilation", int_tuple_arg(2, 1), 1),
    Arg("padding", int_tuple_arg(2, 0), 0),
    Arg("stride", int_tuple_arg(2, 1), 1),
)


@register
class Unfold(LayerType):
    name = "Unfold"
    args = _WINDOW_ARGS
    summary = "im2col: (N, C, H, W) -> (N, C·k·k, L), a copy"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        expect_rank(ctx, x, (4,), "(batch, channels, H, W)")
        counts = _blocks(ctx, x[2:], cfg["kernel_size"], cfg["dilation"], cfg["padding"], cfg["stride"], "input")
        output = (x[0], x[1] * numel(cfg["kernel_size"]), numel(counts))
        if ctx.explaining:
            ctx.explain("L", " · ".join(str(c) for c in counts), numel(counts))
        return Outcome(output, {}, {}, 0, 0, GLOBAL)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.Unfold(**cfg)

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (cfg[k] for k in ("kernel_size", "dilation", "padding", "stride"))
        padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        oh = (padded.shape[2] - dh * (kh - 1) - 1) // sh + 1
        ow = (padded.shape[3] - dw * (kw - 1) - 1) // sw + 1
        # channel-major, then kernel row, kernel column: torch's (C, kh, kw) order of the second axis
        taps = [padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
                for i in range(kh) for j in range(kw)]
        stacked = np.stack(taps, axis=2)                 # (N, C, kh·kw, oh, ow)
        return stacked.reshape(x.shape[0], x.shape[1] * kh * kw, oh * ow)


@register
class Fold(LayerType):
    name = "Fold"
    args = (Arg("output_size", int_tuple_arg(2, 1), doc="the spatial size of the output"),) + _WINDOW_ARGS
    summary = "col2im: (N, C·k·k, L) -> (N, C, *output_size), overlapping blocks summed"

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        expect_rank(ctx, x, (3,), "(batch, channels·kernel volume, blocks)")
        volume = numel(cfg["kernel_size"])
        ctx.require_divisible(x[1], volume, lambda: (
            f"the input's dimension 1 ({x[1]}) is not divisible by the kernel volume "
            f"{fmt_spatial(cfg['kernel_size'])} = {volume}"))
        counts = _blocks(ctx, cfg["output_size"], cfg["kernel_size"], cfg["dilation"], cfg["padding"],
                         cfg["stride"], "output_size")
        ctx.require_equal(x[2], numel(counts), lambda: (
            f"the input's dimension 2 is {x[2]}, but output_size {fmt_spatial(cfg['output_size'])} has "
            f"{' · '.join(str(c) for c in counts)} = {numel(counts)} sliding blocks"))
        output = (x[0], x[1] // volume, *cfg["output_size"])
        flops = numel(x)                                 # one add of each input element into the output
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(x)} adds (one per input element)", flops)
        return Outcome(output, {}, {}, 0, flops, GLOBAL)

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.Fold(**cfg)

    def reference(self, cfg, weights, inputs):
        import numpy as np
        x = inputs[0]
        (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (cfg[k] for k in ("kernel_size", "dilation", "padding", "stride"))
        height, width = cfg["output_size"]
        oh = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        channels = x.shape[1] // (kh * kw)
        blocks = x.reshape(x.shape[0], channels, kh, kw, oh, ow)
        out = np.zeros((x.shape[0], channels, height + 2 * ph, width + 2 * pw), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                out[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += blocks[:, :, i, j]
        return out[:, :, ph:ph + height, pw:pw + width]


def _ratio_arg(rank):
    def check(value):
        values = (value,) * rank if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        ok = isinstance(values, (list, tuple)) and len(values) == rank and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1 for v in values)
        if not ok:
            raise ArgError(f"a number between 0 and 1 (exclusive) or a list of {rank} such numbers", value,
                           why=list_problem(value, rank, lambda v: isinstance(v, (int, float)) and 0 < v < 1,
                                            "a number between 0 and 1"))
        return tuple(values)
    return check


class _Fractional(LayerType):
    rank = 2
    summary = "max pooling over random windows (the output size is exact; K − 1 comparisons per output)"

    def configure(self, args):
        if (args["output_size"] is None) == (args["output_ratio"] is None):
            raise ArgError("output_size or output_ratio", message="give either output_size or output_ratio, "
                           "not both" if args["output_size"] is not None else
                           "give output_size or output_ratio (torch requires one of them)", arg="output_size")
        if args.get("return_indices"):
            raise ArgError("return_indices false (a layer in a file returns one tensor)", True, arg="return_indices")
        return args

    def _output_sizes(self, cfg, sizes):
        if cfg["output_size"] is not None:
            return list(cfg["output_size"])
        outs = []
        for size, ratio in zip(sizes, cfg["output_ratio"]):
            if is_int(size):
                outs.append(int(size * ratio))           # torch: int(input.size(-1) * output_ratio)
            else:
                exact = Fraction(ratio)                  # the float's exact value: ⌊L · p / q⌋
                outs.append(size * exact.numerator // exact.denominator)
        return outs

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        rank = self.rank
        expect_rank(ctx, x, (rank + 2,), f"(batch, channels, {', '.join(AXIS_NAMES[rank])})")
        sizes = x[-rank:]
        kernel = cfg["kernel_size"]
        outs = self._output_sizes(cfg, sizes)
        steps = []
        for axis, (size, out, k) in enumerate(zip(sizes, outs, kernel)):
            name = AXIS_NAMES[rank][axis]
            if ctx.explaining and cfg["output_ratio"] is not None:
                ctx.explain(f"{name}_out", f"⌊{size} · {cfg['output_ratio'][axis]}⌋", out)
            ctx.require_at_least(out, 1, lambda: (
                f"the output would be empty along {name}: {size} · {cfg['output_ratio'][axis]} < 1"))
            # ATen: outputSize + poolSize − 1 <= inputSize
            ctx.require_at_least(size, out + k - 1, lambda: (
                f"pool size {k} is too large relative to input {name} {size} for output {out} "
                f"(torch needs output + kernel − 1 <= input)"))
            # each output reads one k-window; windows advance α = (L − k)/(O − 1) on average (random starts)
            advance = 1 if is_int(out) and out == 1 else ((size - k) / (out - 1) if not is_int(size) or not is_int(out)
                                                          else Fraction(size - k, out - 1))
            steps.append(AxisStep(k - 1, advance, Fraction(k - 1, 2)))
        output = (*x[:-rank], *outs)
        per_output = numel(kernel) - 1                   # comparisons
        flops = numel(output) * per_output
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(output)} · {per_output}", flops)
        return Outcome(output, {}, {}, 0, flops, tuple(steps))

    def backward(self, cfg, inputs, outcome, grads):
        """fractional_max_pool keeps its input and the int64 argmax indices; backward scatters one add per output."""
        saved = (Saved("input"), Saved("new", elements=numel(outcome.output_shape), itemsize=8))
        return Backward(0, 0, numel(outcome.output_shape) if grads.inputs[0] else 0, saved)

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(**cfg)

    def reference(self, cfg, weights, inputs):
        """One random draw of the windows (numpy's generator, not torch's: the shapes agree, not the values)."""
        import numpy as np
        x = inputs[0]
        rank = self.rank
        sizes = x.shape[-rank:]
        outs = self._output_sizes(cfg, sizes)
        rng = np.random.default_rng(0)
        out = x
        for axis in range(rank):                         # max over one axis at a time: max is separable
            size, o, k = sizes[axis], outs[axis], cfg["kernel_size"][axis]
            u = rng.random()
            alpha = (size - k) / (o - 1) if o > 1 else 0.0
            starts = [int((i + u) * alpha) - int(u * alpha) for i in range(o - 1)] + [size - k]
            where = out.ndim - rank + axis
            pieces = [np.take(out, range(s, s + k), axis=where).max(axis=where, keepdims=True) for s in starts]
            out = np.concatenate(pieces, axis=where)
        return out


def _fractional_args(rank):
    return (
        Arg("kernel_size", int_tuple_arg(rank, 1)),
        Arg("output_size", optional(int_tuple_arg(rank, 1)), None, doc="the output's spatial size"),
        Arg("output_ratio", optional(_ratio_arg(rank)), None,
            doc="the output's size as a fraction of the input's: ⌊size · ratio⌋"),
        Arg("return_indices", bool_arg, False),
    )


for _rank in (2, 3):
    register(type(f"FractionalMaxPool{_rank}d", (_Fractional,),
                  {"name": f"FractionalMaxPool{_rank}d", "rank": _rank, "args": _fractional_args(_rank)}))
