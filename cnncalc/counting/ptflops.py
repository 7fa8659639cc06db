"""ptflops 0.7.5, pytorch backend (its default): ``get_model_complexity_info(...)[0]``, in MACs.

Sources: ptflops/pytorch_ops.py (``MODULES_MAPPING``, ``FUNCTIONAL_MAPPING``,
``TENSOR_OPS_MAPPING``) and ptflops/pytorch_engine.py. Two counters run
together: module hooks, and patched ``torch.nn.functional`` and tensor
calls (``F.relu``, ``F.max_pool2d``, ``Tensor.mul``, ...). A module whose
forward calls a patched function (ReLU → ``F.relu``, MaxPool2d →
``F.max_pool2d``, ...) is therefore counted twice. The module sum is
divided by a batch counter that only sees positional inputs; a batch given
through ``input_constructor`` (the only way to pass one) is a keyword, so
the counter stays 1 and the figure is for the whole batch. ptflops has no
FLOPs figure.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..layers.base import numel
from .base import (ADAPTIVE_AVG, ADAPTIVE_MAX, AVGPOOLS, BATCHNORMS, CONVS, INSTANCENORMS, LPPOOLS, MAXPOOLS,
                   TRANSPOSED, Count, Layer, Profile, exact, types)

REASONS = {
    "bias": "ptflops: bias counted, one per output element",
    "activation": "ptflops: ReLU, PReLU, ELU, LeakyReLU, ReLU6, GELU 1 per element from the module hook",
    "functional": "ptflops: the module's forward calls patched torch.nn.functional or tensor ops (relu, prelu, "
                  "elu, gelu, silu, softmax, pooling, interpolate, Tensor.mul/add), each counted at 1 per element",
    "pool": "ptflops: every pooling 1 per input element (module hook)",
    "norm": "ptflops: BatchNorm, InstanceNorm, GroupNorm 1 per element, 2 with affine; LayerNorm 1",
    "upsample": "ptflops: the Upsample hook takes sample 0 as the batch, so it charges E_out / N, "
                "plus F.interpolate at 1 per output element",
    "unlisted": "ptflops: a module not in MODULES_MAPPING counts 0",
}

FUNCTIONAL_ACT = ("ReLU", "PReLU", "ELU", "GELU")         # hooked module that calls a patched F.<op>
HOOKED_ACT = FUNCTIONAL_ACT + ("LeakyReLU", "ReLU6")


def _count(layer: Layer, module, functional, reason) -> Count:
    """Module hook part + patched-call part (a float where ptflops computes one)."""
    value = exact(module + (Fraction(functional) if isinstance(functional, float) else functional))
    return Count(value, None, None if value == layer.macs else reason)


def _conv(layer: Layer) -> Count:
    """conv_flops_counter_hook: K·C_in·C_out/g per active position, + bias per output element."""
    bias = layer.e_out if layer.has_bias else 0
    return _count(layer, layer.macs + bias, 0, "bias")


def _linear(layer: Layer) -> Count:
    """linear_flops_counter_hook: (in·out + out if bias) × ∏ leading dims."""
    rows = numel(layer.x[:-1])
    return _count(layer, layer.macs + (rows * layer.output[-1] if layer.has_bias else 0), 0, "bias")


def _activation(layer: Layer) -> Count:
    functional = layer.e_in if layer.type in FUNCTIONAL_ACT else 0
    return _count(layer, layer.e_out, functional, "functional" if functional else "activation")


def _pool(layer: Layer) -> Count:
    """pool_flops_counter_hook (input numel) + the patched F.<pool> (input numel)."""
    return _count(layer, layer.e_in, layer.e_in, "functional")


def _norm(layer: Layer) -> Count:
    """bn_flops_counter_hook: input numel, ×2 if the module has a true ``affine`` (LayerNorm has none)."""
    return _count(layer, layer.e_in * (2 if layer.cfg.get("affine") else 1), 0, "norm")


def _interpolate(layer: Layer):
    """_interpolate_functional_flops_hook on nn.Upsample's stored size / scale_factor (floats, as torch keeps them)."""
    x, dims = layer.x, len(layer.x) - 2
    size, scale = layer.cfg["size"], layer.cfg["scale_factor"]
    if size is not None:
        return (prod(size) if isinstance(size, (tuple, list)) else int(size) ** dims) * x[0] * x[1]
    if isinstance(scale, (tuple, list)):
        scale = tuple(float(s) for s in scale)
        if len(scale) == dims:
            return numel(x) * int(prod(scale))
    return numel(x) * float(scale) ** dims


def _upsample(layer: Layer) -> Count:
    """upsample_flops_counter_hook reads output[0] (sample 0) as the batch: numel / N; then F.interpolate."""
    return _count(layer, layer.e_out // layer.output[0], _interpolate(layer), "upsample")


def _lppool(layer: Layer) -> Count:
    """No module hook; F.lp_poolNd: patched avg_poolNd on input ** p (E_in), then relu and .mul (E_out each)."""
    return _count(layer, 0, layer.e_in + 2 * layer.e_out, "functional")


def _local_response_norm(layer: Layer) -> Count:
    """No module hook; F.local_response_norm: input.mul(input), .mul(alpha), .add(k) (E each) and the patched
    avg_pool over the channel-padded squares, N·(C + size − 1)·∏spatial inputs."""
    x = layer.x
    padded = x[0] * (x[1] + layer.cfg["size"] - 1) * numel(x[2:])
    return _count(layer, 0, 3 * layer.e_in + padded, "functional")


PROFILE = Profile(
    name="ptflops", tool="ptflops get_model_complexity_info() (pytorch backend)",
    macs_figure="get_model_complexity_info()[0] (MACs)", flops_figure=None,
    rules={
        **types(*CONVS, *TRANSPOSED, rule=_conv),           # transposed: input positions (fixed since #149)
        "Linear": _linear,
        **types(*HOOKED_ACT, rule=_activation),
        "SiLU": lambda layer: _count(layer, 0, layer.e_in, "functional"),
        **types("Softmax", "Softmax2d", rule=lambda layer: _count(layer, 0, layer.e_in, "functional")),
        **types(*MAXPOOLS, *AVGPOOLS, *ADAPTIVE_AVG, *ADAPTIVE_MAX, rule=_pool),
        **types(*LPPOOLS, rule=_lppool),
        "LocalResponseNorm": _local_response_norm,
        **types(*BATCHNORMS, *INSTANCENORMS, "GroupNorm", "LayerNorm", rule=_norm),
        "Upsample": _upsample,
        # no module hook; its forward calls the patched F.interpolate: one per output element
        "interpolate": lambda layer: _count(layer, 0, layer.e_out, "functional"),
    },
    reasons=REASONS,
    finish=int,                                          # get_flops_pytorch returns int(flops_count)
)
