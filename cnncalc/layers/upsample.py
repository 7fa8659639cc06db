"""Upsample (nearest, nearest-exact, linear, bilinear, bicubic, trilinear).

Output size: ``size``, or ⌊L · scale_factor⌋ computed in double precision
as torch does. FLOPs per output element: nearest 0; one linear
interpolation a + t·(b − a) is 3, so linear 3, bilinear 3·3 = 9 (two along
W, one along H), trilinear 7·3 = 21; bicubic 4 rows of a 4-tap filter
(4 multiplies + 3 adds each) and one more along H: 5·7 = 35.
Receptive field (SPEC's gradient rule): the jump divides by the scale;
nearest adds nothing; linear modes add one input element (two taps);
bicubic adds three (four taps). start: the source coordinate of output 0.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

from .base import MAX_PERIOD, Arg, ArgError, AxisMap, AxisStep, Backward, LayerType, Outcome, bool_arg, choice_arg, fmt_shape, is_int, list_problem, numel, optional
from .registry import register

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")
RANK_OF_MODE = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
FLOPS_PER_OUTPUT = {"nearest": 0, "nearest-exact": 0, "linear": 3, "bilinear": 9, "bicubic": 35, "trilinear": 21}
EXTRA_TAPS = {"nearest": 0, "nearest-exact": 0, "linear": 1, "bilinear": 1, "bicubic": 3, "trilinear": 1}


def _size_arg(value):
    if is_int(value) and value >= 1:
        return value
    if isinstance(value, (list, tuple)) and value and all(is_int(v) and v >= 1 for v in value):
        return tuple(value)
    raise ArgError("a positive integer or a list of them", value,
                   why=list_problem(value, None, lambda v: is_int(v) and v >= 1, "a positive integer"))


def _scale_arg(value):
    def ok(v):
        return not isinstance(v, bool) and isinstance(v, (int, float)) and v > 0
    if ok(value):
        return value
    if isinstance(value, (list, tuple)) and value and all(ok(v) for v in value):
        return tuple(value)
    raise ArgError("a positive number or a list of them", value, why=list_problem(value, None, ok, "a positive number"))


@register
class Upsample(LayerType):
    name = "Upsample"
    args = (
        Arg("size", optional(_size_arg), None),
        Arg("scale_factor", optional(_scale_arg), None),
        Arg("mode", choice_arg(*MODES), "nearest"),
        Arg("align_corners", optional(bool_arg), None),
        Arg("recompute_scale_factor", optional(bool_arg), None),
    )
    summary = "upsampling by size or scale_factor (torch.nn.Upsample)"

    def configure(self, args):
        if args["size"] is not None and args["scale_factor"] is not None:
            raise ArgError("exactly one of size and scale_factor", message="give either size or scale_factor, "
                           "not both", arg="scale_factor", hint="torch: only one of size or scale_factor should be defined")
        if args["size"] is None and args["scale_factor"] is None:
            raise ArgError("exactly one of size and scale_factor", message="give size or scale_factor (neither is set)",
                           hint="e.g. Upsample: {scale_factor: 2}")
        if args["align_corners"] is not None and args["mode"] not in ("linear", "bilinear", "bicubic", "trilinear"):
            raise ArgError("align_corners only with linear, bilinear, bicubic or trilinear modes", arg="align_corners",
                           message=f"align_corners={args['align_corners']} applies only to the linear, bilinear, "
                                   f"bicubic and trilinear modes, not mode {args['mode']!r}", hint="leave align_corners out")
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        mode = cfg["mode"]
        spatial_rank = len(x) - 2
        ctx.require(spatial_rank >= 1, lambda: f"Upsample expects a 3-d, 4-d or 5-d input, found {fmt_shape(x)}")
        if mode in RANK_OF_MODE:
            need = RANK_OF_MODE[mode] + 2
            ctx.require(len(x) == need, lambda: f"mode {mode!r} expects a {need}-d input, found {len(x)}-d {fmt_shape(x)}")
        spatial = x[2:]

        def per_axis(value, what):
            if isinstance(value, tuple):
                ctx.require(len(value) == spatial_rank, lambda: (
                    f"{what} has {len(value)} values for {spatial_rank} spatial dimensions (input {fmt_shape(x)})"))
                return value
            return (value,) * spatial_rank

        out_spatial, steps = [], []
        align = bool(cfg["align_corners"])
        if cfg["size"] is not None:
            sizes = per_axis(cfg["size"], "size")
            scales = [None] * spatial_rank
        else:
            factors = per_axis(cfg["scale_factor"], "scale_factor")
            sizes = [self._scaled(size, factor) for size, factor in zip(spatial, factors)]
            scales = [None if cfg["recompute_scale_factor"] else factor for factor in factors]
        for size, out, factor in zip(spatial, sizes, scales):
            ctx.require_at_least(out, 1, lambda: f"upsampled size would be {out} from {size}")
            out_spatial.append(out)
            steps.append(self._axis_step(mode, size, out, factor, align))
        output = (x[0], x[1], *out_spatial)
        flops = numel(output) * FLOPS_PER_OUTPUT[mode]
        if ctx.explaining:
            ctx.explain("FLOPs", f"{numel(output)} · {FLOPS_PER_OUTPUT[mode]}", flops)
        field = None if all(s is None for s in steps) else tuple(steps)
        return Outcome(output, {}, {}, 0, flops, field)

    @staticmethod
    def _scaled(size, factor):
        if is_int(size):
            return math.floor(float(size) * factor)      # torch: floor(double(L) · scale)
        import sympy
        return sympy.floor(size * sympy.nsimplify(factor))

    @staticmethod
    def _axis_step(mode, size, out, factor, align):
        if is_int(size) and is_int(out) and size == out:
            return None
        # torch's source scale (area_pixel_compute_scale): (L − 1)/(O − 1) with align_corners,
        # else 1/scale_factor when one was given, else L/O
        if align and mode in RANK_OF_MODE:
            if not (is_int(size) and is_int(out)):
                return None if size == out else AxisStep(EXTRA_TAPS[mode], (size - 1) / (out - 1), 0)
            scale = Fraction(size - 1, out - 1) if out > 1 else Fraction(0)
        elif factor is not None:
            scale = 1 / Fraction(factor)
        elif is_int(size) and is_int(out):
            scale = Fraction(size, out)
        else:
            return AxisStep(EXTRA_TAPS[mode], size / out, 0)      # symbolic sizes: the affine rule
        return upsample_axis_map(mode, scale, align) or AxisStep(EXTRA_TAPS[mode], scale, 0)

    def backward(self, cfg, inputs, outcome, grads):
        """upsample_*_backward needs only the sizes (nothing kept); it is the adjoint of the forward's
        interpolation: each output's gradient is added into the inputs it read with the same weights,
        so the same FLOPs as the forward (nearest: one add per output element)."""
        if not grads.inputs[0]:
            return Backward()
        return Backward(0, 0, outcome.flops or numel(outcome.output_shape))

    def to_torch(self, cfg, inputs):
        import torch
        return torch.nn.Upsample(**cfg)

    def reference(self, cfg, weights, inputs):
        from ..reference import ops
        return ops.interpolate(inputs[0], size=cfg["size"], scale_factor=None if cfg["size"] is not None
                               else cfg["scale_factor"], mode=cfg["mode"], align_corners=cfg["align_corners"])


@lru_cache(maxsize=256)
def upsample_axis_map(mode: str, scale: Fraction, align: bool) -> AxisMap | None:
    """Which inputs each output reads: torch's source index per mode, one period enumerated.

    With scale = a/b, output o + b reads inputs shifted by a: period b, advance a.
    nearest: ⌊o·scale⌋; nearest-exact: ⌊(o + ½)·scale⌋; linear modes: the two
    taps around (o + ½)·scale − ½ (o·scale with align_corners), the second
    only when its weight is not 0; bicubic: four taps, one when the source is
    a whole number. Border clamping is left out, as Distill leaves out borders.
    None when the period exceeds MAX_PERIOD.
    """
    period, advance = scale.denominator, scale.numerator
    if period > MAX_PERIOD:
        return None
    low, high = [], []
    for phase in range(period):
        if mode == "nearest":
            source = Fraction(phase) * scale
            first = last = math.floor(source)
        elif mode == "nearest-exact":
            first = last = math.floor((phase + Fraction(1, 2)) * scale)
        else:
            source = phase * scale if align else (phase + Fraction(1, 2)) * scale - Fraction(1, 2)
            first = math.floor(source)
            whole = source == first
            if mode == "bicubic":
                first, last = (first, first) if whole else (first - 1, first + 2)
            else:
                last = first if whole else first + 1
        low.append(first)
        high.append(last)
    return AxisMap(period, advance, tuple(low), tuple(high))
