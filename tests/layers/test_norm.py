"""BatchNorm, GroupNorm, LayerNorm, InstanceNorm, LocalResponseNorm against the torch docs.

Shapes never change. params: γ and β, C each (LayerNorm: ∏normalized_shape
each); buffers (track_running_stats): running_mean C + running_var C +
num_batches_tracked 1 = 2C + 1.
FLOPs per element (norm.py, eval semantics): normalise 2; statistics taken
from the data 4 more (GroupNorm, LayerNorm, InstanceNorm and BatchNorm
without running stats); affine 2 more (LayerNorm: 1 for γ, 1 for β).
LocalResponseNorm: size + 4 per element.
"""

from __future__ import annotations

import pytest

from cnncalc import ShapeError, SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params

CASES = [
    # ------------------------------------------------------------- BatchNorm
    Case("BatchNorm2d", {}, (2, 16, 8, 8),
         out=(2, 16, 8, 8),
         params=2 * 16,
         buffers=2 * 16 + 1,
         flops=2 * 16 * 8 * 8 * (2 + 2),
         rf=[(1, 1, 0)] * 2),
    Case("BatchNorm2d", {"affine": False}, (2, 16, 8, 8),
         out=(2, 16, 8, 8),
         buffers=2 * 16 + 1,
         flops=2 * 16 * 64 * 2),
    Case("BatchNorm2d", {"track_running_stats": False}, (2, 16, 8, 8),
         out=(2, 16, 8, 8),
         params=2 * 16,
         flops=2 * 16 * 64 * (2 + 4 + 2)),
    Case("BatchNorm2d", {"affine": False, "track_running_stats": False, "momentum": None, "eps": 0.001},
         (2, 16, 8, 8),
         out=(2, 16, 8, 8),
         flops=2 * 16 * 64 * (2 + 4)),
    Case("BatchNorm1d", {}, (4, 10),                                 # (N, C): after Flatten
         out=(4, 10),
         params=2 * 10,
         buffers=2 * 10 + 1,
         flops=4 * 10 * (2 + 2)),
    Case("BatchNorm1d", {"eps": 1.0e-3, "momentum": 0.01}, (2, 6, 5),
         out=(2, 6, 5),
         params=2 * 6,
         buffers=2 * 6 + 1,
         flops=2 * 6 * 5 * 4),
    Case("BatchNorm3d", {}, (1, 4, 2, 3, 3),
         out=(1, 4, 2, 3, 3),
         params=2 * 4,
         buffers=2 * 4 + 1,
         flops=4 * 18 * 4),
    Case("BatchNorm3d", {"affine": False, "track_running_stats": False}, (2, 4, 2, 3, 3),
         out=(2, 4, 2, 3, 3),
         flops=2 * 4 * 18 * (2 + 4)),
    # ------------------------------------------------------------- GroupNorm
    Case("GroupNorm", {"num_groups": 4}, (2, 16, 8, 8),
         out=(2, 16, 8, 8),
         params=2 * 16,
         flops=2 * 16 * 64 * (2 + 4 + 2)),
    Case("GroupNorm", {"num_groups": 1, "affine": False}, (2, 6, 5),
         out=(2, 6, 5),
         flops=2 * 6 * 5 * (2 + 4)),
    Case("GroupNorm", {"num_groups": 8, "eps": 1.0e-6}, (3, 8),       # (N, C): after Flatten
         out=(3, 8),
         params=2 * 8,
         flops=3 * 8 * 8),
    Case("GroupNorm", {"num_groups": 2}, (1, 4, 2, 3, 3),
         out=(1, 4, 2, 3, 3),
         params=2 * 4,
         flops=4 * 18 * 8),
    Case("GroupNorm", {"num_groups": 2}, (1, 4, 2, 2, 2, 2),          # 6-d: evaluated directly
         out=(1, 4, 2, 2, 2, 2),
         params=2 * 4,
         flops=4 * 16 * 8),
    # ------------------------------------------------------------- LayerNorm
    Case("LayerNorm", {"normalized_shape": 8}, (2, 5, 8),
         out=(2, 5, 8),
         params=8 + 8,
         flops=2 * 5 * 8 * (2 + 4 + 2)),
    Case("LayerNorm", {"normalized_shape": [4, 4]}, (2, 3, 4, 4),
         out=(2, 3, 4, 4),
         params=2 * 4 * 4,
         flops=2 * 3 * 16 * 8),
    Case("LayerNorm", {"normalized_shape": [3, 4, 4], "elementwise_affine": False}, (2, 3, 4, 4),
         out=(2, 3, 4, 4),
         flops=2 * 48 * (2 + 4)),
    Case("LayerNorm", {"normalized_shape": [4], "bias": False}, (2, 3, 4, 4),
         out=(2, 3, 4, 4),
         params=4,
         flops=2 * 48 * (2 + 4 + 1)),
    Case("LayerNorm", {"normalized_shape": [1, 2, 3, 4]}, (1, 2, 3, 4),   # torch may normalise the batch dim too
         out=(1, 2, 3, 4),
         params=2 * 24,
         flops=24 * 8, id="LayerNorm-over-every-dim-incl-batch"),
    # ---------------------------------------------------------- InstanceNorm
    Case("InstanceNorm1d", {}, (2, 3, 10),
         out=(2, 3, 10),
         flops=2 * 3 * 10 * (2 + 4)),
    Case("InstanceNorm2d", {"affine": True}, (2, 3, 5, 5),
         out=(2, 3, 5, 5),
         params=2 * 3,
         flops=2 * 3 * 25 * (2 + 4 + 2)),
    Case("InstanceNorm2d", {"track_running_stats": True}, (2, 3, 5, 5),
         out=(2, 3, 5, 5),
         buffers=2 * 3 + 1,
         flops=2 * 3 * 25 * 2),                                     # eval: the running statistics
    Case("InstanceNorm3d", {"affine": True, "track_running_stats": True}, (1, 4, 2, 3, 3),
         out=(1, 4, 2, 3, 3),
         params=2 * 4,
         buffers=2 * 4 + 1,
         flops=4 * 18 * (2 + 2)),
    # one value per channel / group / instance: fine when the statistics are not taken from the data
    Case("BatchNorm1d", {}, (1, 3),                                  # eval mode uses the running stats
         out=(1, 3), params=2 * 3, buffers=2 * 3 + 1, flops=3 * (2 + 2)),
    Case("InstanceNorm2d", {"track_running_stats": True}, (2, 3, 1, 1),
         out=(2, 3, 1, 1), buffers=2 * 3 + 1, flops=2 * 3 * 2),
    Case("GroupNorm", {"num_groups": 3}, (2, 3, 1, 1),               # N · C/G · 1 = 2 values per group
         out=(2, 3, 1, 1), params=2 * 3, flops=2 * 3 * 8),
    Case("BatchNorm2d", {"track_running_stats": False}, (2, 3, 1, 1),
         out=(2, 3, 1, 1), params=2 * 3, flops=2 * 3 * 8),
    # ----------------------------------------------------- LocalResponseNorm
    Case("LocalResponseNorm", {"size": 5}, (1, 8, 4, 4),
         out=(1, 8, 4, 4),
         flops=8 * 16 * (5 + 4)),
    Case("LocalResponseNorm", {"size": 2, "alpha": 0.001, "beta": 0.5, "k": 2.0}, (2, 6, 7),
         out=(2, 6, 7),
         flops=2 * 6 * 7 * (2 + 4)),
    Case("LocalResponseNorm", {"size": 3}, (1, 4, 2, 3, 3),
         out=(1, 4, 2, 3, 3),
         flops=4 * 18 * (3 + 4)),
]

ERRORS = [
    Bad("GroupNorm", {"num_groups": 3}, (2, 16, 8, 8), ShapeError, ("16 channels", "num_groups=3")),
    Bad("GroupNorm", {"num_groups": 0}, (2, 16, 8, 8), SpecError, ("num_groups", "0")),
    Bad("LayerNorm", {"normalized_shape": 5}, (2, 3, 4), ShapeError, ("[5]", "[4]")),
    Bad("LayerNorm", {"normalized_shape": [3, 5]}, (2, 3, 4), ShapeError, ("[3, 5]", "[3, 4]")),
    Bad("LayerNorm", {"normalized_shape": [2, 2, 3, 4]}, (2, 3, 4), ShapeError, ("[2, 2, 3, 4]", "[2, 3, 4]")),
    Bad("BatchNorm2d", {}, (2, 3, 4), ShapeError, ("4-d", "3-d")),
    Bad("BatchNorm2d", {}, (2, 3, 4, 4, 4), ShapeError, ("4-d", "5-d")),
    Bad("BatchNorm1d", {}, (2, 3, 4, 4), ShapeError, ("2-d or 3-d", "4-d")),
    Bad("BatchNorm3d", {}, (2, 3, 4, 4), ShapeError, ("5-d", "4-d")),
    Bad("InstanceNorm2d", {}, (1, 2, 3, 3, 3), ShapeError, ("4-d", "5-d")),
    Bad("InstanceNorm1d", {}, (1, 2, 3, 3), ShapeError, ("3-d", "4-d")),
    Bad("LocalResponseNorm", {"size": 2}, (3, 4), ShapeError, ("[3, 4]",), id="LocalResponseNorm-after-Flatten"),
    # statistics taken from the data need two values; torch checks this in eval mode too
    Bad("InstanceNorm2d", {}, (2, 3, 1, 1), ShapeError, ("[2, 3, 1, 1]", "has 1"), id="InstanceNorm2d-1x1"),
    Bad("InstanceNorm1d", {"affine": True}, (4, 3, 1), ShapeError, ("[4, 3, 1]", "has 1")),
    Bad("BatchNorm2d", {"track_running_stats": False}, (1, 3, 1, 1), ShapeError, ("[1, 3, 1, 1]", "has 1"),
        id="BatchNorm2d-batch-stats-of-one-value"),
    Bad("BatchNorm1d", {"track_running_stats": False}, (1, 3), ShapeError, ("[1, 3]", "has 1")),
    Bad("GroupNorm", {"num_groups": 3}, (1, 3, 1, 1), ShapeError, ("[1, 3, 1, 1]", "has 1", "num_groups=3"),
        id="GroupNorm-one-value-per-group"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_norm_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_norm_matches_torch(case):
    check_against_torch(case)


@pytest.mark.parametrize("case", params(ERRORS))
def test_norm_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_norm_errors_torch_refuses_too(case):
    check_torch_refuses(case)


def test_batchnorm_buffers_are_torch_names():
    """running_mean, running_var (C each) and the scalar num_batches_tracked."""
    from .helpers import run_layer
    got = run_layer("BatchNorm2d", {}, [(1, 5, 2, 2)])
    assert got.param_shapes == {"weight": (5,), "bias": (5,)}
    assert got.buffer_shapes == {"running_mean": (5,), "running_var": (5,), "num_batches_tracked": ()}


def test_eps_written_as_torch_prints_it():
    import cnncalc
    report = cnncalc.analyze(cnncalc.loads("input: [3, 8]\nlayers:\n  - BatchNorm1d: {eps: 1e-5}\n"))
    assert report.output_shape == (1, 3, 8)
