"""Convolutions: Conv1d/2d/3d and ConvTranspose1d/2d/3d, with torch's semantics.

Sources: torch.nn.Conv2d / ConvTranspose2d docs (shape formulas);
torch.utils.flop_counter.conv_flop_count (MACs: prod(out or in spatial) ·
prod(kernel) · N · C_out · C_in/groups); Araujo et al., Distill 2019 (field).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Any, Mapping, Sequence

from .base import (
    MAX_PERIOD, Arg, ArgError, AxisMap, AxisStep, Backward, Context, Grads, LayerType, Outcome, Saved, Shape,
    bool_arg, choice_arg,
    conv_axis_step, expect_rank, floor_div, fmt_spatial, int_arg, int_tuple_arg, numel,
)
from .registry import register

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def padding_arg(rank: int):
    """torch's padding: an int, a list of ``rank`` ints, 'same' or 'valid'."""
    ints = int_tuple_arg(rank, minimum=0)

    def check(value: Any):
        if value in ("same", "valid"):
            return value
        try:
            return ints(value)
        except ArgError as err:
            raise ArgError(f"an integer >= 0, a list of {rank} such integers, 'same' or 'valid'", value,
                           why=err.why) from None
    return check


def conv_padding(padding: Any, kernel: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int]]:
    """(left, right) zero padding per spatial axis, as torch applies it.

    'same' pads d(k-1) in total, the smaller half on the left (torch's
    _conv_forward with padding='same'); 'valid' pads nothing.
    """
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "same":
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return pads
    return [(p, p) for p in padding]


def conv_backward(cfg: Mapping[str, Any], inputs: Sequence[Shape], outcome: Outcome, grads: Grads,
                  padded: Any = None) -> Backward:
    """convolution_backward (torch/csrc/autograd/FunctionsManual, derivatives.yaml ``convolution``).

    grad_input is the transposed convolution of grad_output with the weight:
    the forward's MACs again, when the input needs a gradient; grad_weight is
    the correlation of the input with grad_output: the forward's MACs again,
    when the layer is trainable (also for groups > 1: each group's
    C_out/g × C_in/g × K weights see E_out/C_out · ... -- the same total).
    grad_bias: one add per output element. ``ConvolutionBackward0`` keeps the
    input and the weight whatever needs a gradient (its formula has no
    per-output guard); the weight is a parameter, not counted.
    ``padded``: elements of the tensor F.pad makes first for padding_mode
    other than zeros (the convolution then keeps that one; reflect and
    replicate padding keep their own input too).
    """
    macs = outcome.macs
    input_macs = macs if grads.inputs[0] else 0
    weight_macs = macs if grads.weights else 0
    bias = numel(outcome.output_shape) if grads.weights and cfg["bias"] else 0     # Σ grad_output per channel
    weight = outcome.param_shapes["weight"]
    saved = (Saved("input"),) if padded is None else (
        (Saved("new", elements=padded),) + ((Saved("input"),) if cfg["padding_mode"] in ("reflect", "replicate")
                                           else ()))
    return Backward(input_macs, weight_macs, 2 * (input_macs + weight_macs) + bias,
                    saved + (Saved("param", elements=numel(weight)),))


class _Conv(LayerType):
    rank = 2
    summary = "N-d convolution (torch.nn.ConvNd)"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        rank = cls.rank
        cls.args = (
            Arg("out_channels", int_arg(1)),
            Arg("kernel_size", int_tuple_arg(rank, 1)),
            Arg("stride", int_tuple_arg(rank, 1), 1),
            Arg("padding", padding_arg(rank), 0),
            Arg("dilation", int_tuple_arg(rank, 1), 1),
            Arg("groups", int_arg(1), 1),
            Arg("bias", bool_arg, True),
            Arg("padding_mode", choice_arg("zeros", "reflect", "replicate", "circular"), "zeros"),
        )

    def configure(self, args: dict[str, Any]) -> dict[str, Any]:
        if args["padding"] == "same" and any(s != 1 for s in args["stride"]):
            raise ArgError("stride 1 with padding='same' (torch: padding='same' is not supported for "
                           "strided convolutions)", list(args["stride"]), hint="use an explicit padding", arg="stride")
        if args["out_channels"] % args["groups"]:
            raise ArgError(f"out_channels divisible by groups={args['groups']}", args["out_channels"], arg="out_channels")
        return args

    def evaluate(self, cfg: Mapping[str, Any], inputs: Sequence[Shape], ctx: Context) -> Outcome:
        x = inputs[0]
        rank = self.rank
        expect_rank(ctx, x, (rank + 2,), f"(batch, channels, {', '.join(AXIS_NAMES[rank])})")
        batch, in_channels, spatial = x[0], x[1], x[2:]
        groups, out_channels = cfg["groups"], cfg["out_channels"]
        kernel, stride, dilation = cfg["kernel_size"], cfg["stride"], cfg["dilation"]
        ctx.require_divisible(in_channels, groups, lambda: (
            f"input has {in_channels} channels, not divisible by groups={groups} "
            f"(torch: in_channels must be divisible by groups)"))
        pads = conv_padding(cfg["padding"], kernel, dilation)
        mode = cfg["padding_mode"]
        out_spatial = []
        steps = []
        for axis, (size, k, s, d, (left, right)) in enumerate(zip(spatial, kernel, stride, dilation, pads)):
            name = AXIS_NAMES[rank][axis]
            if mode == "reflect":
                ctx.require_at_least(size, max(left, right) + 1, lambda: (
                    f"reflect padding {max(left, right)} needs an input of at least {max(left, right) + 1} "
                    f"along {name}, found {size}"))
            elif mode == "circular":
                ctx.require_at_least(size, max(left, right), lambda: (
                    f"circular padding {max(left, right)} needs an input of at least {max(left, right)} "
                    f"along {name}, found {size}"))
            padded = size + left + right                     # padded input length
            effective = d * (k - 1) + 1                      # dilated kernel extent
            out = floor_div(padded - d * (k - 1) - 1, s) + 1   # torch: floor((L + 2p - d(k-1) - 1)/s) + 1
            if ctx.explaining:
                pad_text = f"2·{left}" if left == right else f"{left} + {right}"
                ctx.explain(f"{name}_out", f"⌊({size} + {pad_text} − {d}·({k} − 1) − 1) / {s}⌋ + 1", out)
            ctx.require_at_least(padded, effective, lambda: self._too_small(spatial, pads, kernel, dilation))
            out_spatial.append(out)
            steps.append(conv_axis_step(k, s, left, d))
        in_per_group = in_channels // groups
        weight = (out_channels, in_per_group, *kernel)
        params = {"weight": weight}
        if cfg["bias"]:
            params["bias"] = (out_channels,)
        output = (batch, out_channels, *out_spatial)
        outputs = numel(output)
        kernel_volume = numel(kernel)
        # one MAC per output element, per input channel of its group, per kernel tap
        macs = outputs * in_per_group * kernel_volume
        # a multiply and an add per MAC, plus one bias add per output element
        flops = 2 * macs + (outputs if cfg["bias"] else 0)
        if ctx.explaining:
            ctx.explain("MACs", f"{' · '.join(map(str, output))} · {in_per_group} · {' · '.join(map(str, kernel))}", macs)
            ctx.explain("FLOPs", f"2 · {macs}" + (f" + {outputs}" if cfg["bias"] else ""), flops)
        field = None if all(step is None for step in steps) else tuple(steps)
        return Outcome(output, params, {}, macs, flops, field)

    autocast = "lower"

    def backward(self, cfg, inputs, outcome, grads):
        padded = None
        if cfg["padding_mode"] != "zeros":        # F.pad(mode) first, then a convolution without padding
            pads = conv_padding(cfg["padding"], cfg["kernel_size"], cfg["dilation"])
            padded = numel(inputs[0][:2]) * numel([size + left + right
                                                  for size, (left, right) in zip(inputs[0][2:], pads)])
        return conv_backward(cfg, inputs, outcome, grads, padded)

    def _too_small(self, spatial, pads, kernel, dilation) -> str:
        padded = [size + left + right for size, (left, right) in zip(spatial, pads)]
        effective = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        per_axis = [str(l) if l == r else f"{l}+{r}" for l, r in pads]
        pad_text = per_axis[0] if len(set(per_axis)) == 1 else ", ".join(per_axis)
        what = "dilated kernel" if any(d != 1 for d in dilation) else "kernel_size"
        return (f"{what} {fmt_spatial(effective)} exceeds the padded input {fmt_spatial(padded)} "
                f"(input {fmt_spatial(spatial)}, padding {pad_text})")

    def to_torch(self, cfg, inputs):
        import torch
        cls = getattr(torch.nn, self.name)
        return cls(in_channels=inputs[0][1], **cfg)

    def reference(self, cfg, weights, inputs):
        from ..reference import ops
        bias = weights["bias"] if cfg["bias"] else None
        return ops.conv(inputs[0], weights["weight"], bias, stride=cfg["stride"],
                        padding=cfg["padding"], dilation=cfg["dilation"], groups=cfg["groups"],
                        padding_mode=cfg["padding_mode"])


@register
class Conv1d(_Conv):
    name = "Conv1d"
    rank = 1


@register
class Conv2d(_Conv):
    name = "Conv2d"
    rank = 2


@register
class Conv3d(_Conv):
    name = "Conv3d"
    rank = 3


@lru_cache(maxsize=256)
def transposed_axis_step(kernel: int, stride: int, padding: int, dilation: int) -> AxisMap | AxisStep:
    """Which inputs each output of a transposed convolution reads, along one axis.

    Output o receives input i through tap t when o = i·s − p + t·d, so
    i = (o + p − t·d)/s for the taps where that divides. Adding s to o adds 1
    to every i: period s, advance 1; each phase q < s lists its extreme i.
    A phase may read nothing (kernel < stride): None.

    The taps of phase q solve t·d ≡ q + p (mod s): with g = gcd(d, s) they
    exist only when g divides q + p and then form t ≡ t0 (mod s/g), so each
    phase costs O(1), whatever the kernel. A stride above MAX_PERIOD gives
    the affine step instead (Distill's rule: span the widest phase, jump 1/s),
    so no list grows with the stride.
    """
    common = gcd(dilation, stride)
    cycle = stride // common                       # taps of one phase are this far apart
    inverse = pow(dilation // common, -1, cycle) if cycle > 1 else 0

    def sources(phase: int) -> tuple[int, int] | None:
        """The first and last input that output ``phase`` reads (None: it reads nothing)."""
        residue = phase + padding
        if residue % common:
            return None
        first = (residue // common * inverse) % cycle if cycle > 1 else 0    # smallest tap of this phase
        if first >= kernel:
            return None
        last = first + (kernel - 1 - first) // cycle * cycle                 # largest tap of this phase
        return (residue - last * dilation) // stride, (residue - first * dilation) // stride

    if stride > MAX_PERIOD:
        widest = ((kernel - 1) // cycle) * (dilation // common)     # the phase with t0 = 0 holds the most taps
        zero = sources(0)
        centre = Fraction(zero[0] + zero[1], 2) if zero else \
            Fraction(2 * padding - dilation * (kernel - 1), 2 * stride)   # output 0 reads nothing: the continuous centre
        return AxisStep(widest, Fraction(1, stride), centre)
    low, high = [], []
    for phase in range(stride):
        found = sources(phase)
        low.append(None if found is None else found[0])
        high.append(None if found is None else found[1])
    return AxisMap(stride, 1, tuple(low), tuple(high))


class _ConvTranspose(LayerType):
    rank = 2
    summary = "N-d transposed convolution (torch.nn.ConvTransposeNd)"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        rank = cls.rank
        cls.args = (
            Arg("out_channels", int_arg(1)),
            Arg("kernel_size", int_tuple_arg(rank, 1)),
            Arg("stride", int_tuple_arg(rank, 1), 1),
            Arg("padding", int_tuple_arg(rank, 0), 0),
            Arg("output_padding", int_tuple_arg(rank, 0), 0),
            Arg("groups", int_arg(1), 1),
            Arg("bias", bool_arg, True),
            Arg("dilation", int_tuple_arg(rank, 1), 1),
            Arg("padding_mode", choice_arg("zeros"), "zeros"),
        )

    def configure(self, args: dict[str, Any]) -> dict[str, Any]:
        for op, s, d in zip(args["output_padding"], args["stride"], args["dilation"]):
            if op >= max(s, d):
                raise ArgError("output_padding smaller than either stride or dilation (torch's rule)",
                               list(args["output_padding"]), arg="output_padding")
        if args["out_channels"] % args["groups"]:
            raise ArgError(f"out_channels divisible by groups={args['groups']}", args["out_channels"], arg="out_channels")
        return args

    def evaluate(self, cfg: Mapping[str, Any], inputs: Sequence[Shape], ctx: Context) -> Outcome:
        x = inputs[0]
        rank = self.rank
        expect_rank(ctx, x, (rank + 2,), f"(batch, channels, {', '.join(AXIS_NAMES[rank])})")
        batch, in_channels, spatial = x[0], x[1], x[2:]
        groups, out_channels = cfg["groups"], cfg["out_channels"]
        ctx.require_divisible(in_channels, groups, lambda: (
            f"input has {in_channels} channels, not divisible by groups={groups}"))
        out_spatial = []
        steps = []
        for axis, (size, k, s, p, op, d) in enumerate(zip(spatial, cfg["kernel_size"], cfg["stride"],
                                                          cfg["padding"], cfg["output_padding"], cfg["dilation"])):
            name = AXIS_NAMES[rank][axis]
            # torch: (L − 1)·s − 2p + d(k − 1) + output_padding + 1
            out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
            ctx.require_at_least(out, 1, lambda: (
                f"output size along {name} would be {out} (input {size}, stride {s}, padding {p}, "
                f"kernel {k}); padding is too large"))
            if ctx.explaining:
                ctx.explain(f"{name}_out", f"({size} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1", out)
            out_spatial.append(out)
            steps.append(transposed_axis_step(k, s, p, d))
        out_per_group = out_channels // groups
        weight = (in_channels, out_per_group, *cfg["kernel_size"])
        params = {"weight": weight}
        if cfg["bias"]:
            params["bias"] = (out_channels,)
        output = (batch, out_channels, *out_spatial)
        # each input element scatters into C_out/groups channels through every tap
        macs = numel(x) * out_per_group * numel(cfg["kernel_size"])
        flops = 2 * macs + (numel(output) if cfg["bias"] else 0)
        if ctx.explaining:
            ctx.explain("MACs", f"{' · '.join(map(str, x))} · {out_per_group} · "
                        f"{' · '.join(map(str, cfg['kernel_size']))}", macs)
            ctx.explain("FLOPs", f"2 · {macs}" + (f" + {numel(output)}" if cfg["bias"] else ""), flops)
        return Outcome(output, params, {}, macs, flops, tuple(steps))

    autocast = "lower"

    def backward(self, cfg, inputs, outcome, grads):
        return conv_backward(cfg, inputs, outcome, grads)

    def to_torch(self, cfg, inputs):
        import torch
        return getattr(torch.nn, self.name)(in_channels=inputs[0][1], **cfg)

    def reference(self, cfg, weights, inputs):
        from ..reference import ops
        bias = weights["bias"] if cfg["bias"] else None
        return ops.conv_transpose(inputs[0], weights["weight"], bias, stride=cfg["stride"],
                                  padding=cfg["padding"], output_padding=cfg["output_padding"],
                                  groups=cfg["groups"], dilation=cfg["dilation"])


@register
class ConvTranspose1d(_ConvTranspose):
    name = "ConvTranspose1d"
    rank = 1


@register
class ConvTranspose2d(_ConvTranspose):
    name = "ConvTranspose2d"
    rank = 2


@register
class ConvTranspose3d(_ConvTranspose):
    name = "ConvTranspose3d"
    rank = 3
