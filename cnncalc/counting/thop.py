"""thop (ultralytics-thop 2.2): ``profile(model, (x,))[0]``, its MACs.

Sources: thop/profile.py (``register_hooks``), thop/vision/basic_hooks.py,
thop/vision/calc_func.py. Module hooks only: a type without a rule counts 0
(``report_missing`` would say so); cnncalc's add/mul/concat are modules
without a rule. thop has no FLOPs figure (its "flops" in
``clever_format`` are these MACs).
"""

from __future__ import annotations

from ..layers.base import numel
from .base import (ADAPTIVE_AVG, AVGPOOLS, BATCHNORMS, CONVS, INSTANCENORMS, TRANSPOSED, Count, Layer, Profile,
                   same, spatial, types)

REASONS = {
    "norm": "thop: norms 2 per element, 4 with affine (count_normalization)",
    "prelu": "thop: PReLU 1 per element",
    "softmax": "thop: softmax 3·size − 1 per row (exp, adds, divides), LogSoftmax one more",
    "avgpool": "thop: average pooling one add per input read by a window, one divide per output",
    "adaptive_avg": "thop: adaptive average pooling one add per input read by a bin, one divide per output",
    "upsample": "thop: Upsample per output element: linear 5, bilinear 11, bicubic 259, trilinear 31, nearest 0",
    "unlisted": "thop: a module without a rule counts 0",
}

UPSAMPLE = {"nearest": 0, "nearest-exact": 0, "linear": 5, "bilinear": 11, "bicubic": 259, "trilinear": 31}


def _norm(layer: Layer) -> Count:
    """calculate_norm: 2·numel, doubled when affine / elementwise_affine."""
    affine = layer.cfg.get("affine", False) or layer.cfg.get("elementwise_affine", False)
    return Count(2 * layer.e_in * (2 if affine else 1), None, "norm")


def _softmax(layer: Layer) -> Count:
    """calculate_softmax: rows · (F exps + (F − 1) adds + F divides); LogSoftmax + rows."""
    shape = layer.x
    if layer.type == "Softmax2d":
        dim = -3
    else:
        dim = layer.cfg["dim"]
        if dim is None:                                  # torch's legacy implicit dim
            dim = 0 if len(shape) in (0, 1, 3) else 1
    features = shape[dim]
    rows = numel(shape) // features if features else 0
    total = rows * (features + max(features - 1, 0) + features)
    if layer.type == "LogSoftmax":
        total += rows
    return Count(total, None, "softmax")


def _avgpool(layer: Layer) -> Count:
    """count_avgpool: Σ over windows of the inputs they read (padding per count_include_pad) + one per output."""
    cfg = layer.cfg
    kernel, stride, padding = (tuple(cfg[key]) for key in ("kernel_size", "stride", "padding"))
    dims = len(kernel)
    windows = 1
    for size, output, k, s, p in zip(spatial(layer.x)[-dims:], spatial(layer.output)[-dims:], kernel, stride, padding):
        lower, upper = (-p, size + p) if cfg["count_include_pad"] else (0, size)
        windows *= sum(max(min(i * s - p + k, upper) - max(i * s - p, lower), 0) for i in range(output))
    return Count(numel(layer.x[:-dims]) * windows + layer.e_out, None, "avgpool")


def _adaptive_avg(layer: Layer) -> Count:
    """count_adap_avgpool: ∏ over every axis of the bins' widths summed (o where i == o), + one per output."""
    total = 1
    for i, o in zip(layer.x, layer.output):
        total *= o if i == o else sum(-(-(j + 1) * i // o) - j * i // o for j in range(o))
    return Count(total + layer.e_out, None, "adaptive_avg")


def _upsample(layer: Layer) -> Count:
    return Count(UPSAMPLE[layer.cfg["mode"]] * layer.e_out, None, "upsample")


def _linear(layer: Layer) -> Count:
    """count_linear: in_features × output elements (no bias)."""
    return Count(layer.x[-1] * layer.e_out)


PROFILE = Profile(
    name="thop", tool="thop (ultralytics-thop) profile()", macs_figure="profile()[0] (MACs)", flops_figure=None,
    rules={
        **types(*CONVS, *TRANSPOSED, rule=same),           # calculate_conv2d_flops: input-based for transposed
        "Linear": _linear,
        **types(*BATCHNORMS, *INSTANCENORMS, "GroupNorm", "LayerNorm", rule=_norm),
        "PReLU": lambda layer: Count(layer.e_in, None, "prelu"),
        **types("Softmax", "LogSoftmax", "Softmax2d", rule=_softmax),
        **types(*AVGPOOLS, rule=_avgpool),
        **types(*ADAPTIVE_AVG, rule=_adaptive_avg),
        "Upsample": _upsample,
    },
    reasons=REASONS,
)
