"""Pooling: MaxPool, AvgPool, LPPool, AdaptiveAvgPool, AdaptiveMaxPool (1d/2d/3d).

Output sizes follow ATen's pooling_output_shape:
  out = ⌊(L + 2p − d(k − 1) − 1 + (s − 1 if ceil_mode)) / s⌋ + 1,
  minus one when ceil_mode makes the last window start in the right padding.
FLOPs per output element (conventions.md): max K − 1 comparisons; average
K − 1 adds + 1 divide = K; LP K powers + K − 1 adds + 1 root = 2K; with K the
kernel volume (adaptive: the exact sum of the bins' window volumes).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

from .base import (
    GLOBAL, MAX_PERIOD, Arg, ArgError, AxisMap, AxisStep, Backward, LayerType, Outcome, Saved, bool_arg, ceil_div, conv_axis_step, dim_max,
    expect_rank, floor_div, fmt_spatial, int_arg, int_tuple_arg, is_int, list_problem, number_arg, numel, optional,
)
from .conv import AXIS_NAMES
from .registry import register


def pooled_size(ctx, size, kernel, stride, pad, dilation, ceil_mode, axis_name):
    """ATen pooling_output_shape, with torch's 'output size is too small' check."""
    effective = dilation * (kernel - 1)
    out = floor_div(size + 2 * pad - effective - 1 + (stride - 1 if ceil_mode else 0), stride) + 1
    if ceil_mode and ctx.is_true(lambda: (out - 1) * stride >= size + pad):
        out = out - 1          # the last window would start inside the right padding
    if ctx.explaining:
        ceil_text = f" + ({stride} − 1)" if ceil_mode else ""
        ctx.explain(f"{axis_name}_out", f"⌊({size} + 2·{pad} − {dilation}·({kernel} − 1) − 1{ceil_text}) / {stride}⌋ + 1",
                    out)
    return out


class _Pool(LayerType):
    rank = 2
    kind = "max"
    has_dilation = False
    has_padding = True

    def configure(self, args):
        if args.get("stride") is None:
            args["stride"] = args["kernel_size"]      # torch: stride defaults to kernel_size
        if args.get("return_indices"):
            raise ArgError("return_indices false (a layer in a file returns one tensor)", True, arg="return_indices")
        pads, kernel = args.get("padding", (0,) * self.rank), args["kernel_size"]
        for p, k in zip(pads, kernel):
            # ATen's pool shape check: kernel // 2 >= pad, the kernel *before* dilation
            if p > k // 2:
                raise ArgError(f"padding at most half of kernel_size {fmt_spatial(kernel)} "
                               f"(torch: pad should be at most half of kernel size)", list(pads), arg="padding")
        return args

    def cost_per_output(self, cfg, window: int):
        if self.kind == "max":
            return window - 1                     # comparisons
        if self.kind == "lp":
            return 2 * window                     # powers, adds, one root
        return window                             # adds and one divide

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        rank = self.rank
        expect_rank(ctx, x, (rank + 2,), f"(batch, channels, {', '.join(AXIS_NAMES[rank])})")
        kernel, stride = cfg["kernel_size"], cfg["stride"]
        pads = cfg.get("padding", (0,) * rank)
        dilation = cfg.get("dilation", (1,) * rank)
        out_spatial, steps = [], []
        for axis, (size, k, s, p, d) in enumerate(zip(x[2:], kernel, stride, pads, dilation)):
            name = AXIS_NAMES[rank][axis]
            if rank == 3 and self.kind != "max":
                # ATen's avg_pool3d (LPPool3d pools through it) checks the input *before* padding
                ctx.require_at_least(size, k, lambda: (
                    f"input {fmt_spatial(x[2:])} is smaller than kernel_size {fmt_spatial(kernel)} "
                    f"(torch's avg_pool3d checks the unpadded input)"))
            out = pooled_size(ctx, size, k, s, p, d, cfg["ceil_mode"], name)
            ctx.require_at_least(out, 1, lambda: (
                f"output size is too small: the {'dilated ' if d != 1 else ''}window {fmt_spatial([d * (kk - 1) + 1 for kk, d in zip(kernel, dilation)])} "
                f"does not fit the padded input (input {fmt_spatial(x[2:])}, padding {fmt_spatial(pads)})"))
            out_spatial.append(out)
            steps.append(conv_axis_step(k, s, p, d))
        output = (x[0], x[1], *out_spatial)
        window = numel(kernel)
        per_output = self.cost_per_output(cfg, window)
        flops = numel(output) * per_output
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(output)} · {per_output}", flops)
        return Outcome(output, {}, {}, 0, flops, None if all(s is None for s in steps) else tuple(steps))

    def backward(self, cfg, inputs, outcome, grads):
        """max_pool*_with_indices keeps its input and the int64 argmax indices (one per output);
        backward scatters each output's gradient to its argmax (1 add per output).
        avg_pool* keeps its input; backward spreads grad/K over each window (K + 1 per output).
        lp_pool is composite (x^p, avg_pool, sign·relu(|·|), ·K, ^(1/p)): it keeps the input, x^p
        (input-sized) and four output-sized tensors; backward about 4K per output."""
        if not grads.inputs[0]:
            return Backward(0, 0, 0, self._saved(inputs, outcome))
        outputs, window = numel(outcome.output_shape), numel(cfg["kernel_size"])
        flops = {"max": outputs, "avg": outputs * (window + 1), "lp": outputs * 4 * window}[self.kind]
        return Backward(0, 0, flops, self._saved(inputs, outcome))

    def _saved(self, inputs, outcome):
        if self.kind == "max":
            return (Saved("input"), Saved("new", elements=numel(outcome.output_shape), itemsize=8))
        if self.kind == "lp":
            return (Saved("input"), Saved("new", elements=numel(inputs[0]))) + (
                Saved("new", elements=numel(outcome.output_shape)),) * 4
        return (Saved("input"),)

    def to_torch(self, cfg, inputs):
        import torch
        if self.rank == 1:       # torch's LPPool1d multiplies by kernel_size: it needs ints, not 1-tuples
            cfg = {key: value[0] if isinstance(value, tuple) and len(value) == 1 else value
                   for key, value in cfg.items()}
        return getattr(torch.nn, self.name)(**cfg)

    def reference(self, cfg, weights, inputs):
        from ..reference import ops
        x = inputs[0]
        if self.kind == "max":
            return ops.max_pool(x, kernel_size=cfg["kernel_size"], stride=cfg["stride"], padding=cfg["padding"],
                                dilation=cfg["dilation"], ceil_mode=cfg["ceil_mode"])
        if self.kind == "lp":
            return ops.lp_pool(x, norm_type=cfg["norm_type"], kernel_size=cfg["kernel_size"], stride=cfg["stride"],
                               ceil_mode=cfg["ceil_mode"])
        return ops.avg_pool(x, kernel_size=cfg["kernel_size"], stride=cfg["stride"], padding=cfg["padding"],
                            ceil_mode=cfg["ceil_mode"], count_include_pad=cfg["count_include_pad"],
                            divisor_override=cfg.get("divisor_override"))


def _max_args(rank):
    return (
        Arg("kernel_size", int_tuple_arg(rank, 1)),
        Arg("stride", optional(int_tuple_arg(rank, 1)), None),
        Arg("padding", int_tuple_arg(rank, 0), 0),
        Arg("dilation", int_tuple_arg(rank, 1), 1),
        Arg("return_indices", bool_arg, False),
        Arg("ceil_mode", bool_arg, False),
    )


def _avg_args(rank):
    args = (
        Arg("kernel_size", int_tuple_arg(rank, 1)),
        Arg("stride", optional(int_tuple_arg(rank, 1)), None),
        Arg("padding", int_tuple_arg(rank, 0), 0),
        Arg("ceil_mode", bool_arg, False),
        Arg("count_include_pad", bool_arg, True),
    )
    if rank > 1:   # torch's AvgPool1d has no divisor_override
        args += (Arg("divisor_override", optional(int_arg(1)), None),)
    return args


def _lp_args(rank):
    return (
        Arg("norm_type", number_arg(0, strictly=True)),
        Arg("kernel_size", int_tuple_arg(rank, 1)),
        Arg("stride", optional(int_tuple_arg(rank, 1)), None),
        Arg("ceil_mode", bool_arg, False),
    )


def _define(base_name, kind, args_for, summary):
    for rank in (1, 2, 3):
        name = f"{base_name}{rank}d"
        cls = type(name, (_Pool,), {"name": name, "rank": rank, "kind": kind, "args": args_for(rank),
                                    "summary": summary})
        register(cls)


_define("MaxPool", "max", _max_args, "max pooling (K − 1 comparisons per output)")
_define("AvgPool", "avg", _avg_args, "average pooling (K FLOPs per output)")
_define("LPPool", "lp", _lp_args, "power-average pooling (2K FLOPs per output)")


def adaptive_bins(size, out, count=None):
    """The first ``count`` (default all) bins of ATen's adaptive pooling: [⌊i·L/O⌋, ⌈(i+1)·L/O⌉)."""
    return [(i * size // out, ceil_div((i + 1) * size, out)) for i in range(out if count is None else count)]


def size_gcd(size, out: int):
    """gcd(L, O) for a concrete O: an int, or for a symbolic L the exact sum Σ_{d | O} φ(d)·[d | L].

    [d | L] = ⌊L/d⌋ − ⌊(L − 1)/d⌋, so the expression uses floors only and costs
    one term per divisor of O (at most 1,344 for O < 2³¹), not one per bin.
    """
    if isinstance(size, int):
        return math.gcd(size, out)
    if out == 1:                     # gcd(L, 1) = 1: global pooling, the common case, needs no floors
        return 1
    import sympy
    return sympy.Add(*(sympy.totient(d) * (size // d - (size - 1) // d) for d in sympy.divisors(out)))


def adaptive_window_sum(size, out: int):
    """Σ over the O bins of their lengths: L + O − gcd(L, O), in O(1) for concrete sizes.

    With g = gcd(L, O): Σ_{i<O} ⌊iL/O⌋ = ((L − 1)(O − 1) + g − 1)/2, and ⌈iL/O⌉ exceeds
    ⌊iL/O⌋ for all i ≤ O but the g where O divides iL; the two sums cancel but for L + O − g.
    """
    return size + out - size_gcd(size, out)


def adaptive_widest_bin(size, out: int):
    """The longest bin: 1 + ⌈(L − g)/O⌉ (bin i starts at fraction i·L/O mod 1, largest 1 − g/O)."""
    return 1 + ceil_div(size - size_gcd(size, out), out)


@lru_cache(maxsize=256)
def adaptive_axis_map(size, out):
    """Bins repeat every O/g outputs, advancing L/g inputs (g = gcd(L, O)): an exact map.

    Only one period of bins is listed (at most MAX_PERIOD); beyond, and for
    symbolic sizes, Distill's affine rule with the widest bin.
    """
    if isinstance(size, int) and isinstance(out, int):
        common = math.gcd(size, out)
        period, advance = out // common, size // common
        if period <= MAX_PERIOD:
            bins = adaptive_bins(size, out, period)
            return AxisMap(period, advance, tuple(start for start, _ in bins), tuple(end - 1 for _, end in bins))
    widest = adaptive_widest_bin(size, out)
    first = ceil_div(size, out)                  # bin 0 is [0, ⌈L/O⌉)
    stride = Fraction(size, out) if isinstance(size, int) else size / out
    return AxisStep(widest - 1, stride, (first - 1) / 2 if not isinstance(first, int) else Fraction(first - 1, 2))


def _adaptive_size_arg(rank):
    ints = int_tuple_arg(rank, 1)

    def check(value):
        if isinstance(value, (list, tuple)) and len(value) == rank and all(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1) for v in value):
            return tuple(value)
        try:
            return ints(value)
        except ArgError:
            raise ArgError(f"an integer >= 1 or a list of {rank} such integers (null keeps that size)", value,
                           why=list_problem(value, rank, lambda v: v is None or (is_int(v) and v >= 1),
                                            "an integer >= 1 or null")) from None
    return check


class _Adaptive(LayerType):
    rank = 2
    kind = "avg"

    def configure(self, args):
        if args.get("return_indices"):
            raise ArgError("return_indices false (a layer in a file returns one tensor)", True, arg="return_indices")
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        rank = self.rank
        expect_rank(ctx, x, (rank + 2,), f"(batch, channels, {', '.join(AXIS_NAMES[rank])})")
        spatial = x[2:]
        outs = tuple(size if want is None else want for size, want in zip(spatial, cfg["output_size"]))
        window_sums = []       # Σ over bins of the window length, per axis
        steps = []
        for size, out in zip(spatial, outs):
            if out is size or (isinstance(out, int) and isinstance(size, int) and size == out):
                window_sums.append(size)
                steps.append(None)
                continue
            window_sums.append(adaptive_window_sum(size, out))
            steps.append(None if isinstance(out, int) and out == 1 else adaptive_axis_map(size, out))   # GLOBAL below
        output = (x[0], x[1], *outs)
        planes = x[0] * x[1]
        volume_sum = numel(window_sums)        # Σ over output bins of window volume
        if self.kind == "max":
            flops = planes * (volume_sum - numel(outs))      # window − 1 comparisons per output
        else:
            flops = planes * volume_sum                       # window − 1 adds + 1 divide per output
        if ctx.explaining:
            ctx.explain("FLOPs", f"{planes} · ({' · '.join(map(str, window_sums))}"
                        + (f" − {numel(outs)})" if self.kind == "max" else ")"), flops)
        # an axis pooled to one bin is mixed entirely (global along it); the others keep their bins' maps
        steps = [GLOBAL if isinstance(o, int) and o == 1 else step for o, step in zip(outs, steps)]
        field = None if all(s is None for s in steps) else tuple(steps)
        return Outcome(output, {}, {}, 0, flops, field)

    def backward(self, cfg, inputs, outcome, grads):
        """adaptive_max_pool keeps its input and int64 indices (one per output); adaptive_avg_pool keeps
        its input, except to size 1 everywhere, which ATen computes as a mean (nothing kept).
        Backward: max 1 add per output; average one add and divide per window element, as forward."""
        outputs = numel(outcome.output_shape)
        if self.kind == "max":
            saved = (Saved("input"), Saved("new", elements=outputs, itemsize=8))
            flops = outputs
        else:
            to_one = all(isinstance(o, int) and o == 1 for o in outcome.output_shape[2:])
            saved = () if to_one else (Saved("input"),)
            flops = outcome.flops
        return Backward(0, 0, flops if grads.inputs[0] else 0, saved)

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(**{**cfg, "output_size": tuple(cfg["output_size"])})

    def reference(self, cfg, weights, inputs):
        from ..reference import ops
        if self.kind == "max":
            return ops.adaptive_max_pool(inputs[0], cfg["output_size"])
        return ops.adaptive_avg_pool(inputs[0], cfg["output_size"])


for _rank in (1, 2, 3):
    for _kind, _base in (("avg", "AdaptiveAvgPool"), ("max", "AdaptiveMaxPool")):
        _args = (Arg("output_size", _adaptive_size_arg(_rank)),)
        if _kind == "max":
            _args += (Arg("return_indices", bool_arg, False),)
        register(type(f"{_base}{_rank}d", (_Adaptive,), {
            "name": f"{_base}{_rank}d", "rank": _rank, "kind": _kind, "args": _args,
            "summary": f"adaptive {_kind} pooling to output_size (1: global)",
        }))
