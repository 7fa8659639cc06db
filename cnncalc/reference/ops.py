"""Numpy reference implementations of CNN spatial operations.

Every function follows the semantics of the ``torch.nn.functional`` function of
the same purpose (output sizes, padding, border and rounding rules), takes and
returns numpy arrays with a batch axis -- ``x`` is ``(N, C, *spatial)`` with 1,
2 or 3 spatial axes -- and keeps the input's floating dtype (float32 stays
float32; an integer input is computed in float64).

Each operation has two implementations, chosen with ``impl``:

``"naive"``
    The textbook definition: explicit Python loops over the output positions
    (and channels), each output value computed from its window.  Slow, and
    meant to be read next to the formula in the docstring.
``"fast"`` (default)
    Vectorised numpy: for the convolutions, im2col and one BLAS product per
    chunk of the batch (the column matrix copied from a channels-first or a
    channels-last buffer), or, with one input channel per group (depthwise),
    a loop over the kernel taps of multiply-adds over the whole chunk;
    strided window views and separable per-axis passes for the pools and the
    interpolation.  No Python loop over pixels or channels.

This module imports nothing from ``cnncalc``; numpy is imported at the top
because the module itself is only imported when a reference is needed.
"""

from __future__ import annotations

import math
import os
import threading
from itertools import product
from typing import Optional, Sequence, Union

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "conv", "conv_transpose", "max_pool", "avg_pool", "lp_pool",
    "adaptive_avg_pool", "adaptive_max_pool", "interpolate", "pad",
]

IntOrSeq = Union[int, Sequence[int]]

# Size of the im2col buffer the fast convolution fills at a time (bytes).  The
# batch is processed in chunks of whole samples whose column matrix fits in
# this budget, so the matrix stays in the last-level cache between the copy
# that builds it and the GEMM that reads it.
_IM2COL_CHUNK_BYTES = 8 << 20
# Scratch buffers up to this size are kept (per thread) between calls: fresh
# pages from the OS cost a page fault each on first touch, which is ~10% of a
# ResNet layer's time.
_SCRATCH_KEEP_BYTES = 64 << 20
_scratch_cache = threading.local()


def _scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array for temporary use, reused across calls of this thread."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_KEEP_BYTES:
        return np.empty(shape, dtype=dtype)
    buffers = _scratch_cache.__dict__.setdefault("buffers", {})
    raw = buffers.get(name)
    if raw is None or raw.nbytes < nbytes:
        raw = buffers[name] = np.empty(nbytes, dtype=np.uint8)
    return raw[:nbytes].view(dtype).reshape(shape)


# --------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------

def _as_input(x, name: str = "x") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim not in (3, 4, 5):
        raise ValueError(f"{name} must be (N, C, *spatial) with 1, 2 or 3 spatial axes, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _ints(value, rank: int, name: str, minimum: int) -> tuple[int, ...]:
    """An int or a sequence of ``rank`` ints, each ``>= minimum``, as a tuple."""
    if isinstance(value, (int, np.integer)):
        out = (int(value),) * rank
    else:
        out = tuple(int(v) for v in value)
        if len(out) == 1 and rank > 1:
            out = out * rank
        if len(out) != rank:
            raise ValueError(f"{name} needs 1 or {rank} values, got {value!r}")
    if any(v < minimum for v in out):
        raise ValueError(f"{name} values must be >= {minimum}, got {value!r}")
    return out


def _check_impl(impl: str) -> None:
    if impl not in ("naive", "fast"):
        raise ValueError(f"impl must be 'naive' or 'fast', got {impl!r}")


# --------------------------------------------------------------------------
# pad
# --------------------------------------------------------------------------

def _source_indices(length: int, left: int, right: int, mode: str) -> np.ndarray:
    """Index into an axis of ``length`` for each position of the padded axis.

    The padded axis has ``left + length + right`` positions; position ``j``
    holds input position ``j - left``, mapped back into ``[0, length)`` by the
    border rule of ``mode`` (reflect without repeating the edge, replicate the
    edge, or wrap around).  A negative amount crops.
    """
    j = np.arange(-left, length + right)
    if mode == "reflect":
        j = np.abs(j)
        j = np.where(j > length - 1, 2 * (length - 1) - j, j)
    elif mode == "replicate":
        j = np.clip(j, 0, length - 1)
    elif mode == "circular":
        j = np.mod(j, length)
    else:  # pragma: no cover - guarded by callers
        raise ValueError(mode)
    return j


def _pad_axes(x: np.ndarray, pads: dict[int, tuple[int, int]], mode: str, value: float = 0.0) -> np.ndarray:
    """Pad (or crop, for negative amounts) the axes in ``pads`` = {axis: (left, right)}."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"padding mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if all(l == 0 and r == 0 for l, r in pads.values()):
        return x
    shape = list(x.shape)
    for axis, (l, r) in pads.items():
        length = x.shape[axis]
        shape[axis] = length + l + r
        if shape[axis] < 0:
            raise ValueError(f"padding ({l}, {r}) of an axis of size {length} leaves a negative size")
        if shape[axis] == 0 or mode == "constant":
            continue
        kept = max(0, length - max(0, -l) - max(0, -r))      # what is left after cropping
        if mode == "reflect" and (l >= length or r >= length):
            raise ValueError(f"reflect padding ({l}, {r}) must be smaller than the axis size {length}")
        if mode == "circular" and (l > kept or r > kept):
            raise ValueError(f"circular padding ({l}, {r}) wraps around more than once "
                             f"(axis size {length}, {kept} left after cropping)")
        if mode == "replicate" and length == 0:
            raise ValueError("replicate padding of an empty axis")

    if mode == "constant":
        # np.zeros maps fresh zero pages lazily: cheaper than filling
        out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, dtype=x.dtype)
        src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for axis, (l, r) in pads.items():
            length = x.shape[axis]
            start, stop = max(0, -l), length - max(0, -r)
            if stop <= start:
                return out  # everything cropped away: only the fill value remains
            src[axis] = slice(start, stop)
            dst[axis] = slice(max(0, l), max(0, l) + stop - start)
        out[tuple(dst)] = x[tuple(src)]
        return out

    for axis, (l, r) in pads.items():
        if shape[axis] == 0:
            x = np.take(x, np.zeros(0, dtype=np.intp), axis=axis)
            continue
        if mode == "circular" and (l < 0 or r < 0):
            # torch crops first, then wraps around what is left
            start, stop = max(0, -l), x.shape[axis] - max(0, -r)
            x = x[(slice(None),) * axis + (slice(start, stop),)]
            l, r = max(0, l), max(0, r)
        x = np.take(x, _source_indices(x.shape[axis], l, r, mode), axis=axis)
    return x


def pad(x, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> np.ndarray:
    """Pad ``x`` as ``torch.nn.functional.pad``.

    ``pad`` lists (left, right) amounts starting from the LAST axis:
    ``(left, right)`` pads the last axis, ``(left, right, top, bottom)`` the
    last two, and so on.  Negative amounts crop.  Modes: ``"constant"`` (fill
    with ``value``), ``"reflect"`` (mirror without repeating the edge; amounts
    must be smaller than the axis), ``"replicate"`` (repeat the edge) and
    ``"circular"`` (wrap around; amounts at most the axis size).

    Unlike torch, the non-constant modes accept any number of padded trailing
    axes (torch only pads the 1, 2 or 3 spatial axes of a 2- to 5-d tensor).
    With a negative amount on one side, circular padding wraps around what is
    left after cropping (as torch) and may use at most that many elements on
    the other side; torch only checks against the uncropped size and reads
    uninitialised memory beyond that.
    """
    x = np.asarray(x)
    amounts = [int(p) for p in pad]
    if len(amounts) % 2 or len(amounts) // 2 > x.ndim:
        raise ValueError(f"pad must have an even length of at most {2 * x.ndim}, got {tuple(pad)}")
    pads = {x.ndim - 1 - i: (amounts[2 * i], amounts[2 * i + 1]) for i in range(len(amounts) // 2)}
    return _pad_axes(x, pads, mode, value)


# --------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------

def _conv_padding(padding, kernel, dilation, stride) -> list[tuple[int, int]]:
    rank = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * rank
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' needs stride 1 (as in torch)")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return pads
        raise ValueError(f"padding must be an int, a sequence of ints, 'same' or 'valid', got {padding!r}")
    return [(p, p) for p in _ints(padding, rank, "padding", 0)]


def _prepare_conv(x, weight, bias, groups: int, transposed: bool):
    x = _as_input(x)
    weight = np.asarray(weight)
    if weight.ndim != x.ndim:
        raise ValueError(f"weight must have {x.ndim} axes for a {x.ndim - 2}-d input, got shape {weight.shape}")
    weight = weight.astype(x.dtype, copy=False)
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    c_in = x.shape[1]
    if c_in % groups:
        raise ValueError(f"input channels {c_in} are not divisible by groups={groups}")
    if transposed:
        if weight.shape[0] != c_in:
            raise ValueError(f"weight (C_in, C_out/groups, *k) has C_in={weight.shape[0]}, input has {c_in}")
        c_out = weight.shape[1] * groups
    else:
        c_out = weight.shape[0]
        if c_out % groups:
            raise ValueError(f"output channels {c_out} are not divisible by groups={groups}")
        if weight.shape[1] * groups != c_in:
            raise ValueError(f"weight (C_out, C_in/groups, *k) has C_in/groups={weight.shape[1]}, "
                             f"input has {c_in} channels and groups={groups}")
    if bias is not None:
        bias = np.asarray(bias).astype(x.dtype, copy=False)
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), got {bias.shape}")
    return x, weight, bias, c_out


def conv(x, weight, bias=None, stride: IntOrSeq = 1, padding: Union[IntOrSeq, str] = 0,
         dilation: IntOrSeq = 1, groups: int = 1, padding_mode: str = "zeros", value: float = 0.0,
         impl: str = "fast") -> np.ndarray:
    """N-d convolution (cross-correlation), as ``torch.nn.functional.conv{1,2,3}d``.

    ``weight`` is ``(C_out, C_in/groups, *k)``.  ``padding`` is an int, one int
    per spatial axis, ``"valid"`` (none) or ``"same"`` (stride 1 only; d(k-1)
    in total per axis, the smaller half ``total // 2`` on the left).
    ``padding_mode`` is ``"zeros"``, ``"reflect"``, ``"replicate"``,
    ``"circular"`` (as torch's ConvNd modules: pad the input, then convolve
    without padding) or ``"constant"`` (fill with ``value``).

    Output size per axis: ``floor((L + pad_l + pad_r - d(k-1) - 1) / s) + 1``.
    """
    _check_impl(impl)
    x, weight, bias, c_out = _prepare_conv(x, weight, bias, groups, transposed=False)
    rank = x.ndim - 2
    stride = _ints(stride, rank, "stride", 1)
    dilation = _ints(dilation, rank, "dilation", 1)
    kernel = weight.shape[2:]
    if any(k < 1 for k in kernel):
        raise ValueError(f"kernel sizes must be >= 1, got {kernel}")
    pads = _conv_padding(padding, kernel, dilation, stride)
    modes = {"zeros": ("constant", 0.0), "constant": ("constant", value), "reflect": ("reflect", 0.0),
             "replicate": ("replicate", 0.0), "circular": ("circular", 0.0)}
    if padding_mode not in modes:
        raise ValueError(f"padding_mode must be one of {sorted(modes)}, got {padding_mode!r}")
    mode, fill = modes[padding_mode]
    out_shape = []
    for axis, (length, (l, r), k, s, d) in enumerate(zip(x.shape[2:], pads, kernel, stride, dilation)):
        span = d * (k - 1) + 1
        if span > length + l + r:
            raise ValueError(f"spatial axis {axis}: dilated kernel {span} is larger than the padded input "
                             f"{length + l + r}")
        out_shape.append((length + l + r - span) // s + 1)
    out_shape = tuple(out_shape)
    if impl == "naive":
        xp = _pad_axes(x, {2 + i: p for i, p in enumerate(pads)}, mode, fill)
        return _conv_naive(xp, weight, bias, stride, dilation, groups, out_shape)
    if mode != "constant":
        # the border modes pad up front; constant padding is done chunk by chunk
        x = _pad_axes(x, {2 + i: p for i, p in enumerate(pads)}, mode, fill)
        pads = [(0, 0)] * rank
    return _conv_fast(x, pads, fill, weight, bias, stride, dilation, groups, out_shape)


def _conv_naive(xp, weight, bias, stride, dilation, groups, out_shape):
    """y[n,o,i,j] = b[o] + Σ_c Σ_u Σ_v w[o,c,u,v] · x_pad[n, g·C_in/g + c, i·s + u·d, j·s + v·d]

    where g = o // (C_out/groups) is the group of output channel o, c runs over
    the C_in/groups input channels of that group and (u, v) over the kernel
    (written for 2-d; 1-d and 3-d have one index fewer or more).
    """
    n_batch, c_in = xp.shape[:2]
    c_out, c_in_g = weight.shape[:2]
    c_out_g = c_out // groups
    kernel = weight.shape[2:]
    y = np.zeros((n_batch, c_out) + out_shape, dtype=xp.dtype)
    for n in range(n_batch):
        for o in range(c_out):
            g = o // c_out_g
            channels = slice(g * c_in_g, (g + 1) * c_in_g)
            for pos in np.ndindex(*out_shape):
                # the window: taps i·s + u·d for u = 0 .. k-1 along each axis
                window = xp[(n, channels) + tuple(slice(i * s, i * s + d * (k - 1) + 1, d)
                                                  for i, s, d, k in zip(pos, stride, dilation, kernel))]
                total = np.sum(weight[o] * window)
                if bias is not None:
                    total += bias[o]
                y[(n, o) + pos] = total
    return y


def _im2col_view(xp, groups, taps, tap_steps, out_shape, out_steps):
    """cols[n, g, c, *u, *i] = xp[n, g·C_in/g + c, *(i·out_step + u·tap_step)]: a strided view, no copy.

    For a convolution the tap steps are the dilation and the output steps the
    stride.
    """
    s_n, s_c = xp.strides[:2]
    s_sp = xp.strides[2:]
    c_in_g = xp.shape[1] // groups
    return as_strided(
        xp,
        shape=(xp.shape[0], groups, c_in_g) + tuple(taps) + tuple(out_shape),
        strides=(s_n, c_in_g * s_c, s_c) + tuple(t * st for t, st in zip(tap_steps, s_sp))
        + tuple(o * st for o, st in zip(out_steps, s_sp)),
        writeable=False,
    )


def _im2col_copy(dst, xp, groups, kernel, dilation, stride, out_shape):
    """Fill ``dst`` (n, g, C_in/g, *k, *out) with the im2col matrix of ``xp``.

    With stride 1 that is one copy of the strided view.  With a stride s > 1
    the view would read every s-th element in its innermost loop, which copies
    about 3x slower than contiguous reads; so the padded input is first split
    into its s phases per axis (x[..., a::s], a small copy), and tap u, which
    reads original positions i·s + u·d = s·(i + (u·d)//s) + (u·d) % s, reads
    phase (u·d) % s at offset (u·d)//s with stride 1.  One copy per phase
    combination (s² of them in 2-d) fills the taps of that phase.
    """
    if all(s == 1 for s in stride):
        _parallel_copy(dst, _im2col_view(xp, groups, kernel, dilation, out_shape, stride))
        return
    per_axis = []       # per axis, per phase: (phase a, first tap u0, tap step, offset step in the phase)
    for k, d, s in zip(kernel, dilation, stride):
        step = s // math.gcd(d, s)        # the taps of one phase are u0, u0 + step, ...
        first_taps = {}
        for u in range(k):
            first_taps.setdefault((u * d) % s, u)
        per_axis.append([(a, u0, step, step * d // s) for a, u0 in sorted(first_taps.items())])
    everything = (slice(None), slice(None))
    for combo in product(*per_axis):
        phase = np.ascontiguousarray(xp[everything + tuple(slice(a, None, s) for (a, *_), s in zip(combo, stride))])
        start = phase[everything + tuple(slice(u0 * d // s, None)
                                         for (_, u0, _, _), d, s in zip(combo, dilation, stride))]
        taps = tuple(len(range(u0, k, step)) for (_, u0, step, _), k in zip(combo, kernel))
        src = _im2col_view(start, groups, taps, [off for *_, off in combo], out_shape, [1] * len(taps))
        np.copyto(dst[everything + (slice(None),) + tuple(slice(u0, None, step) for _, u0, step, _ in combo)], src)


_COPY_SPLIT_BYTES = 1 << 20      # copies and tap loops at least this large are split over two threads
_TWO_THREADS = os.environ.get("CNNCALC_SERIAL_COPY") is None and (os.cpu_count() or 1) >= 2
_helper = None


def _on_two_threads(work, parts) -> None:
    """``work(part)`` for both of ``parts``: the second on a helper thread, the first on this one.

    numpy releases the GIL in its copy and ufunc loops, while it copies on one
    core and BLAS uses all of them: two threads copy (or multiply-add) in
    about half the time.
    """
    global _helper
    if _helper is None:
        from concurrent.futures import ThreadPoolExecutor
        _helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnncalc-conv")
    other = _helper.submit(work, parts[1])
    try:
        work(parts[0])
    finally:
        other.result()


def _halves(length: int) -> tuple[slice, slice]:
    return slice(0, length // 2), slice(length // 2, length)


def _parallel_copy(dst: np.ndarray, src: np.ndarray, axis: int = 2) -> None:
    """``np.copyto(dst, src)``, split in two along ``axis`` on two threads (see _on_two_threads)."""
    if dst.nbytes < _COPY_SPLIT_BYTES or dst.shape[axis] < 2 or not _TWO_THREADS:
        np.copyto(dst, src)
        return
    lead = (slice(None),) * axis
    _on_two_threads(lambda part: np.copyto(dst[lead + (part,)], src[lead + (part,)]), _halves(dst.shape[axis]))


def _im2col_chunk(n_batch: int, per_sample: int, itemsize: int, budget: int = 0) -> int:
    """Samples per chunk: at least one, at most as many as fit ``budget`` bytes
    (_IM2COL_CHUNK_BYTES by default), and the chunks as even as that allows
    (8 samples at most 6 a chunk: 4 + 4, not 6 + 2)."""
    most = max(1, min(n_batch, (budget or _IM2COL_CHUNK_BYTES) // max(per_sample * itemsize, 1)))
    return -(-n_batch // -(-n_batch // most)) if n_batch else 1


# A dense convolution copies its columns channels-last when that copy's
# contiguous runs (C_in/g·k floats) are at least this many times longer than
# the channels-first copy's (one output row).  Channels-last pays for
# transposing the input, the weights and (for several samples a chunk) the
# output, so shorter runs alone do not decide it; measured (float32, 2
# cores): 3x3 256->256 @14 (runs 768 vs 14) 1.02-1.05x and 3x3/2 128 @56
# (384 vs 28) 1.2x faster channels-last; 3x3 128 @28 (384 vs 28) 0.95x,
# 1x1/2 256->512 @56 (256 vs 28) 0.87x and 3x3 64 @56 (192 vs 56) 0.92x.
_CHANNELS_LAST_RUNS = 10
# A grouped convolution with one input channel per group and at most this
# many output channels per group (depthwise, or a small channel multiplier)
# runs as a loop over the kernel taps; with more outputs per group a GEMM is
# faster.  (A single-channel input, groups = 1, keeps the GEMM.)
_TAP_LOOP_MAX_OUTPUTS = 4
# The stride-1 tap loop's chunks may be larger: each ufunc call then runs
# over longer rows (a channel's planes for every sample of the chunk), which
# matters more than the cache here (1.6 ms against 2.2 ms on the bench's
# depthwise layer for 8 samples a chunk against 4).
_TAP_CHUNK_BYTES = 16 << 20


def _flat_grid(padded_shape, kernel, dilation):
    """The stride-1 tap loop's flat layout: (flat step per axis, tap offsets, slack).

    The padded chunk is stored channel-major, ``flat[((c·n_samples + n)·Π padded) + q]``
    with q = i·Wp + j the position in the padded plane (Wp = padded width; n-d
    alike).  Every output is computed at the position of its window's first
    element, so tap (u, v) reads ``flat[off + q]`` with off = u·d·Wp + v·d for
    ALL outputs of the chunk at once: one contiguous slice of ``flat`` per tap.
    The positions i >= H_out or j >= W_out are garbage (their windows run into
    the border or the next plane) and dropped; the valid ones only read inside
    their own plane.  The slack is what the last plane's garbage reads past the
    end: the largest offset.
    """
    steps = [math.prod(padded_shape[a + 1:]) for a in range(len(padded_shape))]
    offsets = [sum(u * d * st for u, d, st in zip(tap, dilation, steps))
               for tap in product(*(range(k) for k in kernel))]
    return steps, offsets, offsets[-1]


def _conv_plan(x_shape, w_shape, pads, stride, dilation, groups, out_shape, itemsize):
    """How the fast conv runs, from the shapes alone (conv_scratch_bytes uses it too).

    Returns (kind, samples per chunk, {scratch buffer name: elements}), kind one of
    ``"matmul"`` (1x1, stride 1, unpadded: the input is the column matrix),
    ``"taps"`` (one input channel per group: a loop over the kernel taps),
    ``"channels_last"`` or ``"channels_first"`` (im2col + GEMM, the column
    matrix copied from a channels-last or a channels-first padded buffer).
    """
    n_batch, c_in = x_shape[:2]
    c_out, c_in_g = w_shape[:2]
    kernel = tuple(w_shape[2:])
    padded_shape = tuple(L + l + r for L, (l, r) in zip(x_shape[2:], pads))
    padded = any(l or r for l, r in pads)
    p_len, n_taps, plane = math.prod(out_shape), math.prod(kernel), math.prod(padded_shape)
    if not padded and all(k == 1 for k in kernel) and all(s == 1 for s in stride):
        return "matmul", max(1, n_batch), {}
    if c_in_g == 1 and groups > 1 and c_out // groups <= _TAP_LOOP_MAX_OUTPUTS:
        if all(s == 1 for s in stride):
            # the padded chunk (plus the slack), and an accumulator and a product per output plane
            per = {"padded": c_in * plane, "im2col": 2 * c_out * plane if n_taps > 1 else 0}
            chunk = _im2col_chunk(n_batch, sum(per.values()), itemsize, _TAP_CHUNK_BYTES)
            slack = _flat_grid(padded_shape, kernel, dilation)[2]
            return "taps", chunk, {"padded": chunk * per["padded"] + slack, "im2col": chunk * per["im2col"]}
        per = {"padded": c_in * plane if padded else 0, "im2col": c_out * p_len if n_taps > 1 else 0}
        kind = "taps"
    else:
        k_len = c_in_g * n_taps
        cols = groups * k_len * p_len
        last_run = c_in_g * (kernel[-1] if groups == 1 and dilation[-1] == 1 else 1)
        if last_run >= _CHANNELS_LAST_RUNS * out_shape[-1]:
            chunk = _im2col_chunk(n_batch, cols + c_in * plane + c_out * p_len, itemsize)
            # the GEMM of a chunk of several samples writes (C_out, n·P), then transposed into y
            out_tmp = c_out * p_len if chunk > 1 else 0
            return "channels_last", chunk, {"im2col": chunk * cols, "padded": chunk * (c_in * plane + out_tmp)}
        # stride 1 copies the columns straight from x; a stride pads first
        per = {"im2col": cols, "padded": c_in * plane if padded and any(s > 1 for s in stride) else 0}
        kind = "channels_first"
    chunk = _im2col_chunk(n_batch, sum(per.values()), itemsize)
    return kind, chunk, {name: chunk * n for name, n in per.items()}


def conv_scratch_bytes(x_shape: Sequence[int], weight_shape: Sequence[int], stride: IntOrSeq = 1,
                       padding: Union[IntOrSeq, str] = 0, dilation: IntOrSeq = 1, groups: int = 1,
                       padding_mode: str = "zeros", itemsize: int = 4) -> int:
    """Bytes the fast :func:`conv` allocates besides its output: its two
    scratch buffers for one chunk of samples (at least one whole sample; see
    _conv_plan: the column matrix and the padded input, or the tap loop's
    padded input and accumulators), and for a border padding mode the padded
    copy of the whole input. Lets a caller refuse a convolution before it is
    attempted."""
    rank = len(x_shape) - 2
    n_batch, c_in = x_shape[0], x_shape[1]
    kernel = tuple(weight_shape[2:])
    stride = _ints(stride, rank, "stride", 1)
    dilation = _ints(dilation, rank, "dilation", 1)
    pads = _conv_padding(padding, kernel, dilation, stride)
    padded_shape = tuple(L + l + r for L, (l, r) in zip(x_shape[2:], pads))
    out_shape = tuple(max(0, (L - d * (k - 1) - 1) // s + 1)
                      for L, k, s, d in zip(padded_shape, kernel, stride, dilation))
    extra = 0
    if any(l or r for l, r in pads) and padding_mode not in ("zeros", "constant"):
        extra = n_batch * c_in * math.prod(padded_shape) * itemsize   # padded up front, then convolved unpadded
        x_shape = (n_batch, c_in) + padded_shape
        pads = [(0, 0)] * rank
    _, _, sizes = _conv_plan(tuple(x_shape), tuple(weight_shape), pads, stride, dilation, groups, out_shape,
                             itemsize)
    return extra + sum(sizes.values()) * itemsize


def conv_transpose_scratch_bytes(x_shape: Sequence[int], weight_shape: Sequence[int], out_shape: Sequence[int],
                                 stride: IntOrSeq = 1, dilation: IntOrSeq = 1, groups: int = 1,
                                 padding: IntOrSeq = 0, itemsize: int = 4) -> int:
    """Bytes the fast :func:`conv_transpose` allocates besides its output: the
    GEMM's columns (N x C_out x prod(k) x prod(L_in)) and the uncropped output
    buffer it scatters them into."""
    rank = len(x_shape) - 2
    n_batch, in_shape = x_shape[0], tuple(x_shape[2:])
    kernel = tuple(weight_shape[2:])
    c_out = weight_shape[1] * groups
    stride = _ints(stride, rank, "stride", 1)
    dilation = _ints(dilation, rank, "dilation", 1)
    padding = _ints(padding, rank, "padding", 0)
    cols = n_batch * c_out * math.prod(kernel) * math.prod(in_shape)
    full = [(L - 1) * s + d * (k - 1) + 1 for L, s, d, k in zip(in_shape, stride, dilation, kernel)]
    buf = n_batch * c_out * math.prod(max(f, p + o) for f, p, o in zip(full, padding, out_shape[2:]))
    return (cols + buf) * itemsize


def _conv_fast(x, pads, fill, weight, bias, stride, dilation, groups, out_shape):
    """The vectorised convolution; ``x`` is unpadded, ``pads`` (left, right) per axis are filled with ``fill``.

    _conv_plan picks one of four ways from the shapes:

    * 1x1, stride 1, unpadded: one batched GEMM of the weights by the input;
    * one input channel per group (depthwise): _conv_taps, a loop over the
      kernel taps of broadcast multiply-adds;
    * otherwise im2col + GEMM, the column matrix copied from a padded buffer
      laid out channels-last (_conv_channels_last) when the channels give the
      copy longer contiguous runs than an output row does, else
      channels-first (_conv_channels_first).

    The batch is processed in chunks of whole samples whose buffers fit
    _IM2COL_CHUNK_BYTES, so they stay in the last-level cache between the
    copy that fills them and the GEMM (or the taps) that read them.
    """
    n_batch = x.shape[0]
    c_out, c_in_g = weight.shape[:2]
    kind, chunk, _ = _conv_plan(x.shape, weight.shape, pads, stride, dilation, groups, out_shape, x.itemsize)
    y = np.empty((n_batch, c_out) + out_shape, dtype=x.dtype)
    if kind == "matmul":
        p_len = math.prod(out_shape)
        w_mat = np.ascontiguousarray(weight.reshape(groups, c_out // groups, c_in_g))
        np.matmul(w_mat, x.reshape(n_batch, groups, c_in_g, p_len), out=y.reshape(n_batch, groups, -1, p_len))
    else:
        run = {"taps": _conv_taps, "channels_last": _conv_channels_last,
               "channels_first": _conv_channels_first}[kind]
        run(x, pads, fill, weight, stride, dilation, groups, y, chunk)
    if bias is not None:
        y += bias.reshape((c_out,) + (1,) * len(out_shape))
    return y


def _interior(shape, pads) -> tuple:
    """Where an unpadded array of spatial ``shape`` sits in the padded one."""
    return tuple(slice(l, l + L) for L, (l, _) in zip(shape, pads))


def _conv_channels_first(x, pads, fill, weight, stride, dilation, groups, y, chunk):
    """im2col from channels-first buffers: (g, C_out/g, C_in/g·Πk) @ (C_in/g·Πk, ΠL_out) per sample and group.

    The column buffer ``(n, g, C_in/g, *k, *out)`` is filled chunk by chunk
    and one batched np.matmul writes the chunk's output in place.  With
    stride 1 each tap's columns are a block of x itself (the outputs whose
    window stays inside x) and a border (those whose window reaches into the
    padding): the border is filled once per call, and per chunk each tap's
    block is copied straight from x, no padded copy in between.  With a
    stride the chunk is first copied into the interior of a padded buffer
    (border filled once) and its columns are copied phase by phase (see
    _im2col_copy).  The copies' contiguous runs are one output row.
    """
    n_batch, c_in = x.shape[:2]
    c_out, c_in_g = weight.shape[:2]
    kernel, out_shape = tuple(weight.shape[2:]), tuple(y.shape[2:])
    k_len, p_len = c_in_g * math.prod(kernel), math.prod(out_shape)
    w_mat = np.ascontiguousarray(weight.reshape(groups, c_out // groups, k_len))
    ym = y.reshape(n_batch, groups, c_out // groups, p_len)
    buf = _scratch("im2col", (chunk, groups, c_in_g) + kernel + out_shape, x.dtype)
    if all(s == 1 for s in stride):
        cols = buf.reshape((chunk, c_in) + kernel + out_shape)
        blocks = []                 # per tap: (tap, its block of the columns, where it is in x)
        for tap in product(*(range(k) for k in kernel)):
            dst, src = [], []
            for axis, (u, d, (l, _), length, o) in enumerate(zip(tap, dilation, pads, x.shape[2:], out_shape)):
                first = min(o, max(0, l - u * d))              # output i reads x[i + u·d - l]
                last = max(first, min(o, length + l - u * d))
                dst.append(slice(first, last))
                src.append(slice(first + u * d - l, last + u * d - l))
                for strip in (slice(0, first), slice(last, o)):          # the border, filled once
                    if strip.stop > strip.start:
                        cols[(slice(None), slice(None)) + tap + (slice(None),) * axis + (strip,)] = fill
            blocks.append((tap, tuple(dst), tuple(src)))

        def fill_columns(cs: slice, n0: int, m: int) -> None:
            for tap, dst, src in blocks:
                cols[(slice(0, m), cs) + tap + dst] = x[(slice(n0, n0 + m), cs) + src]

        split = _TWO_THREADS and c_in >= 2
        for n0 in range(0, n_batch, chunk):
            m = min(chunk, n_batch - n0)
            if split and m * k_len * groups * p_len * x.itemsize >= _COPY_SPLIT_BYTES:
                _on_two_threads(lambda cs: fill_columns(cs, n0, m), _halves(c_in))
            else:
                fill_columns(slice(None), n0, m)
            np.matmul(w_mat, buf[:m].reshape(m, groups, k_len, p_len), out=ym[n0:n0 + m])
        return
    padded = any(l or r for l, r in pads)
    if padded:
        padded_shape = tuple(L + l + r for L, (l, r) in zip(x.shape[2:], pads))
        pbuf = _scratch("padded", (chunk, c_in) + padded_shape, x.dtype)
        pbuf.fill(fill)
        interior = (slice(None), slice(None)) + _interior(x.shape[2:], pads)
    for n0 in range(0, n_batch, chunk):
        m = min(chunk, n_batch - n0)
        if padded:
            src = pbuf[:m]
            src[interior] = x[n0:n0 + m]           # the border keeps its fill
        else:
            src = x[n0:n0 + m]
        _im2col_copy(buf[:m], src, groups, kernel, dilation, stride, out_shape)
        np.matmul(w_mat, buf[:m].reshape(m, groups, k_len, p_len), out=ym[n0:n0 + m])


def _conv_channels_last(x, pads, fill, weight, stride, dilation, groups, y, chunk):
    """im2col from a channels-last buffer: y = W (g, C_out/g, Πk·C_in/g) @ colsᵀ, one GEMM per chunk and group.

    Each chunk is transposed to (n, *padded, C_in) into the interior of a
    padded buffer (border filled once).  Its im2col view
    ``cols[n, *i, g, *u, c] = xp[n, *(i·s + u·d), g·C_in/g + c]`` reads, for
    each output position and kernel row, C_in/g·k contiguous floats (the taps
    along the last axis are adjacent when d = 1 and groups = 1): 768 floats on
    a 3x3 256-channel layer where the channels-first copy reads runs of one
    output row.  It is copied into a contiguous (n·ΠL_out, g, Πk·C_in/g)
    buffer and one np.matmul per chunk multiplies the weights (reordered to
    tap-major, channel-minor) by its transpose, which BLAS reads as is; the
    result (C_out, n·ΠL_out) is already channels-first: for one sample it is
    written straight into y, for several it is transposed into y.
    """
    n_batch, c_in = x.shape[:2]
    c_out, c_in_g = weight.shape[:2]
    c_out_g = c_out // groups
    kernel, out_shape = tuple(weight.shape[2:]), tuple(y.shape[2:])
    rank = len(kernel)
    k_len, p_len = c_in_g * math.prod(kernel), math.prod(out_shape)
    padded_shape = tuple(L + l + r for L, (l, r) in zip(x.shape[2:], pads))
    w_mat = np.ascontiguousarray(
        np.moveaxis(weight.reshape((groups, c_out_g, c_in_g) + kernel), 2, -1)).reshape(groups, c_out_g, k_len)
    plane = c_in * math.prod(padded_shape)
    raw = _scratch("padded", (chunk * plane + (c_out * p_len * chunk if chunk > 1 else 0),), x.dtype)
    pbuf = raw[:chunk * plane].reshape((chunk,) + padded_shape + (c_in,))
    if any(l or r for l, r in pads):
        pbuf.fill(fill)                            # the border; the interior is overwritten per chunk
    interior = (slice(None),) + _interior(x.shape[2:], pads) + (slice(None),)
    cols = _scratch("im2col", (chunk,) + out_shape + (groups,) + kernel + (c_in_g,), x.dtype)
    s_n, s_sp, s_c = pbuf.strides[0], pbuf.strides[1:-1], pbuf.strides[-1]
    view_strides = ((s_n,) + tuple(s * st for s, st in zip(stride, s_sp)) + (c_in_g * s_c,)
                    + tuple(d * st for d, st in zip(dilation, s_sp)) + (s_c,))
    y3 = y.reshape(n_batch, c_out, p_len)
    for n0 in range(0, n_batch, chunk):
        m = min(chunk, n_batch - n0)
        _parallel_copy(pbuf[:m][interior], np.moveaxis(x[n0:n0 + m], 1, -1), axis=1)
        view = as_strided(pbuf, shape=(m,) + out_shape + (groups,) + kernel + (c_in_g,), strides=view_strides,
                          writeable=False)
        _parallel_copy(cols[:m], view, axis=1)
        cols_t = cols[:m].reshape(m * p_len, groups, k_len).transpose(1, 2, 0)      # (g, K, n·P), a view
        if m == 1:
            np.matmul(w_mat, cols_t, out=y3[n0].reshape(groups, c_out_g, p_len))
        else:
            out = raw[chunk * plane:chunk * plane + c_out * m * p_len].reshape(groups, c_out_g, m * p_len)
            np.matmul(w_mat, cols_t, out=out)
            _parallel_copy(y3[n0:n0 + m], out.reshape(c_out, m, p_len).transpose(1, 0, 2), axis=1)


def _conv_taps(x, pads, fill, weight, stride, dilation, groups, y, chunk):
    """One input channel per group: y[n, g·M + j] = Σ_t w[g·M + j, 0, t] · (window of tap t in x_pad[n, g]).

    No GEMM (each group's would be M x Πk x ΠL_out with M <= 4 outputs per
    group: all memory traffic): a loop over the Πk taps, each one broadcast
    multiply of the tap's window, for the whole chunk, by that tap's weight
    per channel, added into an accumulator.  With stride 1 the windows are
    contiguous slices of a channel-major padded buffer (see _flat_grid), so
    each ufunc call runs over long contiguous rows (one channel's planes for
    all the chunk's samples), and the last add writes the valid part of the
    grid into y.  With a stride the windows are strided views and the taps
    accumulate in y.  The groups are split over two threads.
    """
    n_batch = x.shape[0]
    c_out = weight.shape[0]
    mult = c_out // groups                      # outputs per group (1: depthwise); input channels == groups
    kernel, out_shape = tuple(weight.shape[2:]), tuple(y.shape[2:])
    rank = len(kernel)
    n_taps = math.prod(kernel)
    w_taps = weight.reshape(groups, mult, n_taps)
    padded_shape = tuple(L + l + r for L, (l, r) in zip(x.shape[2:], pads))
    padded = any(l or r for l, r in pads)
    interior = _interior(x.shape[2:], pads)
    grid = all(s == 1 for s in stride)
    if grid:
        plane = math.prod(padded_shape)
        _, offsets, slack = _flat_grid(padded_shape, kernel, dilation)
        pbuf = _scratch("padded", (chunk * groups * plane + slack,), x.dtype)
        if n_taps > 1:
            work_buf = _scratch("im2col", (2, chunk * c_out * plane), x.dtype)
        valid = (slice(None),) * 3 + tuple(slice(0, o) for o in out_shape)
    else:
        if padded:
            pbuf = _scratch("padded", (chunk, groups) + padded_shape, x.dtype)
            pbuf.fill(fill)
        if n_taps > 1:
            tmp = _scratch("im2col", (chunk, groups, mult) + out_shape, x.dtype)

    def grid_taps(gs: slice, n0: int, m: int) -> None:
        """Samples n0 .. n0+m-1, groups ``gs``, stride 1: pad, then multiply-add the taps into y."""
        size = groups * m * plane
        p_nd = pbuf[:size].reshape((groups, m) + padded_shape)
        p_nd[(gs, slice(None)) + interior] = np.moveaxis(x[n0:n0 + m, gs], 0, 1)
        out = np.moveaxis(y[n0:n0 + m].reshape((m, groups, mult) + out_shape), 0, 2)[gs]     # (g, M, n, *out)

        def tap(i):                                 # tap i's window for every output: (g, 1, n·plane)
            return pbuf[offsets[i]:offsets[i] + size].reshape(groups, 1, m * plane)[gs]

        def grid(a):                                # (g, M, n·plane) -> its valid part (g, M, n, *out)
            return a.reshape(a.shape[:2] + (m,) + padded_shape)[valid]

        if n_taps == 1:
            np.multiply(grid(tap(0)), w_taps[gs, :, 0].reshape(out.shape[:2] + (1,) * (rank + 1)), out=out)
            return
        acc, prod_ = (b[:c_out * m * plane].reshape(groups, mult, m * plane)[gs] for b in work_buf)
        np.multiply(tap(0), w_taps[gs, :, 0, None], out=acc)
        for i in range(1, n_taps):
            np.multiply(tap(i), w_taps[gs, :, i, None], out=prod_)       # weight per (group, output)
            np.add(acc, prod_, out=acc)
        np.copyto(out, grid(acc))

    def strided_taps(gs: slice, n0: int, m: int) -> None:
        """The same with a stride: strided windows of the padded chunk, accumulated in y."""
        if padded:
            pbuf[(slice(0, m), gs) + interior] = x[n0:n0 + m, gs]
        src_nd = pbuf[:m] if padded else x[n0:n0 + m]
        out = y[n0:n0 + m].reshape((m, groups, mult) + out_shape)[:, gs]
        for i, tap in enumerate(product(*(range(k) for k in kernel))):
            w = w_taps[gs, :, i].reshape((1, out.shape[1], mult) + (1,) * rank)       # per (group, output)
            src = src_nd[(slice(None), gs, None) + tuple(slice(u * d, u * d + s * (o - 1) + 1, s)
                                                       for u, d, s, o in zip(tap, dilation, stride, out_shape))]
            if i == 0:
                np.multiply(src, w, out=out)
            else:
                np.multiply(src, w, out=tmp[:m, gs])
                np.add(out, tmp[:m, gs], out=out)

    def work(gs: slice, n0: int, m: int) -> None:
        with np.errstate(all="ignore"):     # silent like BLAS on the other paths (inf - inf, ...); per thread
            (grid_taps if grid else strided_taps)(gs, n0, m)

    split = groups >= 2 and _TWO_THREADS
    filled_for = None
    for n0 in range(0, n_batch, chunk):
        m = min(chunk, n_batch - n0)
        if grid and filled_for != m:
            # the layout depends on m: fill border and slack for it (once, and again for a shorter last chunk)
            p_nd = pbuf[:groups * m * plane].reshape((groups, m) + padded_shape)
            for axis, ((l, r), length) in enumerate(zip(pads, x.shape[2:])):
                for strip in (slice(0, l), slice(l + length, l + length + r)):
                    if strip.stop > strip.start:
                        p_nd[(slice(None),) * (2 + axis) + (strip,)] = fill
            pbuf[groups * m * plane:groups * m * plane + slack] = fill
            filled_for = m
        if split and m * c_out * math.prod(out_shape) * x.itemsize >= _COPY_SPLIT_BYTES:
            _on_two_threads(lambda gs: work(gs, n0, m), _halves(groups))
        else:
            work(slice(None), n0, m)


def conv_transpose(x, weight, bias=None, stride: IntOrSeq = 1, padding: IntOrSeq = 0,
                   output_padding: IntOrSeq = 0, groups: int = 1, dilation: IntOrSeq = 1,
                   impl: str = "fast") -> np.ndarray:
    """Transposed convolution, as ``torch.nn.functional.conv_transpose{1,2,3}d``.

    ``weight`` is ``(C_in, C_out/groups, *k)``.  Output size per axis:
    ``(L - 1)·s - 2p + d(k-1) + output_padding + 1``; ``output_padding`` must
    be smaller than the stride or the dilation.
    """
    _check_impl(impl)
    x, weight, bias, c_out = _prepare_conv(x, weight, bias, groups, transposed=True)
    rank = x.ndim - 2
    stride = _ints(stride, rank, "stride", 1)
    dilation = _ints(dilation, rank, "dilation", 1)
    padding = _ints(padding, rank, "padding", 0)
    output_padding = _ints(output_padding, rank, "output_padding", 0)
    kernel = weight.shape[2:]
    out_shape = []
    for length, k, s, p, op, d in zip(x.shape[2:], kernel, stride, padding, output_padding, dilation):
        if op >= max(s, d):
            raise ValueError(f"output_padding {op} must be smaller than the stride {s} or the dilation {d}")
        size = (length - 1) * s - 2 * p + d * (k - 1) + op + 1
        if size < 1:
            raise ValueError(f"transposed convolution output size {size} is not positive")
        out_shape.append(size)
    run = _conv_transpose_naive if impl == "naive" else _conv_transpose_fast
    return run(x, weight, bias, stride, padding, dilation, groups, tuple(out_shape))


def _conv_transpose_naive(x, weight, bias, stride, padding, dilation, groups, out_shape):
    """y[n, g·C_out/g + o, j] = b + Σ_c Σ_u w[g·C_in/g + c, o, u] · x[n, g·C_in/g + c, i]

    summed over the kernel taps u and input positions i with i·s + u·d - p = j
    (each input pixel spreads its value over the kernel; read backwards: an
    output pixel gathers from the inputs whose spread reaches it).
    """
    n_batch, c_in = x.shape[:2]
    c_in_g, c_out_g = c_in // groups, weight.shape[1]
    c_out = c_out_g * groups
    kernel = weight.shape[2:]
    in_shape = x.shape[2:]
    y = np.zeros((n_batch, c_out) + out_shape, dtype=x.dtype)
    for n in range(n_batch):
        for oc in range(c_out):
            g, o = divmod(oc, c_out_g)
            channels = slice(g * c_in_g, (g + 1) * c_in_g)
            for pos in np.ndindex(*out_shape):
                total = bias[oc] if bias is not None else 0.0
                for tap in np.ndindex(*kernel):
                    src = []
                    for j, u, s, p, d, length in zip(pos, tap, stride, padding, dilation, in_shape):
                        q, r = divmod(j + p - u * d, s)
                        if r or not 0 <= q < length:
                            break
                        src.append(q)
                    else:
                        total += np.dot(weight[(channels, o) + tap], x[(n, channels) + tuple(src)])
                y[(n, oc) + pos] = total
    return y


def _conv_transpose_fast(x, weight, bias, stride, padding, dilation, groups, out_shape):
    """One batched GEMM (C_out/g·Πk × C_in/g) @ (C_in/g × ΠL_in), then col2im (scatter-add per tap)."""
    n_batch, c_in = x.shape[:2]
    c_in_g, c_out_g = c_in // groups, weight.shape[1]
    c_out = c_out_g * groups
    kernel = weight.shape[2:]
    in_shape = x.shape[2:]
    rank = len(kernel)
    w_t = np.ascontiguousarray(weight.reshape(groups, c_in_g, -1).transpose(0, 2, 1))
    cols = np.matmul(w_t, x.reshape(n_batch, groups, c_in_g, -1))
    cols = cols.reshape((n_batch, c_out) + tuple(kernel) + tuple(in_shape))

    full = [(L - 1) * s + d * (k - 1) + 1 for L, s, d, k in zip(in_shape, stride, dilation, kernel)]
    buf_shape = [max(f, p + o) for f, p, o in zip(full, padding, out_shape)]
    buf = np.zeros((n_batch, c_out) + tuple(buf_shape), dtype=x.dtype)
    # col2im: tap u of input pixel i lands on full-output position i·s + u·d.
    # A loop over the Πk taps, each a strided add of the whole batch.
    for tap in np.ndindex(*kernel):
        dst = tuple(slice(u * d, u * d + (L - 1) * s + 1, s)
                    for u, d, L, s in zip(tap, dilation, in_shape, stride))
        buf[(Ellipsis,) + dst] += cols[(slice(None), slice(None)) + tap]
    y = np.ascontiguousarray(buf[(Ellipsis,) + tuple(slice(p, p + o) for p, o in zip(padding, out_shape))])
    if bias is not None:
        y += bias.reshape((c_out,) + (1,) * rank)
    return y


# --------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------

def _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode):
    rank = x.ndim - 2
    kernel = _ints(kernel_size, rank, "kernel_size", 1)
    if stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0):
        stride = kernel                      # torch: None or [] means the kernel size
    else:
        stride = _ints(stride, rank, "stride", 1)
    padding = _ints(padding, rank, "padding", 0)
    dilation = _ints(dilation, rank, "dilation", 1)
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise ValueError(f"pad should be at most half of the kernel size, got padding={padding}, kernel={kernel}")
    out_shape = tuple(_pool_out_size(L, k, s, p, d, ceil_mode)
                      for L, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
    return kernel, stride, padding, dilation, out_shape


def _pool_out_size(length, k, s, p, d, ceil_mode) -> int:
    """torch's pooling_output_shape: floor (or ceil) division, and a ceil-mode
    window must start inside the input or the left padding."""
    out = (length + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= length + p:
        out -= 1
    if out < 1:
        raise ValueError(f"pooling an axis of size {length} with kernel {k}, stride {s}, padding {p}, "
                         f"dilation {d} gives output size {out}")
    return out


def _pool_windows(xp, kernel, stride, dilation, out_shape):
    """View (N, C, *out, *k) of the windows of an already padded array."""
    rank = len(kernel)
    s_n, s_c = xp.strides[:2]
    s_sp = xp.strides[2:]
    return as_strided(
        xp,
        shape=xp.shape[:2] + tuple(out_shape) + tuple(kernel),
        strides=(s_n, s_c) + tuple(s * st for s, st in zip(stride, s_sp))
        + tuple(d * st for d, st in zip(dilation, s_sp)),
        writeable=False,
    ), tuple(range(2 + rank, 2 + 2 * rank))


def _pad_for_windows(x, kernel, stride, padding, dilation, out_shape, fill):
    """Pad left by p and right by whatever the last (possibly clipped) window needs."""
    pads = {}
    for axis, (L, k, s, p, d, o) in enumerate(zip(x.shape[2:], kernel, stride, padding, dilation, out_shape)):
        right = max(0, (o - 1) * s + d * (k - 1) + 1 - (L + p))
        pads[2 + axis] = (p, right)
    return _pad_axes(x, pads, "constant", fill)


def max_pool(x, kernel_size: IntOrSeq, stride: Optional[IntOrSeq] = None, padding: IntOrSeq = 0,
             dilation: IntOrSeq = 1, ceil_mode: bool = False, impl: str = "fast") -> np.ndarray:
    """Max pooling, as ``torch.nn.functional.max_pool{1,2,3}d`` (values only).

    y[n,c,i,j] = max over u, v of x[n, c, i·s - p + u·d, j·s - p + v·d], over
    the taps that fall inside the input (padding never wins: it acts as -inf;
    a ceil-mode window that runs past the end is clipped).
    """
    _check_impl(impl)
    x = _as_input(x)
    kernel, stride, padding, dilation, out_shape = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode)
    if impl == "naive":
        y = np.empty(x.shape[:2] + out_shape, dtype=x.dtype)
        for n, c in np.ndindex(*x.shape[:2]):
            for pos in np.ndindex(*out_shape):
                taps = [[i * s - p + u * d for u in range(k) if 0 <= i * s - p + u * d < L]
                        for i, s, p, d, k, L in zip(pos, stride, padding, dilation, kernel, x.shape[2:])]
                window = x[n, c][np.ix_(*taps)]
                y[(n, c) + pos] = window.max() if window.size else -np.inf
        return y
    xp = _pad_for_windows(x, kernel, stride, padding, dilation, out_shape, -np.inf)
    windows, _ = _pool_windows(xp, kernel, stride, dilation, out_shape)
    # one np.maximum per kernel tap over the whole output (a strided view each), not a reduction over
    # the window axes of the view, whose inner loop runs over only k elements (4x slower on ResNet's stem);
    # the max is exact and NaN-propagating either way
    taps = product(*(range(k) for k in kernel))
    y = np.array(windows[(Ellipsis,) + next(taps)])
    for tap in taps:
        np.maximum(y, windows[(Ellipsis,) + tap], out=y)
    return y


def _avg_divisors(x_shape, kernel, stride, padding, out_shape, count_include_pad):
    """Per-axis divisors of torch's avg_pool CPU kernel, as an outer product.

    Along an axis, window o covers [o·s - p, o·s - p + k).  With
    count_include_pad the divisor counts the part of it inside the padded
    input, i.e. up to L + p (a ceil-mode window running past that is not
    counted); without, only the part inside the input [0, L).
    """
    div = np.ones((), dtype=np.float64)
    for L, k, s, p, o in zip(x_shape[2:], kernel, stride, padding, out_shape):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, L + p)
        if count_include_pad:
            count = end - start
        else:
            count = np.minimum(end, L) - np.maximum(start, 0)
        div = np.multiply.outer(div, count)
    return div


def avg_pool(x, kernel_size: IntOrSeq, stride: Optional[IntOrSeq] = None, padding: IntOrSeq = 0,
             ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None,
             impl: str = "fast") -> np.ndarray:
    """Average pooling, as ``torch.nn.functional.avg_pool{1,2,3}d``.

    y[n,c,i,j] = Σ_{u,v} x_pad[n, c, i·s + u, j·s + v] / divisor, the sum over
    the window clipped to the input (padding adds zeros).  The divisor is
    ``divisor_override`` if given; else the window's size clipped to the padded
    input (count_include_pad=True: padding counts, the overhang of a ceil-mode
    window does not); else the number of input elements in the window.
    """
    _check_impl(impl)
    x = _as_input(x)
    kernel, stride, padding, _, out_shape = _pool_args(x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("divisor_override must be non-zero")
    if impl == "naive":
        y = np.empty(x.shape[:2] + out_shape, dtype=x.dtype)
        for n, c in np.ndindex(*x.shape[:2]):
            for pos in np.ndindex(*out_shape):
                total, pool_size, count = 0.0, 1, 1
                ranges = []
                for i, s, p, k, L in zip(pos, stride, padding, kernel, x.shape[2:]):
                    start = i * s - p
                    end = min(start + k, L + p)          # clipped to the padded input
                    pool_size *= end - start
                    ranges.append(range(max(start, 0), min(end, L)))
                    count *= len(ranges[-1])
                for idx in product(*ranges):
                    total += x[(n, c) + idx]
                if divisor_override is not None:
                    divisor = divisor_override
                else:
                    divisor = pool_size if count_include_pad else count
                y[(n, c) + pos] = total / divisor
        return y
    xp = _pad_for_windows(x, kernel, stride, padding, (1,) * len(kernel), out_shape, 0.0)
    windows, axes = _pool_windows(xp, kernel, stride, (1,) * len(kernel), out_shape)
    total = windows.sum(axis=axes)
    if divisor_override is not None:
        return (total / x.dtype.type(divisor_override)).astype(x.dtype, copy=False)
    div = _avg_divisors(x.shape, kernel, stride, padding, out_shape, count_include_pad)
    return (total / div.astype(x.dtype)).astype(x.dtype, copy=False)


def lp_pool(x, norm_type: float, kernel_size: IntOrSeq, stride: Optional[IntOrSeq] = None,
            ceil_mode: bool = False, impl: str = "fast") -> np.ndarray:
    """Power-average pooling, as ``torch.nn.functional.lp_pool{1,2,3}d``.

    y = (Σ_window x^p)^(1/p) for a full window.  torch computes it as
    ``avg_pool(x^p) · Πk`` then ``^(1/p)``, so a ceil-mode window clipped at
    the end is scaled by Πk / (clipped size) -- reproduced here.  As in torch,
    a negative window sum gives NaN unless p = 1, and x^p of a negative x is
    NaN for a non-integer p.  ``norm_type`` = inf is the max of |x| over the
    window, -inf the min (torch's shortcut through max_pool).
    """
    _check_impl(impl)
    x = _as_input(x)
    p = float(norm_type)
    if p == math.inf:
        return max_pool(np.abs(x), kernel_size, stride, 0, 1, ceil_mode, impl=impl)
    if p == -math.inf:
        return -max_pool(-np.abs(x), kernel_size, stride, 0, 1, ceil_mode, impl=impl)
    if not p > 0:
        raise ValueError(f"norm_type must be > 0 (or ±inf), got {norm_type!r}")
    kernel, stride, padding, _, out_shape = _pool_args(x, kernel_size, stride, 0, 1, ceil_mode)
    volume = math.prod(kernel)
    with np.errstate(invalid="ignore"):
        if impl == "naive":
            y = np.empty(x.shape[:2] + out_shape, dtype=x.dtype)
            for n, c in np.ndindex(*x.shape[:2]):
                for pos in np.ndindex(*out_shape):
                    ranges = [range(i * s, min(i * s + k, L))
                              for i, s, k, L in zip(pos, stride, kernel, x.shape[2:])]
                    count = math.prod(len(r) for r in ranges)
                    total = sum(x[(n, c) + idx] ** p for idx in product(*ranges))
                    # torch: avg_pool(x^p) · Πk, which rescales a clipped window
                    y[(n, c) + pos] = (total / count * volume) ** (1.0 / p)
            return y
        powered = np.power(x, x.dtype.type(p))
        avg = avg_pool(powered, kernel, stride, 0, ceil_mode, True, None, impl="fast")
        return np.power(avg * x.dtype.type(volume), x.dtype.type(1.0 / p)).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------
# adaptive pooling
# --------------------------------------------------------------------------

def _adaptive_out(x, output_size) -> tuple[int, ...]:
    rank = x.ndim - 2
    if output_size is None or isinstance(output_size, (int, np.integer)):
        sizes = (output_size,) * rank
    else:
        sizes = tuple(output_size)
        if len(sizes) == 1 and rank > 1:
            sizes = sizes * rank
    if len(sizes) != rank:
        raise ValueError(f"output_size needs 1 or {rank} values, got {output_size!r}")
    out = tuple(L if o is None else int(o) for o, L in zip(sizes, x.shape[2:]))
    if any(o < 1 for o in out) or any(L < 1 for L in x.shape[2:]):
        raise ValueError(f"adaptive pooling needs positive sizes, got input {x.shape[2:]} -> {out}")
    return out


def _bins(length: int, out: int):
    """Bin i covers [floor(i·L/O), ceil((i+1)·L/O)) -- bins overlap when O does not divide L."""
    i = np.arange(out)
    return (i * length) // out, -((-(i + 1) * length) // out)


def adaptive_avg_pool(x, output_size, impl: str = "fast") -> np.ndarray:
    """Adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool{1,2,3}d``.

    y[n,c,i,j] = mean of x[n, c, a_i:b_i, a_j:b_j] with a_i = floor(i·L/O),
    b_i = ceil((i+1)·L/O).  ``output_size`` is an int or one per axis; None
    keeps that axis' size.
    """
    _check_impl(impl)
    x = _as_input(x)
    out_shape = _adaptive_out(x, output_size)
    if impl == "naive":
        bins = [list(zip(*_bins(L, o))) for L, o in zip(x.shape[2:], out_shape)]
        y = np.empty(x.shape[:2] + out_shape, dtype=x.dtype)
        for n, c in np.ndindex(*x.shape[:2]):
            for pos in np.ndindex(*out_shape):
                window = x[(n, c) + tuple(slice(*bins[a][i]) for a, i in enumerate(pos))]
                y[(n, c) + pos] = window.sum() / window.size
        return y
    # separable: along each axis, multiply by the 0/1 bin-membership matrix
    # (O × L) -- a BLAS product that sums every bin -- then divide once.
    y = x
    counts = np.ones((), dtype=np.float64)
    for axis, (L, o) in enumerate(zip(x.shape[2:], out_shape)):
        start, end = _bins(L, o)
        member = ((np.arange(L) >= start[:, None]) & (np.arange(L) < end[:, None])).astype(x.dtype)
        y = np.moveaxis(np.moveaxis(y, 2 + axis, -1) @ member.T, -1, 2 + axis)
        counts = np.multiply.outer(counts, end - start)
    return np.ascontiguousarray(y / counts.astype(x.dtype))


def adaptive_max_pool(x, output_size, impl: str = "fast") -> np.ndarray:
    """Adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool{1,2,3}d`` (values only).

    y[n,c,i,j] = max of x[n, c, a_i:b_i, a_j:b_j], bins as in adaptive_avg_pool.
    """
    _check_impl(impl)
    x = _as_input(x)
    out_shape = _adaptive_out(x, output_size)
    if impl == "naive":
        bins = [list(zip(*_bins(L, o))) for L, o in zip(x.shape[2:], out_shape)]
        y = np.empty(x.shape[:2] + out_shape, dtype=x.dtype)
        for n, c in np.ndindex(*x.shape[:2]):
            for pos in np.ndindex(*out_shape):
                y[(n, c) + pos] = x[(n, c) + tuple(slice(*bins[a][i]) for a, i in enumerate(pos))].max()
        return y
    # separable: a box max is a max along each axis in turn.  Bins differ in
    # length, so gather each bin padded to the longest by repeating its last
    # element, and reduce that axis.
    y = x
    for axis, (L, o) in enumerate(zip(x.shape[2:], out_shape)):
        start, end = _bins(L, o)
        width = int((end - start).max())
        idx = np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)
        gathered = np.take(y, idx, axis=2 + axis)          # axis -> (o, width)
        y = gathered.max(axis=3 + axis)
    return np.ascontiguousarray(y)


# --------------------------------------------------------------------------
# interpolation
# --------------------------------------------------------------------------

_INTERP_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75


def _interp_sizes(x, size, scale_factor):
    rank = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    if size is not None:
        out = _ints(size, rank, "size", 1)
        return out, (None,) * rank
    if isinstance(scale_factor, (int, float, np.integer, np.floating)):
        scales = (float(scale_factor),) * rank
    else:
        scales = tuple(float(s) for s in scale_factor)
        if len(scales) != rank:
            raise ValueError(f"scale_factor needs 1 or {rank} values, got {scale_factor!r}")
    if any(not s > 0 for s in scales):
        raise ValueError(f"scale_factor must be positive, got {scale_factor!r}")
    out = tuple(math.floor(float(L) * s) for L, s in zip(x.shape[2:], scales))
    if any(o < 1 for o in out):
        raise ValueError(f"scale_factor {scale_factor!r} gives an empty output {out}")
    return out, scales


def _scale(opmath, length, out, align_corners, scale_factor):
    """torch's area_pixel_compute_scale, in the op's math type (float32 for float32 input)."""
    if align_corners:
        return opmath(length - 1) / opmath(out - 1) if out > 1 else opmath(0)
    if scale_factor is not None:
        return opmath(1.0 / scale_factor)
    return opmath(length) / opmath(out)


def _floorf(v) -> int:
    """torch floors source coordinates with C's floorf, which first rounds to float32."""
    return int(math.floor(np.float32(v)))


def _cubic_weights(t):
    """Keys' cubic convolution weights (A = -0.75) for offsets -1, 0, 1, 2 at fraction t."""
    a = _CUBIC_A

    def near(v):   # |v| <= 1
        return ((a + 2) * v - (a + 3)) * v * v + 1

    def far(v):    # 1 < |v| < 2
        return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _axis_taps_scalar(i, length, out, mode, align_corners, scale_factor, opmath):
    """(indices, weights) that output position i reads along one axis -- one position at a time."""
    if mode == "nearest2d":
        # torch's legacy 2-d nearest kernel (nearest_idx): same size copies,
        # double size halves the index, otherwise the float32 formula
        if out == length:
            src = i
        elif out == 2 * length:
            src = i // 2
        else:
            src = _floorf(_scale(np.float32, length, out, False, scale_factor) * np.float32(i))
        return [min(src, length - 1)], [opmath(1)]
    if mode in ("nearest", "nearest-exact"):
        scale = _scale(opmath, length, out, False, scale_factor)
        if mode == "nearest":
            src = _floorf(scale * opmath(i))
        else:
            real = max(scale * (opmath(i) + opmath(0.5)) - opmath(0.5), opmath(0))
            src = _floorf(np.float64(real) + 0.5)
        return [min(src, length - 1)], [opmath(1)]
    scale = _scale(opmath, length, out, align_corners, scale_factor)
    if align_corners:
        real = scale * opmath(i)
    else:
        real = scale * (opmath(i) + opmath(0.5)) - opmath(0.5)
    if mode == "bicubic":
        idx = min(_floorf(real), length - 1)
        t = min(max(real - opmath(idx), opmath(0)), opmath(1))
        taps = [min(max(idx - 1 + j, 0), length - 1) for j in range(4)]
        return taps, [opmath(w) for w in _cubic_weights(t)]
    if out == length:                          # torch copies when the size is unchanged
        return [i], [opmath(1)]
    real = max(real, opmath(0))
    idx = min(_floorf(real), length - 1)
    lam = min(max(real - opmath(idx), opmath(0)), opmath(1))
    return [idx, min(idx + 1, length - 1)], [opmath(1) - lam, lam]


def _axis_taps(length, out, mode, align_corners, scale_factor, opmath):
    """Vectorised _axis_taps_scalar: (indices (O, T), weights (O, T))."""
    i = np.arange(out).astype(opmath)
    f32_floor = lambda v: np.floor(np.asarray(v).astype(np.float32)).astype(np.int64)
    if mode == "nearest2d":
        if out == length:
            src = np.arange(out)
        elif out == 2 * length:
            src = np.arange(out) // 2
        else:
            scale = _scale(np.float32, length, out, False, scale_factor)
            src = f32_floor(scale * np.arange(out).astype(np.float32))
        return np.minimum(src, length - 1)[:, None], np.ones((out, 1), dtype=opmath)
    if mode in ("nearest", "nearest-exact"):
        scale = _scale(opmath, length, out, False, scale_factor)
        if mode == "nearest":
            src = f32_floor(scale * i)
        else:
            real = np.maximum(scale * (i + opmath(0.5)) - opmath(0.5), opmath(0))
            src = f32_floor(real.astype(np.float64) + 0.5)
        return np.minimum(src, length - 1)[:, None], np.ones((out, 1), dtype=opmath)
    scale = _scale(opmath, length, out, align_corners, scale_factor)
    real = scale * i if align_corners else scale * (i + opmath(0.5)) - opmath(0.5)
    if mode == "bicubic":
        idx = np.minimum(f32_floor(real), length - 1)
        t = np.clip(real - idx.astype(opmath), opmath(0), opmath(1))
        taps = np.clip(idx[:, None] + np.arange(-1, 3), 0, length - 1)
        return taps, np.stack(_cubic_weights(t), axis=1).astype(opmath)
    if out == length:
        return np.arange(out)[:, None], np.ones((out, 1), dtype=opmath)
    real = np.maximum(real, opmath(0))
    idx = np.minimum(f32_floor(real), length - 1)
    lam = np.clip(real - idx.astype(opmath), opmath(0), opmath(1))
    return np.stack([idx, np.minimum(idx + 1, length - 1)], axis=1), np.stack([opmath(1) - lam, lam], axis=1)


def interpolate(x, size: Optional[IntOrSeq] = None, scale_factor=None, mode: str = "nearest",
                align_corners: Optional[bool] = None, impl: str = "fast") -> np.ndarray:
    """Resampling, as ``torch.nn.functional.interpolate`` (no antialias, no recompute_scale_factor).

    Output size: ``size``, or ``floor(L · scale_factor)``.  Each axis maps output
    position i to a source coordinate with scale = in/out (or 1/scale_factor
    when that was given; (in-1)/(out-1) with align_corners):

    * ``"nearest"`` (torch's legacy rule): src = min(floor(i·scale), in-1).
    * ``"nearest-exact"``: src = min(floor((i+0.5)·scale), in-1).
    * ``"linear"`` (3-d x), ``"bilinear"`` (4-d), ``"trilinear"`` (5-d):
      src = i·scale (align_corners) or max((i+0.5)·scale - 0.5, 0); the two
      neighbours floor(src) and floor(src)+1 (clamped) weighted 1-λ, λ.
      An axis whose size does not change is copied (as torch).
    * ``"bicubic"`` (4-d): src as linear but not clamped at 0; the four
      neighbours floor(src)-1 .. floor(src)+2, clamped to the border, weighted by
      Keys' cubic kernel with A = -0.75.

    Coordinates are computed in the input's precision (float32 for float32
    input) and floored through float32 as torch's CPU kernel does.  torch's
    2-d ``"nearest"`` (4-d x) still runs its legacy index function, which
    copies an axis whose size is unchanged, halves the index of an axis whose
    size doubles, and otherwise computes in float32 whatever the dtype; the 1-d
    and 3-d kernels do not.  Both behaviours are reproduced.
    """
    _check_impl(impl)
    x = _as_input(x)
    rank = x.ndim - 2
    if mode in _INTERP_RANK:
        if _INTERP_RANK[mode] != rank:
            raise ValueError(f"mode {mode!r} needs a {_INTERP_RANK[mode] + 2}-d input, got {x.ndim}-d")
        align_corners = bool(align_corners)
    elif mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners can only be set with the interpolating modes "
                             "linear, bilinear, bicubic and trilinear")
    else:
        raise ValueError(f"unsupported interpolation mode {mode!r}")
    out_shape, scales = _interp_sizes(x, size, scale_factor)
    opmath = np.float32 if x.dtype.itemsize <= 4 else np.float64
    if mode == "nearest" and rank == 2:
        mode = "nearest2d"

    if impl == "naive":
        y = np.empty(x.shape[:2] + out_shape, dtype=x.dtype)
        for pos in np.ndindex(*out_shape):
            # along every axis: the source positions and their weights
            taps = [_axis_taps_scalar(i, L, o, mode, align_corners, s, opmath)
                    for i, L, o, s in zip(pos, x.shape[2:], out_shape, scales)]
            total = np.zeros(x.shape[:2], dtype=x.dtype)
            for combo in product(*(list(zip(*t)) for t in taps)):
                src = tuple(idx for idx, _ in combo)
                weight = math.prod(float(w) for _, w in combo)
                total = total + x.dtype.type(weight) * x[(slice(None), slice(None)) + src]
            y[(slice(None), slice(None)) + pos] = total
        return y

    y = x
    for axis, (L, o, s) in enumerate(zip(x.shape[2:], out_shape, scales)):
        idx, w = _axis_taps(L, o, mode, align_corners, s, opmath)
        w = w.astype(x.dtype)
        shape = [1] * y.ndim
        shape[2 + axis] = o
        acc = np.take(y, idx[:, 0], axis=2 + axis) * w[:, 0].reshape(shape)
        for t in range(1, idx.shape[1]):
            acc += np.take(y, idx[:, t], axis=2 + axis) * w[:, t].reshape(shape)
        y = acc
    return np.ascontiguousarray(y, dtype=x.dtype)
