"""Conv1d/2d/3d and ConvTranspose1d/2d/3d against the torch docs.

Shapes (torch.nn.Conv2d docs):
  L_out = ⌊(L + 2p − d(k − 1) − 1) / s⌋ + 1
  transposed: L_out = (L − 1)s − 2p + d(k − 1) + output_padding + 1
params: C_out · C_in/groups · ∏k (+ C_out bias); transposed: C_in · C_out/groups · ∏k.
MACs: N · C_out · ∏L_out · C_in/groups · ∏k; transposed: N · C_in · ∏L_in · C_out/groups · ∏k.
FLOPs: 2 · MACs + one bias add per output element.
Field (one layer on the input): size d(k − 1) + 1, jump s, start d(k − 1)/2 − p_left.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from cnncalc import ShapeError, SpecError

from .helpers import (
    Bad, Case, check_against_torch, check_bad, check_case, check_field, check_torch_refuses, params, rf_chain,
)

CASES = [
    # ---------------------------------------------------------------- Conv1d
    Case("Conv1d", {"out_channels": 8, "kernel_size": 3}, (2, 4, 10),
         out=(2, 8, 10 - 3 + 1),
         params=8 * 4 * 3 + 8,
         macs=2 * 8 * 8 * 4 * 3,
         flops=2 * (2 * 8 * 8 * 4 * 3) + 2 * 8 * 8,
         rf=[(3, 1, 1)]),
    Case("Conv1d", {"out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1}, (1, 4, 11),
         out=(1, 8, (11 + 2 * 1 - 3) // 2 + 1),                     # 6
         params=8 * 4 * 3 + 8,
         macs=1 * 8 * 6 * 4 * 3,
         flops=2 * (1 * 8 * 6 * 4 * 3) + 8 * 6,
         rf=[(3, 2, 1 - 1)]),
    Case("Conv1d", {"out_channels": 3, "kernel_size": 3, "dilation": 2, "bias": False}, (1, 2, 10),
         out=(1, 3, (10 - 2 * (3 - 1) - 1) // 1 + 1),               # 6
         params=3 * 2 * 3,
         macs=1 * 3 * 6 * 2 * 3,
         flops=2 * (1 * 3 * 6 * 2 * 3),
         rf=[(2 * (3 - 1) + 1, 1, 2 * (3 - 1) // 2 - 0)]),
    # 'same' with an even kernel: torch pads d(k-1) = 3 in total, 1 left and 2 right
    Case("Conv1d", {"out_channels": 2, "kernel_size": 4, "padding": "same"}, (1, 2, 10),
         out=(1, 2, 10),
         params=2 * 2 * 4 + 2,
         macs=1 * 2 * 10 * 2 * 4,
         flops=2 * (1 * 2 * 10 * 2 * 4) + 2 * 10,
         rf=[(4, 1, F(3, 2) - 1)], id="Conv1d-same-even-kernel"),
    Case("Conv1d", {"out_channels": 2, "kernel_size": 4, "padding": "same", "dilation": 2}, (1, 2, 10),
         out=(1, 2, 10),
         params=2 * 2 * 4 + 2,
         macs=1 * 2 * 10 * 2 * 4,
         flops=2 * (1 * 2 * 10 * 2 * 4) + 2 * 10,
         rf=[(2 * 3 + 1, 1, 0)], id="Conv1d-same-even-kernel-dilated"),   # pads 3 + 3
    Case("Conv1d", {"out_channels": 2, "kernel_size": 5, "padding": "valid"}, (1, 2, 10),
         out=(1, 2, 10 - 5 + 1),
         params=2 * 2 * 5 + 2,
         macs=1 * 2 * 6 * 2 * 5,
         flops=2 * (1 * 2 * 6 * 2 * 5) + 2 * 6,
         rf=[(5, 1, 2)]),
    Case("Conv1d", {"out_channels": 4, "kernel_size": 5, "padding": 2, "padding_mode": "reflect"}, (1, 3, 8),
         out=(1, 4, 8 + 2 * 2 - 5 + 1),
         params=4 * 3 * 5 + 4,
         macs=1 * 4 * 8 * 3 * 5,
         flops=2 * (1 * 4 * 8 * 3 * 5) + 4 * 8,
         rf=[(5, 1, 0)]),
    Case("Conv1d", {"out_channels": 4, "kernel_size": 5, "padding": 2, "padding_mode": "replicate"}, (1, 3, 8),
         out=(1, 4, 8),
         params=4 * 3 * 5 + 4,
         macs=1 * 4 * 8 * 3 * 5,
         flops=2 * (1 * 4 * 8 * 3 * 5) + 4 * 8),
    Case("Conv1d", {"out_channels": 4, "kernel_size": 3, "padding": 3, "padding_mode": "circular"}, (1, 3, 3),
         out=(1, 4, 3 + 2 * 3 - 3 + 1),                             # circular pad may equal the size
         params=4 * 3 * 3 + 4,
         macs=1 * 4 * 7 * 3 * 3,
         flops=2 * (1 * 4 * 7 * 3 * 3) + 4 * 7),
    Case("Conv1d", {"out_channels": 6, "kernel_size": 3, "groups": 2}, (3, 4, 9),
         out=(3, 6, 7),
         params=6 * (4 // 2) * 3 + 6,
         macs=3 * 6 * 7 * (4 // 2) * 3,
         flops=2 * (3 * 6 * 7 * 2 * 3) + 3 * 6 * 7),
    # ---------------------------------------------------------------- Conv2d
    Case("Conv2d", {"out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3, "bias": False},
         (1, 3, 224, 224),
         out=(1, 64, (224 + 2 * 3 - 7) // 2 + 1, (224 + 2 * 3 - 7) // 2 + 1),   # 112
         params=64 * 3 * 7 * 7,
         macs=1 * 64 * 112 * 112 * 3 * 7 * 7,                       # 118,013,952
         flops=2 * (1 * 64 * 112 * 112 * 3 * 7 * 7),
         rf=[(7, 2, 3 - 3)] * 2, id="Conv2d-resnet-stem"),
    Case("Conv2d", {"out_channels": 8, "kernel_size": [3, 5], "stride": [1, 2], "padding": [1, 2]}, (2, 3, 16, 20),
         out=(2, 8, (16 + 2 * 1 - 3) // 1 + 1, (20 + 2 * 2 - 5) // 2 + 1),     # 16 x 10
         params=8 * 3 * 3 * 5 + 8,
         macs=2 * 8 * 16 * 10 * 3 * 3 * 5,
         flops=2 * (2 * 8 * 16 * 10 * 3 * 3 * 5) + 2 * 8 * 16 * 10,
         rf=[(3, 1, 1 - 1), (5, 2, 2 - 2)]),
    Case("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1, "groups": 32}, (1, 32, 14, 14),
         out=(1, 32, 14, 14),
         params=32 * 1 * 3 * 3 + 32,
         macs=1 * 32 * 14 * 14 * 1 * 3 * 3,
         flops=2 * (32 * 14 * 14 * 9) + 32 * 14 * 14, id="Conv2d-depthwise"),
    Case("Conv2d", {"out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 16, "bias": False},
         (1, 16, 15, 15),
         out=(1, 32, (15 + 2 - 3) // 2 + 1, 8),
         params=32 * 1 * 3 * 3,
         macs=1 * 32 * 8 * 8 * 1 * 3 * 3,
         flops=2 * (32 * 8 * 8 * 9), id="Conv2d-depthwise-multiplier-2"),
    Case("Conv2d", {"out_channels": 12, "kernel_size": 1, "groups": 4, "bias": False}, (2, 8, 5, 5),
         out=(2, 12, 5, 5),
         params=12 * (8 // 4) * 1 * 1,
         macs=2 * 12 * 5 * 5 * 2,
         flops=2 * (2 * 12 * 5 * 5 * 2),
         rf=[(1, 1, 0)] * 2),
    Case("Conv2d", {"out_channels": 4, "kernel_size": 1, "stride": 2}, (1, 16, 7, 7),
         out=(1, 4, (7 - 1) // 2 + 1, 4),
         params=4 * 16 + 4,
         macs=1 * 4 * 4 * 4 * 16,
         flops=2 * (4 * 4 * 4 * 16) + 4 * 4 * 4,
         rf=[(1, 2, 0)] * 2),
    # 'same' with kernel (2, 4): pads (0 | 1) along H and (1 | 2) along W, the larger half on the right
    Case("Conv2d", {"out_channels": 5, "kernel_size": [2, 4], "padding": "same"}, (1, 3, 9, 9),
         out=(1, 5, 9, 9),
         params=5 * 3 * 2 * 4 + 5,
         macs=1 * 5 * 9 * 9 * 3 * 2 * 4,
         flops=2 * (5 * 9 * 9 * 3 * 2 * 4) + 5 * 9 * 9,
         rf=[(2, 1, F(1, 2) - 0), (4, 1, F(3, 2) - 1)], id="Conv2d-same-even-kernel"),
    Case("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 2, "dilation": 2}, (1, 4, 10, 12),
         out=(1, 4, (10 + 4 - 2 * 2 - 1) // 1 + 1, (12 + 4 - 4 - 1) + 1),    # 10 x 12
         params=4 * 4 * 9 + 4,
         macs=1 * 4 * 10 * 12 * 4 * 9,
         flops=2 * (4 * 10 * 12 * 4 * 9) + 4 * 10 * 12,
         rf=[(2 * 2 + 1, 1, 2 - 2)] * 2),
    Case("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": [1, 2], "padding_mode": "reflect"},
         (1, 2, 9, 9),
         out=(1, 4, (9 + 2 - 3) // 2 + 1, (9 + 4 - 3) // 2 + 1),             # 5 x 6
         params=4 * 2 * 9 + 4,
         macs=1 * 4 * 5 * 6 * 2 * 9,
         flops=2 * (4 * 5 * 6 * 2 * 9) + 4 * 5 * 6,
         rf=[(3, 2, 1 - 1), (3, 2, 1 - 2)]),
    Case("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": [1, 2], "padding_mode": "replicate"},
         (1, 2, 6, 6),
         out=(1, 4, 6, 6 + 4 - 3 + 1),
         params=4 * 2 * 9 + 4,
         macs=1 * 4 * 6 * 8 * 2 * 9,
         flops=2 * (4 * 6 * 8 * 2 * 9) + 4 * 6 * 8),
    Case("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": [1, 2], "padding_mode": "circular"},
         (1, 2, 6, 6),
         out=(1, 4, 6, 8),
         params=4 * 2 * 9 + 4,
         macs=1 * 4 * 6 * 8 * 2 * 9,
         flops=2 * (4 * 6 * 8 * 2 * 9) + 4 * 6 * 8),
    Case("Conv2d", {"out_channels": 3, "kernel_size": 4, "padding": "same", "padding_mode": "reflect"},
         (1, 3, 7, 7),
         out=(1, 3, 7, 7),
         params=3 * 3 * 16 + 3,
         macs=1 * 3 * 7 * 7 * 3 * 16,
         flops=2 * (3 * 7 * 7 * 3 * 16) + 3 * 7 * 7,
         rf=[(4, 1, F(3, 2) - 1)] * 2, id="Conv2d-same-even-kernel-reflect"),
    Case("Conv2d", {"out_channels": 10, "kernel_size": 5}, (1, 3, 5, 5),
         out=(1, 10, 1, 1),                                          # the kernel fills the input exactly
         params=10 * 3 * 25 + 10,
         macs=10 * 3 * 25,
         flops=2 * (10 * 3 * 25) + 10,
         rf=[(5, 1, 2)] * 2),
    # ---------------------------------------------------------------- Conv3d
    Case("Conv3d", {"out_channels": 8, "kernel_size": 3, "stride": [1, 2, 2], "padding": 1}, (1, 3, 8, 16, 16),
         out=(1, 8, 8, (16 + 2 - 3) // 2 + 1, 8),
         params=8 * 3 * 3 * 3 * 3 + 8,
         macs=1 * 8 * 8 * 8 * 8 * 3 * 27,
         flops=2 * (8 * 8 * 8 * 8 * 3 * 27) + 8 * 8 * 8 * 8,
         rf=[(3, 1, 0), (3, 2, 0), (3, 2, 0)]),
    Case("Conv3d", {"out_channels": 2, "kernel_size": [2, 1, 4], "padding": "same", "bias": False}, (2, 1, 5, 5, 5),
         out=(2, 2, 5, 5, 5),
         params=2 * 1 * 2 * 1 * 4,
         macs=2 * 2 * 125 * 1 * 8,
         flops=2 * (2 * 2 * 125 * 8),
         rf=[(2, 1, F(1, 2)), (1, 1, 0), (4, 1, F(1, 2))]),
    Case("Conv3d", {"out_channels": 4, "kernel_size": 3, "dilation": [1, 2, 3], "groups": 2}, (1, 2, 7, 9, 11),
         out=(1, 4, 7 - 2, 9 - 4, 11 - 6),
         params=4 * 1 * 27 + 4,
         macs=1 * 4 * 5 * 5 * 5 * 1 * 27,
         flops=2 * (4 * 125 * 27) + 4 * 125,
         rf=[(3, 1, 1), (5, 1, 2), (7, 1, 3)]),
    Case("Conv3d", {"out_channels": 2, "kernel_size": 3, "padding": [1, 0, 2], "padding_mode": "circular"},
         (1, 1, 4, 4, 4),
         out=(1, 2, 4, 2, 6),
         params=2 * 1 * 27 + 2,
         macs=2 * 4 * 2 * 6 * 27,
         flops=2 * (2 * 48 * 27) + 2 * 48),
    Case("Conv3d", {"out_channels": 2, "kernel_size": 3, "padding": 1, "padding_mode": "replicate"},
         (1, 1, 3, 3, 3),
         out=(1, 2, 3, 3, 3),
         params=2 * 27 + 2,
         macs=2 * 27 * 27,
         flops=2 * (2 * 27 * 27) + 2 * 27),
    Case("Conv3d", {"out_channels": 2, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
         (1, 1, 3, 3, 3),
         out=(1, 2, 3, 3, 3),
         params=2 * 27 + 2,
         macs=2 * 27 * 27,
         flops=2 * (2 * 27 * 27) + 2 * 27),
    # ------------------------------------------------------- ConvTranspose1d
    Case("ConvTranspose1d", {"out_channels": 2, "kernel_size": 3, "stride": 2}, (1, 4, 5),
         out=(1, 2, (5 - 1) * 2 - 0 + 1 * (3 - 1) + 0 + 1),          # 11
         params=4 * 2 * 3 + 2,
         macs=1 * 4 * 5 * 2 * 3,
         flops=2 * (4 * 5 * 2 * 3) + 2 * 11),
    Case("ConvTranspose1d", {"out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
         (1, 4, 5),
         out=(1, 2, (5 - 1) * 2 - 2 * 1 + (3 - 1) + 1 + 1),          # 10: exactly 2x
         params=4 * 2 * 3 + 2,
         macs=4 * 5 * 2 * 3,
         flops=2 * (4 * 5 * 2 * 3) + 2 * 10),
    # output_padding may reach the dilation when the stride is 1
    Case("ConvTranspose1d", {"out_channels": 3, "kernel_size": 3, "dilation": 3, "output_padding": 2, "bias": False},
         (2, 2, 5),
         out=(2, 3, (5 - 1) * 1 - 0 + 3 * (3 - 1) + 2 + 1),          # 13
         params=2 * 3 * 3,
         macs=2 * 2 * 5 * 3 * 3,
         flops=2 * (2 * 2 * 5 * 3 * 3), id="ConvTranspose1d-output-padding-below-dilation"),
    Case("ConvTranspose1d", {"out_channels": 4, "kernel_size": 1, "padding": 1}, (1, 2, 3),
         out=(1, 4, (3 - 1) - 2 + 0 + 1),                          # 1
         params=2 * 4 + 4,
         macs=2 * 3 * 4,
         flops=2 * (2 * 3 * 4) + 4 * 1),
    # ------------------------------------------------------- ConvTranspose2d
    Case("ConvTranspose2d", {"out_channels": 8, "kernel_size": 4, "stride": 2, "padding": 1, "bias": False},
         (2, 16, 4, 4),
         out=(2, 8, (4 - 1) * 2 - 2 + (4 - 1) + 1, 8),              # 8 x 8: DCGAN's doubling
         params=16 * 8 * 4 * 4,
         macs=2 * 16 * 4 * 4 * 8 * 4 * 4,
         flops=2 * (2 * 16 * 16 * 8 * 16), id="ConvTranspose2d-dcgan"),
    Case("ConvTranspose2d", {"out_channels": 6, "kernel_size": 3, "groups": 2}, (1, 4, 5, 5),
         out=(1, 6, 7, 7),
         params=4 * (6 // 2) * 9 + 6,
         macs=1 * 4 * 5 * 5 * 3 * 9,
         flops=2 * (4 * 25 * 3 * 9) + 6 * 49),
    Case("ConvTranspose2d", {"out_channels": 2, "kernel_size": [3, 2], "stride": [2, 3], "padding": [1, 0],
                             "output_padding": [1, 2], "dilation": [1, 2]}, (1, 3, 4, 5),
         out=(1, 2, (4 - 1) * 2 - 2 + 1 * 2 + 1 + 1, (5 - 1) * 3 - 0 + 2 * 1 + 2 + 1),   # 8 x 17
         params=3 * 2 * 3 * 2 + 2,
         macs=1 * 3 * 4 * 5 * 2 * 6,
         flops=2 * (3 * 20 * 2 * 6) + 2 * 8 * 17),
    # ------------------------------------------------------- ConvTranspose3d
    Case("ConvTranspose3d", {"out_channels": 4, "kernel_size": 2, "stride": 2}, (1, 8, 3, 4, 5),
         out=(1, 4, 6, 8, 10),
         params=8 * 4 * 8 + 4,
         macs=1 * 8 * 3 * 4 * 5 * 4 * 8,
         flops=2 * (8 * 60 * 4 * 8) + 4 * 6 * 8 * 10),
    Case("ConvTranspose3d", {"out_channels": 4, "kernel_size": 3, "stride": [1, 2, 2], "padding": 1,
                             "output_padding": [0, 1, 1], "groups": 2, "bias": False}, (2, 2, 3, 3, 3),
         out=(2, 4, (3 - 1) - 2 + 2 + 0 + 1, (3 - 1) * 2 - 2 + 2 + 1 + 1, 6),     # 3 x 6 x 6
         params=2 * (4 // 2) * 27,
         macs=2 * 2 * 27 * 2 * 27,
         flops=2 * (2 * 2 * 27 * 2 * 27)),
]

ERRORS = [
    Bad("Conv2d", {"out_channels": 4, "kernel_size": 7, "padding": 1}, (1, 3, 3, 3), ShapeError,
        ("kernel_size 7x7", "padded input 5x5", "input 3x3", "padding 1")),
    Bad("Conv1d", {"out_channels": 4, "kernel_size": 3, "dilation": 4}, (1, 2, 8), ShapeError,
        ("dilated kernel 9", "padded input 8")),
    Bad("Conv2d", {"out_channels": 4, "kernel_size": 3, "groups": 2}, (1, 3, 8, 8), ShapeError,
        ("3 channels", "groups=2")),
    Bad("Conv2d", {"out_channels": 5, "kernel_size": 3, "groups": 2}, (1, 4, 8, 8), SpecError,
        ("groups=2", "5")),
    Bad("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same"}, (1, 3, 8, 8), SpecError,
        ("padding='same'", "stride")),
    Bad("Conv2d", {"out_channels": 4, "kernel_size": 3}, (1, 12), ShapeError, ("4-d", "2-d", "[1, 12]"),
        id="Conv2d-after-Flatten"),
    Bad("Conv2d", {"out_channels": 4, "kernel_size": 1}, (1, 3, 4, 4, 4), ShapeError, ("4-d", "5-d")),
    Bad("Conv3d", {"out_channels": 4, "kernel_size": 1}, (1, 3, 4, 4), ShapeError, ("5-d", "4-d")),
    Bad("Conv1d", {"out_channels": 4, "kernel_size": 3, "padding": 3, "padding_mode": "reflect"}, (1, 2, 3),
        ShapeError, ("reflect padding 3", "found 3")),
    Bad("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": [1, 5], "padding_mode": "circular"},
        (1, 2, 8, 4), ShapeError, ("circular padding 5", "found 4")),
    Bad("Conv2d", {"out_channels": 4, "kernel_size": 0}, (1, 2, 8, 8), SpecError, ("kernel_size", "0")),
    Bad("Conv2d", {"out_channels": 4, "kernel_size": [3, 3, 3]}, (1, 2, 8, 8), SpecError, ("kernel_size", "2")),
    Bad("ConvTranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "output_padding": 2}, (1, 2, 4, 4),
        SpecError, ("output_padding", "2")),
    Bad("ConvTranspose1d", {"out_channels": 2, "kernel_size": 3, "padding": 5}, (1, 2, 2), ShapeError,
        ("would be -6", "padding 5")),
    Bad("ConvTranspose2d", {"out_channels": 4, "kernel_size": 3, "groups": 2}, (1, 3, 4, 4), ShapeError,
        ("3 channels", "groups=2")),
    Bad("ConvTranspose2d", {"out_channels": 3, "kernel_size": 3, "groups": 2}, (1, 4, 4, 4), SpecError,
        ("groups=2", "3")),
    Bad("ConvTranspose2d", {"out_channels": 4, "kernel_size": 3, "padding_mode": "reflect"}, (1, 2, 4, 4),
        SpecError, ("'reflect'", "'zeros'")),
    Bad("ConvTranspose3d", {"out_channels": 4, "kernel_size": 1}, (1, 2, 4, 4), ShapeError, ("5-d", "4-d")),
    Bad("ConvTranspose2d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}, (1, 2, 4, 4), SpecError,
        ("padding", "'same'")),
    Bad("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 0}, (1, 2, 8, 8), SpecError, ("stride", "0")),
    Bad("Conv1d", {"out_channels": 4, "kernel_size": 3, "padding": -1}, (1, 2, 8), SpecError, ("padding", "-1")),
]


@pytest.mark.parametrize("case", params(CASES))
def test_conv_table(case):
    check_case(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_conv_matches_torch(case):
    check_against_torch(case, count_flops=True)


@pytest.mark.parametrize("case", params(ERRORS))
def test_conv_errors(case):
    check_bad(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(ERRORS))
def test_conv_errors_torch_refuses_too(case):
    check_torch_refuses(case)


# ------------------------------------------------------------------ receptive-field chains
# Distill (Araujo et al. 2019), layer by layer from r = 1, S = 1, c = 0:
#   r_out = r_in + (k − 1)·d·S_in,  S_out = S_in·s,  c_out = c_in + ((k − 1)d/2 − p_left)·S_in

CHAINS = [
    pytest.param(
        [3, 224, 224],
        ["Conv2d: {out_channels: 64, kernel_size: 7, stride: 2, padding: 3}",
         "MaxPool2d: {kernel_size: 3, stride: 2, padding: 1}"],
        # conv: r = 1 + 6·1 = 7, S = 2, c = 0 + (3 − 3)·1 = 0
        # pool: r = 7 + 2·2 = 11, S = 4, c = 0 + (1 − 1)·2 = 0
        [(1 + 6 + 2 * 2, 2 * 2, 0)] * 2,
        id="resnet-stem"),
    pytest.param(
        [2, 32],
        ["Conv1d: {out_channels: 2, kernel_size: 3, dilation: 2, padding: 1}",
         "Conv1d: {out_channels: 2, kernel_size: 4, stride: 2}",
         "Conv1d: {out_channels: 2, kernel_size: 2, padding: same}"],
        # 1: r = 1 + 2·2·1 = 5, S = 1, c = 0 + (2 − 1)·1 = 1
        # 2: r = 5 + 3·1·1 = 8, S = 2, c = 1 + (3/2 − 0)·1 = 5/2
        # 3: 'same' with k = 2 pads 0 left, 1 right: r = 8 + 1·2 = 10, S = 2, c = 5/2 + (1/2 − 0)·2 = 7/2
        [(5 + 3 + 1 * 2, 2, F(5, 2) + F(1, 2) * 2)],
        id="conv1d-dilated-strided-same"),
    pytest.param(
        [1, 32, 32],
        ["Conv2d: {out_channels: 1, kernel_size: [3, 5], stride: [2, 1], padding: [0, 2]}",
         "AvgPool2d: {kernel_size: 2}",
         "Conv2d: {out_channels: 1, kernel_size: 3, dilation: [1, 3], padding: [1, 3]}"],
        # H: r = 3, S = 2, c = 1;  pool: r = 3 + 1·2 = 5, S = 4, c = 1 + ½·2 = 2;
        #    conv: r = 5 + 2·1·4 = 13, S = 4, c = 2 + (1 − 1)·4 = 2
        # W: r = 5, S = 1, c = 2 − 2 = 0;  pool: r = 6, S = 2, c = ½;
        #    conv: r = 6 + 2·3·2 = 18, S = 2, c = ½ + (3 − 3)·2 = ½
        [(3 + 1 * 2 + 2 * 1 * 4, 4, 2), (5 + 1 + 2 * 3 * 2, 2, F(1, 2))],
        id="asymmetric-2d"),
    pytest.param(
        [1, 16, 16],
        ["ZeroPad2d: {padding: [1, 0, 2, 0]}",
         "Conv2d: {out_channels: 1, kernel_size: 3, stride: 2}"],
        # pad: c = −2 (H), −1 (W); conv: r = 1 + 2 = 3, S = 2, c = c_pad + (1 − 0)·1
        [(3, 2, -2 + 1), (3, 2, -1 + 1)],
        id="pad-then-conv"),
    pytest.param(
        [1, 8, 8, 8],
        ["Conv3d: {out_channels: 1, kernel_size: [1, 3, 3], padding: [0, 1, 1]}",
         "MaxPool3d: {kernel_size: 2, stride: 2}",
         "Conv3d: {out_channels: 1, kernel_size: 3, stride: 2, padding: 1}"],
        # D: r = 1, S = 1, c = 0 → pool r = 2, S = 2, c = ½ → conv r = 2 + 2·2 = 6, S = 4, c = ½ + 0
        # H, W: r = 3, c = 0 → pool r = 4, S = 2, c = ½ → conv r = 4 + 2·2 = 8, S = 4, c = ½
        [(1 + 1 + 2 * 2, 4, F(1, 2)), (3 + 1 + 2 * 2, 4, F(1, 2)), (8, 4, F(1, 2))],
        id="conv3d-pool3d-conv3d"),
]


@pytest.mark.parametrize(("input_dims", "layers", "expected"), CHAINS)
def test_receptive_field_chains(input_dims, layers, expected):
    check_field(rf_chain(input_dims, layers), expected)
