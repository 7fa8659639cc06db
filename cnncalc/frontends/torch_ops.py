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


def leaf_name(sub: Any) -> str | None:
    """The cnncalc type of a module called as one layer: a torch.nn class, or torchvision.ops' Permute and
    StochasticDepth (seen by class name and module, so torchvision is never imported here)."""
    name = leaf_types().get(type(sub))
    cls = type(sub).__name__
    if name is None and cls in _OPS_LEAVES and all(hasattr(sub, a) for a in _OPS_LEAVES[cls]) \
            and not any(True for _ in sub.parameters()):
        name = _LEAF_TYPES.get(cls, cls)      # torchvision.ops' classes, and the ones cnncalc's export writes
    return name


# class name -> the attributes it must have: torchvision.ops.Permute / StochasticDepth, and the same
# classes in a file `cnncalc export --to torch` wrote (StochasticDepth in eval traces to nothing at all)
_OPS_LEAVES = {"Permute": ("dims",), "StochasticDepth": ("p", "mode"),
               "Interpolate": ("size", "scale_factor", "mode", "align_corners")}   # export's F.interpolate(like=)
_LEAF_TYPES = {"Interpolate": "interpolate"}


def map_graph(graph_module: Any, module: Any) -> tuple[list, Any]:
    """(ops in execution order, the output tensor's node) for a traced, shape-propagated module."""
    from .torch_fx import Op
    ops: list[Op] = []
    alias: dict[Any, Any] = {}         # pass-through nodes (contiguous, identity-like) -> the tensor they give
    inputs = []
    output = None
    seen_modules: set[str] = set()
    pieces: dict[tuple, Any] = {}      # (layer, input) of a layer of several outputs -> its first node
    same: dict[Any, Any] = {}          # a repeated one -> that first node

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
            continue                    # only reached by functions that use parameters: mapped or refused there
        elif _is_pieces(node):
            layers, reads = _pieces(node, tensor)     # x.chunk(2, 1): one layer of several outputs
            signature = (repr(layers), tuple(id(r) for r in reads))
            if signature in pieces:                   # the same chunk of the same tensor again (one per piece)
                same[node] = pieces[signature]
                continue
            pieces[signature] = node
            ops.append(Op(node, layers, reads, _recorded_scope(node)))
        elif node.op == "call_function" and node.target is operator.getitem and _is_node(node.args[0]) \
                and _is_pieces(node.args[0]) and isinstance(node.args[1], int):
            count = len(node.args[0].meta["tensor_meta"])
            whole = same.get(node.args[0], node.args[0])
            alias[node] = Piece(whole, node.args[1] % count)          # x1 = parts[0]: the layer parts.0
        elif not _is_tensor(node):
            continue                    # sizes and other Python values: used as arguments of mapped ops
        elif (scaled := _layer_scale(node, module, tensor)) is not None:
            ops.append(scaled)
        elif node.op == "call_module":
            sub = module.get_submodule(node.target)
            name = leaf_name(sub)
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
            reads, refs = [tensor(a) for a in _tensor_args(node)], {}
            if name == "interpolate" and len(reads) == 2:        # Interpolate()(x, like): size_of like
                refs["size_of"] = reads.pop()
                args = {k: v for k, v in args.items() if k != "size"}
                args["size_of"] = Ref(refs["size_of"])
            ops.append(Op(node, [(name, args)], reads, tuple(parts[:-1]),
                          parts[-1], bool(params) and not any(p.requires_grad for p in params), node.target,
                          refs=refs))
        else:
            mapped = map_function(node, tensor)
            if mapped is None:
                alias[node] = tensor(node.args[0])
                continue
            layers, reads = mapped
            scope = _recorded_scope(node)
            refs = {}
            for position, layer in enumerate(layers):     # one op per layer: x.mean(...) may be two
                last = position == len(layers) - 1
                for key, value in layer[1].items():
                    if isinstance(value, Ref):
                        refs[key] = value.tensor
                ops.append(Op(node if last else _Between(node.name, position), [layer], reads, scope, refs=refs))
                reads = [ops[-1].node]
    if not ops:
        raise SourceError("the model has no layers to import")
    if output is not ops[-1].node:
        ops.append(_identity_op(output, ops))
    return ops, output


class Piece:
    """Output ``index`` of a layer of several outputs (``parts[1]`` of ``x.chunk(2, 1)``: the layer parts.1)."""

    __slots__ = ("node", "index")

    def __init__(self, node: Any, index: int) -> None:
        self.node, self.index = node, index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Piece) and other.node is self.node and other.index == self.index

    def __hash__(self) -> int:
        return hash((id(self.node), self.index))


class Ref:
    """A layer argument naming another tensor (interpolate's ``size_of``), resolved to a name by the writer."""

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ref) and other.tensor is self.tensor

    def __hash__(self) -> int:
        return hash(id(self.tensor))

    def __repr__(self) -> str:
        return f"Ref({getattr(self.tensor, 'name', self.tensor)})"


def base(tensor: Any) -> Any:
    """The node that makes ``tensor`` (a piece's layer of several outputs)."""
    return tensor.node if isinstance(tensor, Piece) else tensor


def _is_pieces(node: Any) -> bool:
    from torch.fx.passes.shape_prop import TensorMetadata
    meta = node.meta.get("tensor_meta")
    return node.op in ("call_method", "call_function") and isinstance(meta, (tuple, list)) and bool(meta) \
        and all(isinstance(m, TensorMetadata) for m in meta)


def _pieces(node: Any, tensor) -> tuple[list, list]:
    """x.chunk(n, dim) / torch.split(x, sizes, dim): cnncalc's chunk and split (outputs NAME.0, NAME.1, ...)."""
    import torch
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", "")
    args, kwargs = list(node.args), dict(node.kwargs)
    source = args[0] if args else None
    if not (_is_node(source) and _is_tensor(source)):
        raise _unmappable(node, "a function of several outputs whose first argument is not a tensor")
    rank = len(_shape(source))
    if name in ("chunk", "split") and (node.op == "call_method" or target in (torch.chunk, torch.split)):
        first = "chunks" if name == "chunk" else "split_size_or_sections"
        given = dict(zip([first, "dim"], args[1:]))
        given.update({("split_size_or_sections" if k == "split_size" else k): v for k, v in kwargs.items()})
        if set(given) - {first, "dim"} or first not in given or any(_is_node(v) for v in given.values()):
            raise _unmappable(node, f"{name} with arguments {_value_text(given)}")
        dim = given.get("dim", 0) % rank
        value = given[first]
        if name == "split":
            sizes = [tuple(m.shape)[dim] for m in node.meta["tensor_meta"]]
            value = list(value) if isinstance(value, (list, tuple)) else sizes
            return [("split", {"split_size_or_sections": value, "dim": dim})], [tensor(source)]
        return [("chunk", {"chunks": value, "dim": dim})], [tensor(source)]
    raise _unmappable(node, f"{_target_text(node)} gives several tensors and has no cnncalc layer type")


def _layer_scale(node: Any, module: Any, tensor):
    """``self.gamma * x`` with a parameter of shape (C, 1, 1) or (C,): LayerScale, named by the parameter.

    A parameter ``a.ls.weight`` (a module holding one ``weight``, as cnncalc's own LayerScale and
    timm's) is the layer ``a.ls``, so the state_dict keys match; ``a.layer_scale`` (torchvision's
    ConvNeXt) is the layer ``a.layer_scale``, whose key becomes ``a.layer_scale.weight``.
    """
    import torch
    from .torch_fx import Op
    if not (node.op == "call_function" and node.target in (operator.mul, torch.mul)) and not (
            node.op == "call_method" and node.target == "mul"):
        return None
    if len(node.args) != 2 or node.kwargs:
        return None
    attr = [a for a in node.args if _is_node(a) and a.op == "get_attr"]
    other = [a for a in node.args if not (_is_node(a) and a.op == "get_attr")]
    if len(attr) != 1 or len(other) != 1 or not (_is_node(other[0]) and _is_tensor(other[0])):
        return None
    try:
        weight = module.get_parameter(attr[0].target)
    except AttributeError:
        raise _unmappable(node, f"a multiplication by the constant tensor {attr[0].target}") from None
    x = _shape(other[0])
    shape = tuple(weight.shape)
    if len(shape) >= 1 and len(x) >= 2 and shape == (x[1],) + (1,) * (len(x) - 2):
        dim = 1
    elif len(shape) == 1 and shape[0] == x[-1]:
        dim = -1
    else:
        raise _unmappable(node, f"a multiplication by the parameter {attr[0].target} of shape {list(shape)}, "
                                "not a per-channel scale (C, 1, 1) or (C,)")
    args: dict[str, Any] = {} if dim == 1 else {"dim": -1}
    flat = weight.detach().flatten()
    if flat.numel() and not flat.is_meta and bool((flat == flat[0]).all()):   # a module on "meta" has no values
        value = float(f"{float(flat[0]):.7g}")                                # float32's 1e-6 written as 1e-6
        if value != 1e-6:
            args["init_value"] = value
    parts = attr[0].target.split(".")
    if parts[-1] == "weight" and len(parts) > 1:
        parts = parts[:-1]
    path = ".".join(parts)
    return Op(node, [("LayerScale", args)], [tensor(other[0])], tuple(parts[:-1]), parts[-1],
              not weight.requires_grad, path)


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

    if key in _MERGES and _MERGES[key] == "mul" and len(args) == 2 and not kwargs:
        numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
        tensors = [a for a in args if _is_node(a) and _is_tensor(a)]
        if len(numbers) == 1 and len(tensors) == 1:
            return [("scale", {"factor": numbers[0]})], reads(tensors[0])       # x * 0.5
    if key in (("function", operator.truediv), ("method", "div")) and len(args) == 2 and not kwargs \
            and isinstance(args[1], (int, float)) and not isinstance(args[1], bool) and args[1] != 0 \
            and _is_node(args[0]) and _is_tensor(args[0]) and 1 / args[1] * args[1] == 1:
        return [("scale", {"factor": 1 / args[1]})], reads(args[0])            # x / 2, exactly x * 0.5
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
        if len(tensors) == 1:
            return [("Identity", {})], reads(*tensors)       # torch.cat([x]): DenseNet's first layer, a copy of x
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
        if _shape(args[0]) == _shape(node):
            return None                                                          # a view to the same shape
        return [_reshape_layer(node, args[0])], reads(args[0])
    if key == ("function", F.layer_norm):
        return _layer_norm(node, args, kwargs), reads(args[0])
    if key == ("function", F.interpolate):
        size = args[1] if len(args) > 1 else kwargs.get("size")
        if _is_node(size):                                                       # size=y.shape[-2:]
            like = _size_source(size, len(_shape(args[0])))
            if like is None:
                raise _unmappable(node, "its size is computed at run time, not another tensor's spatial size")
            rest = dict(kwargs)
            rest.pop("size", None)
            layers, _ = _simple(node, "interpolate", ["size", "scale_factor", "mode", "align_corners",
                                                      "recompute_scale_factor"], args[:1], rest, drop=("antialias",))
            layers[0][1]["size_of"] = Ref(tensor(like))
            return layers, reads(args[0])
        return _simple(node, "Upsample", ["size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"],
                       args, kwargs, drop=("antialias",))
    if key in (("method", "permute"), ("function", torch.permute)):
        dims = args[1:] if len(args) > 2 or (len(args) == 2 and isinstance(args[1], int)) else (
            args[1] if len(args) > 1 else kwargs.get("dims"))
        return [("Permute", {"dims": [d % len(_shape(node)) for d in _ints(node, dims, "dims")]})], reads(args[0])
    if key in (("method", "transpose"), ("function", torch.transpose), ("function", torch.swapaxes),
               ("method", "swapaxes")):
        dims = _ints(node, list(args[1:3]) + [kwargs[k] for k in ("dim0", "dim1") if k in kwargs], "dims")
        return [("transpose", {"dim0": dims[0], "dim1": dims[1]})], reads(args[0])
    for reduction in ("mean", "sum", "amax"):
        if key in (("method", reduction), ("function", getattr(torch, reduction))):
            return _reduce(node, reduction, args, kwargs), reads(args[0])
    if node.op == "call_function" and getattr(target, "__module__", "").startswith("torchvision.ops") \
            and getattr(target, "__name__", "") == "stochastic_depth":
        return _simple(node, "StochasticDepth", ["p", "mode", "training"], args, kwargs, drop=("training",))
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


def _reshape_layer(node: Any, source: Any) -> tuple:
    """view / reshape / flatten: a Flatten when the output merges one run of the input's axes (batch kept),
    an Unflatten when it splits one axis (ShuffleNet's channel shuffle)."""
    if not (_is_node(source) and _is_tensor(source)):
        raise _unmappable(node, "the first argument is not a tensor")
    before, after = _shape(source), _shape(node)
    for start in range(1, len(before)):
        for end in range(start + 1, len(before)):
            merged = 1
            for d in before[start:end + 1]:
                merged *= d
            if before[:start] + (merged,) + before[end + 1:] == after:
                args: dict[str, Any] = {}
                if start != 1:
                    args["start_dim"] = start
                if end != len(before) - 1:
                    args["end_dim"] = end
                return ("Flatten", args)
    extra = len(after) - len(before)
    for dim in range(1, len(before)):
        if extra >= 1 and before[:dim] == after[:dim] and before[dim + 1:] == after[dim + 1 + extra:]:
            pieces = list(after[dim:dim + 1 + extra])
            product = 1
            for d in pieces:
                product *= d
            if product == before[dim]:
                return ("Unflatten", {"dim": dim, "unflattened_size": pieces})
    raise _unmappable(node, f"a reshape from {list(before)} to {list(after)} that is neither a flatten of "
                            "consecutive axes nor a split of one axis")


def _layer_norm(node: Any, args: list, kwargs: dict) -> list:
    """F.layer_norm(x, shape, self.weight, self.bias, eps), as torchvision's LayerNorm2d calls it."""
    given = dict(zip(["normalized_shape", "weight", "bias", "eps"], args[1:]))
    given.update(kwargs)
    shape = _ints(node, given.get("normalized_shape"), "normalized_shape")
    for key in ("weight", "bias"):
        value = given.get(key)
        if value is not None and not (_is_node(value) and value.op == "get_attr"):
            raise _unmappable(node, f"its {key} is computed at run time, not a parameter")
    layer: dict[str, Any] = {"normalized_shape": shape}
    eps = given.get("eps", 1e-5)
    if eps != 1e-5:
        layer["eps"] = eps
    if given.get("weight") is None:
        if given.get("bias") is not None:
            raise _unmappable(node, "a layer norm with a bias and no weight")
        layer["elementwise_affine"] = False
    elif given.get("bias") is None:
        layer["bias"] = False
    return [("LayerNorm", layer)]


def _ints(node: Any, values: Any, what: str) -> list:
    values = [values] if isinstance(values, int) else list(values or ())
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise _unmappable(node, f"its {what} {_value_text(values)} are not numbers known when tracing")
    return values


def _size_source(size: Any, rank: int) -> Any:
    """The tensor T when ``size`` is ``T.shape[-k:]`` / ``T.size()[2:]`` covering T's spatial axes, else None."""
    if not (size.op == "call_function" and size.target is operator.getitem and isinstance(size.args[1], slice)):
        return None
    holder, cut_ = size.args
    if not _is_node(holder):
        return None
    if holder.op == "call_function" and holder.target is getattr and holder.args[1] == "shape":
        like = holder.args[0]
    elif holder.op == "call_method" and holder.target == "size" and len(holder.args) == 1:
        like = holder.args[0]
    else:
        return None
    if not (_is_node(like) and _is_tensor(like)) or len(_shape(like)) != rank:
        return None
    if list(range(rank))[cut_] != list(range(2, rank)) or cut_.step not in (None, 1):
        return None
    return like


def _reduce(node: Any, op: str, args: list, kwargs: dict) -> list:
    """x.mean / sum / amax over the given axes (batch counted, as in torch), with keepdim."""
    rank = len(_shape(args[0]))
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    if kwargs.get("dtype") is not None or set(kwargs) - {"dim", "keepdim", "dtype"}:
        raise _unmappable(node, f"{op} with arguments {_value_text(kwargs)}")
    layer: dict[str, Any] = {}
    if dims is not None and dims != ():
        axes = [d % rank for d in _ints(node, dims, "dim")]
        if 0 in axes:
            raise _unmappable(node, f"a {op} over the batch axis (dim {dims}): cnncalc's layers keep the batch")
        layer["dim"] = axes
    else:
        raise _unmappable(node, f"a {op} over every axis, the batch included: cnncalc's layers keep the batch")
    if not isinstance(keepdim, bool):
        raise _unmappable(node, f"keepdim {_value_text(keepdim)} is not known when tracing")
    if keepdim:
        layer["keepdim"] = True
    return [(op, layer)]


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
