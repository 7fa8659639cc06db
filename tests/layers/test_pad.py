"""Zero/Constant/Reflection/Replication/CircularPad 1d/2d/3d against the torch docs.

padding: an int, or (left, right[, top, bottom[, front, back]]), the last
dimension first; each padded size is L + left + right (a negative pad crops).
No params, no FLOPs. Field: c_out = c_in − left, size and jump unchanged.
torch's limits: reflection pad < L; circular pad ≤ L; reflect/replicate/
circular take a (rank + 1)-d or (rank + 2)-d input, zero/constant any rank
with at least rank dimensions.
"""

from __future__ import annotations

import pytest

from cnncalc import ShapeError, SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params

CASES = [
    # ----------------------------------------------------------- zero / constant
    Case("ZeroPad2d", {"padding": 1}, (1, 3, 4, 4),
         out=(1, 3, 4 + 1 + 1, 4 + 1 + 1),
         rf=[(1, 1, -1), (1, 1, -1)]),
    Case("ZeroPad2d", {"padding": [1, 2, 3, 4]}, (1, 3, 4, 5),      # (left, right, top, bottom)
         out=(1, 3, 4 + 3 + 4, 5 + 1 + 2),
         rf=[(1, 1, -3), (1, 1, -1)]),
    Case("ZeroPad2d", {"padding": [-1, -1, 0, -2]}, (1, 1, 5, 5),   # a crop
         out=(1, 1, 5 + 0 - 2, 5 - 1 - 1),
         rf=[(1, 1, 0), (1, 1, 1)], id="ZeroPad2d-negative-crop"),
    Case("ZeroPad1d", {"padding": [2, -1]}, (1, 2, 6),
         out=(1, 2, 6 + 2 - 1),
         rf=[(1, 1, -2)]),
    Case("ZeroPad1d", {"padding": [-2, 3]}, (1, 1, 2),
         out=(1, 1, 2 - 2 + 3), id="ZeroPad1d-crop-all-then-pad"),      # the crop may leave 0
    Case("ZeroPad3d", {"padding": 1}, (1, 1, 2, 3, 4),
         out=(1, 1, 2 + 2, 3 + 2, 4 + 2),
         rf=[(1, 1, -1)] * 3),
    Case("ConstantPad1d", {"padding": [1, 2], "value": 3.5}, (2, 3, 4),
         out=(2, 3, 4 + 1 + 2)),
    Case("ConstantPad2d", {"padding": 2, "value": -1.0}, (1, 1, 3, 3),
         out=(1, 1, 7, 7)),
    Case("ConstantPad3d", {"padding": [1, 0, 0, 1, 2, 2], "value": 0.0}, (1, 1, 2, 2, 2),
         out=(1, 1, 2 + 2 + 2, 2 + 0 + 1, 2 + 1 + 0),
         rf=[(1, 1, -2), (1, 1, 0), (1, 1, -1)]),
    Case("ConstantPad2d", {"padding": [0, 0, -1, -1], "value": 1.0}, (2, 2, 4, 3),
         out=(2, 2, 4 - 2, 3)),
    # a constant pad takes any rank: on a 5-d input ZeroPad2d pads H and W only
    Case("ZeroPad2d", {"padding": 1}, (1, 2, 3, 4, 5),
         out=(1, 2, 3, 4 + 2, 5 + 2),
         rf=[(1, 1, 0), (1, 1, -1), (1, 1, -1)], id="ZeroPad2d-on-5d"),
    # on (N, C, L) ZeroPad2d pads C and L, as torch does; only L is a spatial axis
    Case("ZeroPad2d", {"padding": [1, 1, 2, 0]}, (1, 2, 8),
         out=(1, 2 + 2 + 0, 8 + 1 + 1),
         rf=[(1, 1, -1)], id="ZeroPad2d-on-3d-pads-channels"),
    Case("ZeroPad1d", {"padding": 1}, (2, 4),                       # (N, C): after Flatten
         out=(2, 4 + 2)),
    # ---------------------------------------------------------------- reflection
    Case("ReflectionPad1d", {"padding": 2}, (1, 2, 3),
         out=(1, 2, 3 + 2 + 2),                                     # 2 < 3
         rf=[(1, 1, -2)]),
    Case("ReflectionPad2d", {"padding": [1, 1, 2, 0]}, (1, 1, 3, 3),
         out=(1, 1, 3 + 2, 3 + 2),
         rf=[(1, 1, -2), (1, 1, -1)]),
    Case("ReflectionPad2d", {"padding": [-1, 2, 0, 0]}, (1, 1, 4, 4),
         out=(1, 1, 4, 4 - 1 + 2), id="ReflectionPad2d-negative-crop"),
    Case("ReflectionPad2d", {"padding": 1}, (1, 4, 4),               # (N, C, L): torch pads C and L
         out=(1, 4 + 2, 4 + 2),
         rf=[(1, 1, -1)], id="ReflectionPad2d-on-3d-pads-channels"),
    Case("ReflectionPad3d", {"padding": 1}, (1, 1, 2, 2, 2),
         out=(1, 1, 4, 4, 4)),
    # --------------------------------------------------------------- replication
    Case("ReplicationPad1d", {"padding": [3, 0]}, (1, 1, 1),
         out=(1, 1, 1 + 3),                                         # no bound on the pad
         rf=[(1, 1, -3)]),
    Case("ReplicationPad1d", {"padding": [-1, 2]}, (1, 1, 4),
         out=(1, 1, 4 - 1 + 2), id="ReplicationPad1d-negative-crop"),
    Case("ReplicationPad2d", {"padding": 2}, (1, 1, 2, 2),
         out=(1, 1, 6, 6)),
    Case("ReplicationPad3d", {"padding": [0, 1, 0, 1, 0, 1]}, (2, 3, 2, 2, 2),
         out=(2, 3, 3, 3, 3),
         rf=[(1, 1, 0)] * 3),
    # ------------------------------------------------------------------ circular
    Case("CircularPad1d", {"padding": 3}, (1, 1, 3),
         out=(1, 1, 3 + 3 + 3),                                     # pad = L is allowed
         rf=[(1, 1, -3)]),
    Case("CircularPad2d", {"padding": [1, 2, 0, 1]}, (1, 2, 3, 3),
         out=(1, 2, 3 + 0 + 1, 3 + 1 + 2)),
    Case("CircularPad1d", {"padding": [-1, 2]}, (1, 1, 4),
         out=(1, 1, 4 - 1 + 2), id="CircularPad1d-negative-crop"),
    Case("CircularPad3d", {"padding": 1}, (1, 1, 2, 2, 2),
         out=(1, 1, 4, 4, 4)),
]

ERRORS = [
    Bad("ReflectionPad1d", {"padding": 3}, (1, 2, 3), ShapeError, ("reflection padding 3", "input size 3")),
    Bad("ReflectionPad2d", {"padding": [0, 0, 4, 0]}, (1, 1, 4, 8), ShapeError, ("reflection padding 4", "size 4")),
    Bad("ReflectionPad3d", {"padding": 1}, (1, 1, 1, 4, 4), ShapeError, ("reflection padding 1", "size 1")),
    Bad("CircularPad1d", {"padding": 4}, (1, 1, 3), ShapeError, ("circular padding 4", "input size 3")),
    Bad("CircularPad2d", {"padding": [0, 0, 0, 3]}, (1, 1, 2, 5), ShapeError, ("circular padding 3", "size 2")),
    Bad("ZeroPad2d", {"padding": [-3, -3, 0, 0]}, (1, 1, 4, 4), ShapeError, ("(-3, -3)", "size 4")),
    # torch crops before it pads: a crop deeper than the size fails even if the pad would refill it
    Bad("ZeroPad1d", {"padding": [-3, 4]}, (1, 1, 2), ShapeError, ("(-3, 4)", "crops 3", "size 2"),
        id="ZeroPad1d-crop-deeper-than-size"),
    Bad("ConstantPad3d", {"padding": [3, -2, 0, 0, 4, 3], "value": 0.5}, (2, 2, 5, 9, 1), ShapeError,
        ("(3, -2)", "crops 2", "size 1")),
    Bad("ReflectionPad2d", {"padding": 1}, (1, 2, 3, 4, 5), ShapeError, ("3-d or 4-d", "5-d")),
    Bad("ReplicationPad1d", {"padding": 1}, (1, 2, 3, 4), ShapeError, ("2-d or 3-d", "4-d")),
    Bad("CircularPad2d", {"padding": 1}, (1, 2, 3, 4, 5), ShapeError, ("3-d or 4-d", "5-d")),
    Bad("ZeroPad2d", {"padding": [1, 2, 3]}, (1, 1, 4, 4), SpecError, ("4 integers", "[1, 2, 3]")),
    Bad("ConstantPad1d", {"padding": 1}, (1, 1, 4), SpecError, ("value",), id="ConstantPad1d-needs-value"),
    # torch would pad the batch dim of a 2-d (N, C) tensor; a file's dim 0 is always the batch
    Bad("ZeroPad2d", {"padding": 1}, (2, 4), ShapeError, ("3 or more", "2-d"), torch=False,
        id="ZeroPad2d-would-pad-the-batch"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_pad_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_pad_matches_torch(case):
    check_against_torch(case)


@pytest.mark.parametrize("case", params(ERRORS))
def test_pad_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_pad_errors_torch_refuses_too(case):
    check_torch_refuses(case)
