"""Linear (on the last dimension, as torch) and Identity against the torch docs.

Linear: y = x·Wᵀ + b on the last dim, every leading dim (batch included) kept.
params: out · in (+ out); MACs: ∏(leading dims) · in · out;
FLOPs: 2 · MACs + one bias add per output element. Field: global.
"""

from __future__ import annotations

import pytest

from cnncalc import SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params

CASES = [
    Case("Linear", {"out_features": 10}, (2, 512),                     # (N, C): after Flatten
         out=(2, 10),
         params=10 * 512 + 10,
         macs=2 * 512 * 10,
         flops=2 * (2 * 512 * 10) + 2 * 10,
         rf="global"),
    Case("Linear", {"out_features": 1000}, (1, 2048),
         out=(1, 1000),
         params=1000 * 2048 + 1000,
         macs=2048 * 1000,
         flops=2 * 2048 * 1000 + 1000, id="Linear-resnet50-head"),
    Case("Linear", {"out_features": 32, "bias": False}, (2, 7, 16),  # a 3-d input: (N, tokens, features)
         out=(2, 7, 32),
         params=32 * 16,
         macs=2 * 7 * 16 * 32,
         flops=2 * (2 * 7 * 16 * 32)),
    Case("Linear", {"out_features": 4}, (2, 3, 5, 8),                 # a 4-d input: acts on W
         out=(2, 3, 5, 4),
         params=4 * 8 + 4,
         macs=2 * 3 * 5 * 8 * 4,
         flops=2 * (2 * 3 * 5 * 8 * 4) + 2 * 3 * 5 * 4,
         rf="global"),
    Case("Linear", {"out_features": 1}, (1, 2, 3, 4, 6),
         out=(1, 2, 3, 4, 1),
         params=6 + 1,
         macs=2 * 3 * 4 * 6,
         flops=2 * (24 * 6) + 24),
    Case("Identity", {}, (2, 3, 4, 5), out=(2, 3, 4, 5), rf=[(1, 1, 0)] * 2),
    Case("Identity", {}, (2, 7), out=(2, 7)),
]

ERRORS = [
    # torch builds Linear(in, 0) (an empty output); a file's sizes are positive
    Bad("Linear", {"out_features": 0}, (2, 8), SpecError, ("out_features", ">= 1", "0"), torch=False),
    Bad("Linear", {}, (2, 8), SpecError, ("out_features",), id="Linear-needs-out_features"),
    Bad("Linear", {"out_features": 4, "bias": 1}, (2, 8), SpecError, ("bias", "true or false"), torch=False),
    Bad("Linear", {"out_features": 4, "in_features": 8}, (2, 8), SpecError, ("in_features",), torch=False,
        id="Linear-in_features-is-inferred"),
    Bad("Identity", {"size": 3}, (2, 8), SpecError, ("size",), torch=False),
]


@pytest.mark.parametrize("case", params(CASES))
def test_linear_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_linear_matches_torch(case):
    check_against_torch(case, count_flops=True)


@pytest.mark.parametrize("case", params(ERRORS))
def test_linear_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_linear_errors_torch_refuses_too(case):
    check_torch_refuses(case)
