"""Properties of the numpy reference ops (cnncalc.reference.ops).

For every operation, over configurations drawn by ``strategies.py``:

* naive == fast in float64 (rtol = atol = 1e-10);
* fast == torch.nn.functional in float64 (skipped without torch);
* float32 in -> float32 out, close to the float64 result;
* the output shape equals the textbook formula (computed in strategies.py,
  independently of ops.py).

plus a few hand-written examples, with the expected values written as the
arithmetic that produces them.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given

from cnncalc.reference import (
    adaptive_avg_pool, adaptive_max_pool, avg_pool, conv, conv_transpose, interpolate, lp_pool, max_pool, ops, pad,
)

from . import strategies as S
from .strategies import SETTINGS

TIGHT = dict(rtol=1e-10, atol=1e-10)
LOOSE32 = dict(rtol=1e-4, atol=1e-4)      # float32 against the float64 result


def same(a, b, **tol):
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, equal_nan=True, **(tol or TIGHT))


# --------------------------------------------------------------------------
# conv
# --------------------------------------------------------------------------

@SETTINGS
@given(case=S.conv_cases())
def test_conv_naive_equals_fast(case):
    x, w, b = case.arrays()
    same(conv(x, w, b, **case.kwargs(), impl="naive"), conv(x, w, b, **case.kwargs(), impl="fast"))


@SETTINGS
@given(case=S.conv_cases())
def test_conv_matches_torch(case):
    pytest.importorskip("torch")
    x, w, b = case.arrays()
    same(conv(x, w, b, **case.kwargs()), S.torch_conv(case, x, w, b))


@SETTINGS
@given(case=S.conv_cases())
def test_conv_float32_and_shape(case):
    x, w, b = case.arrays(np.float32)
    y = conv(x, w, b, **case.kwargs())
    assert y.dtype == np.float32
    assert y.shape == case.out_shape
    same(y, conv(*case.arrays(), **case.kwargs()), **LOOSE32)


# --------------------------------------------------------------------------
# conv: each way of the fast path
# --------------------------------------------------------------------------
# _conv_plan picks a way from the shapes; the tiny drawn cases would not reach
# every way (nor several chunks, nor the two-thread split) on their own, so
# the plan's knobs are set for the duration of each call.

# knobs that send a convolution one way, where that way applies
WAYS = {
    "channels_first": dict(_CHANNELS_LAST_RUNS=10**9, _TAP_LOOP_MAX_OUTPUTS=-1),
    "channels_last": dict(_CHANNELS_LAST_RUNS=0, _TAP_LOOP_MAX_OUTPUTS=-1),
    "taps": dict(_TAP_LOOP_MAX_OUTPUTS=10**9),
}
# one sample a chunk, and every copy and tap loop split over two threads
SMALL_CHUNKS = dict(_IM2COL_CHUNK_BYTES=1, _TAP_CHUNK_BYTES=1, _TWO_THREADS=True, _COPY_SPLIT_BYTES=1)


@contextmanager
def knobs(**values):
    saved = {name: getattr(ops, name) for name in values}
    for name, value in values.items():
        setattr(ops, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(ops, name, value)


@contextmanager
def ways_taken():
    """The kinds _conv_plan returned meanwhile."""
    kinds, plan = [], ops._conv_plan

    def spy(*args):
        kinds.append(plan(*args)[0])
        return plan(*args)

    with knobs(_conv_plan=spy):
        yield kinds


def depthwise(case, groups, per_group):
    """The drawn case with one input channel per group: groups channels in, groups·per_group out."""
    return replace(case, x_shape=(case.x_shape[0], groups) + case.x_shape[2:],
                   w_shape=(groups * per_group, 1) + case.kernel, groups=groups)


@pytest.mark.parametrize("way", ["channels_first", "channels_last"])
@pytest.mark.parametrize("chunks", ["default", "small"])
@SETTINGS
@given(case=S.conv_cases())
def test_conv_each_gemm_way_equals_naive(way, chunks, case):
    x, w, b = case.arrays()
    expected = conv(x, w, b, **case.kwargs(), impl="naive")
    with knobs(**WAYS[way], **(SMALL_CHUNKS if chunks == "small" else {})), ways_taken() as kinds:
        got = conv(x, w, b, **case.kwargs())
    same(got, expected)
    assert set(kinds) <= {way, "matmul"}


@pytest.mark.parametrize("chunks", ["default", "small"])
@SETTINGS
@given(case=S.conv_cases(), groups=S.st.integers(2, 4), per_group=S.st.integers(1, 3))
def test_conv_tap_loop_equals_naive(chunks, case, groups, per_group):
    case = depthwise(case, groups, per_group)
    x, w, b = case.arrays()
    expected = conv(x, w, b, **case.kwargs(), impl="naive")
    with knobs(**WAYS["taps"], **(SMALL_CHUNKS if chunks == "small" else {})), ways_taken() as kinds:
        got = conv(x, w, b, **case.kwargs())
        got32 = conv(*case.arrays(np.float32), **case.kwargs())
    same(got, expected)
    same(got32, expected, **LOOSE32)
    assert got32.dtype == np.float32
    assert set(kinds) <= {"taps", "matmul"}


def test_conv_plan_ways():
    """Which way the default knobs take on a few ResNet / MobileNet layers (float32)."""
    def kind(x_shape, w_shape, stride=1, padding=1, groups=1):
        rank = len(x_shape) - 2
        out = tuple((L + 2 * padding - k) // stride + 1 for L, k in zip(x_shape[2:], w_shape[2:]))
        return ops._conv_plan(x_shape, w_shape, [(padding, padding)] * rank, (stride,) * rank, (1,) * rank,
                              groups, out, 4)[0]

    assert kind((8, 256, 14, 14), (256, 256, 3, 3)) == "channels_last"      # runs of 768 floats, not 14
    assert kind((8, 64, 56, 56), (64, 64, 3, 3)) == "channels_first"        # 192 against 56
    assert kind((1, 3, 224, 224), (64, 3, 7, 7), stride=2, padding=3) == "channels_first"
    assert kind((8, 128, 28, 28), (128, 1, 3, 3), groups=128) == "taps"
    assert kind((8, 128, 28, 28), (256, 1, 3, 3), groups=128) == "taps"    # two outputs per group
    assert kind((1, 1, 512, 512), (1, 1, 31, 31), padding=0) == "channels_first"   # groups = 1: GEMM
    assert kind((8, 256, 56, 56), (64, 256, 1, 1), padding=0) == "matmul"


# --------------------------------------------------------------------------
# conv_transpose
# --------------------------------------------------------------------------

@SETTINGS
@given(case=S.conv_transpose_cases())
def test_conv_transpose_naive_equals_fast(case):
    x, w, b = case.arrays()
    same(conv_transpose(x, w, b, **case.kwargs(), impl="naive"), conv_transpose(x, w, b, **case.kwargs()))


@SETTINGS
@given(case=S.conv_transpose_cases())
def test_conv_transpose_matches_torch(case):
    pytest.importorskip("torch")
    x, w, b = case.arrays()
    same(conv_transpose(x, w, b, **case.kwargs()), S.torch_conv_transpose(case, x, w, b))


@SETTINGS
@given(case=S.conv_transpose_cases())
def test_conv_transpose_float32_and_shape(case):
    x, w, b = case.arrays(np.float32)
    y = conv_transpose(x, w, b, **case.kwargs())
    assert y.dtype == np.float32
    assert y.shape == case.out_shape
    same(y, conv_transpose(*case.arrays(), **case.kwargs()), **LOOSE32)


# --------------------------------------------------------------------------
# max / avg / lp pooling
# --------------------------------------------------------------------------

POOLS = {"max": max_pool, "avg": avg_pool, "lp": lp_pool}


def run_pool(case, x, impl="fast"):
    return POOLS[case.kind](x, **case.kwargs(), impl=impl)


@pytest.mark.parametrize("kind", POOLS)
@SETTINGS
@given(data=S.st.data())
def test_pool_naive_equals_fast(kind, data):
    case = data.draw(S.pool_cases(kind), label="case")
    x = case.array()
    same(run_pool(case, x, "naive"), run_pool(case, x))


@pytest.mark.parametrize("kind", POOLS)
@SETTINGS
@given(data=S.st.data())
def test_pool_matches_torch(kind, data):
    pytest.importorskip("torch")
    case = data.draw(S.pool_cases(kind), label="case")
    x = case.array()
    same(run_pool(case, x), S.torch_pool(case, x))


@pytest.mark.parametrize("kind", POOLS)
@SETTINGS
@given(data=S.st.data())
def test_pool_float32_and_shape(kind, data):
    case = data.draw(S.pool_cases(kind), label="case")
    y = run_pool(case, case.array(np.float32))
    assert y.dtype == np.float32
    assert y.shape == case.out_shape
    same(y, run_pool(case, case.array()), **LOOSE32)


# --------------------------------------------------------------------------
# adaptive pooling
# --------------------------------------------------------------------------

ADAPTIVE = {"avg": adaptive_avg_pool, "max": adaptive_max_pool}


@pytest.mark.parametrize("kind", ADAPTIVE)
@SETTINGS
@given(case=S.adaptive_cases())
def test_adaptive_naive_equals_fast(kind, case):
    x = case.array()
    same(ADAPTIVE[kind](x, case.output_size, impl="naive"), ADAPTIVE[kind](x, case.output_size))


@pytest.mark.parametrize("kind", ADAPTIVE)
@SETTINGS
@given(case=S.adaptive_cases())
def test_adaptive_matches_torch(kind, case):
    pytest.importorskip("torch")
    x = case.array()
    same(ADAPTIVE[kind](x, case.output_size), S.torch_adaptive(kind, case, x))


@pytest.mark.parametrize("kind", ADAPTIVE)
@SETTINGS
@given(case=S.adaptive_cases())
def test_adaptive_float32_and_shape(kind, case):
    y = ADAPTIVE[kind](case.array(np.float32), case.output_size)
    assert y.dtype == np.float32
    assert y.shape == case.out_shape
    same(y, ADAPTIVE[kind](case.array(), case.output_size), **LOOSE32)


# --------------------------------------------------------------------------
# interpolate
# --------------------------------------------------------------------------

@SETTINGS
@given(case=S.interp_cases())
def test_interpolate_naive_equals_fast(case):
    x = case.array()
    same(interpolate(x, **case.kwargs(), impl="naive"), interpolate(x, **case.kwargs()))


@SETTINGS
@given(case=S.interp_cases())
def test_interpolate_matches_torch(case):
    pytest.importorskip("torch")
    x = case.array()
    same(interpolate(x, **case.kwargs()), S.torch_interpolate(case, x))


@SETTINGS
@given(case=S.interp_cases())
def test_interpolate_float32_matches_torch_and_shape(case):
    # float32 source coordinates are computed in float32, as torch does, so the
    # float32 result is compared with torch's float32 result, not with float64
    x = case.array(np.float32)
    y = interpolate(x, **case.kwargs())
    assert y.dtype == np.float32
    assert y.shape == case.out_shape
    if S.INTERP_RANK[case.mode] is None:      # nearest: the same picks as float64 up to rounding
        return
    same(y, interpolate(case.array(), **case.kwargs()), **LOOSE32)


@SETTINGS
@given(case=S.interp_cases())
def test_interpolate_float32_matches_torch(case):
    pytest.importorskip("torch")
    x = case.array(np.float32)
    same(interpolate(x, **case.kwargs()), S.torch_interpolate(case, x), rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------
# pad
# --------------------------------------------------------------------------

@SETTINGS
@given(case=S.pad_cases())
def test_pad_matches_torch(case):
    pytest.importorskip("torch")
    x = case.array()
    same(pad(x, case.pad, case.mode, case.value), S.torch_pad(case, x), rtol=0, atol=0)


@SETTINGS
@given(case=S.pad_cases())
def test_pad_float32_and_shape(case):
    y = pad(case.array(np.float32), case.pad, case.mode, case.value)
    assert y.dtype == np.float32
    assert y.shape == case.out_shape


@SETTINGS
@given(case=S.pad_cases())
def test_pad_then_crop_is_identity(case):
    """Padding by p then by -p gives the input back (pad has no naive variant: this is its own check)."""
    x = case.array()
    if any(p < 0 for p in case.pad):
        return
    back = pad(pad(x, case.pad, case.mode, case.value), [-p for p in case.pad], "constant")
    same(back, x, rtol=0, atol=0)


# --------------------------------------------------------------------------
# hand-written examples
# --------------------------------------------------------------------------

def row(*values):
    """A (1, 1, L) float64 array."""
    return np.array(values, dtype=np.float64)[None, None]


@pytest.mark.parametrize("impl", ["naive", "fast"])
def test_conv_examples(impl):
    x = row(1, 2, 3, 4)
    w = row(1, 0, -1)
    same(conv(x, w, impl=impl), row(1 * 1 + 3 * -1, 2 * 1 + 4 * -1))
    # 'same' with an even kernel: d(k-1) = 3 in total, 1 on the left, 2 on the right
    x = row(1, 2, 3)
    w = row(1, 1, 1, 1)
    same(conv(x, w, padding="same", impl=impl), row(0 + 1 + 2 + 3, 1 + 2 + 3 + 0, 2 + 3 + 0 + 0))
    # stride 2, dilation 2, bias 10: taps i·2 + {0, 2}
    x = row(1, 2, 3, 4, 5, 6)
    same(conv(x, row(1, 1), np.array([10.0]), stride=2, dilation=2, impl=impl),
         row(10 + 1 + 3, 10 + 3 + 5))
    # reflect padding by 1: x_pad = [2, 1, 2, 3, 2]
    x = row(1, 2, 3)
    same(conv(x, row(1, 1, 1), padding=1, padding_mode="reflect", impl=impl),
         row(2 + 1 + 2, 1 + 2 + 3, 2 + 3 + 2))
    # constant padding with ones: x_pad = [1, 1, 2, 3, 1]
    same(conv(x, row(1, 1, 1), padding=1, padding_mode="constant", value=1.0, impl=impl),
         row(1 + 1 + 2, 1 + 2 + 3, 2 + 3 + 1))
    # 2 groups of one channel each: channel c is scaled by w[c]
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    w = np.array([[[10.0]], [[100.0]]])
    same(conv(x, w, groups=2, impl=impl), np.array([[[10.0, 20.0], [300.0, 400.0]]]))


@pytest.mark.parametrize("impl", ["naive", "fast"])
def test_conv_transpose_examples(impl):
    # stride 2, kernel [1, 10]: input i spreads to 2i and 2i + 1; size (2-1)·2 + (2-1) + 1 = 4
    x = row(1, 2)
    w = row(1, 10)
    same(conv_transpose(x, w, stride=2, impl=impl), row(1 * 1, 1 * 10, 2 * 1, 2 * 10))
    # stride 3 leaves a gap; output_padding 1 adds a last position that nothing reaches
    same(conv_transpose(x, w, stride=3, impl=impl), row(1 * 1, 1 * 10, 0, 2 * 1, 2 * 10))
    same(conv_transpose(x, w, stride=2, output_padding=1, impl=impl), row(1 * 1, 1 * 10, 2 * 1, 2 * 10, 0))
    # stride 1, kernel [1, 1, 1], padding 1: a box sum with the border cropped
    x = row(1, 2, 3)
    same(conv_transpose(x, row(1, 1, 1), padding=1, impl=impl), row(1 + 2, 1 + 2 + 3, 2 + 3))


@pytest.mark.parametrize("impl", ["naive", "fast"])
def test_pool_examples(impl):
    x = row(1, 5, 2, 4, 3)
    # L = 5, k = 2, s = 2, ceil_mode: the third window [4, 6) is clipped to [4, 5)
    same(max_pool(x, 2, ceil_mode=True, impl=impl), row(max(1, 5), max(2, 4), 3))
    same(avg_pool(x, 2, ceil_mode=True, impl=impl), row((1 + 5) / 2, (2 + 4) / 2, 3 / 1))
    # k = 3, s = 2, p = 1, ceil_mode, L = 4: out = floor((4 + 2 - 3 + 1) / 2) + 1 = 3.
    # Windows start at -1, 1, 3.  With count_include_pad the divisor counts the
    # left padding but not the overhang past L + p = 5: 3, 3 and 5 - 3 = 2.
    x = row(1, 2, 3, 4)
    same(avg_pool(x, 3, 2, 1, ceil_mode=True, impl=impl), row((0 + 1 + 2) / 3, (2 + 3 + 4) / 3, (4 + 0) / 2))
    same(avg_pool(x, 3, 2, 1, ceil_mode=True, count_include_pad=False, impl=impl),
         row((1 + 2) / 2, (2 + 3 + 4) / 3, 4 / 1))
    same(avg_pool(x, 3, 2, 1, ceil_mode=True, divisor_override=5, impl=impl),
         row((1 + 2) / 5, (2 + 3 + 4) / 5, 4 / 5))
    # padding acts as -inf for max: the first window [-1, 2) of negatives is max(-1, -2)
    same(max_pool(-x, 3, 2, 1, impl=impl), row(max(-1, -2), max(-2, -3, -4)))
    # dilation 2: taps i·1 + {0, 2}
    same(max_pool(row(1, 9, 2, 8), 2, 1, dilation=2, impl=impl), row(max(1, 2), max(9, 8)))
    # lp with p = 2: the Euclidean norm of each window
    same(lp_pool(row(3, 4, 6, 8), 2, 2, impl=impl), row((3**2 + 4**2) ** 0.5, (6**2 + 8**2) ** 0.5))
    # ceil mode: the clipped window [2, 3) is scaled by k / count = 2 / 1 (torch's avg·k)
    same(lp_pool(row(3, 4, 6), 2, 2, ceil_mode=True, impl=impl), row(5.0, (6**2 / 1 * 2) ** 0.5))


@pytest.mark.parametrize("impl", ["naive", "fast"])
def test_adaptive_examples(impl):
    # L = 5 -> 3 bins: [floor(0·5/3), ceil(1·5/3)) = [0, 2), [1, 4), [3, 5): bins overlap
    x = row(1, 2, 3, 4, 5)
    same(adaptive_avg_pool(x, 3, impl=impl), row((1 + 2) / 2, (2 + 3 + 4) / 3, (4 + 5) / 2))
    same(adaptive_max_pool(x, 3, impl=impl), row(2, 4, 5))
    # None keeps the size of that axis
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    same(adaptive_avg_pool(x, (1, None), impl=impl), np.array([[[[(0 + 3) / 2, (1 + 4) / 2, (2 + 5) / 2]]]]))


@pytest.mark.parametrize("impl", ["naive", "fast"])
def test_interpolate_examples(impl):
    x = row(10, 20, 30)
    # nearest 3 -> 5: scale 3/5, src = floor(i · 0.6) = 0, 0, 1, 1, 2
    same(interpolate(x, size=5, impl=impl), row(10, 10, 20, 20, 30))
    # nearest-exact: src = floor((i + 0.5) · 0.6) = 0, 0, 1, 2, 2
    same(interpolate(x, size=5, mode="nearest-exact", impl=impl), row(10, 10, 20, 30, 30))
    # linear 3 -> 6, align_corners=False: src = (i + 0.5)/2 - 0.5 = 0 (clamped), 0.25, 0.75, 1.25, 1.75, 2.25
    same(interpolate(x, size=6, mode="linear", impl=impl),
         row(10, 10 + 0.25 * 10, 10 + 0.75 * 10, 20 + 0.25 * 10, 20 + 0.75 * 10, 30))
    # align_corners=True, 3 -> 5: src = i · 2/4 = 0, 0.5, 1, 1.5, 2
    same(interpolate(x, size=5, mode="linear", align_corners=True, impl=impl), row(10, 15, 20, 25, 30))
    # bicubic of a constant image is the constant (the weights sum to 1)
    ones = np.ones((1, 1, 3, 4))
    same(interpolate(ones, scale_factor=1.7, mode="bicubic", impl=impl), np.ones((1, 1, 5, 6)))


def test_pad_examples():
    x = row(1, 2, 3)
    same(pad(x, (2, 1), "constant", 9.0), row(9, 9, 1, 2, 3, 9))
    same(pad(x, (2, 1), "reflect"), row(3, 2, 1, 2, 3, 2))
    same(pad(x, (2, 1), "replicate"), row(1, 1, 1, 2, 3, 3))
    same(pad(x, (2, 1), "circular"), row(2, 3, 1, 2, 3, 1))
    same(pad(x, (-1, 1), "constant"), row(2, 3, 0))
    # (left, right, top, bottom): the last axis first
    assert pad(np.zeros((1, 1, 2, 3)), (1, 2, 3, 4)).shape == (1, 1, 2 + 3 + 4, 3 + 1 + 2)


@pytest.mark.parametrize("call", [
    lambda: conv(np.zeros((1, 1, 2)), np.zeros((1, 1, 3))),                      # kernel > input
    lambda: conv(np.zeros((1, 1, 5)), np.zeros((1, 1, 3)), stride=2, padding="same"),
    lambda: conv(np.zeros((1, 3, 5)), np.zeros((2, 1, 3)), groups=2),            # 3 % 2
    lambda: conv_transpose(np.zeros((1, 1, 3)), np.zeros((1, 1, 2)), stride=2, output_padding=2),
    lambda: max_pool(np.zeros((1, 1, 5)), 2, padding=2),                          # pad > k/2
    lambda: avg_pool(np.zeros((1, 1, 1)), 3, padding=0),
    lambda: adaptive_avg_pool(np.zeros((1, 1, 5)), 0),
    lambda: interpolate(np.zeros((1, 1, 5)), size=3, mode="bilinear"),            # wrong rank
    lambda: interpolate(np.zeros((1, 1, 5)), size=3, mode="nearest", align_corners=True),
    lambda: pad(np.zeros((1, 1, 3)), (3, 0), "reflect"),
    lambda: conv(np.zeros((1, 1, 5)), np.zeros((1, 1, 3)), impl="slow"),
])
def test_invalid_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
