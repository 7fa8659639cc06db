"""torchscan 0.2: ``crawl_module(model, args=(x,))["totals"]``: ``macs`` and ``module_flops``.

Sources: torchscan/modules/macs.py (``module_macs``), torchscan/modules/flops.py
(``module_flops``), torchscan/modules/_pooling.py. Leaf modules only; an
unlisted module counts 0 with a warning. torchscan has both MACs and FLOPs.
"""

from __future__ import annotations

from math import prod

from ..layers.base import numel
from .base import (ADAPTIVE_AVG, ADAPTIVE_MAX, AVGPOOLS, BATCHNORMS, CONVS, MAXPOOLS, TRANSPOSED, Count, Layer,
                   Profile, kernel_volume, spatial, types)

REASONS = {
    "conv_flops": "torchscan: a dot product of n terms is 2n − 1 FLOPs, + 1 for the bias",
    "transposed": "torchscan: ConvTranspose charged over the output positions with C_in/g per tap "
                  "(over-counts by ∏L_out/∏L_in), + 4 MACs (8 FLOPs) per spatial axis for the padding",
    "batchnorm": "torchscan: BatchNorm MACs 1 per element, 2 with affine; FLOPs 2 per element + 2 per channel, "
                 "+ 2 per element with affine",
    "pool": "torchscan: max pooling K − 1 per output, average pooling K − 1 + spatial rank",
    "adaptive": "torchscan: adaptive pooling with an approximate kernel per axis "
                "(L/O when O divides L, else L mod O + 1)",
    "activation": "torchscan FLOPs: ReLU 1, ReLU6 2, LeakyReLU 4, Sigmoid 4, ELU 6, Tanh 6 per element",
    "dropout": "torchscan FLOPs: Dropout 1 per element when p > 0, even in eval mode",
    "layernorm": "torchscan FLOPs: LayerNorm 6 per element + 2 per row, + 1 per element each for weight and bias",
    "unlisted": "torchscan: an unlisted module counts 0 (with a warning)",
}

ACTIVATION_FLOPS = {"ReLU": 1, "ReLU6": 2, "LeakyReLU": 4, "Sigmoid": 4, "ELU": 6, "Tanh": 6}


def _conv(layer: Layer) -> Count:
    """macs_convnd: E_out·(C_in/g)·K; flops_convnd: E_out·(2·terms − 1 + bias)."""
    terms = kernel_volume(layer.cfg) * (layer.x[1] // layer.cfg["groups"])
    macs = layer.e_out * terms
    flops = layer.e_out * (2 * terms - 1 + int(layer.has_bias))
    extra = len(spatial(layer.x))
    if layer.type in TRANSPOSED:
        return Count(4 * extra + macs, 8 * extra + flops, "transposed")
    return Count(macs, flops, "conv_flops")


def _linear(layer: Layer) -> Count:
    """macs_linear: in · E_out; flops_linear: out·rows·(2·in − 1) + bias."""
    inputs = layer.x[-1]
    return Count(inputs * layer.e_out, layer.e_out * (2 * inputs - 1) + (layer.e_out if layer.has_bias else 0),
                 "conv_flops")


def _batchnorm(layer: Layer) -> Count:
    affine = layer.cfg["affine"]
    flops = 2 * layer.x[1] + 2 * layer.e_in + (2 * layer.e_in if affine else 0)
    return Count(layer.e_in * (2 if affine else 1), flops, "batchnorm")


def _pool(layer: Layer) -> Count:
    """K − 1 comparisons (max) or K − 1 adds + spatial rank (avg) per output; kernel as the module holds it."""
    extra = len(layer.x) - 2 if layer.type in AVGPOOLS else 0
    value = layer.e_out * (kernel_volume(layer.cfg) - 1 + extra)
    return Count(value, value, "pool")


def _adaptive(layer: Layer) -> Count:
    """adaptive_kernel_size: per axis i // o when o divides i, else i % o + 1."""
    kernel = tuple(i // o if i % o == 0 else i % o + 1 for i, o in zip(spatial(layer.x), spatial(layer.output)))
    extra = len(kernel) if layer.type in ADAPTIVE_AVG else 0
    value = layer.e_out * (prod(kernel) - 1 + extra)
    return Count(value, value, "adaptive")


def _activation(layer: Layer) -> Count:
    return Count(0, ACTIVATION_FLOPS[layer.type] * layer.e_in, "activation")


def _dropout(layer: Layer) -> Count:
    return Count(0, layer.e_in if layer.cfg["p"] > 0 else 0, "dropout")


def _layernorm(layer: Layer) -> Count:
    """MACs: unlisted (0, warned); flops_layernorm: 6·E + 2·rows + E·weight + E·bias."""
    elements = layer.e_in
    rows = elements // numel(tuple(layer.cfg["normalized_shape"]))
    flops = 6 * elements + 2 * rows + elements * int("weight" in layer.param_shapes) \
        + elements * int("bias" in layer.param_shapes)
    return Count(0, flops, "layernorm")


def _zero(layer: Layer) -> Count:
    """Listed as costing nothing (Identity, Flatten)."""
    return Count(0, 0, None if layer.flops == 0 else "unlisted")


PROFILE = Profile(
    name="torchscan", tool="torchscan crawl_module()", macs_figure='totals["macs"]',
    flops_figure='totals["module_flops"]',
    rules={
        **types(*CONVS, *TRANSPOSED, rule=_conv),
        "Linear": _linear,
        **types(*BATCHNORMS, rule=_batchnorm),
        **types(*MAXPOOLS, *AVGPOOLS, rule=_pool),
        **types(*ADAPTIVE_AVG, *ADAPTIVE_MAX, rule=_adaptive),
        **types(*ACTIVATION_FLOPS, rule=_activation),
        "Dropout": _dropout,
        "LayerNorm": _layernorm,
        **types("Identity", "Flatten", rule=_zero),
    },
    reasons=REASONS,
)
