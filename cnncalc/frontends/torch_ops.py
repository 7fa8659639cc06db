"""Mapping traced fx nodes onto cnncalc layer types: modules by their class, functions by a table.

A module is mapped when its class is the ``torch.nn`` class of a registered
layer type; its constructor arguments are read back from its attributes (the
ones the layer type's schema names). A function or method is mapped when it
has the same semantics as a layer type at the traced shapes (``torch.add`` of
two tensors is ``add``; ``x.view(x.size(0), -1)`` is ``Flatten``). Anything
else is one :class:`SourceError` naming the node, the op and the line of the
user's source that made it: never a silently missing count.
"""

from __future__ import annotations

import operator
from functools import lru_cache
from typing import Any

from ..text import cut, shown
from .source import SourceError

_UNIFORM = ("kernel_size", "stride", "padding", "dilation", "output_padding")


@lru_cache(maxsize=1)
def leaf_types() -> dict:
    """torch.nn classes that have a cnncalc layer type of the same name -> that name."""
    import torch
    from ..layers.registry import all_types
    return {getattr(torch.nn, name): name for name in all_types() if isinstance(getattr(torch.nn, name, None), type)}


def map_graph(graph_module: Any, module: Any) -> tuple[list, Any]:
    """(ops in execution order, the output tensor's node) for a traced, shape-propagated module."""
    from .torch_fx import Op
    ops: list[Op] = []
    alias: dict[Any, Any] = {}         # pass-through nodes (contiguous, identity-like) -> the tensor they give
    inputs = []
    output = None
    seen_modules: set[str] = set()

    def tensor(arg: Any) -> Any:
        return alias.get(arg, arg)

    for node in graph_module.graph.nodes:
        if node.op == "placeholder":
            if inputs:
                raise _unmappable(node, "a second input: cnncalc models take one input tensor")
            inputs.append(node)
        elif node.op == "output":
            value = node.args[0]
            if not _is_node(value):
                raise _unmappable(node, "the model returns more than one tensor; cnncalc models have one output")
            output = tensor(value)
        elif node.op == "get_attr":
            continue                    # only reached by functions that use parameters: refused there
        elif not _is_tensor(node):
            continue                    # sizes and other Python values: used as arguments of mapped ops
        elif node.op == "call_module":
            sub = module.get_submodule(node.target)
            name = leaf_types().get(type(sub))
            if name is None:
                raise _unmappable(node, f"module {type(sub).__module__}.{type(sub).__name__} has no cnncalc "
                                        f"layer type")
            args = module_args(sub, name)
            params = list(sub.parameters(recurse=True))
            if node.target in seen_modules and params:
                raise _unmappable(node, f"module {node.target} with parameters is called twice (shared weights); "
                                        "cnncalc counts one set of parameters per layer")
            seen_modules.add(node.target)
            parts = node.target.split(".")
            ops.append(Op(node, [(name, args)], [tensor(a) for a in _tensor_args(node)], tuple(parts[:-1]),
                          parts[-1], bool(params) and not any(p.requires_grad for p in params), node.target))
        else:
            mapped = map_function(node, tensor)
            if mapped is None:
                alias[node] = tensor(node.args[0])
                continue
            layers, reads = mapped
            scope = _recorded_scope(node)
            for position, layer in enumerate(layers):     # one op per layer: x.mean(...) may be two
                last = position == len(layers) - 1
                ops.append(Op(node if last else _Between(node.name, position), [layer], reads, scope))
                reads = [ops[-1].node]
    if not ops:
        raise SourceError("the model has no layers to import")
    if output is not ops[-1].node:
        ops.append(_identity_op(output, ops))
    return ops, output


class _Between:
    """The tensor between two layers that one traced node becomes (pool, then flatten)."""

    def __init__(self, name: str, position: int) -> None:
        self.name = f"{name}.{position}"


def _identity_op(output: Any, ops: list):
    from .torch_fx import Op
    return Op(output, [("Identity", {})], [output], ())


def _recorded_scope(node: Any) -> tuple:
    """The innermost module fx saw this node in (``nn_module_stack``), as path components."""
    stack = node.meta.get("nn_module_stack") or {}
    paths = [value[0] if isinstance(value, tuple) else key for key, value in stack.items()]
    paths = [p for p in paths if p]
    return tuple(paths[-1].split(".")) if paths else ()


def _is_node(value: Any) -> bool:
    from torch.fx import Node
    return isinstance(value, Node)


def _is_tensor(node: Any) -> bool:
    from torch.fx.passes.shape_prop import TensorMetadata
    return isinstance(node.meta.get("tensor_meta"), TensorMetadata)


def _shape(node: Any) -> tuple:
    return tuple(node.meta["tensor_meta"].shape)


def _tensor_args(node: Any) -> list:
    return [a for a in list(node.args) + list(node.kwargs.values()) if _is_node(a) and _is_tensor(a)]


# -- modules ------------------------------------------------------------------

def module_args(sub: Any, type_name: str) -> dict:
    """The constructor arguments of a torch.nn module, read back from its attributes, defaults left out."""
    from ..layers.registry import lookup
    layer_type = lookup(type_name)
    args: dict[str, Any] = {}
    for arg in layer_type.args:
        if arg.name == "bias" and hasattr(sub, "bias") and not isinstance(getattr(sub, "bias"), bool):
            value = sub.bias is not None
        elif arg.name == "num_parameters" and hasattr(sub, "weight"):
            value = sub.weight.numel()
        elif hasattr(sub, arg.name):
            value = getattr(sub, arg.name)
        else:
            continue                    # not recoverable from the module (PReLU's init): the default
        value = _plain(value, arg.name)
        if not arg.required and value == _plain(arg.default, arg.name):
            continue
        args[arg.name] = value
    return args


def _plain(value: Any, name: str = "") -> Any:
    """Tuples as lists, ``(3, 3)`` as ``3`` for the window arguments, torch.Size as a list."""
    if isinstance(value, (tuple, list)):
        items = [_plain(v) for v in value]
        if name in _UNIFORM and items and all(v == items[0] for v in items) and isinstance(items[0], int):
            return items[0]
        return items
    return value


# -- functions and methods ------------------------------------------------------

def map_function(node: Any, tensor) -> tuple[list, list] | None:
    """([(type, args), ...], tensors read) for a call_function / call_method node; None for a pass-through."""
    import torch
    import torch.nn.functional as F
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    args, kwargs = list(node.args), dict(node.kwargs)
    if node.op == "call_method":
        key = ("method", target)
    else:
        key = ("function", target)

    def reads(*values):
        return [tensor(v) for v in values]

    def check_tensors(values, what):
        for value in values:
            if not (_is_node(value) and _is_tensor(value)):
                raise _unmappable(node, f"{what} with {_value_text(value)}: cnncalc's {what} merges tensors")
        return values

    if key in _MERGES:
        type_name = _MERGES[key]
        operands = check_tensors(args[:2], type_name) if len(args) >= 2 else None
        if operands is None or kwargs.get("alpha", 1) != 1:
            raise _unmappable(node, f"{name} with these arguments")
        return [(type_name, {})], reads(*operands)
    if key in (("function", torch.cat), ("function", torch.concat), ("function", torch.concatenate)):
        tensors = args[0] if args else kwargs.get("tensors")
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        check_tensors(list(tensors), "concat")
        rank = len(_shape(node))
        return [("concat", {"dim": dim % rank})], reads(*tensors)
    if key in (("method", "contiguous"), ("method", "clone"), ("method", "detach")) or (
            key == ("function", torch.nn.functional.dropout) and False):
        return None
    if key in _ACTIVATIONS:
        type_name, positional = _ACTIVATIONS[key]
        return _simple(node, type_name, positional, args, kwargs, drop=("training", "_stacklevel", "dtype"))
    if key in (("function", torch.flatten), ("method", "flatten"), ("method", "view"), ("method", "reshape"),
               ("function", torch.reshape)):
        return [("Flatten", _flatten_args(node, args[0]))], reads(args[0])
    if key == ("function", F.interpolate):
        return _simple(node, "Upsample", ["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"],
                       args, kwargs, drop=("antialias",))
    if key in (("method", "mean"), ("function", torch.mean)):
        return _mean(node, args, kwargs), reads(args[0])
    raise _unmappable(node, f"{'method ' if node.op == 'call_method' else ''}{_target_text(node)} has no cnncalc "
                            "layer type")


def _simple(node: Any, type_name: str, positional: list, args: list, kwargs: dict, drop=()) -> tuple[list, list]:
    """A function whose arguments after the tensor are the layer type's keyword arguments."""
    from ..layers.registry import lookup
    layer_type = lookup(type_name)
    names = {a.name: a for a in layer_type.args}
    if not args or not (_is_node(args[0]) and _is_tensor(args[0])):
        raise _unmappable(node, "the first argument is not a tensor")
    given = dict(zip(positional, args[1:]))
    if len(args) - 1 > len(positional):
        raise _unmappable(node, f"{len(args) - 1} positional arguments after the tensor")
    given.update(kwargs)
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key in drop or (key == "inplace" and not value):
            continue
        if _is_node(value) or (isinstance(value, (list, tuple)) and any(_is_node(v) for v in value)):
            raise _unmappable(node, f"its argument {key} is computed at run time (from a tensor's size)")
        if key not in names:
            raise _unmappable(node, f"argument {key}={_value_text(value)} has no {type_name} equivalent")
        value = _plain(value, key)
        if value != _plain(names[key].default, key):
            out[key] = value
    return [(type_name, out)], [args[0]]


def _flatten_args(node: Any, source: Any) -> dict:
    """view / reshape / flatten: a Flatten when the output merges one run of the input's trailing axes."""
    if not (_is_node(source) and _is_tensor(source)):
        raise _unmappable(node, "the first argument is not a tensor")
    before, after = _shape(source), _shape(node)
    for start in range(len(before)):
        for end in range(start, len(before)):
            merged = 1
            for d in before[start:end + 1]:
                merged *= d
            if before[:start] + (merged,) + before[end + 1:] == after:
                if start == 0 and before and before[0] != 1:
                    continue
                args: dict[str, Any] = {}
                if start != 1:
                    args["start_dim"] = start
                if end != len(before) - 1:
                    args["end_dim"] = end
                return args
    raise _unmappable(node, f"a reshape from {list(before)} to {list(after)} that is not a flatten of "
                            "consecutive axes")


def _mean(node: Any, args: list, kwargs: dict) -> list:
    """x.mean(spatial axes, keepdim): AdaptiveAvgPool(1), then Flatten without keepdim."""
    source = args[0]
    shape = _shape(source)
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    rank = len(shape)
    if isinstance(dims, int):
        dims = [dims]
    spatial = list(range(2, rank))
    if dims is None or sorted(d % rank for d in dims) != spatial or not 1 <= len(spatial) <= 3 or kwargs.get("dtype"):
        raise _unmappable(node, f"a mean over axes {dims} (cnncalc maps the mean over every spatial axis, "
                                f"{spatial}, as adaptive average pooling)")
    layers = [(f"AdaptiveAvgPool{len(spatial)}d", {"output_size": 1})]
    if not keepdim:
        layers.append(("Flatten", {}))
    return layers


def _target_text(node: Any) -> str:
    target = node.target
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None) or ""
    return f"{module}.{getattr(target, '__name__', repr(target))}".lstrip(".")


def _value_text(value: Any) -> str:
    if _is_node(value):
        return f"the value of node {shown(value.name)}"
    return cut(repr(value), 60)


def _unmappable(node: Any, why: str) -> SourceError:
    """One error naming the node, the op and the user's source line (from the traced node's stack trace)."""
    where, line = _user_line(node)
    message = f"cannot import node {shown(node.name)} ({node.op} {cut(_target_text(node), 80)}): {why}"
    return SourceError(message, hint=f"at {where}: {line}" if where else
                       "cnncalc imports the torch.nn layers and functions listed in docs/import.md",
                       detail=None)


def _user_line(node: Any) -> tuple[str | None, str | None]:
    """('model.py:23', 'x = x * 0.5'): the innermost frame of the node's recorded stack trace."""
    import os
    import torch
    torch_dir = os.path.dirname(torch.__file__)
    trace = node.stack_trace or ""
    lines = trace.strip().splitlines()
    for index in range(len(lines) - 1, -1, -1):
        text = lines[index].strip()
        if text.startswith("File ") and torch_dir not in text:       # the user's frame, not torch's own
            parts = text.split(",")
            file = parts[0][len("File "):].strip().strip('"')
            number = parts[1].strip().removeprefix("line ").strip() if len(parts) > 1 else "?"
            code = lines[index + 1].strip() if index + 1 < len(lines) else ""
            return f"{os.path.basename(file)}:{number}", cut(code, 120)
    return None, None


def _tables() -> tuple[dict, dict]:
    import torch
    import torch.nn.functional as F
    merges = {}
    for fn in (operator.add, operator.iadd, torch.add):
        merges[("function", fn)] = "add"
    for fn in (operator.mul, operator.imul, torch.mul):
        merges[("function", fn)] = "mul"
    merges[("method", "add")] = merges[("method", "add_")] = "add"
    merges[("method", "mul")] = merges[("method", "mul_")] = "mul"
    acts = {
        F.relu: ("ReLU", ["inplace"]), torch.relu: ("ReLU", []), F.relu6: ("ReLU6", ["inplace"]),
        F.leaky_relu: ("LeakyReLU", ["negative_slope", "inplace"]), F.elu: ("ELU", ["alpha", "inplace"]),
        F.gelu: ("GELU", []), F.silu: ("SiLU", ["inplace"]), F.mish: ("Mish", ["inplace"]),
        F.hardswish: ("Hardswish", ["inplace"]), F.hardsigmoid: ("Hardsigmoid", ["inplace"]),
        F.hardtanh: ("Hardtanh", ["min_val", "max_val", "inplace"]), torch.sigmoid: ("Sigmoid", []),
        F.sigmoid: ("Sigmoid", []), torch.tanh: ("Tanh", []), F.tanh: ("Tanh", []),
        F.softmax: ("Softmax", ["dim", "_stacklevel", "dtype"]), torch.softmax: ("Softmax", ["dim"]),
        F.log_softmax: ("LogSoftmax", ["dim", "_stacklevel", "dtype"]),
        F.dropout: ("Dropout", ["p", "training", "inplace"]),
        F.adaptive_avg_pool1d: ("AdaptiveAvgPool1d", ["output_size"]),
        F.adaptive_avg_pool2d: ("AdaptiveAvgPool2d", ["output_size"]),
        F.adaptive_avg_pool3d: ("AdaptiveAvgPool3d", ["output_size"]),
        F.max_pool1d: ("MaxPool1d", ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"]),
        F.max_pool2d: ("MaxPool2d", ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"]),
        F.avg_pool2d: ("AvgPool2d", ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                     "divisor_override"]),
        F.pixel_shuffle: ("PixelShuffle", ["upscale_factor"]),
    }
    activations = {("function", fn): value for fn, value in acts.items()}
    for method, value in (("relu", ("ReLU", [])), ("relu_", ("ReLU", [])), ("sigmoid", ("Sigmoid", [])),
                          ("tanh", ("Tanh", [])), ("softmax", ("Softmax", ["dim"]))):
        activations[("method", method)] = value
    return merges, activations


class _LazyTable(dict):
    """A table built on first use (it needs torch, which this module may not import at load time)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.ready = False

    def _fill(self) -> None:
        if not self.ready:
            self.ready = True
            self.update(_tables()[self.index])

    def __contains__(self, key) -> bool:
        self._fill()
        return super().__contains__(key)

    def __getitem__(self, key):
        self._fill()
        return super().__getitem__(key)


_MERGES = _LazyTable(0)
_ACTIVATIONS = _LazyTable(1)
