"""Hypothesis strategies for the numpy reference ops: valid configurations by construction.

Every strategy first draws the hyper-parameters (rank, kernel, dilation,
stride, padding, groups, ...) and then the sizes that they require -- input
lengths at least as long as the padded kernel, channels as multiples of the
groups, padding below the limits torch imposes -- so no example is rejected
and no ``assume`` is needed.  Each case also carries the output shape by the
textbook formula, and the seed of the random data, so that a failing example
prints as a short, reproducible line.

Sizes are tiny (spatial <= 7 in 1-d/2-d, <= 5 in 3-d, channels <= 6,
batch <= 2) so that the naive Python loops stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# One settings object for every property in tests/reference (the shared
# tests/conftest.py belongs to others): fixed examples (derandomize) so the
# suite is reproducible and its run time predictable.
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MAX_SPATIAL = {1: 7, 2: 7, 3: 5}
MAX_CHANNELS = 6
MAX_BATCH = 2

ranks = st.sampled_from([1, 2, 3])
seeds = st.integers(0, 2**32 - 1)


def data(seed: int, shape, dtype=np.float64, positive: bool = False) -> np.ndarray:
    """Deterministic random array for a drawn case."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if positive:
        x = np.abs(x) + 0.1
    return x.astype(dtype)


def _per_axis(draw, rank, strat):
    return tuple(draw(strat) for _ in range(rank))


# --------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvCase:
    x_shape: tuple
    w_shape: tuple
    stride: tuple
    padding: Union[tuple, str]       # per-axis ints, "same" or "valid"
    dilation: tuple
    groups: int
    padding_mode: str
    value: float
    bias: bool
    seed: int
    pads: tuple = field(repr=False)  # (left, right) per axis, as torch applies them

    @property
    def rank(self) -> int:
        return len(self.x_shape) - 2

    @property
    def kernel(self) -> tuple:
        return self.w_shape[2:]

    @property
    def out_shape(self) -> tuple:
        """(N, C_out, *out) with out = floor((L + p_l + p_r - d(k-1) - 1) / s) + 1."""
        spatial = tuple((L + l + r - d * (k - 1) - 1) // s + 1
                        for L, (l, r), d, k, s in zip(self.x_shape[2:], self.pads, self.dilation,
                                                      self.kernel, self.stride))
        return (self.x_shape[0], self.w_shape[0]) + spatial

    def arrays(self, dtype=np.float64):
        x = data(self.seed, self.x_shape, dtype)
        w = data(self.seed + 1, self.w_shape, dtype)
        b = data(self.seed + 2, (self.w_shape[0],), dtype) if self.bias else None
        return x, w, b

    def kwargs(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups,
                    padding_mode=self.padding_mode, value=self.value)


def _groups_and_channels(draw, max_channels=MAX_CHANNELS):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, max_channels // groups))
    c_out = groups * draw(st.integers(1, max_channels // groups))
    return groups, c_in, c_out


@st.composite
def conv_cases(draw, modes=("zeros", "reflect", "replicate", "circular", "constant")) -> ConvCase:
    rank = draw(ranks)
    groups, c_in, c_out = _groups_and_channels(draw)
    kernel = _per_axis(draw, rank, st.integers(1, 3))
    dilation = _per_axis(draw, rank, st.integers(1, 2))
    kind = draw(st.sampled_from(["ints", "ints", "same", "valid"]))
    stride = (1,) * rank if kind == "same" else _per_axis(draw, rank, st.integers(1, 3))
    if kind == "ints":
        padding = _per_axis(draw, rank, st.integers(0, 2))
        pads = tuple((p, p) for p in padding)
    elif kind == "same":
        padding = "same"
        pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    else:
        padding = "valid"
        pads = ((0, 0),) * rank
    mode = draw(st.sampled_from(modes))
    spatial = []
    for (l, r), k, d in zip(pads, kernel, dilation):
        need = max(1, d * (k - 1) + 1 - l - r)       # padded input >= dilated kernel
        if mode == "reflect":
            need = max(need, max(l, r) + 1)          # reflect: pad < size
        elif mode == "circular":
            need = max(need, l, r)                   # circular: pad <= size
        spatial.append(draw(st.integers(need, max(need, MAX_SPATIAL[rank]))))
    value = draw(st.sampled_from([0.0, 1.0, -2.5])) if mode == "constant" else 0.0
    return ConvCase(
        x_shape=(draw(st.integers(1, MAX_BATCH)), c_in) + tuple(spatial),
        w_shape=(c_out, c_in // groups) + kernel,
        stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode,
        value=value, bias=draw(st.booleans()), seed=draw(seeds), pads=pads,
    )


@dataclass(frozen=True)
class ConvTransposeCase:
    x_shape: tuple
    w_shape: tuple                   # (C_in, C_out/groups, *k)
    stride: tuple
    padding: tuple
    output_padding: tuple
    dilation: tuple
    groups: int
    bias: bool
    seed: int

    @property
    def rank(self) -> int:
        return len(self.x_shape) - 2

    @property
    def out_shape(self) -> tuple:
        """(N, C_out, *out) with out = (L-1)s - 2p + d(k-1) + output_padding + 1."""
        spatial = tuple((L - 1) * s - 2 * p + d * (k - 1) + op + 1
                        for L, s, p, d, k, op in zip(self.x_shape[2:], self.stride, self.padding, self.dilation,
                                                      self.w_shape[2:], self.output_padding))
        return (self.x_shape[0], self.w_shape[1] * self.groups) + spatial

    def arrays(self, dtype=np.float64):
        x = data(self.seed, self.x_shape, dtype)
        w = data(self.seed + 1, self.w_shape, dtype)
        b = data(self.seed + 2, (self.w_shape[1] * self.groups,), dtype) if self.bias else None
        return x, w, b

    def kwargs(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, output_padding=self.output_padding,
                    groups=self.groups, dilation=self.dilation)


@st.composite
def conv_transpose_cases(draw) -> ConvTransposeCase:
    rank = draw(ranks)
    groups, c_in, c_out = _groups_and_channels(draw)
    max_in = {1: 5, 2: 4, 3: 3}[rank]                 # outputs grow by about the stride
    kernel, stride, dilation, padding, output_padding, spatial = [], [], [], [], [], []
    for _ in range(rank):
        k, s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        op = draw(st.integers(0, max(s, d) - 1))      # torch: output_padding < max(stride, dilation)
        L = draw(st.integers(1, max_in))
        full = (L - 1) * s + d * (k - 1) + op         # output size - 1 without padding
        p = draw(st.integers(0, min(2, full // 2)))    # keeps the output size >= 1
        kernel.append(k), stride.append(s), dilation.append(d)
        padding.append(p), output_padding.append(op), spatial.append(L)
    return ConvTransposeCase(
        x_shape=(draw(st.integers(1, MAX_BATCH)), c_in) + tuple(spatial),
        w_shape=(c_in, c_out // groups) + tuple(kernel),
        stride=tuple(stride), padding=tuple(padding), output_padding=tuple(output_padding),
        dilation=tuple(dilation), groups=groups, bias=draw(st.booleans()), seed=draw(seeds),
    )


# --------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------

def pool_out(L, k, s, p, d, ceil_mode) -> int:
    """torch's pooling output size: floor/ceil of (L + 2p - d(k-1) - 1)/s, plus 1; in
    ceil mode the last window must start inside the input or the left padding."""
    out = (L + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


@dataclass(frozen=True)
class PoolCase:
    kind: str                        # "max", "avg" or "lp"
    x_shape: tuple
    kernel_size: tuple
    stride: Optional[tuple]          # None: the kernel size
    padding: tuple
    dilation: tuple
    ceil_mode: bool
    count_include_pad: bool = True
    divisor_override: Optional[int] = None
    norm_type: float = 2.0
    seed: int = 0

    @property
    def rank(self) -> int:
        return len(self.x_shape) - 2

    @property
    def out_shape(self) -> tuple:
        stride = self.kernel_size if self.stride is None else self.stride
        return self.x_shape[:2] + tuple(
            pool_out(L, k, s, p, d, self.ceil_mode)
            for L, k, s, p, d in zip(self.x_shape[2:], self.kernel_size, stride, self.padding, self.dilation))

    def array(self, dtype=np.float64):
        # lp pooling with a fractional power needs x >= 0 (x^p is NaN otherwise)
        fractional_power = self.kind == "lp" and not float(self.norm_type).is_integer()
        return data(self.seed, self.x_shape, dtype, positive=fractional_power)

    def kwargs(self) -> dict:
        if self.kind == "max":
            return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                        dilation=self.dilation, ceil_mode=self.ceil_mode)
        if self.kind == "avg":
            return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                        ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad,
                        divisor_override=self.divisor_override)
        return dict(norm_type=self.norm_type, kernel_size=self.kernel_size, stride=self.stride,
                    ceil_mode=self.ceil_mode)


@st.composite
def pool_cases(draw, kind: str) -> PoolCase:
    rank = draw(ranks)
    kernel = _per_axis(draw, rank, st.integers(1, 3))
    stride = draw(st.none() | st.tuples(*[st.integers(1, 3)] * rank))
    # torch: padding <= kernel // 2; lp pooling has no padding, avg none dilation
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel) if kind != "lp" else (0,) * rank
    dilation = _per_axis(draw, rank, st.integers(1, 2)) if kind == "max" else (1,) * rank
    ceil_mode = draw(st.booleans())
    spatial = []
    for k, p, d in zip(kernel, padding, dilation):
        need = max(1, d * (k - 1) + 1 - 2 * p)        # padded input >= dilated kernel
        if kind == "lp" or (kind == "avg" and rank == 3):
            need = max(need, k)                       # torch's avg_pool3d wants input >= kernel
        spatial.append(draw(st.integers(need, max(need, MAX_SPATIAL[rank]))))
    x_shape = (draw(st.integers(1, MAX_BATCH)), draw(st.integers(1, 4))) + tuple(spatial)
    extra = {}
    if kind == "avg":
        extra = dict(count_include_pad=draw(st.booleans()), divisor_override=draw(st.sampled_from([None, None, 1, 3])))
    if kind == "lp":
        extra = dict(norm_type=draw(st.sampled_from([1.0, 2.0, 3.0, 1.5, float("inf")])))
    return PoolCase(kind, x_shape, kernel, stride, padding, dilation, ceil_mode, seed=draw(seeds), **extra)


@dataclass(frozen=True)
class AdaptiveCase:
    x_shape: tuple
    output_size: Union[int, tuple]   # an int, or per axis an int or None (keep)
    seed: int

    @property
    def out_shape(self) -> tuple:
        sizes = self.output_size
        if not isinstance(sizes, tuple):
            sizes = (sizes,) * (len(self.x_shape) - 2)
        return self.x_shape[:2] + tuple(L if o is None else o for o, L in zip(sizes, self.x_shape[2:]))

    def array(self, dtype=np.float64):
        return data(self.seed, self.x_shape, dtype)


@st.composite
def adaptive_cases(draw) -> AdaptiveCase:
    rank = draw(ranks)
    spatial = _per_axis(draw, rank, st.integers(1, MAX_SPATIAL[rank]))
    sizes = st.integers(1, MAX_SPATIAL[rank])
    if draw(st.booleans()):
        output_size = draw(sizes)
    else:  # None keeps an axis (torch's 1-d adaptive pools take no None)
        output_size = tuple(draw((st.none() if rank > 1 else st.nothing()) | sizes) for _ in range(rank))
    x_shape = (draw(st.integers(1, MAX_BATCH)), draw(st.integers(1, 4))) + spatial
    return AdaptiveCase(x_shape, output_size, draw(seeds))


# --------------------------------------------------------------------------
# interpolation and padding
# --------------------------------------------------------------------------

INTERP_RANK = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


@dataclass(frozen=True)
class InterpCase:
    x_shape: tuple
    mode: str
    size: Optional[tuple]
    scale_factor: Optional[tuple]
    align_corners: Optional[bool]
    seed: int

    @property
    def out_shape(self) -> tuple:
        if self.size is not None:
            return self.x_shape[:2] + self.size
        return self.x_shape[:2] + tuple(int(np.floor(L * s)) for L, s in zip(self.x_shape[2:], self.scale_factor))

    def array(self, dtype=np.float64):
        return data(self.seed, self.x_shape, dtype)

    def kwargs(self) -> dict:
        return dict(size=self.size, scale_factor=self.scale_factor, mode=self.mode, align_corners=self.align_corners)


@st.composite
def interp_cases(draw, modes=tuple(INTERP_RANK)) -> InterpCase:
    mode = draw(st.sampled_from(modes))
    rank = INTERP_RANK[mode] or draw(ranks)
    top = min(MAX_SPATIAL[rank], 6)
    spatial = _per_axis(draw, rank, st.integers(1, top))
    if draw(st.booleans()):
        size, scale = _per_axis(draw, rank, st.integers(1, 2 * top)), None
    else:
        # any float with floor(L·s) >= 1: arbitrary factors probe the float
        # rounding of torch's source-index formulas, simple ones the common cases
        size = None
        scale = tuple(draw(st.sampled_from([s for s in (0.5, 1.0, 1.5, 2.0, 3.0, 1 / 3) if L * s >= 1])
                           | st.floats((1 + 1e-6) / L, 3.0, allow_nan=False, allow_infinity=False))
                      for L in spatial)
    align = None if mode.startswith("nearest") else draw(st.booleans())
    x_shape = (draw(st.integers(1, MAX_BATCH)), draw(st.integers(1, 3))) + spatial
    return InterpCase(x_shape, mode, size, scale, align, draw(seeds))


@dataclass(frozen=True)
class PadCase:
    x_shape: tuple
    pad: tuple                       # torch order: last axis first
    mode: str
    value: float
    seed: int

    @property
    def out_shape(self) -> tuple:
        shape = list(self.x_shape)
        for i in range(len(self.pad) // 2):
            shape[-1 - i] += self.pad[2 * i] + self.pad[2 * i + 1]
        return tuple(shape)

    def array(self, dtype=np.float64):
        return data(self.seed, self.x_shape, dtype)


@st.composite
def pad_cases(draw) -> PadCase:
    rank = draw(ranks)
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    x_shape = (draw(st.integers(1, MAX_BATCH)), draw(st.integers(1, 3))) + _per_axis(
        draw, rank, st.integers(1, MAX_SPATIAL[rank]))
    # constant pads any number of trailing axes, the other modes exactly the spatial ones
    n_axes = draw(st.integers(1, len(x_shape))) if mode == "constant" else rank
    pad = []
    for L in reversed(x_shape[-n_axes:]):
        if mode == "constant":
            l = draw(st.integers(-min(L, 2), 3))
            r = draw(st.integers(max(-2, -(L + min(l, 0))), 3))  # crop at most what is left
        elif mode == "reflect":
            l = draw(st.integers(-(L - 1), L - 1))               # |pad| < L
            r = draw(st.integers(max(-(L - 1), 1 - (L + l)), L - 1))   # size >= 1
        elif mode == "replicate":
            l = draw(st.integers(-(L - 1), 3))
            r = draw(st.integers(max(-2, 1 - (L + l)), 3))
        else:  # circular: crop first, then wrap at most once around what is left
            crop_l = draw(st.integers(0, L - 1))
            crop_r = draw(st.integers(0, L - 1 - crop_l))
            kept = L - crop_l - crop_r
            l = -crop_l if crop_l else draw(st.integers(0, kept))
            r = -crop_r if crop_r else draw(st.integers(0, kept))
        pad += [l, r]
    value = draw(st.sampled_from([0.0, 1.5])) if mode == "constant" else 0.0
    return PadCase(x_shape, tuple(pad), mode, value, draw(seeds))


# --------------------------------------------------------------------------
# the same cases run through torch.nn.functional (torch imported lazily)
# --------------------------------------------------------------------------

def _t(a):
    import torch
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a))


def torch_conv(case: ConvCase, x, w, b) -> np.ndarray:
    """torch.nn.functional.convNd; a non-zero padding mode pads first, as torch's ConvNd modules do."""
    import torch.nn.functional as F
    convnd = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[case.rank]
    if case.padding_mode == "zeros":
        padding = case.padding if isinstance(case.padding, str) else tuple(case.padding)
        return convnd(_t(x), _t(w), _t(b), case.stride, padding, case.dilation, case.groups).numpy()
    flat = [a for lr in reversed(case.pads) for a in lr]
    if case.padding_mode == "constant":
        xp = F.pad(_t(x), flat, mode="constant", value=case.value)
    else:
        xp = F.pad(_t(x), flat, mode=case.padding_mode)
    return convnd(xp, _t(w), _t(b), case.stride, 0, case.dilation, case.groups).numpy()


def torch_conv_transpose(case: ConvTransposeCase, x, w, b) -> np.ndarray:
    import torch.nn.functional as F
    convnd = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[case.rank]
    return convnd(_t(x), _t(w), _t(b), case.stride, case.padding, case.output_padding, case.groups,
                  case.dilation).numpy()


def torch_pool(case: PoolCase, x) -> np.ndarray:
    import torch.nn.functional as F
    r = case.rank
    if case.kind == "max":
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[r]
        return fn(_t(x), case.kernel_size, case.stride, case.padding, case.dilation, case.ceil_mode).numpy()
    if case.kind == "lp":
        if r == 1:  # lp_pool1d multiplies by kernel_size: it needs plain ints
            stride = None if case.stride is None else case.stride[0]
            return F.lp_pool1d(_t(x), case.norm_type, case.kernel_size[0], stride, case.ceil_mode).numpy()
        fn = {2: F.lp_pool2d, 3: F.lp_pool3d}[r]
        return fn(_t(x), case.norm_type, case.kernel_size, case.stride, case.ceil_mode).numpy()
    if r == 1 and case.divisor_override is not None:
        # avg_pool1d has no divisor_override: run it as a 2-d pool over a height-1 image
        stride = None if case.stride is None else (1,) + case.stride
        return F.avg_pool2d(_t(x)[:, :, None], (1,) + case.kernel_size, stride, (0,) + case.padding,
                            case.ceil_mode, case.count_include_pad, case.divisor_override).numpy()[:, :, 0]
    if r == 1:
        return F.avg_pool1d(_t(x), case.kernel_size, case.stride, case.padding, case.ceil_mode,
                            case.count_include_pad).numpy()
    fn = {2: F.avg_pool2d, 3: F.avg_pool3d}[r]
    return fn(_t(x), case.kernel_size, case.stride, case.padding, case.ceil_mode, case.count_include_pad,
              case.divisor_override).numpy()


def torch_adaptive(kind: str, case: AdaptiveCase, x) -> np.ndarray:
    import torch.nn.functional as F
    r = len(case.x_shape) - 2
    if kind == "avg":
        fn = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[r]
    else:
        fn = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}[r]
    return fn(_t(x), case.output_size).numpy()


def torch_interpolate(case: InterpCase, x) -> np.ndarray:
    import torch.nn.functional as F
    return F.interpolate(_t(x), size=case.size, scale_factor=case.scale_factor, mode=case.mode,
                         align_corners=case.align_corners).numpy()


def torch_pad(case: PadCase, x) -> np.ndarray:
    import torch.nn.functional as F
    if case.mode == "constant":
        return F.pad(_t(x), list(case.pad), mode="constant", value=case.value).numpy()
    return F.pad(_t(x), list(case.pad), mode=case.mode).numpy()
