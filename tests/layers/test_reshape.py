"""Flatten, Unflatten, PixelShuffle, PixelUnshuffle, ChannelShuffle against the torch docs.

No params or FLOPs. Flatten merges start_dim..end_dim (default 1..−1);
Unflatten splits dim into unflattened_size (one −1 inferred); PixelShuffle
(*, C·r², H, W) → (*, C, H·r, W·r); PixelUnshuffle the inverse; ChannelShuffle
keeps the shape (C divisible by groups). torch reads the last three dims as
(C, H, W): on a 3-d (N, C, L) tensor the batch plays C.
Field: Flatten over a spatial axis is global; PixelShuffle acts like nearest
upsampling (jump 1/r); PixelUnshuffle like an r-window with stride r.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from cnncalc import ShapeError, SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params

CASES = [
    # --------------------------------------------------------------- Flatten
    Case("Flatten", {}, (2, 64, 1, 1), out=(2, 64 * 1 * 1), rf="global"),
    Case("Flatten", {"start_dim": 2}, (2, 3, 4, 5), out=(2, 3, 4 * 5), rf="global"),
    Case("Flatten", {"start_dim": 0, "end_dim": 1}, (2, 3, 4, 5), out=(2 * 3, 4, 5), rf=[(1, 1, 0)] * 2),
    Case("Flatten", {"start_dim": -3, "end_dim": -2}, (2, 3, 4, 5), out=(2, 3 * 4, 5), rf="global"),
    Case("Flatten", {"start_dim": 1, "end_dim": 1}, (2, 3, 4), out=(2, 3, 4), rf=[(1, 1, 0)]),
    Case("Flatten", {}, (2, 8), out=(2, 8)),
    Case("Flatten", {}, (1, 2, 3, 4, 5), out=(1, 2 * 3 * 4 * 5)),
    # ------------------------------------------------------------- Unflatten
    Case("Unflatten", {"dim": 1, "unflattened_size": [4, 4]}, (2, 16, 5), out=(2, 4, 4, 5)),
    Case("Unflatten", {"dim": -1, "unflattened_size": [-1, 2]}, (2, 3, 8), out=(2, 3, 8 // 2, 2)),
    Case("Unflatten", {"dim": 1, "unflattened_size": [3, 4]}, (2, 12), out=(2, 3, 4)),      # after Flatten
    Case("Unflatten", {"dim": 2, "unflattened_size": [5]}, (2, 3, 5), out=(2, 3, 5), rf=[(1, 1, 0)]),
    # ---------------------------------------------------------- PixelShuffle
    Case("PixelShuffle", {"upscale_factor": 2}, (1, 8, 3, 4),
         out=(1, 8 // (2 * 2), 3 * 2, 4 * 2), rf=[(1, F(1, 2), 0)] * 2),
    Case("PixelShuffle", {"upscale_factor": 3}, (2, 18, 2, 2), out=(2, 2, 6, 6)),
    Case("PixelShuffle", {"upscale_factor": 1}, (2, 5, 2, 2), out=(2, 5, 2, 2), rf=[(1, 1, 0)] * 2),
    # 5-d: the last three dims are (C, H, W); D plays the channels
    Case("PixelShuffle", {"upscale_factor": 3}, (1, 2, 9, 2, 2), out=(1, 2, 9 // 9, 6, 6)),
    # 3-d (N, C, L): torch's C is the batch, H the channels; L is the one spatial axis
    Case("PixelShuffle", {"upscale_factor": 2}, (4, 8, 3), out=(4 // 4, 8 * 2, 3 * 2),
         rf=[(1, F(1, 2), 0)], id="PixelShuffle-on-3d"),
    # -------------------------------------------------------- PixelUnshuffle
    Case("PixelUnshuffle", {"downscale_factor": 2}, (1, 2, 4, 6),
         out=(1, 2 * 2 * 2, 4 // 2, 6 // 2), rf=[(2, 2, F(1, 2))] * 2),
    Case("PixelUnshuffle", {"downscale_factor": 3}, (2, 1, 9, 3), out=(2, 9, 3, 1)),
    Case("PixelUnshuffle", {"downscale_factor": 2}, (1, 4, 6), out=(1 * 4, 4 // 2, 6 // 2),
         rf=[(2, 2, F(1, 2))], id="PixelUnshuffle-on-3d"),
    # -------------------------------------------------------- ChannelShuffle
    Case("ChannelShuffle", {"groups": 2}, (1, 4, 3, 3), out=(1, 4, 3, 3), rf=[(1, 1, 0)] * 2),
    Case("ChannelShuffle", {"groups": 3}, (2, 6, 5), out=(2, 6, 5)),
    Case("ChannelShuffle", {"groups": 4}, (1, 8, 2, 2, 2), out=(1, 8, 2, 2, 2)),
]

ERRORS = [
    Bad("Flatten", {"start_dim": 4}, (1, 2, 3, 4), ShapeError, ("start_dim 4", "4-d")),
    Bad("Flatten", {"end_dim": -5}, (1, 2, 3, 4), ShapeError, ("end_dim -5", "4-d")),
    Bad("Flatten", {"start_dim": 2, "end_dim": 1}, (1, 2, 3, 4), ShapeError, ("start_dim 2", "end_dim 1")),
    Bad("Unflatten", {"dim": 1, "unflattened_size": [3, 5]}, (2, 16, 4), ShapeError, ("15", "16")),
    Bad("Unflatten", {"dim": 1, "unflattened_size": [-1, 3]}, (2, 16, 4), ShapeError, ("[-1, 3]", "16")),
    Bad("Unflatten", {"dim": 3, "unflattened_size": [2, 2]}, (2, 16, 4), ShapeError, ("dim 3", "3-d")),
    Bad("Unflatten", {"dim": 1, "unflattened_size": [-1, -1]}, (2, 16, 4), SpecError, ("-1",)),
    Bad("PixelShuffle", {"upscale_factor": 2}, (1, 6, 3, 3), ShapeError, ("6 channels", "4")),
    Bad("PixelShuffle", {"upscale_factor": 2}, (1, 8), ShapeError, ("[1, 8]",), id="PixelShuffle-after-Flatten"),
    Bad("PixelUnshuffle", {"downscale_factor": 2}, (1, 2, 5, 4), ShapeError, ("spatial size 5", "2")),
    Bad("PixelUnshuffle", {"downscale_factor": 3}, (1, 2, 6, 4), ShapeError, ("spatial size 4", "3")),
    Bad("ChannelShuffle", {"groups": 3}, (1, 4, 3, 3), ShapeError, ("4 channels", "groups=3")),
    Bad("ChannelShuffle", {"groups": 2}, (2, 4), ShapeError, ("[2, 4]",), id="ChannelShuffle-after-Flatten"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_reshape_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_reshape_matches_torch(case):
    check_against_torch(case)


@pytest.mark.parametrize("case", params(ERRORS))
def test_reshape_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_reshape_errors_torch_refuses_too(case):
    check_torch_refuses(case)
