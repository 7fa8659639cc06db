"""torchinfo 1.8: ``summary(...).total_mult_adds`` ("Total mult-adds").

Source: torchinfo/layer_info.py, ``LayerInfo.calculate_macs``. Mult-adds
come from the parameters named ``weight`` and ``bias`` alone: a class whose
name holds "Conv" charges ``numel · N · ∏(output spatial)``, any other
``N · numel`` (N = the output's first dimension). Parameter-free layers
count 0. torchinfo has no FLOPs figure.
"""

from __future__ import annotations

from ..layers.base import numel
from .base import Count, Layer, Profile, spatial

REASONS = {
    "bias": "torchinfo: bias counted, one mult-add per output element (conv) or per output feature (Linear)",
    "transposed": "torchinfo: ConvTranspose charged over the output positions, not the input ones: "
                  "over-counts by ∏L_out/∏L_in (bias included)",
    "linear_rows": "torchinfo: Linear on a 3-d or larger input multiplied by the batch only, not by the other "
                   "leading dims",
    "params": "torchinfo: a layer with weight/bias parameters (norms, PReLU) charged N × its parameter count",
    "unlisted": "torchinfo: a layer without parameters counts 0",
}


def _from_params(layer: Layer) -> Count:
    """Σ over weight/bias: Conv* numel·N·∏out_spatial, else N·numel (torchinfo's calculate_macs)."""
    batch = layer.output[0]
    conv = "Conv" in layer.type
    total = 0
    for name, shape in layer.param_shapes.items():
        if name in ("weight", "bias"):
            total += numel(shape) * batch * (numel(spatial(layer.output)) if conv else 1)
    if total == layer.macs:
        return Count(total)
    if layer.type.startswith("ConvTranspose"):
        reason = "transposed"
    elif layer.type == "Linear" and len(layer.output) > 2 and total < layer.macs + (layer.e_out if layer.has_bias else 0):
        reason = "linear_rows"
    elif layer.type.startswith("Conv") or layer.type == "Linear":
        reason = "bias"
    else:
        reason = "params"
    return Count(total, None, reason)


class _Everything(dict):
    """Every type goes through the parameter rule (parameter-free ones give 0)."""

    def get(self, key, default=None):  # noqa: D102 - dict protocol
        return _from_params


PROFILE = Profile(
    name="torchinfo", tool="torchinfo 1.8 summary()", macs_figure="total_mult_adds", flops_figure=None,
    rules=_Everything(), reasons=REASONS,
)
