"""Benchmark the numpy reference convolution against torch and against BLAS.

    python bench/conv.py [--rounds K] [--malloc-default]

Prints one table.  For each ResNet-style layer (float32, NCHW):

* ``fast``   -- ``cnncalc.reference.conv(..., impl="fast")`` (im2col + GEMM,
  or the tap loop for depthwise);
* ``torch``  -- ``torch.nn.functional.conv2d`` on the CPU, with torch's thread
  count set to the number of threads numpy's BLAS uses;
* ``matmul`` -- numpy's own float32 matmul of the im2col GEMM's size
  (M = C_out/groups, K = C_in/groups·kh·kw, N = batch·H_out·W_out, times
  groups, as one batched np.matmul): the ceiling for an im2col convolution
  that has to build its column matrix first.

GFLOP/s count 2 FLOPs per multiply-accumulate.  Per layer, fast, torch and
matmul run in turn, once each per round, for --rounds rounds after one
warm-up round: a busy moment on a shared machine slows all three alike.  Each
time is the median of the rounds, with its min-max; each ratio is the ratio
of the medians (speed: torch time / fast time), with the min-max of the
per-round ratios.  Alternating the libraries works because bench/_timing.py
makes idle OpenBLAS and OpenMP workers sleep instead of spinning (they would
otherwise steal each other's cores).  The naive loops are timed on one small
layer only.

Every call returns a fresh output array.  With glibc's default settings,
freeing a large array may hand its pages back to the OS (a trimmed heap or an
unmapped chunk), and the next call of the same size then page-faults on
fresh pages: 1.5-2 us per 4 KiB page on the development VM, which made
torch's 3x3 64->64 layer take 10.7 or 17.5 ms from one run (or round) to the
next, and depthwise 0.6 or 3 ms.  So, before numpy and torch load, the bench
asks malloc (mallopt) to keep freed memory and to serve allocations up to
32 MiB from its heap: every library then reuses its pages from round to
round, and the times are those of the computation.  --malloc-default leaves
malloc as it is.

Goals (issue 16): 3x3 layers >= 0.8x torch and >= 0.7 of the matmul ceiling;
the 7x7/2 stem >= 0.6x torch; depthwise >= 0.5x torch.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _timing  # noqa: E402  (before numpy: thread-pool settings)

_timing.quiet_threads()


def steady_malloc() -> bool:
    """Make glibc's malloc keep freed memory (see the module docstring); False where it cannot."""
    import ctypes
    import ctypes.util
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_trim_threshold, 1 << 30)) and bool(mallopt(m_mmap_threshold, 32 << 20))


MALLOC = "default" if "--malloc-default" in sys.argv[1:] else ("steady" if steady_malloc() else "default")

import numpy as np  # noqa: E402

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


GOALS = {"3x3": (0.8, 0.7), "7x7": (0.6, None), "dw": (0.5, None), "1x1": (None, None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds per layer (default 11; median)")
    parser.add_argument("--malloc-default", action="store_true",
                        help="leave malloc as it is: freed pages go back to the OS and some rounds fault on fresh ones")
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
        tasks = {"fast": lambda: conv(x, w, stride=s, padding=p, groups=groups), "matmul": lambda: np.matmul(a, b)}
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            tasks["torch"] = lambda: torch.nn.functional.conv2d(tx, tw, stride=s, padding=p, groups=groups)
        times = _timing.interleaved(tasks, args.rounds)
        err = None
        if torch is not None:
            ref = tasks["torch"]().numpy()
            err = float(np.abs(tasks["fast"]() - ref).max() / np.abs(ref).max())
        rows.append((layer, times, err))

    xs, ws = layer_arrays(NAIVE_LAYER, rng)
    _, _, _, _, _, _, s_n, p_n, g_n = NAIVE_LAYER
    naive = _timing.interleaved({"naive": lambda: conv(xs, ws, stride=s_n, padding=p_n, groups=g_n, impl="naive"),
                                 "fast": lambda: conv(xs, ws, stride=s_n, padding=p_n, groups=g_n)}, 3, warmup=0)

    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; float32; "
          f"{threads} thread(s) for BLAS and torch, from {how}; fast, torch and matmul interleaved, "
          f"median of {args.rounds} rounds (min-max); "
          + ("malloc keeps freed memory" if MALLOC == "steady" else "malloc as it is"))
    print()
    table = []
    for layer, times, err in rows:
        f = flops(layer)
        fast, mm = times["fast"], times["matmul"]
        goal_torch, goal_mm = GOALS[layer[0].split()[0].split("/")[0]]
        if "torch" in times:
            # speed ratios: the other's time over fast's time
            vs_torch = _timing.ratio_text(times["torch"].ratio_to(fast))
            torch_ms = _timing.spread_text(times["torch"])
            torch_gf = f"{f / times['torch'].median / 1e9:.1f}"
        else:
            vs_torch = torch_ms = torch_gf = "-"
        vs_mm = _timing.ratio_text(mm.ratio_to(fast))
        goal = " ".join(g for g in (f"torch>={goal_torch}" if goal_torch else "",
                                    f"matmul>={goal_mm}" if goal_mm else "") if g)
        table.append((layer[0], f"{f / 1e9:.3f}", _timing.spread_text(fast), f"{f / fast.median / 1e9:.1f}",
                      torch_ms, torch_gf, f"{f / mm.median / 1e9:.1f}", vs_torch, vs_mm, goal or "-",
                      "-" if err is None else f"{err:.1e}"))
    _timing.print_table(("layer", "GFLOP", "fast", "GF/s", "torch", "GF/s", "matmul GF/s", "fast/torch",
                         "fast/matmul", "goal", "max rel err"), table)
    f = flops(NAIVE_LAYER)
    t_naive, t_fast = naive["naive"].median, naive["fast"].median
    print(f"{NAIVE_LAYER[0]}: naive {t_naive * 1e3:.1f} ms ({f / t_naive / 1e9:.3f} GF/s), "
          f"fast {t_fast * 1e3:.3f} ms: naive/fast time = {t_naive / t_fast:.0f}x (median of 3)")


if __name__ == "__main__":
    main()
