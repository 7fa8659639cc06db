"""add, mul (torch broadcasting) and concat (torch.cat) against torch.

add/mul: shapes align on the right, each size equal or 1 (torch's
broadcasting semantics); k inputs cost (k − 1) FLOPs per output element.
concat: every dim equal except ``dim`` (default 1, negative allowed), which
sums; no FLOPs. Merges of differently shaped tensors are evaluated directly
(the file format gives each layer one input tensor); the YAML tests below run
them inside real graphs.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest

import cnncalc
from cnncalc import ShapeError, SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params

CASES = [
    # ---------------------------------------------------------------- add / mul
    Case("add", {}, [(2, 3, 4, 4), (2, 3, 4, 4)], out=(2, 3, 4, 4), flops=(2 - 1) * 2 * 3 * 16),
    Case("add", {}, [(1, 8, 5), (1, 8, 5), (1, 8, 5)], out=(1, 8, 5), flops=(3 - 1) * 40),
    Case("mul", {}, [(2, 8, 4, 4), (2, 8, 1, 1)], out=(2, 8, 4, 4), flops=2 * 8 * 16,
         id="mul-squeeze-excitation-broadcast"),
    Case("add", {}, [(2, 3, 4, 5), (3, 1, 5)], out=(2, 3, 4, 5), flops=120, id="add-broadcast-lower-rank"),
    Case("add", {}, [(1, 3, 1, 5), (2, 1, 4, 1)], out=(2, 3, 4, 5), flops=120, id="add-broadcast-both-ways"),
    Case("mul", {}, [(2, 1, 4), (1, 1, 1)], out=(2, 1, 4), flops=8),
    Case("mul", {}, [(2, 3, 4), (2, 3, 4), (1, 3, 1)], out=(2, 3, 4), flops=(3 - 1) * 24),
    Case("add", {}, [(4, 10), (10,)], out=(4, 10), flops=40),
    # ----------------------------------------------------------------- concat
    Case("concat", {}, [(2, 3, 4, 4), (2, 5, 4, 4)], out=(2, 3 + 5, 4, 4)),
    Case("concat", {"dim": -1}, [(2, 3, 4, 2), (2, 3, 4, 6)], out=(2, 3, 4, 2 + 6), id="concat-negative-dim"),
    Case("concat", {"dim": 0}, [(2, 3, 4), (1, 3, 4)], out=(2 + 1, 3, 4), id="concat-batch-dim"),
    Case("concat", {"dim": 1}, [(1, 64, 7, 7), (1, 96, 7, 7), (1, 32, 7, 7)], out=(1, 64 + 96 + 32, 7, 7),
         id="concat-inception-branches"),
    Case("concat", {"dim": 2}, [(1, 2, 3, 4), (1, 2, 5, 4)], out=(1, 2, 3 + 5, 4)),
    Case("concat", {"dim": -3}, [(1, 2, 3, 4, 4), (1, 2, 1, 4, 4)], out=(1, 2, 3 + 1, 4, 4)),
]

ERRORS = [
    Bad("concat", {}, [(2, 3, 4, 4), (2, 3, 5, 4)], ShapeError, ("dimension 2", "4 and 5")),
    Bad("concat", {"dim": 2}, [(2, 3, 4, 4), (2, 5, 4, 4)], ShapeError, ("dimension 1", "3 and 5")),
    Bad("concat", {}, [(2, 3, 4, 4), (2, 3, 4)], ShapeError, ("same rank", "[2, 3, 4, 4]", "[2, 3, 4]")),
    Bad("concat", {"dim": 4}, [(2, 3, 4, 4), (2, 3, 4, 4)], ShapeError, ("dim 4", "4-d")),
    Bad("concat", {"dim": 1.5}, [(2, 3), (2, 3)], SpecError, ("dim", "1.5")),
    Bad("add", {}, [(2, 3, 4, 4), (2, 3, 5, 4)], ShapeError, ("do not broadcast", "4", "5")),
    Bad("mul", {}, [(2, 3), (2, 4)], ShapeError, ("[2, 3]", "[2, 4]", "3", "4")),
    Bad("add", {}, [(2, 3, 4), (3, 1, 5)], ShapeError, ("[2, 3, 4]", "[3, 1, 5]")),
    Bad("add", {"alpha": 2}, [(2, 3), (2, 3)], SpecError, ("alpha",), torch=False),
]


@pytest.mark.parametrize("case", params(CASES))
def test_merge_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_merge_matches_torch(case):
    check_against_torch(case)


@pytest.mark.parametrize("case", params(ERRORS))
def test_merge_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_merge_errors_torch_refuses_too(case):
    check_torch_refuses(case)


# ------------------------------------------------------------ inside a graph

RESIDUAL = """
input: [4, 8, 8]
batch: 2
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: a}
  - Conv2d: {out_channels: 4, kernel_size: 1, from: input, name: b}
  - add: {from: [a, b]}
"""


def test_add_in_a_graph():
    report = cnncalc.analyze(cnncalc.loads(RESIDUAL))
    row = report.layers[-1]
    assert row.output_shape == (2, 4, 8, 8)
    assert row.flops == (2 - 1) * 2 * 4 * 8 * 8
    # both branches are centred on the same pixel (start 0, jump 1): aligned, the wider field wins
    field = report.receptive_field
    assert field.size == (3, 3) and field.jump == (1, 1) and field.start == (0, 0)
    assert field.aligned


def test_add_of_misaligned_branches():
    """A 2x2 stride-2 pool (start ½) against a 1x1 stride-2 conv (start 0): not aligned."""
    report = cnncalc.analyze(cnncalc.loads("""
input: [4, 8, 8]
layers:
  - AvgPool2d: {kernel_size: 2, name: pool}
  - Conv2d: {out_channels: 4, kernel_size: 1, stride: 2, from: input, name: conv}
  - add: {from: [pool, conv]}
"""))
    field = report.receptive_field
    assert report.output_shape == (1, 4, 4, 4)
    assert field.size == (2, 2) and field.jump == (2, 2) and field.start == (F(1, 2), F(1, 2))
    assert not field.aligned


def test_concat_in_a_graph_negative_dim():
    report = cnncalc.analyze(cnncalc.loads("""
input: [3, 6, 6]
layers:
  - Conv2d: {out_channels: 2, kernel_size: 1, name: a}
  - Conv2d: {out_channels: 2, kernel_size: 3, padding: [1, 0], from: input, name: b}
  - concat: {from: [a, b], dim: -1}
"""))
    assert report.output_shape == (1, 2, 6, 6 + (6 - 3 + 1))
    assert report.layers[-1].flops == 0


def test_concat_mismatch_in_a_graph_names_the_layer():
    with pytest.raises(ShapeError) as info:
        cnncalc.analyze(cnncalc.loads("""
input: [3, 8, 8]
layers:
  - Conv2d: {out_channels: 2, kernel_size: 3, name: a}
  - Conv2d: {out_channels: 2, kernel_size: 1, from: input, name: b}
  - concat: {from: [a, b], name: joined}
"""))
    assert info.value.path == "joined"
    assert "6" in info.value.message and "8" in info.value.message
