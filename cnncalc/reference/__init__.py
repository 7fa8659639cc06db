"""Numpy reference implementations of CNN spatial ops (torch.nn.functional semantics).

Imported lazily: nothing in cnncalc imports this package at start-up, so numpy
stays an optional dependency.
"""

from .ops import (
    adaptive_avg_pool, adaptive_max_pool, avg_pool, conv, conv_transpose, interpolate, lp_pool, max_pool, pad,
)

__all__ = [
    "conv", "conv_transpose", "max_pool", "avg_pool", "lp_pool",
    "adaptive_avg_pool", "adaptive_max_pool", "interpolate", "pad",
]
