"""Keras layers (``framework: keras``): Keras class names, arguments and semantics, channels last.

Tensors are (batch, *spatial, channels), as Keras lays them out. Shapes follow
keras.src.ops.operation_utils (compute_conv_output_shape, compute_pooling_output_shape,
compute_conv_transpose_output_shape); weights are those ``layer.weights`` holds
(keras/src/layers/*): trainable ones are ``param_shapes``, non-trainable ones
(BatchNormalization's moving mean and variance, Normalization's statistics)
are ``buffer_shapes``, so Keras's ``count_params()`` is params + buffers.
FLOPs are counted as the torch family of the same operation counts them
(conventions.md); an ``activation=`` argument adds its activation's FLOPs.

Keras 'same' padding pads max((⌈n/s⌉ − 1)·s + d(k − 1) + 1 − n, 0) in total, the
larger half at the end (bottom/right) — for any n, symbolic ones included.
Each type's torch module (``to_torch``: a class of layers/_keras_torch.py computing
the Keras operation on channels-last tensors) lets verify, to_torch and export
--to torch check and write Keras files; a shared call (weights tied to an
earlier layer) is refused there.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .base import (
    GLOBAL, Arg, ArgError, Context, LayerType, Outcome, Shape, bool_arg, ceil_div, choice_arg, conv_axis_step,
    dim_max, expect_rank, fmt_shape, fmt_spatial, int_arg, int_tuple_arg, is_int, normalize_dim, number_arg, numel,
    optional,
)
from ..errors import CnnCalcError
from ._keras_torch import register_sources
from .registry import lookup, register_keras

register_sources()

AXES = {1: ("steps",), 2: ("rows", "cols"), 3: ("dim1", "dim2", "dim3")}

#: Keras activation names -> the torch type whose FLOPs rule counts it (and its arguments)
ACTIVATIONS: dict[str, tuple[str, dict]] = {
    "relu": ("ReLU", {}), "relu6": ("ReLU6", {}), "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}),
    "softmax": ("Softmax", {"dim": -1}), "log_softmax": ("LogSoftmax", {"dim": -1}), "elu": ("ELU", {}),
    "selu": ("SELU", {}), "gelu": ("GELU", {}), "silu": ("SiLU", {}), "swish": ("SiLU", {}),
    "softplus": ("Softplus", {}), "softsign": ("Softsign", {}), "hard_sigmoid": ("Hardsigmoid", {}),
    "hard_silu": ("Hardswish", {}), "hard_swish": ("Hardswish", {}), "mish": ("Mish", {}),
    "leaky_relu": ("LeakyReLU", {"negative_slope": 0.2}), "celu": ("CELU", {}),
}
LINEAR = ("linear", None)

#: Keras arguments that change neither shapes nor counts: accepted and ignored (per type: its weights' own)
COMMON_IGNORED = ("dtype", "trainable", "activity_regularizer", "input_shape", "batch_input_shape", "batch_size")
EXTRA_IGNORED = {"BatchNormalization": ("momentum", "epsilon", "synchronized", "renorm", "renorm_clipping",
                                        "renorm_momentum"),
                 "LayerNormalization": ("epsilon",), "Dense": ("lora_rank", "lora_alpha", "quantization_config"),
                 "Dropout": ("noise_shape", "seed"), "SpatialDropout1D": ("seed",), "SpatialDropout2D": ("seed",),
                 "SpatialDropout3D": ("seed",)}


def _ignored(cls) -> tuple[str, ...]:
    """The initializer/regularizer/constraint arguments of the type's weights, and the common ones."""
    weights = getattr(cls, "weights", ())
    return tuple(f"{w}_{kind}" for w in weights for kind in ("initializer", "regularizer", "constraint")) + \
        COMMON_IGNORED + EXTRA_IGNORED.get(cls.name, ())


def _anything(value: Any) -> Any:
    return value


def _data_format(value: Any) -> Any:
    if value not in (None, "channels_last"):
        raise ArgError("'channels_last' (a cnncalc Keras file is channels last: input [H, W, C])", value)
    return value


def activation_arg(value: Any) -> str | None:
    if value is None or value == "linear":
        return None
    if value not in ACTIVATIONS:
        raise ArgError("a Keras activation name (" + ", ".join(["linear", *ACTIVATIONS]) + ")", value)
    return value


def activation_flops(name: str | None, shape: Shape, ctx: Context) -> Any:
    """FLOPs of ``activation=name`` on ``shape``: the torch activation's own rule."""
    if name is None:
        return 0
    torch_name, cfg = ACTIVATIONS[name]
    kind = lookup(torch_name)
    full = {arg.name: arg.default for arg in kind.args}
    full.update(cfg)
    return kind.evaluate(full, [shape], Context()).flops


class KerasLayer(LayerType):
    """Base: channels-last shapes; ``own`` args plus the ignored Keras ones and ``shared``."""

    framework = "keras"
    own: tuple[Arg, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.args = tuple(cls.own) + tuple(Arg(name, _anything, None) for name in _ignored(cls)
                                          if name not in {a.name for a in cls.own}) + (
            Arg("shared", bool_arg, False, "a second call of an earlier layer: its weights are not counted again"),)

    #: the class of layers/_keras_torch.py that computes this type on channels-last tensors
    torch_class: str | None = None

    def torch_args(self, cfg, inputs) -> dict:
        """The keyword arguments of ``torch_class`` for this layer at these input shapes."""
        return {}

    def torch_kwargs(self, cfg, inputs) -> dict:
        if cfg.get("shared"):
            raise CnnCalcError(f"{self.name} is a shared call of an earlier layer (weights tied to it): "
                               f"cnncalc's torch model cannot tie weights yet",
                               hint="give the layer its own weights (drop shared: true) to build or export it")
        return self.torch_args(cfg, inputs)

    def to_torch(self, cfg, inputs):
        from ._torch_ops import build
        return build(self.torch_class, **self.torch_kwargs(cfg, inputs))

    def outcome(self, cfg, output, params=None, buffers=None, macs=0, flops=0, field=None) -> Outcome:
        if cfg.get("shared"):
            params, buffers = {}, {}
        return Outcome(output, params or {}, buffers or {}, macs, flops, field)


def _spatial_rank(ctx: Context, x: Shape, rank: int, what: str) -> None:
    expect_rank(ctx, x, (rank + 2,), f"(batch, {', '.join(AXES[rank])}, channels)")


def window_sizes(ctx: Context, spatial: Sequence, kernel, stride, dilation, padding: str, what: str):
    """Per axis: (output size, pad before, pad after), as Keras computes them.

    valid: ⌊(n − d(k − 1) − 1)/s⌋ + 1 (n ≥ d(k − 1) + 1, else Keras raises);
    same: ⌈n/s⌉, padding max((⌈n/s⌉ − 1)s + d(k − 1) + 1 − n, 0), the smaller half first;
    causal: d(k − 1) before, none after (Conv1D).
    """
    result = []
    for axis, (n, k, s, d) in enumerate(zip(spatial, kernel, stride, dilation)):
        effective = d * (k - 1) + 1                       # dilated window extent
        if padding == "valid":
            ctx.require_at_least(n, effective, lambda: (
                f"{what} {fmt_spatial([dd * (kk - 1) + 1 for kk, dd in zip(kernel, dilation)])} exceeds the input "
                f"{fmt_spatial(spatial)} (padding 'valid'; Keras: computed output size would be negative)"))
            out = (n - effective) // s + 1
            before = after = 0
        elif padding == "causal":
            out = (n - 1) // s + 1
            before, after = effective - 1, 0
        else:
            out = ceil_div(n, s)
            total = dim_max([(out - 1) * s + effective - n, 0])
            before = total // 2
            after = total - before
        if ctx.explaining:
            formula = f"⌊({n} − {effective}) / {s}⌋ + 1" if padding == "valid" else f"⌈{n} / {s}⌉"
            ctx.explain(f"{AXES[len(spatial)][axis]}_out", formula, out)
        result.append((out, before, after))
    return result


def _padding(*options):
    return choice_arg(*options)


class _KerasConv(KerasLayer):
    rank = 2
    kind = "conv"        # conv | depthwise | separable
    torch_class = "KerasConv"
    weights = ("kernel", "bias", "depthwise", "pointwise")

    def __init_subclass__(cls, **kwargs):
        rank = cls.rank
        pads = ("valid", "same", "causal") if rank == 1 and cls.kind == "conv" else ("valid", "same")
        own = []
        if cls.kind != "depthwise":
            own.append(Arg("filters", int_arg(1)))
        own += [
            Arg("kernel_size", int_tuple_arg(rank, 1)),
            Arg("strides", int_tuple_arg(rank, 1), 1),
            Arg("padding", _padding(*pads), "valid"),
            Arg("data_format", _data_format, None),
            Arg("dilation_rate", int_tuple_arg(rank, 1), 1),
        ]
        if cls.kind == "conv":
            own.append(Arg("groups", int_arg(1), 1))
        else:
            own.append(Arg("depth_multiplier", int_arg(1), 1))
        own += [Arg("activation", activation_arg, None), Arg("use_bias", bool_arg, True)]
        cls.own = tuple(own)
        super().__init_subclass__(**kwargs)

    def torch_args(self, cfg, inputs):
        x = inputs[0]
        sizes = window_sizes(Context(), x[1:-1], cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"],
                             cfg["padding"], "kernel_size")
        channels = x[-1]
        return {"rank": self.rank, "in_channels": channels,
                "filters": cfg["filters"] if self.kind != "depthwise" else channels * cfg["depth_multiplier"],
                "kernel_size": list(cfg["kernel_size"]), "strides": list(cfg["strides"]),
                "pads": [[before, after] for _, before, after in sizes], "dilation_rate": list(cfg["dilation_rate"]),
                "groups": cfg.get("groups", 1), "depth_multiplier": cfg.get("depth_multiplier", 1), "kind": self.kind,
                "use_bias": cfg["use_bias"], "activation": cfg["activation"]}

    def configure(self, args):
        if any(s != 1 for s in args["strides"]) and any(d != 1 for d in args["dilation_rate"]):
            raise ArgError("strides 1 when dilation_rate is not 1 (Keras refuses both at once)",
                           list(args["strides"]), arg="strides")
        if self.kind == "conv" and args["filters"] % args["groups"]:
            raise ArgError(f"filters divisible by groups={args['groups']}", args["filters"], arg="filters")
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        _spatial_rank(ctx, x, self.rank, self.name)
        batch, spatial, channels = x[0], x[1:-1], x[-1]
        kernel = cfg["kernel_size"]
        sizes = window_sizes(ctx, spatial, kernel, cfg["strides"], cfg["dilation_rate"], cfg["padding"],
                             "dilated kernel" if any(d != 1 for d in cfg["dilation_rate"]) else "kernel_size")
        out_spatial = tuple(out for out, _, _ in sizes)
        taps = numel(kernel)
        if self.kind == "conv":
            groups = cfg["groups"]
            ctx.require_divisible(channels, groups, lambda: (
                f"input has {channels} channels, not divisible by groups={groups}"))
            out_channels = cfg["filters"]
            params = {"kernel": (*kernel, channels // groups, out_channels)}
            positions = batch * numel(out_spatial)
            # one MAC per output element, per input channel of its group, per kernel tap
            macs = positions * out_channels * (channels // groups) * taps
        else:
            multiplier = cfg["depth_multiplier"]
            positions = batch * numel(out_spatial)
            # depthwise: each of C·m output channels reads one input channel through k taps
            macs = positions * channels * multiplier * taps
            if self.kind == "depthwise":
                out_channels = channels * multiplier
                params = {"kernel": (*kernel, channels, multiplier)}
            else:
                out_channels = cfg["filters"]
                params = {"depthwise_kernel": (*kernel, channels, multiplier),
                          "pointwise_kernel": (*(1,) * self.rank, channels * multiplier, out_channels)}
                # pointwise: a 1×…×1 convolution from C·m to filters channels
                macs = macs + positions * channels * multiplier * out_channels
        if cfg["use_bias"]:
            params["bias"] = (out_channels,)
        output = (batch, *out_spatial, out_channels)
        outputs = numel(output)
        # a multiply and an add per MAC, a bias add per output element, then the activation
        flops = 2 * macs + (outputs if cfg["use_bias"] else 0) + activation_flops(cfg["activation"], output, ctx)
        if ctx.explaining:
            ctx.explain("MACs", f"{macs}", macs)
            ctx.explain("FLOPs", f"2 · {macs}" + (f" + {outputs}" if cfg["use_bias"] else "")
                        + (f" + {cfg['activation']}" if cfg["activation"] else ""), flops)
        steps = tuple(conv_axis_step(k, s, before, d) for k, s, d, (_, before, _) in
                      zip(kernel, cfg["strides"], cfg["dilation_rate"], sizes))
        return self.outcome(cfg, output, params, {}, macs, flops, None if all(s is None for s in steps) else steps)


def transpose_axis(n, k, s, d, output_padding, padding):
    """One axis of a Keras transposed convolution: (output size, crop before, crop after) of torch's full
    output (n − 1)·s + d(k − 1) + 1, as keras's torch backend crops it
    (keras/src/backend/common/backend_utils.py, the JAX padding rule): the padding before is
    min(⌈L/2⌉, e − 1) of a total L = s + e − 2 ('same'), e + e mod 2 − 2 + output_padding ('same' with
    output_padding) or 2(e − 1) + output_padding ('valid'; output_padding default max(e, s) − e), e the dilated
    kernel; crop before = e − 1 − that (a negative crop after extends with zeros)."""
    effective = d * (k - 1) + 1
    if padding == "valid":
        op = dim_max([effective, s]) - effective if output_padding is None else output_padding
        before, total = effective - 1, 2 * (effective - 1) + op
    else:
        total = s + effective - 2 if output_padding is None else effective + effective % 2 - 2 + output_padding
        before = min(total // 2 + total % 2, effective - 1) if is_int(total) else dim_max([0, (total + 1) // 2])
    crop = effective - 1 - before
    out = (n - 1) * s - effective + 2 + total          # full (n − 1)s + e, less crop before and after
    after = (n - 1) * s + effective - crop - out
    return out, crop, after


class _KerasConvTranspose(KerasLayer):
    rank = 2
    torch_class = "KerasConvTranspose"

    def torch_args(self, cfg, inputs):
        x = inputs[0]
        paddings = cfg["output_padding"] or (None,) * self.rank
        crops = [list(transpose_axis(n, k, s, d, op, cfg["padding"])[1:]) for n, k, s, d, op in
                 zip(x[1:-1], cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"], paddings)]
        return {"rank": self.rank, "in_channels": x[-1], "filters": cfg["filters"],
                "kernel_size": list(cfg["kernel_size"]), "strides": list(cfg["strides"]),
                "dilation_rate": list(cfg["dilation_rate"]), "crops": crops, "use_bias": cfg["use_bias"],
                "activation": cfg["activation"]}
    weights = ("kernel", "bias")

    def __init_subclass__(cls, **kwargs):
        rank = cls.rank
        cls.own = (
            Arg("filters", int_arg(1)), Arg("kernel_size", int_tuple_arg(rank, 1)),
            Arg("strides", int_tuple_arg(rank, 1), 1), Arg("padding", _padding("valid", "same"), "valid"),
            Arg("output_padding", optional(int_tuple_arg(rank, 0)), None),
            Arg("data_format", _data_format, None), Arg("dilation_rate", int_tuple_arg(rank, 1), 1),
            Arg("activation", activation_arg, None), Arg("use_bias", bool_arg, True),
        )
        super().__init_subclass__(**kwargs)

    def evaluate(self, cfg, inputs, ctx):
        from .conv import transposed_axis_step
        x = inputs[0]
        _spatial_rank(ctx, x, self.rank, self.name)
        batch, spatial, channels = x[0], x[1:-1], x[-1]
        out_spatial, steps = [], []
        paddings = cfg["output_padding"] or (None,) * self.rank
        for n, k, s, d, op in zip(spatial, cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"], paddings):
            out, crop, _ = transpose_axis(n, k, s, d, op, cfg["padding"])
            ctx.require_at_least(out, 1, lambda: f"output size would be {out} from {n}")
            out_spatial.append(out)
            steps.append(transposed_axis_step(k, s, crop, d))
        output = (batch, *out_spatial, cfg["filters"])
        taps = numel(cfg["kernel_size"])
        macs = numel(x) * cfg["filters"] * taps          # each input element scatters through every tap
        flops = 2 * macs + (numel(output) if cfg["use_bias"] else 0) + activation_flops(cfg["activation"], output, ctx)
        params = {"kernel": (*cfg["kernel_size"], cfg["filters"], channels)}
        if cfg["use_bias"]:
            params["bias"] = (cfg["filters"],)
        return self.outcome(cfg, output, params, {}, macs, flops, tuple(steps))


class _KerasPool(KerasLayer):
    rank = 2
    kind = "max"
    torch_class = "KerasPool"

    def torch_args(self, cfg, inputs):
        sizes = window_sizes(Context(), inputs[0][1:-1], cfg["pool_size"], cfg["strides"], (1,) * self.rank,
                             cfg["padding"], "pool_size")
        return {"rank": self.rank, "kind": self.kind, "pool_size": list(cfg["pool_size"]),
                "strides": list(cfg["strides"]), "pads": [[before, after] for _, before, after in sizes]}

    def __init_subclass__(cls, **kwargs):
        rank = cls.rank
        cls.own = (Arg("pool_size", int_tuple_arg(rank, 1), 2), Arg("strides", optional(int_tuple_arg(rank, 1)), None),
                   Arg("padding", _padding("valid", "same"), "valid"), Arg("data_format", _data_format, None))
        super().__init_subclass__(**kwargs)

    def configure(self, args):
        if args["strides"] is None:
            args["strides"] = args["pool_size"]           # Keras: strides default to pool_size
        return args

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        _spatial_rank(ctx, x, self.rank, self.name)
        kernel = cfg["pool_size"]
        sizes = window_sizes(ctx, x[1:-1], kernel, cfg["strides"], (1,) * self.rank, cfg["padding"], "pool_size")
        output = (x[0], *(out for out, _, _ in sizes), x[-1])
        window = numel(kernel)
        # as pool.py: max K − 1 comparisons, average K − 1 adds and a divide per output element
        per_output = window - 1 if self.kind == "max" else window
        steps = tuple(conv_axis_step(k, s, before) for k, s, (_, before, _) in zip(kernel, cfg["strides"], sizes))
        return Outcome(output, {}, {}, 0, numel(output) * per_output, None if all(s is None for s in steps) else steps)


class _KerasGlobalPool(KerasLayer):
    rank = 2
    kind = "avg"
    torch_class = "KerasGlobalPool"

    def torch_args(self, cfg, inputs):
        return {"kind": self.kind, "keepdims": cfg["keepdims"]}
    own = (Arg("data_format", _data_format, None), Arg("keepdims", bool_arg, False))

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        _spatial_rank(ctx, x, self.rank, self.name)
        output = (x[0], *(1,) * self.rank, x[-1]) if cfg["keepdims"] else (x[0], x[-1])
        window = numel(x[1:-1])
        planes = x[0] * x[-1]
        # as AdaptiveAvg/MaxPool to 1: window adds (− 1, + a divide), or window − 1 comparisons
        flops = planes * (window if self.kind == "avg" else window - 1)
        return Outcome(output, {}, {}, 0, flops, GLOBAL)


def _axis_arg(value: Any) -> Any:
    if is_int(value):
        return value
    if isinstance(value, (list, tuple)) and value and all(is_int(v) for v in value):
        return tuple(value)
    raise ArgError("an axis (an integer) or a list of axes", value)


class BatchNormalization(KerasLayer):
    name = "BatchNormalization"
    own = (Arg("axis", _axis_arg, -1), Arg("center", bool_arg, True), Arg("scale", bool_arg, True))
    weights = ("gamma", "beta", "moving_mean", "moving_variance")
    summary = "Keras batch normalisation: gamma (scale) and beta (center); moving mean and variance non-trainable"
    torch_class = "KerasNormalization"

    def torch_args(self, cfg, inputs):
        x = inputs[0]
        axes = cfg["axis"] if isinstance(cfg["axis"], tuple) else (cfg["axis"],)
        return {"kind": "batch", "view": list(x), "axes": [normalize_dim(a, len(x), "axis") for a in axes],
                "center": cfg["center"], "scale": cfg["scale"],
                "epsilon": 1e-3 if cfg["epsilon"] is None else float(cfg["epsilon"]),       # Keras's defaults
                "momentum": 0.99 if cfg["momentum"] is None else float(cfg["momentum"])}

    def evaluate(self, cfg, inputs, ctx):
        from .norm import AFFINE, NORMALISE
        x = inputs[0]
        axes = cfg["axis"] if isinstance(cfg["axis"], tuple) else (cfg["axis"],)
        shape = tuple(x[normalize_dim(a, len(x), "axis")] for a in axes)
        params = {}
        if cfg["scale"]:
            params["gamma"] = shape
        if cfg["center"]:
            params["beta"] = shape
        buffers = {"moving_mean": shape, "moving_variance": shape}
        # inference: normalise with the moving statistics (norm.py's NORMALISE), then · γ and + β, each if present
        affine = AFFINE // 2 * (int(cfg["scale"]) + int(cfg["center"]))
        flops = numel(x) * (NORMALISE + affine)
        return self.outcome(cfg, x, params, buffers, 0, flops)


class LayerNormalization(KerasLayer):
    name = "LayerNormalization"
    own = (Arg("axis", _axis_arg, -1), Arg("center", bool_arg, True), Arg("scale", bool_arg, True),
           Arg("rms_scaling", bool_arg, False))
    weights = ("gamma", "beta")
    summary = "Keras layer normalisation over axis (default the last)"
    torch_class = "KerasNormalization"

    def torch_args(self, cfg, inputs):
        x = inputs[0]
        axes = cfg["axis"] if isinstance(cfg["axis"], tuple) else (cfg["axis"],)
        return {"kind": "layer", "view": list(x), "axes": [normalize_dim(a, len(x), "axis") for a in axes],
                "center": cfg["center"], "scale": cfg["scale"], "rms_scaling": cfg["rms_scaling"],
                "epsilon": 1e-3 if cfg["epsilon"] is None else float(cfg["epsilon"])}

    def evaluate(self, cfg, inputs, ctx):
        from .norm import NORMALISE, STATISTICS
        x = inputs[0]
        axes = cfg["axis"] if isinstance(cfg["axis"], tuple) else (cfg["axis"],)
        shape = tuple(x[normalize_dim(a, len(x), "axis")] for a in axes)
        params = {}
        if cfg["scale"] or cfg["rms_scaling"]:
            params["gamma"] = shape
        if cfg["center"] and not cfg["rms_scaling"]:
            params["beta"] = shape
        flops = numel(x) * (NORMALISE + STATISTICS + len(params))
        spatial = any(0 < normalize_dim(a, len(x)) < len(x) - 1 for a in axes)
        return self.outcome(cfg, x, params, {}, 0, flops, GLOBAL if spatial else None)


class Dense(KerasLayer):
    name = "Dense"
    own = (Arg("units", int_arg(1)), Arg("activation", activation_arg, None), Arg("use_bias", bool_arg, True))
    weights = ("kernel", "bias")
    summary = "Keras Dense: a matrix product on the last axis"
    torch_class = "KerasDense"

    def torch_args(self, cfg, inputs):
        return {"in_features": inputs[0][-1], "units": cfg["units"], "use_bias": cfg["use_bias"],
                "activation": cfg["activation"]}

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        ctx.require(len(x) >= 2, lambda: f"Dense needs at least a 2-d input, found {fmt_shape(x)}")
        units, features = cfg["units"], x[-1]
        output = (*x[:-1], units)
        rows = numel(x[:-1])
        macs = rows * features * units                    # one MAC per input feature per output unit
        flops = 2 * macs + (rows * units if cfg["use_bias"] else 0) + activation_flops(cfg["activation"], output, ctx)
        params = {"kernel": (features, units)}
        if cfg["use_bias"]:
            params["bias"] = (units,)
        return self.outcome(cfg, output, params, {}, macs, flops)


class Flatten(KerasLayer):
    name = "Flatten"
    torch_class = "KerasReshape"
    own = (Arg("data_format", _data_format, None),)

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        output = (x[0], numel(x[1:]))
        return Outcome(output, {}, {}, 0, 0, GLOBAL if len(x) > 2 else None)

    def is_view(self, cfg):
        return True


def _rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ArgError("a rate from 0 to 1 (1 excluded)", value)
    return value


class _Identity(KerasLayer):
    """Layers that are the identity at inference: Dropout, SpatialDropout."""

    own = (Arg("rate", _rate),)
    rank: int | None = None
    torch_class = "KerasDropout"

    def torch_args(self, cfg, inputs):
        return {"rate": cfg["rate"], "spatial": self.rank is not None}

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        if self.rank is not None:
            _spatial_rank(ctx, x, self.rank, self.name)
        return Outcome(x)

    def is_view(self, cfg):
        return True


def _pairs_arg(rank: int):
    """Keras padding/cropping: an int, one int per axis, or (before, after) per axis."""
    def check(value: Any):
        if is_int(value) and value >= 0:
            return ((value, value),) * rank
        if isinstance(value, (list, tuple)) and len(value) == rank:
            pairs = []
            for item in value:
                if is_int(item) and item >= 0:
                    pairs.append((item, item))
                elif isinstance(item, (list, tuple)) and len(item) == 2 and all(is_int(v) and v >= 0 for v in item):
                    pairs.append(tuple(item))
                else:
                    break
            else:
                return tuple(pairs)
        if rank == 1 and isinstance(value, (list, tuple)) and len(value) == 2 and all(is_int(v) and v >= 0 for v in value):
            return (tuple(value),)
        raise ArgError(f"an integer >= 0, {rank} such integers, or {rank} pairs (before, after)", value)
    return check


class _ZeroPadding(KerasLayer):
    rank = 2
    sign = 1          # cropping: −1
    torch_class = "KerasPad"

    def torch_args(self, cfg, inputs):
        pairs = cfg["padding" if self.sign > 0 else "cropping"]
        return {"pads": [[self.sign * before, self.sign * after] for before, after in pairs]}

    def __init_subclass__(cls, **kwargs):
        key = "padding" if cls.sign > 0 else "cropping"
        default = 1 if cls.sign > 0 else 0
        if cls.sign > 0 and cls.rank == 1:
            default = 1
        cls.own = (Arg(key, _pairs_arg(cls.rank), default), Arg("data_format", _data_format, None))
        super().__init_subclass__(**kwargs)

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        _spatial_rank(ctx, x, self.rank, self.name)
        pairs = cfg["padding" if self.sign > 0 else "cropping"]
        out, steps = [], []
        for n, (before, after) in zip(x[1:-1], pairs):
            size = n + self.sign * (before + after)
            ctx.require_at_least(size, 1, lambda: f"cropping {before}+{after} leaves nothing of {n}")
            out.append(size)
            steps.append(conv_axis_step(1, 1, self.sign * before))
        output = (x[0], *out, x[-1])
        return Outcome(output, {}, {}, 0, 0, None if all(s is None for s in steps) else tuple(steps))


class _UpSampling(KerasLayer):
    rank = 2
    torch_class = "KerasUpSampling"

    def torch_args(self, cfg, inputs):
        return {"size": list(cfg["size"]), "interpolation": cfg.get("interpolation", "nearest")}

    def __init_subclass__(cls, **kwargs):
        own = [Arg("size", int_tuple_arg(cls.rank, 1), 2), Arg("data_format", _data_format, None)]
        if cls.rank == 2:
            own.append(Arg("interpolation", choice_arg("nearest", "bilinear"), "nearest"))
        cls.own = tuple(own)
        super().__init_subclass__(**kwargs)

    def evaluate(self, cfg, inputs, ctx):
        from .upsample import FLOPS_PER_OUTPUT, Upsample
        x = inputs[0]
        _spatial_rank(ctx, x, self.rank, self.name)
        mode = cfg.get("interpolation", "nearest")
        out, steps = [], []
        for n, factor in zip(x[1:-1], cfg["size"]):
            out.append(n * factor)
            steps.append(Upsample._axis_step(mode, n, n * factor, factor, False))
        output = (x[0], *out, x[-1])
        flops = numel(output) * FLOPS_PER_OUTPUT[mode]      # upsample.py's cost per output element
        return Outcome(output, {}, {}, 0, flops, None if all(s is None for s in steps) else tuple(steps))


class _Merge(KerasLayer):
    arity = None
    torch_name = "add"
    torch_class = "KerasMerge"

    def torch_args(self, cfg, inputs):
        return {"op": "add" if self.torch_name == "add" else "multiply"}

    def evaluate(self, cfg, inputs, ctx):
        return lookup(self.torch_name).evaluate({}, inputs, ctx)    # the same broadcasting and FLOPs


class Add(_Merge):
    name = "Add"


class Multiply(_Merge):
    name = "Multiply"
    torch_name = "mul"


class Concatenate(KerasLayer):
    name = "Concatenate"
    arity = None
    own = (Arg("axis", int_arg(), -1),)
    torch_class = "KerasMerge"

    def torch_args(self, cfg, inputs):
        return {"op": "concatenate", "axis": cfg["axis"]}

    def evaluate(self, cfg, inputs, ctx):
        return lookup("concat").evaluate({"dim": cfg["axis"]}, inputs, ctx)


class CustomScaleLayer(KerasLayer):
    """keras.applications.inception_resnet_v2's layer: inputs[0] + inputs[1] · scale."""

    name = "CustomScaleLayer"
    arity = None
    own = (Arg("scale", number_arg()),)
    torch_class = "KerasMerge"

    def torch_args(self, cfg, inputs):
        return {"op": "scale", "scale": float(cfg["scale"])}

    def evaluate(self, cfg, inputs, ctx):
        ctx.require(len(inputs) == 2, lambda: f"CustomScaleLayer adds two tensors, found {len(inputs)}")
        add = lookup("add").evaluate({}, inputs, ctx)
        return Outcome(add.output_shape, {}, {}, 0, 2 * numel(add.output_shape), None)   # a multiply and an add


class Activation(KerasLayer):
    name = "Activation"
    own = (Arg("activation", activation_arg),)
    torch_class = "KerasActivation"

    def torch_args(self, cfg, inputs):
        return {"activation": cfg["activation"]}

    def evaluate(self, cfg, inputs, ctx):
        return Outcome(inputs[0], {}, {}, 0, activation_flops(cfg["activation"], inputs[0], ctx))


class ReLU(KerasLayer):
    name = "ReLU"
    own = (Arg("max_value", optional(number_arg(0)), None), Arg("negative_slope", number_arg(0), 0.0),
           Arg("threshold", number_arg(), 0.0))
    torch_class = "KerasActivation"

    def torch_args(self, cfg, inputs):
        return {"max_value": cfg["max_value"], "negative_slope": cfg["negative_slope"], "threshold": cfg["threshold"]}

    def evaluate(self, cfg, inputs, ctx):
        # a comparison; a second one for max_value (relu6 is 2, as ReLU6); a multiply for negative_slope
        cost = 1 + (cfg["max_value"] is not None) + (cfg["negative_slope"] != 0)
        return Outcome(inputs[0], {}, {}, 0, cost * numel(inputs[0]))


class Softmax(KerasLayer):
    name = "Softmax"
    own = (Arg("axis", int_arg(), -1),)
    torch_class = "KerasActivation"

    def torch_args(self, cfg, inputs):
        return {"axis": cfg["axis"]}

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dim = normalize_dim(cfg["axis"], len(x), "axis")
        flops = 3 * numel(x)        # as Softmax: exp, add, divide per element
        return Outcome(x, {}, {}, 0, flops, GLOBAL if 0 < dim < len(x) - 1 else None)


def _plain_number(value: Any, what: str) -> Any:
    """A number or a (nested) list of numbers, as Rescaling / Normalization take them."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return list(value)
    raise CnnCalcError(f"{what} {value!r} is not a number or a list of numbers", hint="write it as numbers")


def _target_arg(value: Any) -> tuple:
    if isinstance(value, (list, tuple)) and value and all(is_int(v) and (v >= 1 or v == -1) for v in value) \
            and sum(v == -1 for v in value) <= 1:
        return tuple(value)
    raise ArgError("a list of positive sizes (at most one -1), batch excluded", value)


class Reshape(KerasLayer):
    name = "Reshape"
    own = (Arg("target_shape", _target_arg),)
    torch_class = "KerasReshape"

    def torch_args(self, cfg, inputs):
        return {"target": list(cfg["target_shape"])}

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        total = numel(x[1:])
        target = cfg["target_shape"]
        known = numel([v for v in target if v != -1])
        if -1 in target:
            ctx.require_divisible(total, known, lambda: f"cannot reshape {fmt_shape(x)} to {list(target)}")
            target = tuple(total // known if v == -1 else v for v in target)
        else:
            ctx.require_equal(total, known, lambda: (
                f"cannot reshape {fmt_shape(x)} ({total} elements per sample) to {list(target)} ({known})"))
        same_spatial = len(target) == len(x) - 1 and all(
            is_int(a) and is_int(b) and a == b for a, b in zip(target[:-1], x[1:-1]))
        return Outcome((x[0], *target), {}, {}, 0, 0, None if same_spatial else GLOBAL)

    def is_view(self, cfg):
        return True


class Permute(KerasLayer):
    name = "Permute"
    own = (Arg("dims", _target_arg),)
    torch_class = "KerasReshape"

    def torch_args(self, cfg, inputs):
        return {"dims": list(cfg["dims"])}

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        dims = cfg["dims"]
        ctx.require(sorted(dims) == list(range(1, len(x))), lambda: (
            f"dims {list(dims)} must be a permutation of 1..{len(x) - 1} for input {fmt_shape(x)}"))
        output = (x[0], *(x[d] for d in dims))
        return Outcome(output, {}, {}, 0, 0, None if list(dims) == list(range(1, len(x))) else GLOBAL)

    def is_view(self, cfg):
        return True


class Rescaling(KerasLayer):
    name = "Rescaling"
    own = (Arg("scale", _anything), Arg("offset", _anything, 0.0))
    torch_class = "KerasAffine"

    def torch_args(self, cfg, inputs):
        return {"scale": _plain_number(cfg["scale"], "scale"), "offset": _plain_number(cfg["offset"], "offset")}

    def evaluate(self, cfg, inputs, ctx):
        return Outcome(inputs[0], {}, {}, 0, 2 * numel(inputs[0]))     # x · scale + offset


class Normalization(KerasLayer):
    """(x − mean) / sqrt(variance): with mean and variance given Keras keeps them as constants, no weights."""

    name = "Normalization"
    own = (Arg("axis", _axis_arg, -1), Arg("mean", _anything, None), Arg("variance", _anything, None),
           Arg("invert", bool_arg, False))
    torch_class = "KerasAffine"

    def torch_args(self, cfg, inputs):
        x = inputs[0]
        if cfg["mean"] is not None:
            return {"mean": _plain_number(cfg["mean"], "mean"), "variance": _plain_number(cfg["variance"], "variance"),
                    "invert": cfg["invert"]}
        axes = cfg["axis"] if isinstance(cfg["axis"], tuple) else (cfg["axis"],)
        kept = {normalize_dim(a, len(x), "axis") for a in axes}
        view = [x[d] if d in kept else 1 for d in range(1, len(x))]          # adapt()'s statistics, broadcast
        return {"view": view, "invert": cfg["invert"]}

    def evaluate(self, cfg, inputs, ctx):
        x = inputs[0]
        buffers = {}
        if cfg["mean"] is None:
            axes = cfg["axis"] if isinstance(cfg["axis"], tuple) else (cfg["axis"],)
            shape = tuple(x[normalize_dim(a, len(x), "axis")] for a in axes)
            buffers = {"mean": shape, "variance": shape, "count": ()}    # adapt()'s state, non-trainable
        return self.outcome(cfg, x, {}, buffers, 0, 2 * numel(x))      # a subtract and a divide per element


def _register_all() -> None:
    for cls in (BatchNormalization, LayerNormalization, Dense, Flatten, Add, Multiply, Concatenate,
                CustomScaleLayer, Activation, ReLU, Softmax, Reshape, Permute, Rescaling, Normalization):
        register_keras(cls())
    register_keras(type("Dropout", (_Identity,), {"name": "Dropout"})())
    for rank in (1, 2, 3):
        made = [
            type(f"Conv{rank}D", (_KerasConv,), {"name": f"Conv{rank}D", "rank": rank, "kind": "conv"}),
            type(f"Conv{rank}DTranspose", (_KerasConvTranspose,), {"name": f"Conv{rank}DTranspose", "rank": rank}),
            type(f"SpatialDropout{rank}D", (_Identity,), {"name": f"SpatialDropout{rank}D", "rank": rank}),
            type(f"ZeroPadding{rank}D", (_ZeroPadding,), {"name": f"ZeroPadding{rank}D", "rank": rank}),
            type(f"Cropping{rank}D", (_ZeroPadding,), {"name": f"Cropping{rank}D", "rank": rank, "sign": -1}),
            type(f"UpSampling{rank}D", (_UpSampling,), {"name": f"UpSampling{rank}D", "rank": rank}),
        ]
        if rank < 3:
            made.append(type(f"SeparableConv{rank}D", (_KerasConv,),
                             {"name": f"SeparableConv{rank}D", "rank": rank, "kind": "separable"}))
            made.append(type(f"DepthwiseConv{rank}D", (_KerasConv,),
                             {"name": f"DepthwiseConv{rank}D", "rank": rank, "kind": "depthwise"}))
        for kind, word in (("max", "Max"), ("avg", "Average")):
            made.append(type(f"{word}Pooling{rank}D", (_KerasPool,),
                             {"name": f"{word}Pooling{rank}D", "rank": rank, "kind": kind}))
            made.append(type(f"Global{word}Pooling{rank}D", (_KerasGlobalPool,),
                             {"name": f"Global{word}Pooling{rank}D", "rank": rank, "kind": kind}))
        for cls in made:
            register_keras(cls())


_register_all()

#: Keras's aliases (keras.layers.MaxPool2D is MaxPooling2D, Convolution2D is Conv2D, ...)
ALIASES = {**{f"{short}{r}D": f"{long}{r}D" for r in (1, 2, 3)
              for short, long in (("MaxPool", "MaxPooling"), ("AvgPool", "AveragePooling"),
                                  ("GlobalMaxPool", "GlobalMaxPooling"), ("GlobalAvgPool", "GlobalAveragePooling"),
                                  ("Convolution", "Conv"))},
           "Conv2DTranspose": "Conv2DTranspose", "Deconvolution2D": "Conv2DTranspose",
           "SeparableConvolution2D": "SeparableConv2D"}
