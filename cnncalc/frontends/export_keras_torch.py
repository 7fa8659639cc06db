"""``export --to keras`` for a file with torch layer names (channels first): each torch type as Keras layers.

The Keras model is channels last: the input [C, H, W] becomes keras.Input((H, W, C)), a concat over the
channels (dim 1) becomes Concatenate(axis=-1), and every layer gets the Keras equivalent that gives the same
output shape and the same weights:

* Conv1d/2d/3d with padding p: ZeroPadding(p) + Conv valid (Keras's 'same' pads asymmetrically, torch's p
  symmetrically); groups, dilation kept; torch's 'same' (stride 1) is Keras's 'same'.
* ConvTranspose: Conv…DTranspose valid with output_padding, then Cropping(p).
* BatchNorm: BatchNormalization(axis=-1, epsilon=eps, momentum=1 − torch's momentum); Keras counts the running
  mean and variance in count_params() (torch's buffers, less num_batches_tracked).
* Max/AvgPool with padding p (and ceil_mode): ZeroPadding (p before; after, what the analytic output size needs)
  + pooling valid. Keras pads with zeros, torch's max pooling with −inf: the same shapes and counts, values
  differ only where a whole window is negative.
* AdaptiveAvg/MaxPool to 1: GlobalAverage/GlobalMaxPooling(keepdims=True); to a size dividing the input:
  pooling with that window. interpolate (2-d, nearest/bilinear): Resizing to its output size. Linear on a flat tensor: Dense. After Flatten the weights match in number but not
  in order (Keras flattens H, W, C; torch C, H, W): a torch state_dict does not load as it is.

What Keras cannot say is refused with the layer's path and type. Values reach the source only as ``repr`` of
plain literals (export_keras._literal).
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import ArgumentError, CnnCalcError
from ..spec.model import INPUT, NetworkSpec

ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "SiLU": "silu", "GELU": "gelu",
               "Hardsigmoid": "hard_sigmoid", "Hardswish": "hard_silu", "ELU": "elu", "SELU": "selu",
               "Softplus": "softplus", "Softsign": "softsign", "Mish": "mish"}
IDENTITIES = {"Identity", "StochasticDepth"}          # the identity at inference


class Refused(Exception):
    """This layer has no Keras equivalent (the message says why)."""


def _keras_axis(dim: int, rank: int) -> int:
    """A torch dim of an NC… tensor of ``rank`` as the Keras axis of its N…C twin."""
    dim = dim % rank
    if rank <= 2 or dim == 0:
        return dim
    return -1 if dim == 1 else dim - 1


def _pool_pads(n_in, out, kernel, stride, pad, dilation=1) -> tuple[int, int]:
    """(before, after) zero padding that makes valid pooling give ``out`` from ``n_in`` (ceil_mode included)."""
    after = (out - 1) * stride + dilation * (kernel - 1) + 1 - n_in - pad
    if after < 0 or after > pad + stride:
        raise Refused(f"cannot pad {n_in} to {out} outputs")
    return pad, after


def translate(kind: str, cfg: dict, inputs: list[tuple], output: tuple) -> list[tuple[str, dict]]:
    """The Keras layers (class name, arguments) computing torch layer ``kind`` on channels-last tensors."""
    x = inputs[0]
    rank = len(x) - 2
    base, dims = (kind[:-2], int(kind[-2])) if kind[-2:] in ("1d", "2d", "3d") else (kind, None)
    if base == "Conv":
        if cfg["padding_mode"] != "zeros":
            raise Refused(f"padding_mode {cfg['padding_mode']!r}: Keras pads with zeros only")
        if any(s != 1 for s in cfg["stride"]) and any(d != 1 for d in cfg["dilation"]):
            raise Refused("a stride and a dilation above 1 at once: Keras refuses both")
        out = []
        padding = "valid"
        if cfg["padding"] == "same":
            padding = "same"
        elif cfg["padding"] != "valid" and any(cfg["padding"]):
            out.append((f"ZeroPadding{dims}D", {"padding": [[p, p] for p in cfg["padding"]]}))
        out.append((f"Conv{dims}D", {"filters": cfg["out_channels"], "kernel_size": list(cfg["kernel_size"]),
                                     "strides": list(cfg["stride"]), "padding": padding,
                                     "dilation_rate": list(cfg["dilation"]), "groups": cfg["groups"],
                                     "use_bias": cfg["bias"]}))
        return out
    if base == "ConvTranspose":
        if cfg["groups"] != 1 or cfg["padding_mode"] != "zeros":
            raise Refused("groups or a padding_mode: Keras's transposed convolutions have neither")
        if dims == 3:
            raise Refused("Conv3DTranspose is not in cnncalc's Keras dialect")
        out = [(f"Conv{dims}DTranspose", {"filters": cfg["out_channels"], "kernel_size": list(cfg["kernel_size"]),
                                          "strides": list(cfg["stride"]), "padding": "valid",
                                          "output_padding": list(cfg["output_padding"]),
                                          "dilation_rate": list(cfg["dilation"]), "use_bias": cfg["bias"]})]
        if any(cfg["padding"]):
            out.append((f"Cropping{dims}D", {"cropping": [[p, p] for p in cfg["padding"]]}))
        return out
    if base == "BatchNorm":
        if cfg["momentum"] is None or not cfg["track_running_stats"]:
            raise Refused("a cumulative average or no running statistics: Keras keeps a moving average")
        return [("BatchNormalization", {"axis": -1, "epsilon": cfg["eps"], "momentum": 1 - cfg["momentum"],
                                        "center": cfg["affine"], "scale": cfg["affine"]})]
    if base in ("MaxPool", "AvgPool"):
        if cfg.get("dilation", (1,) * dims) != (1,) * dims:
            raise Refused("a dilated pooling: Keras's pooling has no dilation")
        if base == "AvgPool" and (cfg["divisor_override"] is not None or not cfg["count_include_pad"]):
            raise Refused("divisor_override or count_include_pad=False: Keras averages the padded window")
        pads = [_pool_pads(n, o, k, s, p) for n, o, k, s, p in
                zip(x[2:], output[2:], cfg["kernel_size"], cfg["stride"], cfg["padding"])]
        out = []
        if any(a or b for a, b in pads):
            out.append((f"ZeroPadding{dims}D", {"padding": [list(pair) for pair in pads]}))
        word = "Max" if base == "MaxPool" else "Average"
        out.append((f"{word}Pooling{dims}D", {"pool_size": list(cfg["kernel_size"]), "strides": list(cfg["stride"])}))
        return out
    if base in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        word = "Max" if base == "AdaptiveMaxPool" else "Average"
        if all(o == 1 for o in output[2:]):
            return [(f"Global{word}Pooling{dims}D", {"keepdims": True})]
        if all(n % o == 0 for n, o in zip(x[2:], output[2:])):
            window = [n // o for n, o in zip(x[2:], output[2:])]
            return [(f"{word}Pooling{dims}D", {"pool_size": window})]
        raise Refused(f"output size {list(output[2:])} does not divide the input {list(x[2:])}: Keras has no "
                      f"adaptive pooling")
    if kind == "mean" and rank >= 1 and sorted(d % len(x) for d in cfg["dim"]) == list(range(2, len(x))):
        return [(f"GlobalAveragePooling{rank}D", {"keepdims": cfg["keepdim"]})]
    if kind == "Linear":
        if len(x) != 2:
            raise Refused("a Linear on a tensor with spatial axes (torch's last axis is a width, Keras's the "
                          "channels)")
        return [("Dense", {"units": cfg["out_features"], "use_bias": cfg["bias"]})]
    if kind == "Flatten":
        if cfg["start_dim"] != 1 or cfg["end_dim"] != -1:
            raise Refused("a partial Flatten")
        return [("Flatten", {})]
    if kind in ACTIVATIONS:
        return [("Activation", {"activation": ACTIVATIONS[kind]})]
    if kind == "ReLU6":
        return [("ReLU", {"max_value": 6.0})]
    if kind == "LeakyReLU":
        return [("ReLU", {"negative_slope": cfg["negative_slope"]})]
    if kind == "Softmax" and cfg.get("dim") is not None:
        return [("Softmax", {"axis": _keras_axis(cfg["dim"], len(x))})]
    if kind in ("Dropout", "AlphaDropout"):
        return [("Dropout", {"rate": cfg["p"]})]
    if base == "Dropout" and dims:
        return [(f"SpatialDropout{dims}D", {"rate": cfg["p"]})]
    if kind in IDENTITIES:
        return [("Identity", {})]
    if kind == "add":
        return [("Add", {})]
    if kind == "mul":
        return [("Multiply", {})]
    if kind == "concat":
        return [("Concatenate", {"axis": _keras_axis(cfg["dim"], len(x))})]
    if kind == "Upsample":
        factors = [o // n for n, o in zip(x[2:], output[2:])]
        if cfg["mode"] not in ("nearest", "bilinear") or cfg["align_corners"] or rank not in (1, 2, 3) \
                or any(o != n * f for n, o, f in zip(x[2:], output[2:], factors)) \
                or (cfg["mode"] == "bilinear" and rank != 2):
            raise Refused("only integer nearest (or 2-d bilinear, align_corners False) upsampling is Keras's")
        return [(f"UpSampling{rank}D", {"size": factors, **({"interpolation": "bilinear"}
                                                            if cfg["mode"] == "bilinear" else {})})]
    if kind == "interpolate" and rank == 2 and cfg["mode"] in ("nearest", "bilinear") and not cfg["align_corners"]:
        # to a fixed size (or another tensor's): Keras's Resizing reads the first input only
        return [("Resizing", {"height": output[2], "width": output[3], "interpolation": cfg["mode"]})]
    raise Refused("no Keras layer computes it")


def torch_layers_source(network: NetworkSpec, input: Any, sizes: Any,
                        literal: Callable[[Any, str], str]) -> tuple[list[str], str]:
    """The body lines of build() for a torch-dialect file, and the output variable."""
    from ..engine import evaluate, plan
    from ..engine.plan import bind
    the_plan = plan(network)
    report = evaluate(the_plan, input=input, sizes=sizes, batch=1)
    if report.symbols:
        named = list(report.symbols)
        raise ArgumentError(f"the input has symbolic sizes ({', '.join(named)}); give them values with --set",
                            hint=f"for example --set {named[0]}=224")
    the_plan = bind(the_plan, report)
    shape = report.input_shape[1:]
    keras_shape = [*shape[1:], shape[0]] if len(shape) >= 2 else list(shape)
    lines = [f"    inputs = keras.Input(shape={literal(keras_shape, 'input')})"]
    variables = {-1: "inputs"}
    flattened = False
    for position, layer in enumerate(the_plan.layers):
        spec, kind = layer.spec, layer.layer_type.name
        inputs = [report.input_shape if s == -1 else report.layers[s].output_shape for s in layer.input_slots]
        try:
            made = translate(kind, dict(layer.cfg), inputs, report.layers[position].output_shape)
        except Refused as why:
            raise CnnCalcError(f"export --to keras: {kind} has no Keras equivalent: {why}",
                               loc=spec.loc, path=spec.path, layer_type=spec.type_name,
                               hint="change or drop the layer, or export --to torch") from None
        flattened = flattened or kind == "Flatten"
        if kind == "Linear" and flattened and not any("flatten order" in line for line in lines):
            lines.append("    # Dense after Flatten: Keras flattens (H, W, C), torch (C, H, W): the same weights in "
                         "number, in another order (flatten order)")
        sources = [variables[s] for s in layer.input_slots]
        if made[0][0] == "Resizing":
            sources = sources[:1]                      # the size came from the second input
        current = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
        base_name = spec.path.replace(".", "__")
        for step, (keras_type, args) in enumerate(made):
            name = base_name if step == len(made) - 1 else f"{base_name}__{keras_type.lower()}"
            where = f"{spec.path} ({kind})"
            text = ", ".join([*(f"{k}={literal(v, where)}" for k, v in args.items()), f"name={name!r}"])
            if spec.frozen:
                text += ", trainable=False"
            variable = f"t{position}_{step}"
            lines.append(f"    {variable} = layers.{keras_type}({text})({current})")
            current = variable
        variables[position] = current
    last = len(the_plan.layers) - 1
    read = {slot for layer in the_plan.layers for slot in layer.input_slots}
    dead = [variables[p] for p in range(last) if p not in read]
    if dead:                       # dead ends (an aux classifier): extra outputs, so Keras keeps their weights
        lines.append("    # the file's dead ends are outputs after the first, so that count_params() keeps them")
        return lines, "[" + ", ".join([variables[last], *dead]) + "]"
    return lines, variables[last]
