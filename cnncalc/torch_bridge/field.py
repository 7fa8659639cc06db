"""Receptive fields measured by autograd (the check behind `cnncalc verify`).

The field of one output element is the set of input elements its value
depends on: where the gradient of that element with respect to the input is
not zero. A trained network can cancel a path by chance (a weight of 0, a
ReLU that is off, a negative weight against a positive one), so the gradient
is taken through a *linearised, positive* copy of the network, built from the
same plan, in float64:

* convolutions, transposed convolutions and linear layers: all weights equal
  (the mean of the window, i.e. ones / kernel volume), biases 0. Every
  output channel of such a layer is the same, so the copy sums the input
  channels (per group) once, convolves one channel and broadcasts it to the
  output channels (``expand``, no copy): the same values up to a constant
  factor, at the cost of a single-channel convolution;
* max, average and power-average pooling: the mean over the same window
  (same kernel, stride, padding, dilation and ceil_mode: a depthwise
  convolution of ones after explicit zero padding), adaptive max pooling:
  adaptive average pooling of the same bins;
* activations, normalisations (statistics are constants at inference, as
  the analytic rule says), dropout, softmax over channels: identity; softmax
  over a spatial axis: the mean over that axis (it mixes the whole axis);
* add, concat, padding, upsampling, reshapes and shuffles: unchanged (they
  are linear with non-negative coefficients); mul of positive tensors keeps
  every path. Bicubic upsampling has negative taps: no cancellation is
  possible within one layer, only by coincidence across several.

The input is all ones. For one output element (sum over its channels, so
every path of a concat counts) the measured *size* per axis is the extent
(max index − min index + 1) of the non-zero gradient, its *centre* the middle
of that extent; the *jump* is the distance between the centres of two
elements ``P`` apart divided by ``P``; *start* = centre − index · jump.
Where an upsampling, a transposed convolution or an adaptive pooling makes
output elements differ by phase, the size is the largest over ``P``
consecutive elements (``P`` the least common denominator of the jumps
relative to every ancestor, at most MAX_PERIOD), the probed element is of
phase 0 (or the first phase that reads anything) so that its centre minus
index · jump is the report's start, and the jump is measured between
elements a whole period apart. Windows are boxes, so the extent along one
axis depends only on the index along it: one axis is varied at a time.

The gradient cannot see padding, so the input is enlarged (each spatial size
by a multiple of the integer jumps, which keeps every stride's rounding) until
the chosen elements' analytic fields lie inside it with a margin, and only
the part of the network up to the measured layers runs -- layers after the
first global one (flatten, linear) are never needed, so a Linear that fixes
the input size does not stop the enlargement. The analytic figures it is
compared with are those of the report at that larger size. A field that
reaches the input's border although the analytic one fits is a mismatch
(the field is larger than the rule says).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field as dc_field
from fractions import Fraction
from functools import lru_cache
from math import ceil, gcd, prod
from types import SimpleNamespace
from typing import Any, Sequence

from ..errors import CnnCalcError
from ..report import Field
from .build import Concrete, assemble, concrete

MAX_PERIOD = 64                 # at most this many consecutive elements are probed per axis
MAX_ELEMENTS = 2048 * 2048      # the largest input (spatial elements) tried for the field check
RUNTIME_BYTES = 32 * 2**20      # what torch allocates on first use of its kernels (thread pools, caches)

# types whose linear positive version is the identity
IDENTITY_TYPES = {
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "SiLU", "Mish", "Sigmoid", "Tanh", "Hardswish",
    "Hardsigmoid", "Hardtanh", "Softplus", "Softsign", "GELU", "PReLU",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "GroupNorm", "LayerNorm", "LocalResponseNorm",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "Identity",
}
# linear with non-negative coefficients and acting on each channel alone: run on one channel if all are equal
PER_CHANNEL_TYPES = {"Upsample", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"}
# linear, non-negative, channels rearranged: kept as they are
KEPT_TYPES = {"Flatten", "Unflatten", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "concat"}


# --------------------------------------------------------------------------
# The surrogate modules
# --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def modules() -> SimpleNamespace:
    import torch
    import torch.nn.functional as F

    def uniform(x: torch.Tensor) -> bool:
        """Every channel holds the same values (a broadcast view)."""
        return x.dim() >= 3 and (x.size(1) == 1 or x.stride(1) == 0)

    class Take(torch.autograd.Function):
        """Channel 0 of a materialised tensor whose channels are all equal.
        Backward spreads the gradient evenly over the channels (a broadcast,
        no copy): every channel is the same function of the input, so only
        the sum over channels matters, and it is kept."""

        @staticmethod
        def forward(ctx, x):
            ctx.channels = x.size(1)
            return x[:, :1]

        @staticmethod
        def backward(ctx, grad):
            return (grad / ctx.channels).expand(grad.shape[0], ctx.channels, *grad.shape[2:])

    class Spread(torch.autograd.Function):
        """y (N, 1, ...) broadcast to C channels without a copy. Backward sums
        over the channels, in one step when the incoming gradient is itself a
        broadcast (what a channel sum or a Take sends back)."""

        @staticmethod
        def forward(ctx, y, channels):
            return y.expand(y.shape[0], channels, *y.shape[2:])

        @staticmethod
        def backward(ctx, grad):
            if grad.stride(1) == 0:
                return grad[:, :1] * grad.size(1), None
            return grad.sum(1, keepdim=True), None

    def spread(y, channels):
        """y (N, 1, ...) broadcast to ``channels`` channels (a view); the view
        remembers y, so a consumer that needs one channel reads y itself and
        the gradient stays one channel wide."""
        if channels == 1:
            return y
        out = Spread.apply(y, channels)
        out._cnncalc_source = y
        return out

    def take(x):
        """One channel of a tensor whose channels are all equal."""
        source = getattr(x, "_cnncalc_source", None)
        if source is not None:
            return source
        return x if x.size(1) == 1 else Take.apply(x)

    def flat_pads(pads: Sequence[tuple[int, int]]) -> list[int]:
        out: list[int] = []
        for left, right in reversed(list(pads)):
            out += [left, right]
        return out

    def box_mean(s, kernel, stride, dilation):
        """The mean over each (dilated) window of every channel, no padding:
        average pooling where it can (much faster than a float64 convolution),
        else a depthwise convolution of ones."""
        rank = len(kernel)
        if all(k == 1 for k in kernel):          # a window of one element: every stride-th element
            return s[(slice(None), slice(None)) + tuple(slice(None, None, st) for st in stride)]
        if all(d == 1 for d in dilation):
            return (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[rank - 1](s, kernel, stride)
        channels = s.size(1)
        weight = torch.full((channels, 1, *kernel), 1.0 / prod(kernel), dtype=s.dtype, device=s.device)
        return (F.conv1d, F.conv2d, F.conv3d)[rank - 1](s, weight, stride=stride, dilation=dilation,
                                                        groups=channels)

    class MeanConv(torch.nn.Module):
        """A convolution (or transposed convolution) whose weights are all
        1/kernel volume, bias 0, computed on the per-group channel mean."""

        def __init__(self, rank, out_channels, groups, kernel, stride, pads, dilation, padding_mode="zeros",
                     transposed=False, output_padding=None):
            super().__init__()
            self.rank, self.out_channels, self.groups = rank, out_channels, groups
            self.kernel, self.stride, self.pads, self.dilation = tuple(kernel), tuple(stride), list(pads), tuple(dilation)
            self.padding_mode, self.transposed = padding_mode, transposed
            self.output_padding = tuple(output_padding or (0,) * rank)

        def forward(self, x):
            n, c = x.shape[0], x.shape[1]
            spatial = x.shape[2:]
            if uniform(x):
                s, groups = take(x), 1
            elif self.groups == 1:          # a sum, then a scale: its gradient stays a broadcast
                s, groups = x.sum(1, keepdim=True) / c, 1
            else:
                s, groups = x.reshape(n, self.groups, c // self.groups, *spatial).sum(2) / (c // self.groups), \
                    self.groups
            weight = torch.full((groups, 1, *self.kernel), 1.0 / prod(self.kernel), dtype=x.dtype, device=x.device)
            if self.transposed:
                fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.rank - 1]
                y = fn(s, weight, stride=self.stride, padding=[p for p, _ in self.pads],
                       output_padding=self.output_padding, groups=groups, dilation=self.dilation)
            else:
                if any(left or right for left, right in self.pads):
                    mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
                    s = F.pad(s, flat_pads(self.pads), mode=mode)
                y = box_mean(s, self.kernel, self.stride, self.dilation)
            if groups == 1:
                return spread(y, self.out_channels)
            return y.repeat_interleave(self.out_channels // groups, dim=1)

    class WindowMean(torch.nn.Module):
        """Pooling's window, averaged: zero padding (and ceil_mode's extra right
        padding), then a depthwise convolution of ones with stride and dilation,
        cut to torch's output size."""

        def __init__(self, rank, kernel, stride, padding, dilation, out_sizes):
            super().__init__()
            self.rank, self.kernel, self.stride = rank, tuple(kernel), tuple(stride)
            self.padding, self.dilation, self.out_sizes = tuple(padding), tuple(dilation), tuple(out_sizes)

        def forward(self, x):
            n, c = x.shape[0], x.shape[1]
            spatial = x.shape[2:]
            s = take(x) if uniform(x) else x.reshape(n * c, 1, *spatial)
            pads = []
            for size, k, st, p, d, out in zip(spatial, self.kernel, self.stride, self.padding, self.dilation,
                                              self.out_sizes):
                needed = (out - 1) * st + d * (k - 1) + 1
                pads.append((p, max(0, needed - size - p)))
            s = F.pad(s, flat_pads(pads))
            y = box_mean(s, self.kernel, self.stride, self.dilation)
            for axis, out in enumerate(self.out_sizes):
                y = y.narrow(2 + axis, 0, out)
            if uniform(x):
                return spread(y, c)
            return y.reshape(n, c, *y.shape[2:])

    class PerChannel(torch.nn.Module):
        """Runs a channel-wise module on one channel when all channels are equal."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            if uniform(x) and x.size(1) > 1:
                return spread(self.inner(take(x)), x.size(1))
            return self.inner(x)

    class MeanLinear(torch.nn.Module):
        """Linear with weights 1/in_features, bias 0: the mean of the last axis, broadcast."""

        def __init__(self, out_features):
            super().__init__()
            self.out_features = out_features

        def forward(self, x):
            return x.mean(-1, keepdim=True).expand(*x.shape[:-1], self.out_features)

    class MeanOver(torch.nn.Module):
        """Softmax over a spatial axis, linearised: the mean over that axis."""

        def __init__(self, dim):
            super().__init__()
            self.dim = dim

        def forward(self, x):
            return x.mean(self.dim, keepdim=True).expand_as(x)

    class Merge(torch.nn.Module):
        """add / mul; on equal-shaped broadcast views, on one channel."""

        def __init__(self, op):
            super().__init__()
            self.op = op

        def forward(self, *xs):
            if len({tuple(x.shape) for x in xs}) == 1 and all(uniform(x) for x in xs) and xs[0].size(1) > 1:
                y = take(xs[0])
                for other in xs[1:]:
                    y = y + take(other) if self.op == "add" else y * take(other)
                return spread(y, xs[0].size(1))
            y = xs[0]
            for other in xs[1:]:
                y = y + other if self.op == "add" else y * other
            return y

    return SimpleNamespace(MeanConv=MeanConv, WindowMean=WindowMean, PerChannel=PerChannel,
                           MeanLinear=MeanLinear, MeanOver=MeanOver, Merge=Merge, uniform=uniform,
                           spread=spread, take=take)


def surrogate_layer(con: Concrete, position: int) -> tuple[Any, str | None]:
    """The linear positive stand-in of one layer, and a note when it is only an approximation."""
    import torch
    from ..layers.conv import conv_padding
    from .build import layer_module
    m = modules()
    layer = con.plan.layers[position]
    name, cfg = layer.layer_type.name, layer.cfg
    inputs = con.input_shapes(position)
    output = con.report.layers[position].output_shape
    base = name[:-2] if name[-2:] in ("1d", "2d", "3d") else name
    rank = int(name[-2]) if name[-2:] in ("1d", "2d", "3d") else None
    if base == "Conv":
        pads = conv_padding(cfg["padding"], cfg["kernel_size"], cfg["dilation"])
        return m.MeanConv(rank, cfg["out_channels"], cfg["groups"], cfg["kernel_size"], cfg["stride"], pads,
                          cfg["dilation"], cfg["padding_mode"]), None
    if base == "ConvTranspose":
        pads = [(p, p) for p in cfg["padding"]]
        return m.MeanConv(rank, cfg["out_channels"], cfg["groups"], cfg["kernel_size"], cfg["stride"], pads,
                          cfg["dilation"], transposed=True, output_padding=cfg["output_padding"]), None
    if base in ("MaxPool", "AvgPool", "LPPool"):
        return m.WindowMean(rank, cfg["kernel_size"], cfg["stride"], cfg.get("padding", (0,) * rank),
                            cfg.get("dilation", (1,) * rank), output[-rank:]), None
    if base == "AdaptiveMaxPool":
        cls = getattr(torch.nn, f"AdaptiveAvgPool{rank}d")
        return m.PerChannel(cls(output_size=tuple(cfg["output_size"]))), None
    if name == "Linear":
        return m.MeanLinear(cfg["out_features"]), None
    if name in ("Softmax", "LogSoftmax", "Softmin"):
        dim = layer.layer_type.softmax_dim(cfg, inputs[0])
        return (m.MeanOver(dim) if dim >= 2 else torch.nn.Identity()), None
    if name == "Softmax2d" or name in IDENTITY_TYPES:
        return torch.nn.Identity(), None
    if name in ("add", "mul"):
        return m.Merge(name), None
    module = layer_module(con, position)
    if name in PER_CHANNEL_TYPES or name.endswith(("Pad1d", "Pad2d", "Pad3d")):
        return m.PerChannel(module), None
    if name in KEPT_TYPES:
        return module, None
    # a type this file does not know: the real module with positive weights
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.fill_(1.0)
    return module.double(), f"{name} has no linearised form here: measured through the module with weights 1"


# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------

@dataclass
class FieldCheck:
    """The measured receptive field of one layer against the analytic one."""

    layer: str
    input: tuple                      # the input (batch excluded) it was measured at
    expected: Field                   # the analytic field at that input
    size: list = dc_field(default_factory=list)     # per axis; None: not measured
    jump: list = dc_field(default_factory=list)
    start: list = dc_field(default_factory=list)
    period: list = dc_field(default_factory=list)
    cut: list = dc_field(default_factory=list)      # the field reached the input's border on that axis
    complete: list = dc_field(default_factory=list)  # every phase was probed on that axis
    notes: list = dc_field(default_factory=list)
    is_output: bool = False
    # a global field: per axis, whether every probed element read the same part (a mixing layer's
    # elements all do; None: not required, a reshape such as Flatten, whose union is over its elements)
    uniform: list = dc_field(default_factory=list)

    @property
    def compared(self) -> dict[str, bool | None]:
        """ok per quantity: True, False, or None (not compared)."""
        f = self.expected
        if f.is_global:
            # global axes: the union the probed elements read (border ones included) is the analytic part
            # exactly, and each element reads all of it; local axes of a partly global field: the size
            size_ok: bool | None = True
            start_ok: bool | None = True
            for axis in range(len(f.size)):
                m, e = self.size[axis], f.size[axis]
                if not f.axis_global(axis):
                    if m is None:
                        size_ok = None if size_ok is not False else False
                    elif Fraction(m) != Fraction(e):
                        size_ok = False
                    continue
                uniform = self.uniform[axis] if axis < len(self.uniform) else None
                if m is None or Fraction(m) != Fraction(e) or uniform is False:
                    size_ok = False
                if self.start[axis] is None or (e and Fraction(self.start[axis]) != Fraction(f.start[axis])):
                    start_ok = False
            return {"size": size_ok, "jump": None, "start": start_ok}
        if not f.aligned:
            # SPEC: the widest path's field; the gradient sees the union of the paths (never less)
            size_ok: bool | None = True
            for m, e in zip(self.size, f.size):
                if m is None or Fraction(m) > Fraction(e):
                    size_ok = None if size_ok is not False else False
                elif Fraction(m) < Fraction(e):
                    size_ok = False
            return {"size": size_ok, "jump": None, "start": None}
        size_ok: bool | None = True
        for axis, (m, e) in enumerate(zip(self.size, f.size)):
            cut = self.cut[axis] if axis < len(self.cut) else False
            complete = self.complete[axis] if axis < len(self.complete) else True
            if m is None or (not complete and Fraction(m) < Fraction(e) and not cut):
                size_ok = None if size_ok is not False else False     # a lower bound below the rule: unknown
            elif cut or Fraction(m) != Fraction(e):
                size_ok = False
        jumps = [(m, e) for m, e in zip(self.jump, f.jump) if m is not None]
        jump_ok = None if not jumps else all(Fraction(m) == Fraction(e) for m, e in jumps)
        starts = [(m, e) for m, e in zip(self.start, f.start) if m is not None]
        start_ok = None if not starts else all(Fraction(m) == Fraction(e) for m, e in starts)
        return {"size": size_ok, "jump": jump_ok, "start": start_ok}

    @property
    def ok(self) -> bool | None:
        values = [v for v in self.compared.values() if v is not None]
        if not values:
            return None
        return all(values)


@dataclass
class FieldMeasurement:
    checks: list[FieldCheck]
    notes: list[str]


def _frac(value: Any) -> Fraction:
    return Fraction(value) if not isinstance(value, Fraction) else value


def sample_layers(con: Concrete, count: int = 8) -> list[str]:
    """Up to ``count`` evenly spaced layers whose field is not global, plus the last such layer."""
    local = [row.name for row in con.report.layers if not row.receptive_field.is_global]
    if not local or count < 0:
        return []
    last = local[-1]
    inner = local[:-1]
    if len(inner) > count:
        if count == 0:
            inner = []
        else:
            step = len(inner) / count
            inner = [inner[min(len(inner) - 1, int(round((i + 0.5) * step - 0.5)))] for i in range(count)]
    return list(dict.fromkeys(inner + [last]))


def _periods(con: Concrete, position: int, axes: int) -> list[int]:
    """Per axis, how many consecutive output elements repeat one phase pattern."""
    field = con.report.layers[position].receptive_field
    periods = [1] * axes
    layers = con.report.layers
    distinct = {(1,) * axes}                 # the input's; then each ancestor's jumps, once per distinct tuple
    for ancestor in con.plan.ancestors(position):
        if ancestor != -1:
            f = layers[ancestor].receptive_field
            if not f.is_global:
                distinct.add(tuple(f.jump))
    for jumps in distinct:
        for axis in range(axes):
            ratio = _frac(field.jump[axis]) / _frac(jumps[axis])
            periods[axis] = periods[axis] * ratio.denominator // gcd(periods[axis], ratio.denominator)
    return periods


def _max_ancestor_jump(con: Concrete, position: int, axis: int) -> Fraction:
    best = Fraction(1)
    for ancestor in con.plan.ancestors(position):
        if ancestor == -1:
            continue
        f = con.report.layers[ancestor].receptive_field
        if not f.is_global:
            best = max(best, _frac(f.jump[axis]))
    return best


@dataclass
class _Plan:
    position: int
    base: list[int]          # the probed element, per axis
    periods: list[int]       # phases per axis
    fits: list[bool]         # the base element's analytic field lies inside the input (with a margin)
    extra: list[int]         # further elements base + 1 .. base + extra also fit, per axis
    capped: list[bool]       # the true period exceeds MAX_PERIOD: phases are sampled, not all probed
    inside: list[bool]       # the probed elements' analytic fields lie inside the input (no margin)

    def complete(self) -> bool:
        return all(self.fits) and all(e >= p for e, p in zip(self.extra, self.periods))

    def score(self) -> int:
        return sum(1000 * f + min(e, p) for f, e, p in zip(self.fits, self.extra, self.periods))


def _place(con: Concrete, position: int) -> _Plan:
    """Choose the probed output elements of one layer: a run of consecutive
    elements (one per phase, plus one a period away for the jump) around the
    centre, as many as fit inside the input with a margin."""
    row = con.report.layers[position]
    f = row.receptive_field
    dims = con.report.input_shape[2:]
    axes = len(dims)
    out = row.output_shape[-axes:]
    true_periods = _periods(con, position, axes)
    periods = [min(p, MAX_PERIOD) for p in true_periods]
    base, fits, extra, inside = [], [], [], []
    for axis in range(axes):
        r, s, c = _frac(f.size[axis]), _frac(f.jump[axis]), _frac(f.start[axis])
        length, n, period = dims[axis], out[axis], periods[axis]
        margin = 2 + (ceil(_max_ancestor_jump(con, position, axis)) if period > 1 else 0)
        half = (r - 1) / 2
        chosen = (0, False, 0)
        for more in range(min(period, n - 1), -1, -1):    # elements after the first
            o = round((Fraction(length - 1, 2) - c) / s - Fraction(more, 2)) if s else 0
            o = period * round(Fraction(o, period))        # phase 0: its field centre gives the start
            o = max(0, min(int(o), n - 1 - more))
            if o % period and o - o % period >= 0:
                o -= o % period
            ok = c + o * s - half >= margin and c + (o + more) * s + half <= length - 1 - margin
            if ok:
                chosen = (o, True, more)
                break
            if more == 0:
                chosen = (o, False, 0)
        base.append(chosen[0])
        fits.append(chosen[1])
        extra.append(chosen[2])
        first, last = chosen[0], chosen[0] + chosen[2]
        inside.append(c + first * s - half >= 0 and c + last * s + half <= length - 1)
    return _Plan(position, base, periods, fits, extra, [p > MAX_PERIOD for p in true_periods], inside)


def _need(con: Concrete, position: int) -> list[int]:
    """A guess of the input size that holds the probed elements' fields."""
    f = con.report.layers[position].receptive_field
    axes = len(f.size)
    periods = [min(p, MAX_PERIOD) for p in _periods(con, position, axes)]
    need = []
    for axis in range(axes):
        r, s = _frac(f.size[axis]), _frac(f.jump[axis])
        margin = 2 + (ceil(_max_ancestor_jump(con, position, axis)) if periods[axis] > 1 else 0)
        # the field (r), the elements one period on (P·s), the margins and one element of slack
        need.append(int(ceil(r + periods[axis] * s + 2 * margin + 2)))
    return need


def _step(con: Concrete, positions: Sequence[int]) -> list[int]:
    """Per axis, a size step that keeps every stride's rounding: the lcm of the
    integer jumps (total strides) on the way to the measured layers."""
    axes = len(con.report.input_shape) - 2
    steps = [1] * axes
    for position in positions:
        for ancestor in con.plan.ancestors(position):
            if ancestor == -1:
                continue
            f = con.report.layers[ancestor].receptive_field
            if f.is_global:
                continue
            for axis in range(axes):
                jump = _frac(f.jump[axis])
                if jump.denominator == 1 and jump.numerator <= 4096:
                    steps[axis] = steps[axis] * jump.numerator // gcd(steps[axis], jump.numerator)
    return [min(step, 4096) for step in steps]


def _candidates(start: list[int], steps: list[int], dims: list[int]):
    """Multipliers k per axis: the estimate, then one step at a time, then growing by half."""
    ks = list(start)
    for _ in range(16):
        yield list(ks)
        ks = [k + 1 for k in ks]
    while True:
        ks = [k + max(1, k // 2) for k in ks]
        yield list(ks)


def _enlarged(con: Concrete, targets: Sequence[str], batch_free_input: tuple) -> tuple[Concrete, list[_Plan], list[str]]:
    """The smallest input (the file's size + k · step per axis) at which every
    target's probes fit; else, within MAX_ELEMENTS, the one where most fit."""
    from ..engine import evaluate, plan as make_plan
    notes: list[str] = []
    index = {row.name: i for i, row in enumerate(con.report.layers)}
    positions = [index[t] for t in targets]
    prefix = dataclasses.replace(con.network, layers=tuple(con.network.layers[:max(positions) + 1]))
    prefix_plan = make_plan(prefix)
    channels, dims = batch_free_input[0], list(batch_free_input[1:])
    steps = _step(con, positions)

    def trial(sizes: list[int]) -> tuple[Concrete, list[_Plan]]:
        report = evaluate(prefix_plan, input=(channels, *sizes), batch=1)
        candidate = Concrete(prefix, prefix_plan, report)
        return candidate, [_place(candidate, p) for p in positions]

    # at the file's own size the full report already holds every figure the probes' placing reads
    # (layers up to the last target are the prefix's): the prefix is evaluated only if it is used
    original = (con, [_place(con, p) for p in positions])
    if all(pl.complete() for pl in original[1]):
        return trial(dims)[0], original[1], notes
    need = [max(n) for n in zip(*[_need(con, p) for p in positions])]
    start = [max(0, -(-(need_a - d) // s)) for need_a, d, s in zip(need, dims, steps)]
    best, best_score = original, sum(pl.score() for pl in original[1])
    error = None
    for tries, ks in enumerate(_candidates(start, steps, dims)):
        sizes = [d + k * s for d, k, s in zip(dims, ks, steps)]
        if prod(sizes) > MAX_ELEMENTS or tries > 40:
            break
        try:
            found = trial(sizes)
        except CnnCalcError as err:
            error = err.headline()
            continue
        score = sum(pl.score() for pl in found[1])
        if all(pl.complete() for pl in found[1]):
            return found[0], found[1], notes
        if score > best_score:
            best, best_score = found, score
    if best is original:
        if error:
            notes.append(f"the input could not be enlarged ({error})")
        best = (trial(dims)[0], original[1])
    return best[0], best[1], notes


def _extents(mask) -> tuple[list[int | None], list[int | None]]:
    """Per spatial axis of a boolean mask (spatial dims only): min and max index of True."""
    runs = _runs(mask)
    return ([r[0][0] if r else None for r in runs], [r[-1][1] if r else None for r in runs])


def surrogate_bytes(con: Concrete, last: int) -> list[tuple[str, int]]:
    """What the field check's float64 pass through layers 0..``last`` will hold, in bytes.

    Follows which tensors the surrogate keeps one channel wide (a broadcast
    view: after a convolution with groups 1, and through pools, identities
    and merges of such views) and which it materialises (grouped
    convolutions, concat, reshapes, unknown types); a layer's output counts
    once, its padded or summed input and a temporary once more each (autograd
    keeps them), the backward pass holds about twice the largest of them, and
    torch's first use of a kernel allocates ~10-20 MB. Batch 1. Measured
    against the peak RSS of real runs: docs/torch.md.
    """
    spatial = prod(con.report.input_shape[2:])
    one_wide: dict[int, bool] = {-1: True}
    kept = [8 * spatial]
    for position in range(last + 1):
        layer = con.plan.layers[position]
        name, cfg = layer.layer_type.name, layer.cfg
        base = name[:-2] if name[-2:] in ("1d", "2d", "3d") else name
        inputs = [one_wide.get(slot, False) for slot in layer.input_slots]
        shape = tuple(con.report.layers[position].output_shape[1:])          # batch excluded
        if name in IDENTITY_TYPES or name == "Softmax2d":
            one_wide[position] = all(inputs)
            continue                                                         # the input itself
        if base in ("Conv", "ConvTranspose"):
            narrow = cfg.get("groups", 1) == 1 or all(inputs)
        elif base in ("MaxPool", "AvgPool", "LPPool", "AdaptiveMaxPool") or name in PER_CHANNEL_TYPES \
                or name.endswith(("Pad1d", "Pad2d", "Pad3d")) or name in ("add", "mul"):
            narrow = all(inputs)
        else:
            narrow = False
        one_wide[position] = narrow and len(shape) >= 2
        elements = prod(shape)
        if one_wide[position] and shape[0]:
            elements //= shape[0]
        kept.append(3 * 8 * elements)
    return [("float64 activations", sum(kept)), ("gradients", 2 * max(kept)), ("torch runtime", RUNTIME_BYTES)]


def _surrogate(con: Concrete, device: Any) -> tuple[Any, list[str]]:
    import torch
    notes: list[str] = []
    modules_ = []
    for position in range(len(con.plan.layers)):
        module, note = surrogate_layer(con, position)
        modules_.append(module)
        if note:
            notes.append(note)
    model = assemble(con, modules_).to(device=device, dtype=torch.float64)
    return model.eval(), notes


def _input(con: Concrete, device: Any):
    import torch
    shape = con.report.input_shape
    base = torch.ones((1, 1, *shape[2:]), dtype=torch.float64, device=device, requires_grad=True)
    return base, modules().spread(base, shape[1])


def measure_fields(net: Any = None, layers: Sequence[str] | None = None, *, count: int = 8,
                   input: Sequence[Any] | None = None, sizes: Any = None, device: Any = "cpu",
                   con: Concrete | None = None, output: bool = True,
                   max_memory: int | str | None = None) -> FieldMeasurement:
    """Measure the receptive fields of ``layers`` (default: a sample of
    ``count`` inner layers + the last non-global one) and, when ``output``
    and the output's field is global, of the output. Each pass is estimated
    first (:func:`surrogate_bytes`) and refused above ``max_memory``
    (default min(8 GiB, half the available RAM))."""
    import torch
    from .._memlimit import refuse_above, resolve_limit
    limit = resolve_limit(max_memory)

    def bounded(candidate: Concrete, last: int) -> None:
        refuse_above(f"the receptive-field check of {candidate.report.name} at input "
                     f"{list(candidate.report.input_shape[1:])}", surrogate_bytes(candidate, last), limit,
                     "skip it with --no-fields, measure fewer layers with --field-layer")
    if con is None:
        con = concrete(net, input=input, sizes=sizes, batch=1, what="measuring receptive fields")
    spatial_axes = len(con.report.input_shape) - 2
    checks: list[FieldCheck] = []
    notes: list[str] = []
    if spatial_axes < 1:
        return FieldMeasurement([], ["the input has no spatial axes: no receptive field to measure"])
    if getattr(con.network, "framework", None) == "keras":       # the probes here read channels first
        return FieldMeasurement([], ["fields not measured: this check reads tensors channels first, a Keras file "
                                     "is channels last (tests/frontends/test_keras.py checks the Keras types' "
                                     "fields against Keras's own gradient)"])
    targets = list(layers) if layers is not None else sample_layers(con, count)
    global_targets = []
    for target in targets:
        con.report.layer(target)                     # ArgumentError for unknown names
        if con.report.layers[target].receptive_field.is_global:
            global_targets.append(target)            # measured at the file's own size (_probe_global)
    targets = [t for t in targets if t not in global_targets]
    last = con.report.layers[-1]
    if output and last.receptive_field.is_global and last.name not in global_targets:
        global_targets.append(last.name)
    batch_free = tuple(con.report.input_shape[1:])
    with torch.enable_grad():
        if targets:
            big, plans, more = _enlarged(con, targets, batch_free)
            notes += more
            bounded(big, len(big.plan.layers) - 1)
            model, approx = _surrogate(big, device)
            notes += approx
            base, x = _input(big, device)
            kept = model.run_until(x, targets)
            for target, plan in zip(targets, plans):
                check = _probe(big, target, plan, kept[target], base)
                check.is_output = target == con.report.layers[-1].name
                checks.append(check)
            del kept, model
        if global_targets:
            index = {row.name: i for i, row in enumerate(con.report.layers)}
            bounded(con, max(index[t] for t in global_targets))
            model, approx = _surrogate(con, device)
            notes += [n for n in approx if n not in notes]
            base, x = _input(con, device)
            kept = model.run_until(x, global_targets)
            for target in global_targets:
                check = _probe_global(con, index[target], kept[target], base)
                check.is_output = target == last.name
                checks.append(check)
            del kept, model
    return FieldMeasurement(checks, notes)


def _mixed_by_rule(con: Concrete, position: int, axis: int) -> bool:
    """Whether every layer where ``axis`` turned global says it mixes that axis (a GLOBAL entry in its
    per-axis field: pooling, linear, softmax), rather than losing track of it (a reshape, a permute: a
    whole GLOBAL). Only then must each element read the whole union."""
    from ..layers.base import GLOBAL, Context
    fields = con.report.layers
    origins = [p for p in con.plan.ancestors(position) if p != -1 and fields[p].receptive_field.axis_global(axis)
               and not any(slot != -1 and fields[slot].receptive_field.axis_global(axis)
                           for slot in con.plan.layers[p].input_slots)]
    for origin in origins:
        layer = con.plan.layers[origin]
        try:
            step = layer.layer_type.evaluate(layer.cfg, con.input_shapes(origin), Context()).field
        except Exception:            # noqa: BLE001 - the report evaluated it; a surprise here means "not known"
            return False
        if not (isinstance(step, tuple) and axis < len(step) and step[axis] is GLOBAL):
            return False
    return bool(origins)


def _probe_global(con: Concrete, position: int, y, x_base) -> FieldCheck:
    """One element's gradient at a time, for a field that is global along some axis (at the file's size:
    the part read depends on it). Probed: the first, the middle and the last element of every axis
    (channels summed, as for local fields; a flat tensor: its first, middle and last feature). Per global
    axis the union of their extents is the analytic part, and where the tensor's axes still line up with
    the input's (a mixing layer: pooling, linear, softmax) each element reads all of it. A local axis of a
    partly global field: the middle element's extent, when the border does not cut it."""
    import torch
    row = con.report.layers[position]
    f = row.receptive_field
    dims = con.report.input_shape[2:]
    axes = len(dims)
    check = FieldCheck(row.name, tuple(con.report.input_shape[1:]), f)
    lined_up = y.dim() - 2 == axes
    if lined_up:
        sizes = list(y.shape[2:])
        elements = [[0] * axes, [n // 2 for n in sizes], [n - 1 for n in sizes]]
        source = modules().take(y) if modules().uniform(y) else y
        picks = [(slice(None), slice(None), *element) for element in elements]
    else:
        flat = y.reshape(y.shape[0], -1)
        features = flat.shape[1]
        elements = [None, None, None]
        source = flat
        picks = [(0, i) for i in dict.fromkeys((0, features // 2, features - 1))]
    extents = []
    for pick in picks:
        (grad,) = torch.autograd.grad(source[pick].sum(), x_base, retain_graph=True)
        extents.append(_extents(grad[0, 0] != 0))
    for axis in range(axes):
        found = [(lows[axis], highs[axis]) for lows, highs in extents if lows[axis] is not None]
        check.period.append(1)
        check.jump.append(None)
        check.complete.append(True)
        if not f.axis_global(axis):
            middle = extents[min(1, len(extents) - 1)]
            lo, hi = middle[0][axis], middle[1][axis]
            # compared where the analytic field of that element lies inside the input and every element's
            # is the same size (an integer jump: no phases)
            r, jump = _frac(f.size[axis]), _frac(f.jump[axis])
            centre = _frac(f.start[axis]) + (elements[1][axis] if lined_up else 0) * jump
            inside = jump.denominator == 1 and centre - (r - 1) / 2 >= 0 and centre + (r - 1) / 2 <= dims[axis] - 1
            check.size.append(hi - lo + 1 if inside and lo is not None else None)
            check.start.append(None)
            check.cut.append(False)
            check.uniform.append(None)
            if not inside:
                check.notes.append(f"axis {axis}: the middle element's field is cut by the border at this size "
                                   "(or differs by phase): its size is not compared")
            continue
        if not found:
            check.size.append(0)
            check.start.append(0)
            check.cut.append(False)
            check.uniform.append(True)
            continue
        lo, hi = min(l for l, _ in found), max(h for _, h in found)
        check.size.append(hi - lo + 1)
        check.start.append(Fraction(lo + hi, 2))
        check.cut.append(False)
        same = all(extent == (lo, hi) for extent in found) and len(found) == len(extents)
        required = lined_up and _mixed_by_rule(con, position, axis)
        check.uniform.append(same if required else None)
        if required and not same:
            check.notes.append(f"axis {axis}: the probed elements read different parts "
                               f"({', '.join(f'{l}…{h}' for l, h in found)}), not the one union a global field is")
    return check


def _probe(con: Concrete, target: str, plan: _Plan, y, x_base) -> FieldCheck:
    import torch
    row = con.report.layers[plan.position]
    f = row.receptive_field
    dims = con.report.input_shape[2:]
    axes = len(dims)
    check = FieldCheck(target, tuple(con.report.input_shape[1:]), f)
    lead = y.dim() - axes

    source = modules().take(y) if lead >= 2 and modules().uniform(y) else y

    def measure(element: Sequence[int]):
        index = tuple([slice(None)] * lead) + tuple(element)
        value = source[index].sum()
        (grad,) = torch.autograd.grad(value, x_base, retain_graph=True)
        return _extents(grad[0, 0] != 0)

    out = row.output_shape[-axes:]
    limits = [min(plan.extra[a], plan.periods[a]) for a in range(axes)]
    distance = list(limits)             # per axis: how far the element measured last is from the base
    base = list(plan.base)
    # one phase per axis: the base element and one far enough along every axis that the two fields
    # cannot touch, in one backward pass (their gradients are two separate boxes); the jump is then
    # measured over m elements instead of one. Where the two boxes meet after all (a field larger
    # than the analytic one), each element is measured alone below.
    paired = _far_element(f, plan, out, dims) if all(p == 1 for p in plan.periods) and any(limits) else None
    if paired is not None:
        (grad,) = torch.autograd.grad(source[tuple([slice(None)] * lead) + tuple(base)].sum()
                                      + source[tuple([slice(None)] * lead) + tuple(paired)].sum(),
                                      x_base, retain_graph=True)
        runs = _runs(grad[0, 0] != 0)
        # two boxes per axis, of one size (period 1: every element's field is the same size); anything
        # else (boxes that met, a dilated field's gaps) is measured element by element below
        if all(len(r) == 2 and r[0][1] - r[0][0] == r[1][1] - r[1][0] for r in runs):
            first = ([r[0][0] for r in runs], [r[0][1] for r in runs])
            along = [[runs[a][0], runs[a][1]] for a in range(axes)]
            distance = [far - b for far, b in zip(paired, base)]
            limits = [1] * axes
            return _finish(check, f, plan, dims, axes, base, along, limits, distance)
    # the base element: phase 0 where it reads something, else the first phase that does
    # (a transposed convolution with kernel < stride leaves phases empty)
    first = measure(base)
    if any(lo is None for lo in first[0]):
        import itertools
        ranges = [range(min(plan.periods[a], out[a] - plan.base[a])) for a in range(axes)]
        for shift in sorted(itertools.product(*ranges), key=sum)[1:64]:
            candidate = [o + d for o, d in zip(plan.base, shift)]
            found_here = measure(candidate)
            if all(lo is not None for lo in found_here[0]):
                base, first = candidate, found_here
                limits = [max(0, min(limit, out[a] - 1 - base[a])) for a, limit in enumerate(limits)]
                break
    # per axis: the extents of base + k along that axis, k = 0 .. limit (the field's
    # extent along one axis depends only on the index along it: every window is a box)
    along: list[list[tuple]] = [[(first[0][a], first[1][a])] for a in range(axes)]
    if all(limit <= 1 for limit in limits):
        if any(limits):
            lows, highs = measure([o + limit for o, limit in zip(base, limits)])
            for a in range(axes):
                if limits[a]:
                    along[a].append((lows[a], highs[a]))
    else:
        for a in range(axes):
            for k in range(1, limits[a] + 1):
                element = list(base)
                element[a] += k
                lows, highs = measure(element)
                along[a].append((lows[a], highs[a]))
    return _finish(check, f, plan, dims, axes, base, along, limits, distance)


def _far_element(f: Field, plan: _Plan, out: Sequence[int], dims: Sequence[int]) -> list[int] | None:
    """An element m steps from the base along every axis whose analytic field lies at least two
    elements past the base's and inside the input with a margin; None where there is no room."""
    far = []
    for axis, (b, n, length) in enumerate(zip(plan.base, out, dims)):
        r, s, c = _frac(f.size[axis]), _frac(f.jump[axis]), _frac(f.start[axis])
        if s <= 0:
            return None
        m = int(ceil((r + 2) / s))
        half = (r - 1) / 2
        if b + m > n - 1 or c + (b + m) * s + half > length - 1 - 2 or not plan.fits[axis]:
            return None
        far.append(b + m)
    return far


def _runs(mask) -> list[list[tuple[int, int]]]:
    """Per spatial axis of a boolean mask: the (first, last) index of each run of rows holding a True."""
    found = []
    axes = mask.dim()
    for axis in range(axes):
        line = mask
        for other in reversed(range(axes)):
            if other != axis:
                line = line.any(dim=other)
        where = line.nonzero().flatten().tolist()
        runs: list[tuple[int, int]] = []
        for index in where:
            if runs and index == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], index)
            else:
                runs.append((index, index))
        found.append(runs)
    return found


def _finish(check: FieldCheck, f: Field, plan: _Plan, dims: Sequence[int], axes: int, base: list[int],
            along: list[list[tuple]], limits: list[int], distance: list[int]) -> FieldCheck:
    """Size, jump and start per axis from the extents measured along it (``along[a][k]``: the element
    k steps on; the last one ``distance[a]`` elements from the base)."""
    cut_axes, unfit_axes, phased, partial = [], [], [], []
    for axis in range(axes):
        length = dims[axis]
        period = plan.periods[axis]
        lo0, hi0 = along[axis][0]
        if lo0 is None:
            check.size.append(None)
            check.jump.append(None)
            check.start.append(None)
            check.period.append(period)
            check.cut.append(False)
            check.complete.append(True)
            check.notes.append(f"axis {axis}: no input element reaches this output element")
            continue
        extents = [(lo, hi) for lo, hi in along[axis] if lo is not None]
        size = max(hi - lo + 1 for lo, hi in extents)
        cut = any(lo == 0 or hi == length - 1 for lo, hi in extents)
        centre0 = Fraction(lo0 + hi0, 2)
        jump = None
        if limits[axis] == period and along[axis][-1][0] is not None:
            far_lo, far_hi = along[axis][-1]
            jump = (Fraction(far_lo + far_hi, 2) - centre0) / distance[axis]
        # the first phase that reads anything, shifted back by whole periods: the
        # centre of element 0's field (or where it would be), as the report defines start
        step = jump if jump is not None else _frac(f.jump[axis])
        start = centre0 - base[axis] * step
        if plan.capped[axis]:
            jump = start = None          # the probed elements are not a whole period
        if cut and not plan.fits[axis] and not plan.inside[axis]:
            size = jump = start = None   # the field runs past the largest input's border: nothing is measured
        check.size.append(size)
        check.jump.append(jump)
        check.start.append(start)
        check.period.append(period)
        check.cut.append(cut and plan.fits[axis])
        if not plan.fits[axis]:
            unfit_axes.append(axis)
        elif cut:
            cut_axes.append(axis)
        if period > 1:
            phased.append(period)
        check.complete.append(limits[axis] >= period - 1 and not plan.capped[axis])
        if not check.complete[-1]:
            partial.append(axis)
    if unfit_axes:
        check.notes.append("the field does not fit the largest input tried; cut by the border")
    if cut_axes:
        check.notes.append("the measured field reaches the input's border although the analytic one fits "
                           "with a margin: the field is larger than the analytic size")
    if phased:
        check.notes.append(f"outputs differ by phase (period {'×'.join(map(str, check.period))}): the size is "
                           f"the largest over consecutive elements")
    if partial:
        check.notes.append("not every phase was probed (the input is too small for them, or the period exceeds "
                           f"{MAX_PERIOD}): the size is a lower bound; jump and start are not compared")
    return check
