"""Max/Avg/LP pooling (1d/2d/3d) and adaptive pooling against the torch docs.

Shapes (torch.nn.MaxPool2d docs / ATen pooling_output_shape):
  L_out = ⌊(L + 2p − d(k − 1) − 1 [+ (s − 1) with ceil_mode]) / s⌋ + 1,
  minus one when ceil_mode makes the last window start in the right padding:
  (L_out − 1)·s ≥ L + p.
Adaptive bins (ATen): [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉) for i < O.
FLOPs per output (pool.py): max K − 1 comparisons, average K, LP 2K; adaptive
pools use the exact sum over bins of each window's volume.
"""

from __future__ import annotations

import pytest

from cnncalc import ShapeError, SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, check_torch_refuses, params

CASES = [
    # ---------------------------------------------------------------- MaxPool
    Case("MaxPool1d", {"kernel_size": 3, "stride": 2}, (1, 2, 9),
         out=(1, 2, (9 - 3) // 2 + 1),                              # 4
         flops=1 * 2 * 4 * (3 - 1),
         rf=[(3, 2, 1)]),
    Case("MaxPool1d", {"kernel_size": 2, "stride": 2, "ceil_mode": True}, (1, 2, 5),
         out=(1, 2, (5 - 2 + (2 - 1)) // 2 + 1),                    # 3 (floor mode: 2)
         flops=2 * 3 * 1,
         rf=[(2, 2, 0.5)]),
    # ceil_mode's extra window would start at 3·2 = 6 ≥ L + p = 6, inside the right padding: dropped
    Case("MaxPool1d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 5),
         out=(1, 2, (5 + 2 - 2 + 1) // 2 + 1 - 1),                  # 4 - 1 = 3
         flops=2 * 3 * 1, id="MaxPool1d-ceil-last-window-in-padding"),
    Case("MaxPool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 1),
         out=(1, 2, 1),                                             # (1 + 2 - 3 + 1) // 2 + 1 = 1
         flops=2 * 1 * 2),
    Case("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, (1, 64, 112, 112),
         out=(1, 64, (112 + 2 * 1 - 3) // 2 + 1, 56),
         flops=64 * 56 * 56 * (9 - 1),
         rf=[(3, 2, 1 - 1)] * 2, id="MaxPool2d-resnet"),
    Case("MaxPool2d", {"kernel_size": 3, "padding": 1, "dilation": 2}, (1, 1, 10, 10),
         out=(1, 1, (10 + 2 - 2 * 2 - 1) // 3 + 1, 3),              # stride defaults to kernel_size
         flops=1 * 3 * 3 * (9 - 1),
         rf=[(2 * 2 + 1, 3, 2 - 1)] * 2),
    Case("MaxPool2d", {"kernel_size": [2, 3], "stride": [2, 1], "padding": [1, 1]}, (2, 3, 7, 6),
         out=(2, 3, (7 + 2 - 2) // 2 + 1, (6 + 2 - 3) // 1 + 1),    # 4 x 6
         flops=2 * 3 * 4 * 6 * (6 - 1),
         rf=[(2, 2, 0.5 - 1), (3, 1, 1 - 1)]),
    Case("MaxPool2d", {"kernel_size": 2, "ceil_mode": True}, (1, 1, 7, 7),
         out=(1, 1, (7 - 2 + 1) // 2 + 1, 4),                       # floor mode: 3
         flops=16 * 3),
    Case("MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, (1, 2, 2, 2),
         out=(1, 2, 1, 1),                                          # the window overhangs the input
         flops=2 * 8),
    Case("MaxPool2d", {"kernel_size": 4, "stride": 2, "padding": 2}, (1, 1, 8, 8),
         out=(1, 1, (8 + 4 - 4) // 2 + 1, 5),                       # padding = kernel / 2 is allowed
         flops=25 * 15),
    Case("MaxPool3d", {"kernel_size": 2}, (1, 2, 4, 6, 8),
         out=(1, 2, 2, 3, 4),
         flops=2 * 2 * 3 * 4 * (8 - 1),
         rf=[(2, 2, 0.5)] * 3),
    Case("MaxPool3d", {"kernel_size": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1], "ceil_mode": True},
         (1, 2, 3, 8, 8),
         out=(1, 2, 3, (8 + 2 - 3 + 1) // 2 + 1, 5),                # 5 > 4·2 = 8 ≥ 8 + 1? no: kept
         flops=2 * 3 * 5 * 5 * (9 - 1)),
    Case("MaxPool3d", {"kernel_size": 2, "stride": 1, "dilation": [1, 2, 3]}, (1, 1, 5, 5, 5),
         out=(1, 1, 5 - 1, 5 - 2, 5 - 3),
         flops=4 * 3 * 2 * 7,
         rf=[(2, 1, 0.5), (3, 1, 1), (4, 1, 1.5)]),
    # ---------------------------------------------------------------- AvgPool
    Case("AvgPool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, (1, 2, 9),
         out=(1, 2, (9 + 2 - 3) // 2 + 1),                          # 5
         flops=2 * 5 * 3,
         rf=[(3, 2, 0)]),
    Case("AvgPool1d", {"kernel_size": 4, "ceil_mode": True}, (2, 1, 10),
         out=(2, 1, (10 - 4 + 3) // 4 + 1),                         # 3
         flops=2 * 3 * 4),
    Case("AvgPool2d", {"kernel_size": 2}, (2, 3, 8, 8),
         out=(2, 3, 4, 4),
         flops=2 * 3 * 16 * 4,
         rf=[(2, 2, 0.5)] * 2),
    Case("AvgPool2d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 5, 5),
         out=(1, 2, (5 + 2 - 2 + 1) // 2 + 1 - 1, 3),               # last window would start in the padding
         flops=2 * 9 * 4, id="AvgPool2d-ceil-last-window-in-padding"),
    Case("AvgPool2d", {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False,
                       "divisor_override": 2}, (1, 4, 6, 6),
         out=(1, 4, 6, 6),
         flops=4 * 36 * 9,
         rf=[(3, 1, 0)] * 2),
    Case("AvgPool3d", {"kernel_size": [1, 2, 2]}, (1, 8, 4, 6, 6),
         out=(1, 8, 4, 3, 3),
         flops=8 * 4 * 3 * 3 * 4,
         rf=[(1, 1, 0), (2, 2, 0.5), (2, 2, 0.5)]),
    Case("AvgPool3d", {"kernel_size": 3, "padding": 1}, (1, 1, 3, 3, 3),
         out=(1, 1, (3 + 2 - 3) // 3 + 1, 1, 1),                     # the unpadded input may equal the kernel
         flops=1 * 27),
    Case("AvgPool2d", {"kernel_size": 3, "padding": 1}, (1, 1, 2, 3),
         out=(1, 1, (2 + 2 - 3) // 3 + 1, 1),                       # 2d has no unpadded-input check
         flops=9),
    Case("MaxPool3d", {"kernel_size": 3, "padding": 1}, (1, 1, 2, 3, 3),
         out=(1, 1, (2 + 2 - 3) // 3 + 1, 1, 1),                     # nor does max pooling
         flops=27 - 1),
    Case("AvgPool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 1, 4, 5, 6),
         out=(1, 1, (4 + 2 - 3 + 1) // 2 + 1, (5 + 2 - 3 + 1) // 2 + 1, (6 + 2 - 3 + 1) // 2 + 1),   # 3 3 4
         flops=3 * 3 * 4 * 27),
    # ---------------------------------------------------------------- LPPool
    Case("LPPool1d", {"norm_type": 2, "kernel_size": 3, "stride": 2}, (1, 2, 9),
         out=(1, 2, (9 - 3) // 2 + 1),
         flops=2 * 4 * (2 * 3),
         rf=[(3, 2, 1)]),
    Case("LPPool1d", {"norm_type": 1.5, "kernel_size": 3, "ceil_mode": True}, (1, 2, 4),
         out=(1, 2, (4 - 3 + 2) // 3 + 1),                          # 2
         flops=2 * 2 * 6),
    Case("LPPool2d", {"norm_type": 2, "kernel_size": 2}, (1, 3, 8, 8),
         out=(1, 3, 4, 4),
         flops=3 * 16 * (2 * 4)),
    Case("LPPool2d", {"norm_type": 3, "kernel_size": [3, 2], "stride": 2, "ceil_mode": True}, (1, 1, 8, 8),
         out=(1, 1, (8 - 3 + 1) // 2 + 1, (8 - 2 + 1) // 2 + 1),    # 4 x 4
         flops=16 * (2 * 6)),
    Case("LPPool3d", {"norm_type": 2, "kernel_size": 2}, (1, 2, 4, 4, 4),
         out=(1, 2, 2, 2, 2),
         flops=2 * 8 * (2 * 8)),
    # ---------------------------------------------------------------- adaptive
    Case("AdaptiveAvgPool2d", {"output_size": 1}, (2, 512, 7, 7),
         out=(2, 512, 1, 1),
         flops=2 * 512 * (7 * 7),
         rf="global", id="AdaptiveAvgPool2d-global"),
    # bins of 7 into 3: [0, 3) [2, 5) [4, 7): three windows of 3
    Case("AdaptiveAvgPool1d", {"output_size": 3}, (1, 2, 7),
         out=(1, 2, 3),
         flops=1 * 2 * (3 + 3 + 3)),
    # 5 into 3 (H): [0, 2) [1, 4) [3, 5) = 2 + 3 + 2; 6 into 4 (W): [0, 2) [1, 3) [3, 5) [4, 6) = 2 · 4
    Case("AdaptiveAvgPool2d", {"output_size": [3, 4]}, (1, 2, 5, 6),
         out=(1, 2, 3, 4),
         flops=2 * (2 + 3 + 2) * (2 * 4)),
    Case("AdaptiveAvgPool2d", {"output_size": [3, None]}, (1, 1, 10, 6),
         out=(1, 1, 3, 6),                                          # None keeps W
         flops=1 * (4 + 4 + 4) * 6),                                # 10 into 3: [0,4) [3,7) [6,10)
    Case("AdaptiveAvgPool1d", {"output_size": 5}, (1, 1, 3),
         out=(1, 1, 5),                                             # more bins than inputs: they overlap
         flops=1 + 2 + 1 + 2 + 1),
    Case("AdaptiveAvgPool3d", {"output_size": 2}, (1, 1, 5, 5, 5),
         out=(1, 1, 2, 2, 2),
         flops=(3 + 3) ** 3),                                       # 5 into 2: [0, 3) [2, 5)
    Case("AdaptiveMaxPool1d", {"output_size": 1}, (1, 4, 10),
         out=(1, 4, 1),
         flops=4 * (10 - 1),
         rf="global"),
    # 5 into 2: [0, 3) [2, 5); 7 into 3: [0, 3) [2, 5) [4, 7): 6 windows of 9, 8 comparisons each
    Case("AdaptiveMaxPool2d", {"output_size": [2, 3]}, (1, 2, 5, 7),
         out=(1, 2, 2, 3),
         flops=2 * ((3 + 3) * (3 + 3 + 3) - 2 * 3)),
    Case("AdaptiveMaxPool2d", {"output_size": 7}, (1, 3, 7, 7),
         out=(1, 3, 7, 7),                                          # already the size: windows of 1
         flops=0,
         rf=[(1, 1, 0)] * 2),
    Case("AdaptiveMaxPool3d", {"output_size": [1, None, 2]}, (1, 2, 4, 4, 4),
         out=(1, 2, 1, 4, 2),
         flops=2 * (4 * 4 * (2 + 2) - 1 * 4 * 2)),
]

ERRORS = [
    Bad("MaxPool2d", {"kernel_size": 3, "padding": 2}, (1, 1, 8, 8), SpecError, ("kernel_size 3x3", "[2, 2]")),
    # torch bounds the padding by the kernel before dilation (3 // 2 = 1), not the dilated extent 5
    Bad("MaxPool2d", {"kernel_size": 3, "padding": 2, "dilation": 2}, (1, 1, 9, 9), SpecError,
        ("kernel_size 3x3", "[2, 2]"), id="MaxPool2d-dilated-padding-over-half-kernel"),
    Bad("MaxPool1d", {"kernel_size": 3, "padding": 2, "dilation": 2}, (1, 1, 9), SpecError,
        ("kernel_size 3", "[2]")),
    Bad("MaxPool3d", {"kernel_size": [3, 3, 2], "padding": [1, 1, 2]}, (1, 1, 9, 9, 9), SpecError,
        ("kernel_size 3x3x2", "[1, 1, 2]")),
    Bad("AvgPool2d", {"kernel_size": 2, "padding": 2}, (1, 1, 8, 8), SpecError, ("kernel_size 2x2", "[2, 2]")),
    Bad("AvgPool1d", {"kernel_size": 3, "padding": 2}, (1, 1, 8), SpecError, ("kernel_size 3", "[2]")),
    Bad("MaxPool2d", {"kernel_size": 3}, (1, 1, 2, 2), ShapeError, ("too small", "window 3x3", "input 2x2")),
    Bad("MaxPool1d", {"kernel_size": 5, "dilation": 2}, (1, 1, 8), ShapeError,
        ("too small", "dilated window 9", "input 8")),
    Bad("LPPool2d", {"norm_type": 2, "kernel_size": 4}, (1, 1, 3, 8), ShapeError, ("too small", "input 3x8")),
    # torch's avg_pool3d refuses an input smaller than the kernel before padding
    Bad("AvgPool3d", {"kernel_size": 3, "padding": 1}, (1, 1, 2, 3, 3), ShapeError,
        ("input 2x3x3", "kernel_size 3x3x3"), id="AvgPool3d-unpadded-input-smaller-than-kernel"),
    Bad("LPPool3d", {"norm_type": 2, "kernel_size": 2}, (1, 1, 1, 3, 3), ShapeError,
        ("input 1x3x3", "kernel_size 2x2x2"), id="LPPool3d-unpadded-input-smaller-than-kernel"),
    Bad("MaxPool2d", {"kernel_size": 2}, (1, 2, 3, 8, 8), ShapeError, ("4-d", "5-d")),
    # torch would read these as unbatched (C, H, W) / (H, W); cnncalc's dim 0 is always the batch
    Bad("MaxPool2d", {"kernel_size": 2}, (1, 2, 8), ShapeError, ("4-d", "3-d"), torch=False,
        id="MaxPool2d-3d-unbatched-in-torch"),
    Bad("AvgPool1d", {"kernel_size": 2}, (1, 2, 8, 8), ShapeError, ("3-d", "4-d")),
    Bad("AdaptiveAvgPool2d", {"output_size": 1}, (1, 8), ShapeError, ("4-d", "2-d"), torch=False,
        id="AdaptiveAvgPool2d-after-Flatten-unbatched-in-torch"),
    Bad("AdaptiveAvgPool2d", {"output_size": 2}, (1, 2, 3, 4, 4), ShapeError, ("4-d", "5-d")),
    Bad("AdaptiveMaxPool3d", {"output_size": [1, 2]}, (1, 1, 4, 4, 4), SpecError, ("output_size", "[1, 2]")),
    Bad("MaxPool2d", {"kernel_size": 2, "stride": 0}, (1, 1, 4, 4), SpecError, ("stride", "0")),
]


@pytest.mark.parametrize("case", params(CASES))
def test_pool_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_pool_matches_torch(case):
    check_against_torch(case)


@pytest.mark.parametrize("case", params(ERRORS))
def test_pool_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_pool_errors_torch_refuses_too(case):
    check_torch_refuses(case)


def test_return_indices_is_refused():
    """A file's layer returns one tensor; torch's (values, indices) tuple has no place in it."""
    with pytest.raises(SpecError, match="return_indices"):
        check_case(Case("MaxPool2d", {"kernel_size": 2, "return_indices": True}, (1, 1, 4, 4), out=(1, 1, 2, 2)))
