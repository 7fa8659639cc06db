"""fvcore 0.1.5: ``FlopCountAnalysis(model, x).total()``, which fvcore calls flops.

Source: fvcore/nn/flop_count.py (``_DEFAULT_SUPPORTED_OPS``) and
fvcore/nn/jit_handles.py. fvcore counts "one fused multiply-add as one
flop", so its figure is MACs, counted per traced aten op. Ops without a
handle count 0 (with a warning); fvcore has no separate FLOPs figure.
"""

from __future__ import annotations

from .base import (ADAPTIVE_AVG, BATCHNORMS, CONVS, INSTANCENORMS, TRANSPOSED, Count, Layer, Profile, same,
                   types)

REASONS = {
    "dead_end": "fvcore: a layer whose result the model does not return (an aux head left as a dead-end "
                "branch) counts 0: torch.jit's trace drops it",
    "batchnorm": "fvcore: eval-mode BatchNorm 1 per element, 2 with affine (batchnorm_flop_jit)",
    "norm": "fvcore: GroupNorm, LayerNorm, InstanceNorm and BatchNorm without running stats 5 per element "
            "with affine, 4 without (norm_flop_counter)",
    "upsample": "fvcore: 2-d nearest upsampling 1 per output element, 2-d bilinear 4; other modes and ranks 0",
    "adaptive_avg": "fvcore: 2-d adaptive average pooling 1 per input element; 1-d and 3-d 0",
    "unlisted": "fvcore: an op without a handle counts 0",
}


def _norm(layer: Layer, affine: bool) -> Count:
    """norm_flop_counter: numel · (5 if affine else 4)."""
    return Count(layer.e_in * (5 if affine else 4), None, "norm")


def _batchnorm(layer: Layer) -> Count:
    """batchnorm_flop_jit: eval with running stats numel · (2 if affine else 1); else the norm rule."""
    if not layer.cfg["track_running_stats"]:        # eval-mode batch_norm runs with training=True
        return _norm(layer, layer.cfg["affine"])
    return Count(layer.e_in * (2 if layer.cfg["affine"] else 1), None, "batchnorm")


def _upsample(layer: Layer) -> Count:
    """aten::upsample_nearest2d 1 per output, aten::upsample_bilinear2d 4; others have no handle."""
    per_output = {"nearest": 1, "bilinear": 4}.get(layer.cfg["mode"], 0) if len(layer.output) == 4 else 0
    return Count(per_output * layer.e_out, None, "upsample")


def _adaptive_avg(layer: Layer) -> Count:
    """aten::adaptive_avg_pool2d: 1 per input element; the 1-d and 3-d ops have no handle."""
    return Count(layer.e_in if layer.type == "AdaptiveAvgPool2d" else 0, None, "adaptive_avg")


PROFILE = Profile(
    name="fvcore", tool="fvcore FlopCountAnalysis", macs_figure="total() (fvcore calls it flops)",
    flops_figure=None,
    rules={
        **types(*CONVS, *TRANSPOSED, "Linear", rule=same),      # conv_flop_jit, linear_flop_jit: MACs, no bias
        **types(*BATCHNORMS, rule=_batchnorm),
        **types(*INSTANCENORMS, rule=lambda layer: _norm(layer, layer.cfg["affine"])),
        "GroupNorm": lambda layer: _norm(layer, layer.cfg["affine"]),
        "LayerNorm": lambda layer: _norm(layer, layer.cfg["elementwise_affine"]),
        **types("Upsample", "interpolate", rule=_upsample),   # the aten upsample ops, whichever module calls them
        **types(*ADAPTIVE_AVG, rule=_adaptive_avg),
    },
    reasons=REASONS,
    dead_ends="dead_end",
)
