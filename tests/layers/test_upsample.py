"""Upsample (every mode, size or scale_factor) against the torch docs.

Output size: ``size``, or ⌊L · scale_factor⌋ in double precision.
Mode ranks: linear 3-d, bilinear/bicubic 4-d, trilinear 5-d; nearest and
nearest-exact 3-d to 5-d. align_corners only with the interpolating modes.
FLOPs per output element (upsample.py): nearest 0, linear 3 (a + t·(b − a)),
bilinear 3·3 = 9, trilinear 7·3 = 21, bicubic 5·7 = 35.
Field (gradient rule): jump 1/scale; nearest adds no elements, the linear
modes one, bicubic three; align_corners: jump (L − 1)/(O − 1), start 0.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from cnncalc import ShapeError, SpecError

from .helpers import (
    Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params, rf_chain, check_field,
)

CASES = [
    # ---------------------------------------------------------------- nearest
    Case("Upsample", {"scale_factor": 2}, (1, 3, 4, 4),
         out=(1, 3, 4 * 2, 4 * 2), rf=[(1, F(1, 2), 0)] * 2),
    Case("Upsample", {"size": [6, 10]}, (1, 3, 4, 5),
         out=(1, 3, 6, 10), rf=[(1, F(4, 6), 0), (1, F(5, 10), 0)]),
    Case("Upsample", {"scale_factor": 1.5}, (1, 1, 5, 7),
         out=(1, 1, int(5 * 1.5), int(7 * 1.5)),                   # ⌊7.5⌋ = 7, ⌊10.5⌋ = 10
         rf=[(1, F(2, 3), 0)] * 2, id="Upsample-nearest-scale-1.5"),
    Case("Upsample", {"scale_factor": 0.5}, (1, 1, 8, 8), out=(1, 1, 4, 4), rf=[(1, 2, 0)] * 2),
    Case("Upsample", {"size": 7}, (2, 2, 3), out=(2, 2, 7)),
    Case("Upsample", {"scale_factor": 2}, (1, 1, 2, 3, 4), out=(1, 1, 4, 6, 8)),
    Case("Upsample", {"scale_factor": [1, 2]}, (1, 2, 3, 3), out=(1, 2, 3, 6), rf=[(1, 1, 0), (1, F(1, 2), 0)]),
    Case("Upsample", {"scale_factor": 1.5, "recompute_scale_factor": True}, (1, 1, 5, 7),
         out=(1, 1, 7, 10)),
    Case("Upsample", {"scale_factor": 2, "mode": "nearest-exact"}, (1, 2, 5), out=(1, 2, 10)),
    Case("Upsample", {"size": [5, 5], "mode": "nearest-exact"}, (1, 2, 3, 4), out=(1, 2, 5, 5)),
    # ---------------------------------------------------------------- linear
    Case("Upsample", {"scale_factor": 2, "mode": "linear"}, (1, 2, 5),
         out=(1, 2, 10), flops=2 * 10 * 3),
    Case("Upsample", {"size": 9, "mode": "linear", "align_corners": True}, (1, 1, 5),
         out=(1, 1, 9), flops=9 * 3, rf=[(2, F(5 - 1, 9 - 1), 0)]),
    Case("Upsample", {"scale_factor": 2, "mode": "bilinear"}, (1, 3, 4, 4),
         out=(1, 3, 8, 8), flops=3 * 64 * 9),
    Case("Upsample", {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True}, (1, 1, 5, 7),
         out=(1, 1, 7, 10), flops=70 * 9, rf=[(2, F(5 - 1, 7 - 1), 0), (2, F(7 - 1, 10 - 1), 0)]),
    Case("Upsample", {"size": [7, 9], "mode": "bicubic"}, (1, 2, 4, 5),
         out=(1, 2, 7, 9), flops=2 * 63 * 35),
    Case("Upsample", {"scale_factor": 2, "mode": "bicubic", "align_corners": False}, (1, 1, 3, 3),
         out=(1, 1, 6, 6), flops=36 * 35),
    Case("Upsample", {"scale_factor": 2, "mode": "trilinear"}, (1, 1, 2, 3, 4),
         out=(1, 1, 4, 6, 8), flops=4 * 6 * 8 * 21),
    Case("Upsample", {"scale_factor": [1, 2, 2], "mode": "trilinear", "align_corners": True}, (1, 2, 2, 3, 3),
         out=(1, 2, 2, 6, 6), flops=2 * 2 * 36 * 21),
]

ERRORS = [
    Bad("Upsample", {"size": 8, "scale_factor": 2}, (1, 1, 4, 4), SpecError, ("size", "scale_factor")),
    Bad("Upsample", {}, (1, 1, 4, 4), SpecError, ("size", "scale_factor"), id="Upsample-neither-size-nor-scale"),
    Bad("Upsample", {"scale_factor": 2, "align_corners": True}, (1, 1, 4, 4), SpecError,
        ("align_corners", "linear", "True")),
    Bad("Upsample", {"scale_factor": 2, "mode": "linear"}, (1, 1, 4, 4), ShapeError, ("'linear'", "3-d", "4-d")),
    Bad("Upsample", {"scale_factor": 2, "mode": "bilinear"}, (1, 1, 4), ShapeError, ("'bilinear'", "4-d", "3-d")),
    Bad("Upsample", {"scale_factor": 2, "mode": "bicubic"}, (1, 1, 2, 4, 4), ShapeError, ("'bicubic'", "4-d", "5-d")),
    Bad("Upsample", {"scale_factor": 2, "mode": "trilinear"}, (1, 1, 4, 4), ShapeError, ("'trilinear'", "5-d", "4-d")),
    Bad("Upsample", {"size": [4, 4]}, (1, 1, 5), ShapeError, ("2 values", "1 spatial")),
    Bad("Upsample", {"scale_factor": [2, 2, 2]}, (1, 1, 4, 4), ShapeError, ("3 values", "2 spatial")),
    Bad("Upsample", {"scale_factor": 0.4}, (1, 1, 2), ShapeError, ("would be 0", "from 2")),
    Bad("Upsample", {"scale_factor": 2}, (2, 8), ShapeError, ("[2, 8]",), id="Upsample-after-Flatten"),
    Bad("Upsample", {"scale_factor": 2, "mode": "cubic"}, (1, 1, 4, 4), SpecError, ("'cubic'", "'bicubic'")),
]


@pytest.mark.parametrize("case", params(CASES))
def test_upsample_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_upsample_matches_torch(case):
    check_against_torch(case)


@pytest.mark.parametrize("case", params(ERRORS))
def test_upsample_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_upsample_errors_torch_refuses_too(case):
    check_torch_refuses(case)


def test_nearest_upsample_then_conv_field():
    """×2 nearest then a 3x3 conv (pad 1): output j reads upsampled j−1 … j+1, which read
    inputs ⌊(j−1)/2⌋ … ⌊(j+1)/2⌋: output 0 sees inputs −1 … 0, so r = 2 and its centre is −½
    (outputs 1, 2, 3 are centred at ½, ½, 3/2: not evenly spaced, S = ½ on average).
    Distill's affine recurrence would say c = 0; the gradient says −½."""
    field = rf_chain([1, 8, 8], ["Upsample: {scale_factor: 2}",
                                 "Conv2d: {out_channels: 1, kernel_size: 3, padding: 1}"])
    check_field(field, [(2, F(1, 2), F(-1, 2))] * 2)


def test_nearest_upsample_undoes_a_stride():
    """A stride-2 conv then ×2 nearest: S = 2 · ½ = 1, size unchanged (3)."""
    field = rf_chain([1, 8, 8], ["Conv2d: {out_channels: 1, kernel_size: 3, stride: 2, padding: 1}",
                                 "Upsample: {scale_factor: 2}"])
    check_field(field, [(3, 2 * F(1, 2), 0)] * 2)
