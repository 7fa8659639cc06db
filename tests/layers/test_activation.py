"""Activations, PReLU and Softmax/LogSoftmax/Softmax2d against the torch docs.

Every activation keeps its input's shape. FLOPs = cost per element ·
elements, with the costs of activation.py's table (an elementary function
such as exp, log, tanh or erf counts 1, a comparison counts 1). Softmax:
exp, add, divide = 3 per element; LogSoftmax 3 per element + one log per row
(row = every element of the other dims).
"""

from __future__ import annotations

import pytest

from cnncalc import ShapeError, SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params

N, C, H, W = 2, 3, 4, 5
X = (N, C, H, W)
ELEMENTS = 2 * 3 * 4 * 5          # 120

# (type, args, FLOPs per element, what is counted)
ELEMENTWISE = [
    ("ReLU", {}, 1, "max(x, 0)"),
    ("ReLU", {"inplace": True}, 1, "max(x, 0), in place"),
    ("ReLU6", {}, 2, "min(max(x, 0), 6)"),
    ("LeakyReLU", {"negative_slope": 0.2}, 2, "comparison, multiply"),
    ("ELU", {"alpha": 0.5}, 4, "comparison, exp, −1, ·alpha"),
    ("SELU", {}, 5, "ELU then ·scale"),
    ("CELU", {"alpha": 2.0}, 5, "comparison, /alpha, exp, −1, ·alpha"),
    ("SiLU", {}, 5, "negate, exp, +1, divide, ·x"),
    ("Mish", {}, 5, "exp, +1, log, tanh, ·x"),
    ("Sigmoid", {}, 4, "negate, exp, +1, divide"),
    ("Tanh", {}, 1, "tanh"),
    ("Hardswish", {}, 5, "+3, clamp (2), ·x, /6"),
    ("Hardsigmoid", {}, 4, "+3, clamp (2), /6"),
    ("Hardtanh", {"min_val": -2.0, "max_val": 2.0}, 2, "clamp"),
    ("Softplus", {"beta": 2.0, "threshold": 10.0}, 6, "·beta, comparison, exp, +1, log, /beta"),
    ("Softsign", {}, 3, "abs, +1, divide"),
    ("GELU", {}, 5, "/√2, erf, +1, ·x, ·½"),
    ("GELU", {"approximate": "tanh"}, 9, "x³ (2), ·0.044715, +x, ·√(2/π), tanh, +1, ·x, ·½"),
    ("PReLU", {}, 2, "comparison, ·slope"),
]

CASES = [
    Case(name, args, X, out=X, params=1 if name == "PReLU" else 0, flops=cost * ELEMENTS, rf=[(1, 1, 0)] * 2)
    for name, args, cost, _ in ELEMENTWISE
] + [
    Case("PReLU", {"num_parameters": 3}, (2, 3, 4, 5), out=(2, 3, 4, 5), params=3, flops=2 * 120),
    Case("PReLU", {"num_parameters": 6, "init": 0.1}, (2, 6, 7), out=(2, 6, 7), params=6, flops=2 * 2 * 6 * 7),
    Case("ReLU", {}, (4, 10), out=(4, 10), flops=40),                 # (N, C): after Flatten
    Case("Sigmoid", {}, (1, 2, 3, 4, 5), out=(1, 2, 3, 4, 5), flops=4 * 120),
    # ---------------------------------------------------------------- softmax
    Case("Softmax", {"dim": 1}, X, out=X, flops=3 * ELEMENTS, rf=[(1, 1, 0)] * 2),
    Case("Softmax", {"dim": -1}, X, out=X, flops=3 * ELEMENTS, rf="global"),    # mixes W
    Case("Softmax", {}, (2, 10), out=(2, 10), flops=3 * 20),          # implicit dim: 1 for 2-d
    Case("Softmax", {}, (2, 3, 4), out=(2, 3, 4), flops=3 * 24),      # implicit dim: 0 for 3-d
    Case("LogSoftmax", {"dim": 1}, (4, 10), out=(4, 10),
         flops=3 * 40 + 4),                                           # 4 rows of 10
    Case("LogSoftmax", {"dim": 1}, X, out=X,
         flops=3 * ELEMENTS + N * H * W),                             # one row per (n, h, w)
    Case("LogSoftmax", {"dim": -2}, X, out=X,
         flops=3 * ELEMENTS + N * C * W),
    Case("Softmax2d", {}, X, out=X, flops=3 * ELEMENTS, rf=[(1, 1, 0)] * 2),    # over channels
    Case("Softmax2d", {}, (2, 3, 4), out=(2, 3, 4), flops=3 * 24),   # 3-d: over dim 0 (torch's dim=-3)
]

ERRORS = [
    Bad("PReLU", {"num_parameters": 4}, (1, 3, 8), ShapeError, ("num_parameters=4", "channel count 3")),
    Bad("PReLU", {"num_parameters": 0}, (1, 3, 8), SpecError, ("num_parameters", "0"), torch=False),
    Bad("Softmax", {"dim": 4}, (1, 2, 3, 4), ShapeError, ("dim 4", "4-d")),
    Bad("LogSoftmax", {"dim": -5}, (1, 2, 3, 4), ShapeError, ("dim -5", "4-d")),
    Bad("Softmax2d", {}, (1, 2, 3, 4, 5), ShapeError, ("3-d or 4-d", "5-d")),
    Bad("Softmax2d", {}, (2, 8), ShapeError, ("3-d or 4-d", "2-d"), id="Softmax2d-after-Flatten"),
    Bad("GELU", {"approximate": "fast"}, (1, 2, 3), SpecError, ("'none'", "'tanh'", "'fast'")),
    Bad("CELU", {"alpha": 0.0}, (1, 2, 3), SpecError, ("alpha", "0")),
    Bad("Hardtanh", {"min_val": 2.0, "max_val": 1.0}, (1, 2, 3), SpecError, ("max_val", "min_val (2.0)", "1.0")),
    Bad("Hardtanh", {"min_val": 1.0, "max_val": 1.0}, (1, 2, 3), SpecError, ("max_val", "min_val (1.0)")),
    Bad("ReLU", {"inplace": "yes"}, (1, 2, 3), SpecError, ("inplace", "'yes'"), torch=False),
]


@pytest.mark.parametrize("case", params(CASES))
def test_activation_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_activation_matches_torch(case):
    check_against_torch(case)


@pytest.mark.parametrize("case", params(ERRORS))
def test_activation_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_activation_errors_torch_refuses_too(case):
    check_torch_refuses(case)
