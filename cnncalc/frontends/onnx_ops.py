"""ONNX operators onto cnncalc layer types: one layer per computing node, named by the node (see :mod:`.onnx`).

Each ``op_<OpType>`` method reads the node's attributes and small constant
inputs and writes one layer; a node of any other type is one error naming
it and its op. Weights are known by their dims only (parameter counts come
from the layer types, which equal the initializers' element counts).
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

from ..text import shown
from .source import SourceError


class Mapper:
    """Walks the nodes in order, writing one layer per computing node."""

    def __init__(self, model: Any, weights: dict, shapes: dict, values: dict, path: str) -> None:
        self.graph = model.graph
        self.weights = weights
        self.shapes = shapes
        self.path = path
        self.values = values                        # constants and shape arithmetic small enough to read
        self.static: set[str] = set(weights) | set(values)   # known without the input: weights, shapes, constants
        self.names: dict[str, str] = {}             # activation tensor -> the layer (or piece) that makes it
        self.used: set[str] = set()
        self.layers: list = []
        self.trained = None
        bindings = [b for info in model.training_info for b in info.update_binding]
        if bindings:
            self.trained = {b.key for b in bindings}
        self.consumers: dict[str, list] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.skip: set[int] = set()

    # -- the document ---------------------------------------------------------
    def document(self, name: str, shape: tuple) -> dict:
        input_name = next(i.name for i in self.graph.input if i.name not in self.weights)
        self.names[input_name] = "input"
        for index, node in enumerate(self.graph.node):
            if index in self.skip:
                continue
            self.node(index, node)
        if len(self.graph.output) != 1:
            raise SourceError(f"{shown(self.path)} has {len(self.graph.output)} outputs; cnncalc models have one")
        output = self.graph.output[0].name
        if output not in self.names:
            raise SourceError(f"the graph's output {shown(output)} is not computed from its input")
        if not self.layers:
            raise SourceError(f"{shown(self.path)} has no layers to import")
        last = self._last_name()
        if self.names[output] != last:
            self.layers.append({"Identity": {"name": self._fresh("output"), "from": self.names[output]}})
        return {"name": name, "input": list(shape), "layers": self.layers}

    def _last_name(self) -> str:
        return next(iter(self.layers[-1].values()))["name"]

    def node(self, index: int, node: Any) -> None:
        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise self.error(node, f"operator domain {shown(node.domain)} is not the standard one")
        activations = [i for i in node.input if i and i not in self.static]
        if not activations:                            # shape arithmetic and constants: values, not layers
            if op == "Identity" and node.input[0] in self.weights:    # torch's export shares equal weights
                self.weights[node.output[0]] = self.weights[node.input[0]]
                if node.input[0] in self.values:
                    self.values[node.output[0]] = self.values[node.input[0]]
            self.static.update(o for o in node.output if o)
            return
        if op == "Shape" or op == "Size":
            self.static.update(node.output)
            return
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise self.error(node, "has no cnncalc layer type",
                             hint="cnncalc reads the ONNX operators listed in docs/import.md")
        handler(index, node, activations)

    # -- helpers --------------------------------------------------------------
    def error(self, node: Any, why: str, hint: str | None = None) -> SourceError:
        label = node.name or (node.output[0] if node.output else "?")
        return SourceError(f"cannot import ONNX node {shown(label)} (op {shown(node.op_type)}) from "
                           f"{shown(self.path)}: {why}",
                           hint=hint or "cnncalc reads the ONNX operators listed in docs/import.md")

    def attrs(self, node: Any) -> dict:
        import onnx
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def value(self, node: Any, name: str, what: str):
        if name not in self.values:
            raise self.error(node, f"its {what} ({shown(name)}) is not a constant known before the input")
        return self.values[name]

    def shape(self, name: str, node: Any) -> tuple:
        if name not in self.shapes:
            raise self.error(node, f"ONNX shape inference gives no concrete shape for {shown(name)}")
        return self.shapes[name]

    def _fresh(self, base: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_]", "_", base.encode("ascii", "replace").decode())[:180].strip("_") or "layer"
        if name[0].isdigit():
            name = "n_" + name
        if name == "input":
            name = "input_layer"
        candidate, suffix = name, 2
        while candidate in self.used:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        self.used.add(candidate)
        return candidate

    def _layer_name(self, node: Any) -> str:
        """torch's ``/layer1/layer1.0/conv1/Conv`` -> ``layer1_0_conv1``; else the node's name or its op."""
        text = node.name or ""
        parts = [p for p in text.split("/") if p]
        if len(parts) > 1:
            path: list[str] = []
            for part in parts[:-1]:
                if path and part.startswith(".".join(path) + "."):
                    path = part.split(".")
                else:
                    path.extend(part.split("."))
            base = "_".join(path)
            if parts[-1].split("_")[0] != node.op_type:
                base += "_" + parts[-1]
        else:
            base = text or node.op_type.lower()
        return self._fresh(base)

    def emit(self, node: Any, type_name: str, args: dict, reads: list, *, output: str | None = None,
             weights: Sequence[str] = (), pieces: int = 0) -> None:
        name = self._layer_name(node)
        refs = [self.names[r] for r in reads]
        entry = dict(args)
        entry["name"] = name
        previous = self._last_name() if self.layers else "input"
        if len(refs) > 1 or refs[0] != previous:
            entry["from"] = refs if len(refs) > 1 else refs[0]
        if self.trained is not None and weights and not any(w in self.trained for w in weights):
            entry["frozen"] = True
        self.layers.append({type_name: entry})
        if pieces:
            for position, out in enumerate(node.output):
                self.names[out] = f"{name}.{position}"
        else:
            self.names[output or node.output[0]] = name

    def rank(self, name: str, node: Any) -> int:
        return len(self.shape(name, node))

    # -- operators --------------------------------------------------------------
    def op_Conv(self, index, node, acts):
        self._conv(node, acts, transposed=False)

    def op_ConvTranspose(self, index, node, acts):
        self._conv(node, acts, transposed=True)

    def _conv(self, node, acts, transposed):
        attrs = self.attrs(node)
        if len(acts) != 1 or node.input[0] != acts[0] or node.input[1] not in self.weights:
            raise self.error(node, "its weight is computed at run time; cnncalc reads a weight initializer")
        w = self.weights[node.input[1]]
        spatial = len(w) - 2
        if not 1 <= spatial <= 3:
            raise self.error(node, f"a weight of shape {list(w)}: cnncalc has 1d, 2d and 3d convolutions")
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or "output_shape" in attrs:
            raise self.error(node, "auto_pad / output_shape: cnncalc reads explicit pads",
                             hint="export with explicit padding (torch.onnx.export does)")
        groups = int(attrs.get("group", 1))
        kernel = list(attrs.get("kernel_shape", w[2:]))
        pads = list(attrs.get("pads", [0] * 2 * spatial))
        if pads[:spatial] != pads[spatial:]:
            raise self.error(node, f"asymmetric pads {pads}: torch's convolutions pad both sides alike",
                             hint="pad first with a Pad node")
        args: dict[str, Any] = {"out_channels": w[1] * groups if transposed else w[0], "kernel_size": _one(kernel)}
        stride = list(attrs.get("strides", [1] * spatial))
        dilation = list(attrs.get("dilations", [1] * spatial))
        for key, value, default in (("stride", stride, 1), ("padding", pads[:spatial], 0),
                                    ("dilation", dilation, 1)):
            if any(v != default for v in value):
                args[key] = _one(value)
        if transposed and any(attrs.get("output_padding", [0] * spatial)):
            args["output_padding"] = _one(list(attrs["output_padding"]))
        if groups != 1:
            args["groups"] = groups
        if len(node.input) < 3 or not node.input[2]:
            args["bias"] = False
        name = f"ConvTranspose{spatial}d" if transposed else f"Conv{spatial}d"
        self.emit(node, name, args, acts, weights=[n for n in node.input[1:] if n])

    def op_BatchNormalization(self, index, node, acts):
        attrs = self.attrs(node)
        rank = self.rank(acts[0], node)
        if not 3 <= rank <= 5 or node.input[0] != acts[0] or len(acts) != 1:
            raise self.error(node, f"batch normalization of a {rank}-d tensor with statistics computed at run time")
        args: dict[str, Any] = {}
        eps = float(attrs.get("epsilon", 1e-5))
        if _f32(eps) != _f32(1e-5):
            args["eps"] = _round(eps)
        momentum = _round(1 - float(attrs.get("momentum", 0.9)))       # ONNX keeps m of the old value; torch 1 - m
        if momentum != 0.1:
            args["momentum"] = momentum
        self.emit(node, f"BatchNorm{rank - 2}d", args, acts, weights=list(node.input[1:3]))

    def _simple(self, node, acts, type_name, args=None):
        if len(acts) != 1 or node.input[0] != acts[0]:
            raise self.error(node, "a second tensor input")
        self.emit(node, type_name, args or {}, acts)

    def op_Relu(self, index, node, acts):
        self._simple(node, acts, "ReLU")

    def op_Sigmoid(self, index, node, acts):
        self._simple(node, acts, "Sigmoid")

    def op_Tanh(self, index, node, acts):
        self._simple(node, acts, "Tanh")

    def op_Softsign(self, index, node, acts):
        self._simple(node, acts, "Softsign")

    def op_Softplus(self, index, node, acts):
        self._simple(node, acts, "Softplus")

    def op_Selu(self, index, node, acts):
        self._simple(node, acts, "SELU")

    def op_Mish(self, index, node, acts):
        self._simple(node, acts, "Mish")

    def op_HardSwish(self, index, node, acts):
        self._simple(node, acts, "Hardswish")

    def op_LeakyRelu(self, index, node, acts):
        alpha = _round(self.attrs(node).get("alpha", 0.01))
        self._simple(node, acts, "LeakyReLU", {} if alpha == 0.01 else {"negative_slope": alpha})

    def op_Elu(self, index, node, acts):
        alpha = _round(self.attrs(node).get("alpha", 1.0))
        self._simple(node, acts, "ELU", {} if alpha == 1.0 else {"alpha": alpha})

    def op_Celu(self, index, node, acts):
        alpha = _round(self.attrs(node).get("alpha", 1.0))
        self._simple(node, acts, "CELU", {} if alpha == 1.0 else {"alpha": alpha})

    def op_Gelu(self, index, node, acts):
        approximate = self.attrs(node).get("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
        self._simple(node, acts, "GELU", {} if approximate == "none" else {"approximate": approximate})

    def op_HardSigmoid(self, index, node, acts):
        attrs = self.attrs(node)
        if _f32(attrs.get("alpha", 0.2)) != _f32(1 / 6) or _f32(attrs.get("beta", 0.5)) != _f32(0.5):
            raise self.error(node, f"HardSigmoid with alpha {attrs.get('alpha', 0.2)}: torch's Hardsigmoid is "
                                   "x / 6 + 1 / 2")
        self._simple(node, acts, "Hardsigmoid")

    def op_Clip(self, index, node, acts):
        bounds = []
        for position in (1, 2):
            name = node.input[position] if len(node.input) > position else ""
            bounds.append(None if not name else float(self.value(node, name, "bound")))
        if bounds == [0.0, 6.0]:
            self._simple(node, acts, "ReLU6")
        elif bounds[0] == 0.0 and bounds[1] is None:
            self._simple(node, acts, "ReLU")
        elif None not in bounds:
            self._simple(node, acts, "Hardtanh", {"min_val": _round(bounds[0]), "max_val": _round(bounds[1])})
        else:
            raise self.error(node, f"a clip to {bounds}: cnncalc maps Clip with both bounds")

    def op_PRelu(self, index, node, acts):
        slope = self.weights.get(node.input[1])
        if slope is None:
            raise self.error(node, "its slope is computed at run time")
        self.emit(node, "PReLU", {"num_parameters": math.prod(slope)} if math.prod(slope) != 1 else {}, acts,
                  weights=[node.input[1]])

    def op_Softmax(self, index, node, acts):
        self._softmax(node, acts, "Softmax")

    def op_LogSoftmax(self, index, node, acts):
        self._softmax(node, acts, "LogSoftmax")

    def _softmax(self, node, acts, type_name):
        axis = int(self.attrs(node).get("axis", -1)) % self.rank(acts[0], node)
        self._simple(node, acts, type_name, {"dim": axis})

    def op_Dropout(self, index, node, acts):
        ratio = node.input[1] if len(node.input) > 1 and node.input[1] else None
        p = _round(float(self.value(node, ratio, "ratio"))) if ratio else 0.5
        self._simple(node, acts[:1], "Dropout", {} if p == 0.5 else {"p": p})

    def op_Identity(self, index, node, acts):
        self._simple(node, acts, "Identity")

    def _window(self, node, acts, type_name):
        attrs = self.attrs(node)
        rank = self.rank(acts[0], node)
        spatial = rank - 2
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or len(node.output) > 1 and node.output[1]:
            raise self.error(node, "auto_pad or the indices output: cnncalc reads explicit pads, one output")
        kernel = list(attrs["kernel_shape"])
        pads = list(attrs.get("pads", [0] * 2 * spatial))
        if pads[:spatial] != pads[spatial:]:
            raise self.error(node, f"asymmetric pads {pads}: torch's pooling pads both sides alike")
        args: dict[str, Any] = {"kernel_size": _one(kernel), "stride": _one(list(attrs.get("strides", [1] * spatial)))}
        if any(pads[:spatial]):
            args["padding"] = _one(pads[:spatial])
        if "dilations" in attrs and any(d != 1 for d in attrs["dilations"]):
            if type_name.startswith("Avg"):
                raise self.error(node, "a dilated average pool: torch's AvgPool has no dilation")
            args["dilation"] = _one(list(attrs["dilations"]))
        if attrs.get("ceil_mode", 0):
            args["ceil_mode"] = True
        if type_name.startswith("Avg") and not attrs.get("count_include_pad", 0):
            args["count_include_pad"] = False                # ONNX's default excludes the padding, torch's counts it
        self._simple(node, acts, f"{type_name}{spatial}d", args)

    def op_MaxPool(self, index, node, acts):
        self._window(node, acts, "MaxPool")

    def op_AveragePool(self, index, node, acts):
        self._window(node, acts, "AvgPool")

    def op_GlobalAveragePool(self, index, node, acts):
        self._simple(node, acts, f"AdaptiveAvgPool{self.rank(acts[0], node) - 2}d", {"output_size": 1})

    def op_GlobalMaxPool(self, index, node, acts):
        self._simple(node, acts, f"AdaptiveMaxPool{self.rank(acts[0], node) - 2}d", {"output_size": 1})

    def op_Gemm(self, index, node, acts):
        attrs = self.attrs(node)
        w = self.weights.get(node.input[1])
        if w is None or len(acts) != 1 or node.input[0] != acts[0] or attrs.get("transA", 0):
            raise self.error(node, "Gemm of two computed tensors (cnncalc maps x @ W + b with W a weight)")
        if _f32(attrs.get("alpha", 1.0)) != 1 or _f32(attrs.get("beta", 1.0)) != 1:
            raise self.error(node, "Gemm with alpha or beta other than 1")
        out = w[0] if attrs.get("transB", 0) else w[1]
        bias = len(node.input) > 2 and bool(node.input[2])
        self.emit(node, "Linear", {"out_features": out} if bias else {"out_features": out, "bias": False}, acts,
                  weights=[n for n in node.input[1:] if n])

    def op_MatMul(self, index, node, acts):
        w = self.weights.get(node.input[1])
        if w is None or len(w) != 2 or len(acts) != 1 or node.input[0] != acts[0]:
            raise self.error(node, "MatMul of two computed tensors (cnncalc maps x @ W with W a 2-d weight)")
        users = self.consumers.get(node.output[0], [])
        if len(users) == 1 and users[0].op_type == "Add":             # torch's Linear on 3-d input: MatMul, Add
            add = users[0]
            other = [n for n in add.input if n != node.output[0]]
            if len(other) == 1 and self.weights.get(other[0]) == (w[1],):
                self.skip.add(list(self.graph.node).index(add))
                self.emit(node, "Linear", {"out_features": w[1]}, acts, output=add.output[0],
                          weights=[node.input[1], other[0]])
                return
        self.emit(node, "Linear", {"out_features": w[1], "bias": False}, acts, weights=[node.input[1]])

    def op_Add(self, index, node, acts):
        self._merge(node, acts, "add")

    def op_Mul(self, index, node, acts):
        if len(acts) == 1 and len(node.input) == 2:
            constant = next(n for n in node.input if n != acts[0])
            shape = self.weights.get(constant) or (tuple(self.values[constant].shape)
                                                   if constant in self.values else None)
            x = self.shape(acts[0], node)
            if shape is not None and math.prod(shape) == 1 and constant in self.values:
                self._simple_from(node, acts, "scale", {"factor": _round(float(self.values[constant].reshape(-1)[0]))})
                return
            if constant in self.weights and len(x) >= 2 and shape in ((x[1],) + (1,) * (len(x) - 2),):
                self.emit(node, "LayerScale", {}, acts, weights=[constant])   # a learned per-channel scale
                return
            if constant in self.weights and shape == (x[-1],):
                self.emit(node, "LayerScale", {"dim": -1}, acts, weights=[constant])
                return
        self._merge(node, acts, "mul")

    def op_Div(self, index, node, acts):
        if len(acts) == 1 and node.input[0] == acts[0] and node.input[1] in self.values \
                and self.values[node.input[1]].size == 1:
            divisor = float(self.values[node.input[1]].reshape(-1)[0])
            if divisor != 0 and _f32(1 / divisor) * divisor == 1:             # x / 4 is exactly x * 0.25
                self._simple_from(node, acts, "scale", {"factor": _round(1 / divisor)})
                return
        raise self.error(node, "a division that is not by a power of two known before the input")

    def op_LayerNormalization(self, index, node, acts):
        attrs = self.attrs(node)
        x = self.shape(acts[0], node)
        axis = int(attrs.get("axis", -1)) % len(x)
        if axis == 0 or len(acts) != 1:
            raise self.error(node, "a layer norm over the batch axis, or with computed scale")
        args: dict[str, Any] = {"normalized_shape": list(x[axis:])}
        eps = float(attrs.get("epsilon", 1e-5))
        if _f32(eps) != _f32(1e-5):
            args["eps"] = _round(eps)
        scale = len(node.input) > 1 and bool(node.input[1])
        bias = len(node.input) > 2 and bool(node.input[2])
        if not scale:
            args["elementwise_affine"] = False
        elif not bias:
            args["bias"] = False
        self.emit(node, "LayerNorm", args, acts, weights=[n for n in node.input[1:] if n])

    def op_Slice(self, index, node, acts):
        x = self.shape(acts[0], node)
        out = self.shape(node.output[0], node)
        starts = [int(v) for v in self.value(node, node.input[1], "starts").reshape(-1)]
        changed = [axis for axis in range(len(x)) if x[axis] != out[axis]]
        steps = [int(v) for v in self.value(node, node.input[4], "steps").reshape(-1)] \
            if len(node.input) > 4 and node.input[4] else [1] * len(starts)
        axes = [int(v) % len(x) for v in self.value(node, node.input[3], "axes").reshape(-1)] \
            if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
        if len(changed) > 1 or any(s != 1 for s in steps) or (changed and changed[0] == 0):
            raise self.error(node, "a slice of more than one axis, with steps, or of the batch: cnncalc's narrow "
                                   "takes one run of one axis")
        if not changed:
            self._simple(node, acts, "Identity")
            return
        dim = changed[0]
        start = starts[axes.index(dim)] if dim in axes else 0
        start = max(0, min(start + x[dim] if start < 0 else start, x[dim]))
        self._simple(node, acts, "narrow", {"dim": dim, "start": start, "length": out[dim]})

    def _simple_from(self, node, acts, type_name, args):
        self.emit(node, type_name, args, acts)

    def _merge(self, node, acts, type_name):
        if len(acts) != 2:
            raise self.error(node, f"{node.op_type} of a tensor and a constant: cnncalc's {type_name} merges "
                                   "two computed tensors")
        self.emit(node, type_name, {}, acts)

    def op_Concat(self, index, node, acts):
        if len(acts) != len([i for i in node.input if i]):
            raise self.error(node, "a concat of a tensor with a constant")
        axis = int(self.attrs(node)["axis"]) % self.rank(acts[0], node)
        self.emit(node, "concat", {} if axis == 1 else {"dim": axis}, acts)

    def op_Split(self, index, node, acts):
        attrs = self.attrs(node)
        rank = self.rank(acts[0], node)
        axis = int(attrs.get("axis", 0)) % rank
        sizes = [self.shape(o, node)[axis] for o in node.output]
        self.emit(node, "split", {"split_size_or_sections": sizes, "dim": axis}, acts[:1], pieces=len(sizes))

    def op_Flatten(self, index, node, acts):
        axis = int(self.attrs(node).get("axis", 1)) % max(self.rank(acts[0], node), 1)
        if axis != 1:
            raise self.error(node, f"a flatten at axis {axis}: cnncalc keeps the batch as the first axis")
        self._simple(node, acts, "Flatten")

    def op_Reshape(self, index, node, acts):
        before, after = self.shape(acts[0], node), self.shape(node.output[0], node)
        self._simple(node, acts, *self._reshape(node, before, after))

    def op_Squeeze(self, index, node, acts):
        self.op_Reshape(index, node, acts)

    def op_Unsqueeze(self, index, node, acts):
        self.op_Reshape(index, node, acts)

    def _reshape(self, node, before, after):
        if before == after:
            return "Identity", {}
        if before[:1] == after[:1]:
            for start in range(1, len(before)):
                for end in range(start + 1, len(before)):
                    if before[:start] + (math.prod(before[start:end + 1]),) + before[end + 1:] == after:
                        args = {} if start == 1 else {"start_dim": start}
                        if end != len(before) - 1:
                            args["end_dim"] = end
                        return "Flatten", args
            extra = len(after) - len(before)
            for dim in range(1, len(before)):
                if extra >= 1 and before[:dim] == after[:dim] and before[dim + 1:] == after[dim + 1 + extra:] \
                        and math.prod(after[dim:dim + 1 + extra]) == before[dim]:
                    return "Unflatten", {"dim": dim, "unflattened_size": list(after[dim:dim + 1 + extra])}
        raise self.error(node, f"a reshape from {list(before)} to {list(after)} that is neither a flatten of "
                               "consecutive axes nor a split of one axis (batch 1)")

    def op_Transpose(self, index, node, acts):
        perm = list(self.attrs(node).get("perm", range(self.rank(acts[0], node) - 1, -1, -1)))
        if perm[0] != 0:
            raise self.error(node, f"a transpose {perm} that moves the batch axis")
        self._simple(node, acts, "Permute", {"dims": perm})

    def _reduce(self, node, acts, type_name):
        attrs = self.attrs(node)
        rank = self.rank(acts[0], node)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = [int(a) for a in self.value(node, node.input[1], "axes").reshape(-1)]
        if not axes:
            raise self.error(node, "a reduction over every axis, the batch included")
        axes = sorted(int(a) % rank for a in axes)
        if 0 in axes:
            raise self.error(node, f"a reduction over the batch axis ({axes})")
        args: dict[str, Any] = {"dim": axes}
        if attrs.get("keepdims", 1):
            args["keepdim"] = True
        self._simple(node, acts[:1], type_name, args)

    def op_ReduceMean(self, index, node, acts):
        self._reduce(node, acts, "mean")

    def op_ReduceSum(self, index, node, acts):
        self._reduce(node, acts, "sum")

    def op_ReduceMax(self, index, node, acts):
        self._reduce(node, acts, "amax")

    def op_Resize(self, index, node, acts):
        attrs = self.attrs(node)
        text = lambda key, default: (lambda v: v.decode() if isinstance(v, bytes) else v)(attrs.get(key, default))  # noqa: E731
        mode, transform = text("mode", "nearest"), text("coordinate_transformation_mode", "half_pixel")
        before, after = self.shape(acts[0], node), self.shape(node.output[0], node)
        spatial = len(before) - 2
        if before[:2] != after[:2] or spatial < 1:
            raise self.error(node, f"a resize from {list(before)} to {list(after)} that changes more than space")
        if mode == "nearest":
            args: dict[str, Any] = {}
            if transform not in ("asymmetric", "half_pixel", "pytorch_half_pixel") or \
                    text("nearest_mode", "round_prefer_floor") not in ("floor", "round_prefer_floor"):
                raise self.error(node, f"nearest resizing with {transform} coordinates: torch's nearest is "
                                       "asymmetric, rounding down")
        elif mode in ("linear", "cubic"):
            name = {1: "linear", 2: "bilinear", 3: "trilinear"}[spatial] if mode == "linear" else "bicubic"
            args = {"mode": name}
            if transform == "align_corners":
                args["align_corners"] = True
            elif transform in ("half_pixel", "pytorch_half_pixel"):
                args["align_corners"] = False
            else:
                raise self.error(node, f"{mode} resizing with {transform} coordinates")
        else:
            raise self.error(node, f"resize mode {shown(mode)}")
        scales = [a // b if b and a % b == 0 else None for a, b in zip(after[2:], before[2:])]
        if None not in scales:
            args["scale_factor"] = _one([float(s) for s in scales])
        else:
            args["size"] = _one(list(after[2:]))
        self._simple(node, acts[:1], "Upsample", args)

    def op_Pad(self, index, node, acts):
        attrs = self.attrs(node)
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        rank = self.rank(acts[0], node)
        pads = [int(p) for p in self.value(node, node.input[1], "pads").reshape(-1)] if len(node.input) > 1 \
            else list(attrs.get("pads", []))
        if len(node.input) > 3 and node.input[3]:
            raise self.error(node, "pads on chosen axes only (the axes input)")
        begin, end = pads[:rank], pads[rank:]
        if any(begin[:2]) or any(end[:2]) or any(p < 0 for p in pads) or not 1 <= rank - 2 <= 3:
            raise self.error(node, f"pads {pads} on the batch or channel axes, or negative")
        torch_pads: list[int] = []
        for axis in range(rank - 1, 1, -1):            # torch: last axis first, (before, after) each
            torch_pads += [begin[axis], end[axis]]
        value = 0.0
        if len(node.input) > 2 and node.input[2]:
            value = float(self.value(node, node.input[2], "constant value").reshape(-1)[0])
        spatial = rank - 2
        if mode == "constant":
            type_name, args = (f"ZeroPad{spatial}d", {"padding": torch_pads}) if value == 0 else \
                (f"ConstantPad{spatial}d", {"padding": torch_pads, "value": _round(value)})
        elif mode in ("reflect", "edge"):
            type_name = f"{'Reflection' if mode == 'reflect' else 'Replication'}Pad{spatial}d"
            args = {"padding": torch_pads}
        else:
            raise self.error(node, f"pad mode {shown(mode)}")
        self._simple(node, acts[:1], type_name, args)


def _one(values: list) -> Any:
    """``[3, 3]`` as ``3`` (torch's uniform windows), else the list."""
    values = [int(v) if isinstance(v, int) or float(v).is_integer() and not isinstance(v, float) else v
              for v in values]
    return values[0] if values and all(v == values[0] for v in values) else values


def _f32(value: float) -> float:
    import numpy as np
    return float(np.float32(value))


def _round(value: float) -> float:
    """A float32 attribute written as the shortest decimal that gives it back (0.1, not 0.10000000149)."""
    return float(f"{_f32(value):.7g}")
