"""Benchmark the numpy reference convolution against torch and against BLAS.

    python bench/conv.py [--repeat K]

Prints one table.  For each ResNet-style layer (float32, NCHW):

* ``fast``   -- ``cnncalc.reference.conv(..., impl="fast")`` (im2col + GEMM);
* ``torch``  -- ``torch.nn.functional.conv2d`` on the CPU, with torch's thread
  count set to the number of threads numpy's BLAS uses;
* ``matmul`` -- numpy's own float32 matmul of the im2col GEMM's size
  (M = C_out/groups, K = C_in/groups·kh·kw, N = batch·H_out·W_out, times
  groups, as one batched np.matmul): the ceiling for an im2col convolution
  that has to build its column matrix first.

GFLOP/s count 2 FLOPs per multiply-accumulate.  Times are the best of K runs
(time.perf_counter) after one warm-up run of each.  Per layer, fast and matmul
run in turn within each repetition (so a busy moment costs both alike), then,
after a pause, torch: OpenBLAS's and OpenMP's idle worker threads spin for a
while after a call, and would steal the cores of the other library if the two
were interleaved.  The naive loops are timed on one small layer only.

Run it on an otherwise idle machine: with 2 cores, any other busy process
stalls the multi-threaded GEMMs of both libraries at their barriers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnncalc.reference import conv  # noqa: E402

# name, N, C_in, C_out, H(=W), k, stride, padding, groups
LAYERS = [
    ("3x3 64->64 @56 (N=8)", 8, 64, 64, 56, 3, 1, 1, 1),
    ("3x3 256->256 @14 (N=8)", 8, 256, 256, 14, 3, 1, 1, 1),
    ("7x7/2 3->64 @224 (N=1)", 1, 3, 64, 224, 7, 2, 3, 1),
    ("dw 3x3 128 @28 (N=8)", 8, 128, 128, 28, 3, 1, 1, 128),
    ("1x1 256->64 @56 (N=8)", 8, 256, 64, 56, 1, 1, 0, 1),
]
NAIVE_LAYER = ("3x3 8->8 @16 (N=1)", 1, 8, 8, 16, 3, 1, 1, 1)
PAUSE = 0.3   # seconds for idle BLAS / OpenMP worker threads to stop spinning


def blas_threads() -> tuple[int, str]:
    """How many threads numpy's BLAS uses, and how that was found out."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if blas:
            return int(blas[0]["num_threads"]), f"threadpoolctl ({blas[0].get('internal_api')})"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), var
    return os.cpu_count() or 1, "os.cpu_count() (threadpoolctl not installed)"


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up: page faults, BLAS buffers, thread start
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def best_in_turn(fns: dict, repeat: int) -> dict:
    """Best time of each function, running them in turn within each repetition."""
    for fn in fns.values():
        fn()  # warm-up
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def layer_arrays(layer, rng):
    _, n, c_in, c_out, h, k, _, _, groups = layer
    x = rng.standard_normal((n, c_in, h, h), dtype=np.float32)
    w = rng.standard_normal((c_out, c_in // groups, k, k), dtype=np.float32)
    w /= np.float32(np.sqrt(c_in // groups * k * k))
    return x, w


def out_size(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def flops(layer) -> int:
    _, n, c_in, c_out, h, k, s, p, groups = layer
    return 2 * n * c_out * (c_in // groups) * k * k * out_size(h, k, s, p) ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="best of K timed runs (default 7)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    threads, how = blas_threads()

    try:
        import torch
    except ImportError:
        torch = None
    else:
        torch.set_num_threads(threads)
        torch.set_grad_enabled(False)

    rows = []
    for layer in LAYERS:
        name, n, c_in, c_out, h, k, s, p, groups = layer
        x, w = layer_arrays(layer, rng)
        ho = out_size(h, k, s, p)
        a = rng.standard_normal((groups, c_out // groups, c_in // groups * k * k), dtype=np.float32)
        b = rng.standard_normal((groups, c_in // groups * k * k, n * ho * ho), dtype=np.float32)
        fast = lambda: conv(x, w, stride=s, padding=p, groups=groups)  # noqa: E731
        best = best_in_turn({"fast": fast, "matmul": lambda: np.matmul(a, b)}, args.repeat)
        row = [layer, best["fast"], best["matmul"]]
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            torch_conv = lambda: torch.nn.functional.conv2d(tx, tw, stride=s, padding=p, groups=groups)  # noqa: E731
            time.sleep(PAUSE)
            row += [best_of(torch_conv, args.repeat)]
            time.sleep(PAUSE)
            ref = torch_conv().numpy()
            row += [float(np.abs(fast() - ref).max() / np.abs(ref).max())]
        rows.append(row)

    xs, ws = layer_arrays(NAIVE_LAYER, rng)
    _, _, _, _, _, _, s_n, p_n, g_n = NAIVE_LAYER
    t_naive = best_of(lambda: conv(xs, ws, stride=s_n, padding=p_n, groups=g_n, impl="naive"), 1)
    t_naive_fast = best_of(lambda: conv(xs, ws, stride=s_n, padding=p_n, groups=g_n), args.repeat)

    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
          f"float32; {threads} thread(s) for BLAS and torch, from {how}; best of {args.repeat}")
    header = (f"{'layer':<24} {'GFLOP':>6} {'fast ms':>8} {'fast GF/s':>9} {'torch GF/s':>10} "
              f"{'matmul GF/s':>11} {'fast/torch':>10} {'fast/matmul':>11} {'max rel err':>11}")
    print(header)
    print("-" * len(header))
    for row in rows:
        layer, t_fast, t_mm = row[:3]
        f = flops(layer)
        g_fast, g_mm = f / t_fast / 1e9, f / t_mm / 1e9
        if torch is not None:
            t_torch, err = row[3], row[4]
            g_torch = f / t_torch / 1e9
            torch_cols = f"{g_torch:>10.1f} {'':>0}"
            ratio = f"{g_fast / g_torch:>10.2f}"
            err_col = f"{err:>11.1e}"
        else:
            torch_cols, ratio, err_col = f"{'-':>10} ", f"{'-':>10}", f"{'-':>11}"
        print(f"{layer[0]:<24} {f / 1e9:>6.3f} {t_fast * 1e3:>8.2f} {g_fast:>9.1f} {torch_cols}"
              f"{g_mm:>11.1f} {ratio} {g_fast / g_mm:>11.2f} {err_col}")
    f = flops(NAIVE_LAYER)
    print(f"{NAIVE_LAYER[0]:<24} {f / 1e9:>6.3f}  naive {t_naive * 1e3:.1f} ms ({f / t_naive / 1e9:.3f} GF/s), "
          f"fast {t_naive_fast * 1e3:.3f} ms: naive/fast time = {t_naive / t_naive_fast:.0f}x")


if __name__ == "__main__":
    main()
