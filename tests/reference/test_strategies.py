"""Tests of the strategies themselves.

1. Every drawn configuration is valid: it satisfies the constraints it was
   built to satisfy, torch accepts it, and torch's output shape is the
   textbook shape the case carries.
2. The strategies reach the corners that matter (even kernels with 'same',
   ceil-mode windows that overhang, overlapping adaptive bins, ...).
3. The properties have teeth: with a deliberately broken fast path patched in,
   ``hypothesis.find`` turns up a counterexample.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings

from cnncalc.reference import avg_pool, conv, ops

from . import strategies as S
from .strategies import SETTINGS

FIND = settings(max_examples=200, deadline=None, derandomize=True, database=None)
REACH = settings(FIND, phases=[Phase.generate])   # existence only: no need to shrink


# --------------------------------------------------------------------------
# 1. drawn cases are valid
# --------------------------------------------------------------------------

@SETTINGS
@given(case=S.conv_cases())
def test_conv_cases_are_valid(case):
    n, c_in, *spatial = case.x_shape
    c_out, c_in_g, *kernel = case.w_shape
    assert 1 <= n <= S.MAX_BATCH and c_in <= S.MAX_CHANNELS and c_out <= S.MAX_CHANNELS
    assert c_in == c_in_g * case.groups and c_out % case.groups == 0
    assert all(L <= max(S.MAX_SPATIAL[case.rank], d * (k - 1) + 1)
               for L, k, d in zip(spatial, kernel, case.dilation))
    for L, (l, r), k, d in zip(spatial, case.pads, kernel, case.dilation):
        assert L + l + r >= d * (k - 1) + 1
        if case.padding_mode == "reflect":
            assert max(l, r) < L
        if case.padding_mode == "circular":
            assert max(l, r) <= L
    if case.padding == "same":
        assert set(case.stride) == {1}
        assert tuple(case.out_shape[2:]) == tuple(spatial)
    pytest.importorskip("torch")
    assert S.torch_conv(case, *case.arrays()).shape == case.out_shape


@SETTINGS
@given(case=S.conv_transpose_cases())
def test_conv_transpose_cases_are_valid(case):
    assert case.x_shape[1] % case.groups == 0
    assert all(op < max(s, d) for op, s, d in zip(case.output_padding, case.stride, case.dilation))
    assert all(o >= 1 for o in case.out_shape[2:])
    pytest.importorskip("torch")
    assert S.torch_conv_transpose(case, *case.arrays()).shape == case.out_shape


@pytest.mark.parametrize("kind", ["max", "avg", "lp"])
@SETTINGS
@given(data=S.st.data())
def test_pool_cases_are_valid(kind, data):
    case = data.draw(S.pool_cases(kind), label="case")
    assert all(p <= k // 2 for p, k in zip(case.padding, case.kernel_size))
    assert all(o >= 1 for o in case.out_shape[2:])
    pytest.importorskip("torch")
    assert S.torch_pool(case, case.array()).shape == case.out_shape


@SETTINGS
@given(case=S.adaptive_cases())
def test_adaptive_cases_are_valid(case):
    assert all(o >= 1 for o in case.out_shape[2:])
    pytest.importorskip("torch")
    assert S.torch_adaptive("avg", case, case.array()).shape == case.out_shape
    assert S.torch_adaptive("max", case, case.array()).shape == case.out_shape


@SETTINGS
@given(case=S.interp_cases())
def test_interp_cases_are_valid(case):
    assert (case.size is None) != (case.scale_factor is None)
    assert (case.align_corners is None) == case.mode.startswith("nearest")
    assert all(o >= 1 for o in case.out_shape[2:])
    pytest.importorskip("torch")
    assert S.torch_interpolate(case, case.array()).shape == case.out_shape


@SETTINGS
@given(case=S.pad_cases())
def test_pad_cases_are_valid(case):
    assert len(case.pad) % 2 == 0
    if case.mode != "constant":
        assert len(case.pad) == 2 * (len(case.x_shape) - 2)
        assert all(o >= 1 for o in case.out_shape)
    pytest.importorskip("torch")
    assert S.torch_pad(case, case.array()).shape == case.out_shape


# --------------------------------------------------------------------------
# 2. the strategies reach the corners
# --------------------------------------------------------------------------

@pytest.mark.parametrize("strategy, corner", [
    (S.conv_cases(), lambda c: c.padding == "same" and any(k % 2 == 0 for k in c.kernel)),
    (S.conv_cases(), lambda c: c.groups > 1 and c.rank == 3 and c.padding_mode == "circular"),
    (S.conv_cases(), lambda c: c.padding_mode == "reflect" and max(max(lr) for lr in c.pads) == 2),
    (S.conv_transpose_cases(), lambda c: any(op > 0 for op in c.output_padding) and c.groups > 1),
    # a ceil-mode window that overhangs the padded input (torch's divisor corner)
    (S.pool_cases("avg"), lambda c: c.ceil_mode and c.count_include_pad and any(
        (o - 1) * s - p + k > L + p for o, s, p, k, L in zip(
            c.out_shape[2:], c.stride or c.kernel_size, c.padding, c.kernel_size, c.x_shape[2:]))),
    (S.adaptive_cases(), lambda c: any(L % o for L, o in zip(c.x_shape[2:], c.out_shape[2:]))),
    (S.interp_cases(), lambda c: c.mode == "bicubic" and c.align_corners is False and c.scale_factor is not None),
    (S.pad_cases(), lambda c: c.mode == "circular" and any(p < 0 for p in c.pad)),
])
def test_strategies_reach_corner(strategy, corner):
    find(strategy, corner, settings=REACH)


# --------------------------------------------------------------------------
# 3. the properties catch a broken fast path
# --------------------------------------------------------------------------

def _differs(a, b) -> bool:
    return a.shape != b.shape or not np.allclose(a, b, rtol=1e-10, atol=1e-10)


def test_naive_equals_fast_catches_off_by_one_padding(monkeypatch):
    real_fast = ops._conv_fast

    def broken_fast(x, pads, *args):
        # off by one: one more zero on the left of the last axis and one fewer
        # on the right, (p + 1, p - 1) instead of (p, p)
        (l, r), = pads[-1:]
        if r > 0:
            pads = list(pads[:-1]) + [(l + 1, r - 1)]
        return real_fast(x, pads, *args)

    monkeypatch.setattr(ops, "_conv_fast", broken_fast)

    def counterexample(case):
        x, w, b = case.arrays()
        return _differs(conv(x, w, b, **case.kwargs(), impl="naive"), conv(x, w, b, **case.kwargs()))

    case = find(S.conv_cases(), counterexample, settings=FIND)
    assert counterexample(case)               # a genuine, reproducible counterexample
    monkeypatch.setattr(ops, "_conv_fast", real_fast)
    assert not counterexample(case)           # ...that the real fast path passes


def test_torch_comparison_catches_wrong_avg_divisor(monkeypatch):
    """A divisor that counts the whole kernel even where a ceil-mode window
    overhangs the padded input -- a misreading of torch that a naive loop
    written from the same misreading would share, so the comparison with
    torch has to catch it on its own."""
    pytest.importorskip("torch")
    real = ops._avg_divisors

    def full_kernel_divisors(x_shape, kernel, stride, padding, out_shape, count_include_pad):
        if not count_include_pad:
            return real(x_shape, kernel, stride, padding, out_shape, count_include_pad)
        return np.full(out_shape, float(np.prod(kernel)))

    monkeypatch.setattr(ops, "_avg_divisors", full_kernel_divisors)

    def counterexample(case):
        x = case.array()
        return _differs(avg_pool(x, **case.kwargs()), S.torch_pool(case, x))

    case = find(S.pool_cases("avg"), counterexample, settings=FIND)
    assert case.ceil_mode and case.count_include_pad and case.divisor_override is None
    monkeypatch.setattr(ops, "_avg_divisors", real)
    assert not counterexample(case)
