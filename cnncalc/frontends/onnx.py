"""An ONNX graph (opset >= 13) read as a cnncalc document: one layer per operator, NCHW.

The file is read as data (``onnx.load`` without external data: weights are
counted from their dims, never read), bounded before any work: its size, its
node count, and every initializer's element count from its metadata. Shapes
come from ONNX's own shape inference at batch 1; a node's arguments come from
its attributes and from small constant inputs (Reshape's shape, Resize's
scales, Pad's pads, Split's sizes). Nodes that only compute shapes (Shape,
Gather, Unsqueeze, Concat of constants, ...) are folded away; a node that
computes on a tensor and has no cnncalc layer type is one error naming the
node and its op. Names are the node names (torch's ``/layer1/layer1.0/conv1/Conv``
becomes ``layer1_0_conv1``).

Frozen: ONNX marks what a training step updates in ``training_info``'s
update bindings; where a model has them, a layer whose weights none updates
is ``frozen``. Without training_info every weight is trainable.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Sequence

from ..errors import ArgumentError
from ..text import cut, shown
from .source import SourceError

MAX_BYTES = 2 * 1024 ** 3           # protobuf's own limit for one message
MAX_NODES = 100_000
MAX_ELEMENTS = 1 << 40              # an initializer's declared element count
MAX_VALUE_ELEMENTS = 4096           # constants read as values (shapes, scales, pads); larger ones only counted
MIN_OPSET = 13


def import_onnx(path: str, *, input: Sequence[Any] | None = None, name: str | None = None) -> dict:
    """The cnncalc document of the ONNX file at ``path``, at ``input`` (C, H, W; default the graph's own)."""
    model = _read(path)
    graph = model.graph
    if len(graph.node) > MAX_NODES:
        raise SourceError(f"{shown(path)} has {len(graph.node):,} nodes; at most {MAX_NODES:,} are imported")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise SourceError(f"{shown(path)} uses ONNX opset {opset}; cnncalc reads opset {MIN_OPSET} or later",
                          hint="convert it with onnx.version_converter.convert_version(model, 13)")
    folder = os.path.dirname(os.path.abspath(path))
    weights: dict[str, tuple] = {}
    for tensor in graph.initializer:
        weights[tensor.name] = _dims(tensor, path, folder)
    shape = _input(graph, weights, input, path)
    shapes, values = _infer(model, shape, path)
    from .onnx_ops import Mapper
    return Mapper(model, weights, shapes, values, path).document(name or _stem(path), shape)


def _read(path: str):
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise SourceError(f"cannot read {shown(path)}: {err.strerror or err}") from None
    if size > MAX_BYTES:
        raise SourceError(f"{shown(path)} is {size:,} bytes; at most {MAX_BYTES:,} are read",
                          hint="save the model with its weights as external data (onnx.save(..., "
                               "save_as_external_data=True)): cnncalc counts weights from their dims")
    import onnx
    try:
        return onnx.load(path, load_external_data=False)
    except Exception as err:  # a damaged or foreign file: protobuf's DecodeError and the like
        raise SourceError(f"{shown(path)} is not an ONNX model: {type(err).__name__}: {cut(err, 200)}") from None


def _dims(tensor: Any, path: str, folder: str) -> tuple:
    dims = tuple(int(d) for d in tensor.dims)
    if any(d < 0 for d in dims) or math.prod(dims) > MAX_ELEMENTS:
        raise SourceError(f"initializer {shown(tensor.name)} in {shown(path)} declares dims {list(dims)}",
                          hint=f"at most {MAX_ELEMENTS:,} non-negative elements")
    for entry in tensor.external_data:          # never read; a location outside the model's folder is refused
        if entry.key == "location":
            target = os.path.abspath(os.path.join(folder, entry.value))
            if os.path.isabs(entry.value) or os.path.commonpath([folder, target]) != folder:
                raise SourceError(f"initializer {shown(tensor.name)} points at external data "
                                  f"{shown(entry.value)} outside the model's folder")
    return dims


def _input(graph: Any, weights: dict, given: Sequence[Any] | None, path: str) -> tuple:
    inputs = [i for i in graph.input if i.name not in weights]
    if len(inputs) != 1:
        raise SourceError(f"{shown(path)} has {len(inputs)} graph inputs; cnncalc models take one input tensor")
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in inputs[0].type.tensor_type.shape.dim]
    if given is not None:
        shape = tuple(given)
        if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            raise ArgumentError(f"importing an ONNX model needs a concrete input shape, found {list(shape)}",
                                hint="give --input C,H,W with numbers")
        if dims and len(shape) != len(dims) - 1:
            raise ArgumentError(f"--input {list(shape)} has {len(shape)} axes; the graph's input "
                                f"{shown(inputs[0].name)} has {len(dims) - 1} besides the batch")
        return shape
    if len(dims) < 2 or any(d is None or d <= 0 for d in dims[1:]):
        raise ArgumentError(f"the graph's input {shown(inputs[0].name)} has no concrete size "
                            f"({['?' if d is None else d for d in dims]})", hint="give --input C,H,W")
    return tuple(dims[1:])


_FOLDABLE = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Identity", "Reshape",
             "ReduceProd", "Floor", "Ceil", "Neg", "Abs", "Sqrt", "Add", "Sub", "Mul", "Div", "Mod", "Min", "Max",
             "Equal", "Where", "Less", "Greater", "Not"}
_BROADCASTING = {"Add", "Sub", "Mul", "Div", "Mod", "Min", "Max", "Equal", "Where", "Less", "Greater"}


def _infer(model: Any, shape: tuple, path: str) -> tuple[dict, dict]:
    """(every tensor's shape at batch 1, the values of shape arithmetic), by ONNX's shape inference.

    The input is set to (1, *shape). Shape arithmetic that inference leaves open (``Shape``, ``Gather``,
    ``Div`` feeding a ``Slice`` or ``Reshape``) is computed by ONNX's reference evaluator, one small
    node at a time (inputs of at most MAX_VALUE_ELEMENTS elements), and inference runs again.
    """
    import numpy as np
    import onnx
    from onnx import numpy_helper
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    weights = {t.name for t in copy.graph.initializer}
    first = next(i for i in copy.graph.input if i.name not in weights)
    dims = first.type.tensor_type.shape.dim
    del dims[:]
    for d in (1, *shape):
        dims.add().dim_value = d
    del copy.graph.value_info[:]
    for output in copy.graph.output:
        output.type.tensor_type.ClearField("shape")
    values: dict[str, Any] = {t.name: numpy_helper.to_array(t) for t in copy.graph.initializer
                              if math.prod(t.dims) <= MAX_VALUE_ELEMENTS and not t.external_data}
    folded: set[int] = set()
    shapes: dict[str, tuple] = {}
    for _ in range(8):
        try:
            inferred = onnx.shape_inference.infer_shapes(copy, strict_mode=True, data_prop=True)
        except Exception as err:  # an inconsistent graph at this input
            raise SourceError(f"ONNX shape inference fails on {shown(path)} at input {[1, *shape]}: "
                              f"{cut(err, 300)}", hint="give the input the model expects with --input C,H,W") from None
        shapes = {}
        for info in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
            tensor_type = info.type.tensor_type
            if tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in tensor_type.shape.dim):
                shapes[info.name] = tuple(d.dim_value for d in tensor_type.shape.dim)
        progress = False
        for index, node in enumerate(copy.graph.node):
            if index in folded:
                continue
            result = _fold(node, values, shapes, np)
            if result is None:
                continue
            folded.add(index)
            values.update(result)
            if node.op_type != "Constant":
                progress = True
                replacement = onnx.helper.make_node("Constant", [], [node.output[0]], name=node.name,
                                                    value=numpy_helper.from_array(result[node.output[0]]))
                copy.graph.node[index].CopyFrom(replacement)
        if not progress:
            break
    return shapes, values


def _fold(node: Any, values: dict, shapes: dict, np) -> dict | None:
    """The value of a small constant-valued node, or None (not constant, too large, not shape arithmetic)."""
    import onnx
    from onnx import numpy_helper
    if node.op_type == "Constant":
        attrs = {a.name: a for a in node.attribute}
        if "value" in attrs and math.prod(attrs["value"].t.dims) <= MAX_VALUE_ELEMENTS:
            return {node.output[0]: numpy_helper.to_array(attrs["value"].t)}
        for key in ("value_float", "value_int", "value_floats", "value_ints"):
            if key in attrs:
                value = onnx.helper.get_attribute_value(attrs[key])
                if np.size(value) <= MAX_VALUE_ELEMENTS:
                    return {node.output[0]: np.asarray(value, dtype=np.float32 if "float" in key else np.int64)}
        return None
    if node.op_type not in _FOLDABLE or len(node.output) != 1 or node.domain not in ("", "ai.onnx"):
        return None
    if node.op_type == "Shape":
        known = shapes.get(node.input[0])
        if known is None:
            return None
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        return {node.output[0]: np.asarray(known[attrs.get("start", 0):attrs.get("end", None)], dtype=np.int64)}
    inputs = [n for n in node.input if n]
    if not inputs or any(n not in values for n in inputs):
        return None
    limit = 64 if node.op_type in _BROADCASTING else MAX_VALUE_ELEMENTS
    if any(np.size(values[n]) > limit for n in inputs):
        return None
    from onnx.reference import ReferenceEvaluator
    try:
        out = ReferenceEvaluator(node).run(None, {n: values[n] for n in inputs})[0]
    except Exception:  # an op the reference evaluator refuses here: left to the mapper, which names it
        return None
    return {node.output[0]: np.asarray(out)} if np.size(out) <= MAX_VALUE_ELEMENTS else None


def _stem(path: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.splitext(os.path.basename(path))[0])[:200] or "model"
    return stem if not stem[0].isdigit() else "m_" + stem
