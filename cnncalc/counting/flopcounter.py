"""torch.utils.flop_counter.FlopCounterMode (torch 2.x): ``get_total_flops()``.

Source: torch/utils/flop_counter.py. Only registered aten ops count: mm,
addmm, bmm, convolution (and attention kernels). ``conv_flop_count`` and
``mm_flop`` are 2 FLOPs per multiply–accumulate, bias ignored; the
transposed convolution uses the input's size. So its total is exactly
2 × cnncalc's MACs; ``totals.macs`` holds the total / 2.
"""

from __future__ import annotations

from .base import CONVS, TRANSPOSED, Count, Layer, Profile

REASONS = {
    "unlisted": "FlopCounterMode: only matmuls and convolutions are registered ops; everything else counts 0",
}


def _matmul(layer: Layer) -> Count:
    """2 FLOPs per MAC (mm_flop: m·n·2·k; conv_flop_count: 2·N·∏·K·C_out·C_in)."""
    return Count(layer.macs, 2 * layer.macs)


PROFILE = Profile(
    name="flopcounter", tool="torch FlopCounterMode", macs_figure="get_total_flops() / 2",
    flops_figure="get_total_flops()",
    rules={name: _matmul for name in (*CONVS, *TRANSPOSED, "Linear")}, reasons=REASONS,
)
