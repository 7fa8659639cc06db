"""Located YAML nodes -> a NetworkSpec: blocks, $params, repeat and from expanded.

Names are scoped: a block's layers are local to it and reported by path
(``basic_4.bn2``; ``.0``, ``.1`` for repeats). An unnamed layer is called by
its lower-case type and its index in its scope (``conv2d_0``, ``basic_4``);
in a scope marked ``sequential: true`` it is called by its position instead,
counted as ``nn.Sequential(*children)`` numbers its children (``layer1.0``),
the copies of an unnamed ``repeat`` taking consecutive positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import Loc, SpecError, did_you_mean
from ..text import cut, shown
from ..layers import registry
from . import expr
from .deferred import Deferred
from .model import DTYPE_BYTES, INPUT, LayerSpec, NetworkSpec
from .yaml_source import MAX_SOURCE_BYTES, YMap, YNode, YScalar, YSeq, parse_yaml, plain
from .._files import read_limited
from .._gc import gc_paused
from ..overrides import MAX_BATCH, MAX_DIM  # the file's bounds are the flags' and the API's

TOP_KEYS = ("name", "input", "batch", "dtype", "blocks", "layers", "sequential", "budget", "description", "framework")
FRAMEWORKS = ("torch", "keras")   # whose layer names: torch.nn (channels first) or Keras (channels last)
BLOCK_KEYS = ("params", "inputs", "layers", "sequential", "description")
META_KEYS = ("name", "from", "repeat", "frozen")
MAX_LAYERS = 100_000
MAX_REPEAT = 10_000
MAX_BLOCK_DEPTH = 32
MAX_NAME_LENGTH = 256          # a layer, block or parameter name; paths join at most MAX_BLOCK_DEPTH of them
MAX_SUGGESTED = 100            # longer words get no did-you-mean: difflib's cost grows with their length
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# a layer's name may also hold '-' after its first character (torchvision's RegNet names
# its blocks block1-0 with add_module); never first, so `from: -1` stays an index, and
# not in block or parameter names, where `$a-b` would read as a subtraction
_LAYER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
NAME_RULE = "names use ASCII letters, digits and underscores and do not start with a digit"
LAYER_NAME_RULE = ("layer names use ASCII letters, digits, underscores and '-', and start with a letter "
                   "or an underscore")
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@gc_paused
def load_text(text: str, filename: str = "<string>") -> NetworkSpec:
    """Parse and expand an architecture file's text."""
    root = parse_yaml(text, filename)
    return _Expander(filename).network(root)


def load_path(path: str | Path) -> NetworkSpec:
    """Read an architecture file, bounded: special files are refused before a byte is read.

    ``/dev/zero``, a FIFO, a directory or a symlink to one would otherwise
    read without end or hang; ``read_limited`` checks ``stat`` first and
    reads at most MAX_SOURCE_BYTES.
    """
    data = read_limited(path, MAX_SOURCE_BYTES, "architecture file")
    return load_bytes(data, str(path))


def load_bytes(data: bytes, filename: str = "<stdin>") -> NetworkSpec:
    """Decode UTF-8 (an error names the first bad byte's line and column), then load."""
    if len(data) > MAX_SOURCE_BYTES:
        raise SpecError(f"the file is {len(data):,} bytes; architecture files are limited to "
                        f"{MAX_SOURCE_BYTES:,} bytes", loc=Loc(filename, 1, 1))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise SpecError(f"the file is not UTF-8 text: byte 0x{data[err.start:err.start + 1].hex()} "
                        f"({err.reason})", loc=Loc(filename, line, col),
                        hint="save the file as UTF-8") from None
    return load_text(text, filename)


@dataclass(frozen=True)
class _Block:
    name: str
    params: tuple[tuple[str, Any, Loc], ...]   # name, default (REQUIRED_PARAM) , loc
    layers: YSeq
    loc: Loc
    sequential: bool = False                   # unnamed children are named by position (nn.Sequential)
    inputs: tuple[str, ...] = ()               # names of its inputs when it takes several (NASNet cells)


_REQUIRED_PARAM = object()


class _Expander:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.blocks: dict[str, _Block] = {}
        self.layers: list[LayerSpec] = []
        self.scope_types: dict[str, str] = {}
        self.multi: dict[str, int] = {}        # a layer with several outputs (chunk) -> how many
        self.framework = "torch"

    # -- top level ---------------------------------------------------------
    def network(self, root: YNode) -> NetworkSpec:
        if not isinstance(root, YMap):
            raise SpecError("expected a mapping with 'input' and 'layers' at the top of the file",
                            loc=root.loc)
        for key, _ in root.items:
            if key.value not in TOP_KEYS:
                raise SpecError(f"unknown top-level key {_shown_value(key.value)}", loc=key.loc,
                                hint=_suggest(key.value, TOP_KEYS)
                                or f"expected one of {', '.join(TOP_KEYS)}")
        name = self._scalar(root, "name", str, default=Path(self.filename).stem if self.filename not in ("<string>", "<stdin>", "-") else "network")
        batch = self._scalar(root, "batch", int, default=1)
        if not 1 <= batch <= MAX_BATCH:
            raise SpecError(f"batch must be between 1 and {MAX_BATCH:,}, found {batch}", loc=root.get("batch").loc)
        self.framework = self._scalar(root, "framework", str, default="torch")
        if self.framework not in FRAMEWORKS:
            raise SpecError(f"unknown framework {shown(self.framework)}", loc=root.get("framework").loc,
                            hint=_suggest(self.framework, FRAMEWORKS) or "expected torch or keras")
        dtype = self._scalar(root, "dtype", str, default="float32")
        if dtype.removeprefix("torch.") not in DTYPE_BYTES:
            raise SpecError(f"unknown dtype {shown(dtype)}", loc=root.get("dtype").loc,
                            hint=_suggest(dtype, DTYPE_BYTES) or f"expected one of {', '.join(DTYPE_BYTES)}")
        dtype = dtype.removeprefix("torch.")
        input_node = root.get("input")
        if input_node is None:
            raise SpecError("missing required key 'input' (one sample's shape, channels first, e.g. [3, 224, 224])",
                            loc=root.loc)
        input_shape = parse_input(input_node, channels_last=self.framework == "keras")
        blocks_node = root.get("blocks")
        if blocks_node is not None:
            self._read_blocks(blocks_node)
        layers_node = root.get("layers")
        if layers_node is None:
            raise SpecError("missing required key 'layers' (a list of layers)", loc=root.loc)
        if not isinstance(layers_node, YSeq) or not layers_node.items:
            raise SpecError("'layers' must be a non-empty list of layers", loc=layers_node.loc)
        self._check_size(layers_node)
        self._scope(layers_node, prefix="", scope_input=INPUT, params={}, scopes=(), frozen=False,
                    stack=(), where="layers", sequential=_sequential(root.get("sequential"), "the top level"))
        if not self.layers:
            raise SpecError("the network has no layers once 'repeat: 0' items are skipped", loc=layers_node.loc,
                            hint="at least one layer must remain")
        last = self.layers[-1]
        if last.scopes and last.scopes[-1] in self.multi:
            raise SpecError(f"the network ends with {last.type_name}, which has {self.multi[last.scopes[-1]]} outputs",
                            loc=last.loc, path=last.scopes[-1], layer_type=last.type_name,
                            hint="end with a layer that reads one of them (from: NAME.0) or merges them")
        return NetworkSpec(
            name=name, input=input_shape, layers=tuple(self.layers), batch=batch, dtype=dtype,
            source=self.filename, budget=root.get("budget"), input_loc=input_node.loc,
            scope_types=MappingProxyType(dict(self.scope_types)), framework=self.framework,
        )

    def _scalar(self, root: YMap, key: str, kind: type, default: Any) -> Any:
        node = root.get(key)
        if node is None:
            return default
        value = node.value if isinstance(node, YScalar) else None
        if not isinstance(value, kind) or isinstance(value, bool):
            raise SpecError(f"'{key}' must be {'an integer' if kind is int else 'a string'}, found {_show(node)}",
                            loc=node.loc)
        return value

    # -- blocks ------------------------------------------------------------
    def _read_blocks(self, node: YNode) -> None:
        if not isinstance(node, YMap):
            raise SpecError("'blocks' must be a mapping of block names to {params, layers}", loc=node.loc)
        for key, body in node.items:
            name = key.value
            _check_name(name, "block name", key.loc)
            if registry.lookup(name, self.framework) is not None or name.lower() in ("add", "mul", "concat"):
                raise SpecError(f"block name {shown(name)} hides the layer type of the same name", loc=key.loc,
                                hint="choose another name")
            if not isinstance(body, YMap):
                raise SpecError(f"block {shown(name)} must be a mapping with 'layers' (and optional 'params'), "
                                f"found {_show(body)}",
                                loc=body.loc)
            for bkey, _ in body.items:
                if bkey.value not in BLOCK_KEYS:
                    raise SpecError(f"unknown key {_shown_value(bkey.value)} in block {shown(name)}", loc=bkey.loc,
                                    hint=_suggest(bkey.value, BLOCK_KEYS)
                                    or "a block has 'params', 'layers' and optionally 'sequential'")
            params: list[tuple[str, Any, Loc]] = []
            params_node = body.get("params")
            if params_node is not None:
                if isinstance(params_node, YScalar) and params_node.value is None:
                    pass
                elif not isinstance(params_node, YMap):
                    raise SpecError(f"'params' of block {shown(name)} must be a mapping of names to defaults "
                                    f"(~ = required), found {_show(params_node)}",
                                    loc=params_node.loc)
                else:
                    for pkey, pvalue in params_node.items:
                        _check_name(pkey.value, "parameter name", pkey.loc)
                        if pkey.value in META_KEYS:
                            raise SpecError(f"parameter name {shown(pkey.value)} is reserved for every layer",
                                            loc=pkey.loc, hint="rename the parameter")
                        default = _REQUIRED_PARAM if isinstance(pvalue, YScalar) and pvalue.value is None else pvalue
                        params.append((pkey.value, default, pkey.loc))
            layers = body.get("layers")
            if not isinstance(layers, YSeq) or not layers.items:
                raise SpecError(f"block {shown(name)} needs a non-empty 'layers' list"
                                + (f", found {_show(layers)}" if layers is not None else ""), loc=(layers or body).loc)
            inputs = self._block_inputs(body.get("inputs"), name, [p[0] for p in params])
            self.blocks[name] = _Block(name, tuple(params), layers, key.loc,
                                       _sequential(body.get("sequential"), f"block {shown(name)}"), inputs)

    def _block_inputs(self, node: YNode | None, block: str, params: list[str]) -> tuple[str, ...]:
        """A block's ``inputs: [x, prev]``: the names its layers use for the tensors of the call's ``from``."""
        if node is None:
            return ()
        if not isinstance(node, YSeq) or not node.items:
            raise SpecError(f"'inputs' of block {shown(block)} must be a list of names, found {_show(node)}",
                            loc=node.loc, hint="e.g. inputs: [x, prev]; the call gives them as from: [a, b]")
        names: list[str] = []
        for item in node.items:
            value = item.value if isinstance(item, YScalar) else None
            _check_name(value, "input name", item.loc)
            if value == INPUT or value in names or value in META_KEYS:
                raise SpecError(f"input name {shown(value)} of block {shown(block)} "
                                + ("is used twice" if value in names else "is reserved"), loc=item.loc,
                                hint="choose another name")
            names.append(value)
        return tuple(names)

    # -- a scope: the top-level list or one block instance's body ----------
    def _scope(self, items: YSeq, prefix: str, scope_input: str, params: dict[str, Any],
               scopes: tuple[str, ...], frozen: bool, stack: tuple[str, ...], where: str,
               sequential: bool = False, inputs: dict[str, str] | None = None) -> str:
        """Expand one list of layers; return the path of its last layer's output.

        With ``sequential`` an unnamed child is named by its position, as
        ``nn.Sequential`` numbers its children: every child takes one
        position, and an unnamed ``repeat: n`` takes n of them, one per copy.
        """
        local: dict[str, str] = dict(inputs or {})   # a block's named inputs are names in its scope
        history: list[str] = []
        position = 0                               # the next child's position (sequential scopes)
        # names the file gives: an automatic name (relu_1) must not take one of them
        given = {value.get("name").value for item in items.items if isinstance(item, YMap) and len(item.items) == 1
                 for value in (item.items[0][1],)
                 if isinstance(value, YMap) and isinstance(value.get("name"), YScalar)}
        for index, item in enumerate(items.items):
            item_where = f"{where}[{index}]"
            type_name, type_loc, args_node = self._item(item, item_where)
            args: dict[str, Any] = {}
            arg_locs: dict[str, Loc] = {}
            key_locs: dict[str, Loc] = {}          # where each argument's name is written
            if args_node is not None:
                for key, value in args_node.items:
                    if not isinstance(key.value, str):
                        raise SpecError(f"argument names must be strings, found {_shown_value(key.value)}", loc=key.loc)
                    try:
                        args[key.value] = self._substitute(value, params, item_where,
                                                           {**(inputs or {}), "in": scope_input})
                    except SpecError as err:       # name the block instance whose params failed
                        raise err.add_context(path=prefix[:-1] or None,
                                              layer_type=self.scope_types.get(prefix[:-1])) from None
                    arg_locs[key.value] = value.loc
                    key_locs[key.value] = key.loc
            block = self.blocks.get(type_name)
            layer_type = None
            if block is None:
                layer_type = registry.lookup(type_name, self.framework)
                if layer_type is None:
                    choices = list(registry.all_types(self.framework)) + list(self.blocks)
                    raise SpecError(f"unknown layer type {shown(type_name)}", loc=type_loc,
                                    hint=_suggest(type_name, choices)
                                    or "layer types are torch.nn class names (Conv2d, ReLU, ...) or blocks defined under 'blocks'")
            canonical = block.name if block else layer_type.name
            name = args.pop("name", None)
            positional = sequential and name is None
            if positional:
                name = str(position)
            elif name is None:
                name = f"{canonical.lower()}_{index}" if layer_type else f"{canonical}_{index}"
                suffix = 1
                while name in given or name in local:
                    name = f"{canonical.lower() if layer_type else canonical}_{index}_{suffix}"
                    suffix += 1
            else:
                _check_name(name, "name", arg_locs["name"])
                if name == INPUT:
                    raise SpecError("'name' cannot be 'input': it stands for the scope's input tensor",
                                    loc=arg_locs["name"], hint="choose another name")
            if name in local:
                raise SpecError(f"name {shown(name)} is already used in this scope", loc=arg_locs.get("name", type_loc),
                                hint="names must be unique within a block or the top-level list",
                                path=prefix + name, layer_type=canonical)
            try:
                from_node = args_node.get("from") if args_node is not None else None
                sources = self._sources(args.pop("from", -1), arg_locs.get("from", type_loc), local, history,
                                        scope_input,
                                        from_node.items if isinstance(from_node, YSeq) else None)
            except SpecError as err:
                raise err.add_context(path=prefix + name, layer_type=canonical) from None
            repeat = args.pop("repeat", 1)
            if not isinstance(repeat, int) or isinstance(repeat, bool) or not 0 <= repeat <= MAX_REPEAT:
                raise SpecError(f"'repeat' must be an integer from 0 to {MAX_REPEAT:,}, found {_shown_value(repeat)}",
                                loc=arg_locs.get("repeat", type_loc), path=prefix + name, layer_type=canonical)
            if repeat == 0 and len(sources) != 1:
                # a skipped item passes its input through: with several inputs there is no one tensor to pass
                raise SpecError(f"'repeat: 0' skips {canonical}, which needs one input to pass through; "
                                f"found {len(sources)} in 'from'", loc=arg_locs.get("repeat", type_loc),
                                path=prefix + name, layer_type=canonical)
            layer_frozen = args.pop("frozen", frozen)
            if not isinstance(layer_frozen, bool):
                raise SpecError(f"'frozen' must be true or false, found {_shown_value(layer_frozen)}",
                                loc=arg_locs.get("frozen", type_loc), path=prefix + name, layer_type=canonical)
            path = prefix + name
            arity = (len(block.inputs) or 1) if block else layer_type.arity
            if block is not None and block.inputs and len(sources) != arity:
                raise SpecError(f"block {shown(block.name)} takes {arity} inputs ({', '.join(block.inputs)}), "
                                f"found {len(sources)} in 'from'", loc=arg_locs.get("from", type_loc),
                                hint=f"write from: [{', '.join(block.inputs)}] with the layers to take",
                                path=path, layer_type=canonical)
            if block is not None and block.inputs and repeat > 1:
                raise SpecError(f"block {shown(block.name)} takes {arity} inputs, so 'repeat' cannot chain its copies",
                                loc=arg_locs.get("repeat", type_loc), path=path, layer_type=canonical,
                                hint="write each call with its own 'from'")
            elif arity == 1 and len(sources) != 1:
                raise SpecError(f"{canonical} takes one input, found {len(sources)} in 'from'",
                                loc=arg_locs.get("from", type_loc) if "from" in arg_locs else type_loc,
                                hint="merge them first with add or concat", path=path, layer_type=canonical)
            if arity is None and len(sources) < 2:
                raise SpecError(f"{canonical} merges two or more tensors; give them as 'from: [a, b]'",
                                loc=type_loc, path=path, layer_type=canonical)
            try:
                refs = self._shape_refs(layer_type, args, arg_locs, type_loc, local, history, scope_input)
            except SpecError as err:
                raise err.add_context(path=path, layer_type=canonical) from None
            count = getattr(layer_type, "output_count", None) if layer_type is not None else None
            if count is not None:
                self._pieces(layer_type, count(args), args, arg_locs, key_locs, type_loc, path, name, sources,
                             layer_frozen, scopes, repeat, local, history)
                position += 1
                continue
            current = sources
            grouped = repeat > 1 and not positional  # named copies live under the item's name: path.0, path.1
            for copy in range(repeat):
                if positional:
                    copy_name = str(position + copy)
                    copy_path, group = prefix + copy_name, scopes
                else:
                    copy_path = f"{path}.{copy}" if grouped else path
                    group = scopes + ((path,) if grouped else ())
                if block is not None:
                    output = self._instance(block, args, arg_locs, type_loc, copy_path, current, group,
                                            layer_frozen, stack, item_where, key_locs)
                else:
                    self._add(LayerSpec(
                        path=copy_path, type_name=canonical, args=MappingProxyType(dict(args)),
                        inputs=tuple(current) + refs, loc=type_loc,
                        arg_locs=MappingProxyType({k: v for k, v in arg_locs.items() if k in args}),
                        key_locs=MappingProxyType({k: v for k, v in key_locs.items() if k in args}),
                        frozen=layer_frozen, scopes=group,
                    ))
                    output = copy_path
                if positional:
                    local[copy_name] = output
                current = (output,)
            position += repeat if positional else 1
            if grouped:
                self.scope_types[path] = f"{canonical} ×{repeat}"
                local[name] = current[0]
            elif not positional:
                local[name] = current[0]
            history.append(current[0])
        if history[-1] in self.multi:
            raise SpecError(f"{where} ends with a layer of {self.multi[history[-1]]} outputs ({shown(history[-1])}), "
                            "so it has no one output", loc=items.items[-1].loc,
                            hint="end with a layer that reads one of them (from: NAME.0) or merges them")
        return history[-1]

    def _shape_refs(self, layer_type: Any, args: dict[str, Any], arg_locs: dict[str, Loc], type_loc: Loc,
                    local: dict[str, str], history: list[str], scope_input: str) -> tuple[str, ...]:
        """The layers named by a type's reference arguments (interpolate's size_of): extra inputs."""
        refs: list[str] = []
        for key in getattr(layer_type, "shape_refs", ()) if layer_type is not None else ():
            if args.get(key) is None:
                continue
            value = args[key]
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise SpecError(f"'{key}' names a layer (or input), found {_shown_value(value)}",
                                loc=arg_locs.get(key, type_loc))
            refs.extend(self._sources(value, arg_locs.get(key, type_loc), local, history, scope_input))
            args[key] = str(value)
        return tuple(refs)

    def _pieces(self, layer_type: Any, count: int | None, args: dict[str, Any], arg_locs: dict[str, Loc],
                key_locs: dict[str, Loc], loc: Loc, path: str, name: str, sources: tuple[str, ...], frozen: bool,
                scopes: tuple[str, ...], repeat: int, local: dict[str, str], history: list[str]) -> None:
        """A layer of several outputs (chunk): one layer per piece, NAME.0 ... NAME.{n-1}, each a view."""
        canonical = layer_type.name
        if "index" in args:
            raise SpecError(f"'index' of {canonical} is set by the loader, one per output", loc=key_locs.get("index", loc),
                            path=path, layer_type=canonical, hint=f"take a piece with from: {name}.0")
        if repeat != 1:
            raise SpecError(f"{canonical} has several outputs; 'repeat' cannot chain it", path=path,
                            loc=arg_locs.get("repeat", loc), layer_type=canonical)
        if count is None:
            return self._add_checked(layer_type, args, arg_locs, key_locs, loc, path, sources, frozen, scopes)
        if count > MAX_REPEAT:
            raise SpecError(f"{canonical} would have {count:,} outputs (at most {MAX_REPEAT:,})", loc=loc, path=path,
                            layer_type=canonical)
        self.scope_types[path] = f"{canonical} ×{count}"
        for index in range(count):
            piece = f"{path}.{index}"
            self._add(LayerSpec(
                path=piece, type_name=canonical, args=MappingProxyType({**args, "index": index}),
                inputs=tuple(sources), loc=loc,
                arg_locs=MappingProxyType({k: v for k, v in arg_locs.items() if k in args}),
                key_locs=MappingProxyType({k: v for k, v in key_locs.items() if k in args}),
                frozen=frozen, scopes=scopes + (path,),
            ))
            local[f"{name}.{index}"] = piece
        self.multi[path] = count
        local[name] = path
        history.append(path)

    def _add_checked(self, layer_type: Any, args: dict[str, Any], arg_locs: dict[str, Loc], key_locs: dict[str, Loc],
                     loc: Loc, path: str, sources: tuple[str, ...], frozen: bool, scopes: tuple[str, ...]) -> None:
        """The piece count the arguments do not give: say what the counting argument should be."""
        from ..layers.base import ArgError
        key = layer_type.count_arg
        spec = next(arg for arg in layer_type.args if arg.name == key)
        if key not in args:
            raise SpecError(f"missing required argument {key!r}", loc=loc, path=path, layer_type=layer_type.name,
                            hint=f"write {layer_type.name}: {{{key}: ...}}")
        try:
            spec.check(args[key])
        except ArgError as err:
            err.found = args[key]
            raise SpecError(f"{key}: {err.text()}", loc=arg_locs.get(key, loc), path=path,
                            layer_type=layer_type.name, hint=err.hint) from None
        raise SpecError(f"{key}: cannot tell how many outputs {layer_type.name} has", loc=arg_locs.get(key, loc),
                        path=path, layer_type=layer_type.name)

    def _instance(self, block: _Block, args: dict[str, Any], arg_locs: dict[str, Loc], loc: Loc,
                  path: str, sources: tuple[str, ...], scopes: tuple[str, ...], frozen: bool,
                  stack: tuple[str, ...], where: str, key_locs: dict[str, Loc] | None = None) -> str:
        if block.name in stack:
            raise SpecError(f"block {shown(block.name)} uses itself "
                            f"({' -> '.join(cut(name, 40) for name in stack + (block.name,))})", loc=loc,
                            path=path, layer_type=block.name)
        if len(stack) >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks nested more than {MAX_BLOCK_DEPTH} deep", loc=loc)
        names = [p[0] for p in block.params]
        for key in args:
            if key not in names:
                raise SpecError(f"block {shown(block.name)} has no parameter {shown(key)}",
                                loc=(key_locs or {}).get(key) or arg_locs.get(key, loc), path=path,
                                layer_type=block.name,
                                hint=_suggest(key, names + list(META_KEYS))
                                or (f"its parameters are {', '.join(names)}" if names else "it takes no parameters"))
        values: dict[str, Any] = {}
        for pname, default, ploc in block.params:
            if pname in args:
                values[pname] = args[pname]
            elif default is _REQUIRED_PARAM:
                raise SpecError(f"block {shown(block.name)} needs parameter {shown(pname)}", loc=loc, path=path,
                                layer_type=block.name,
                                hint=f"write {block.name}: {{{pname}: ...}}")
            else:
                # defaults may use the parameters before them ("$out // 4")
                values[pname] = self._substitute(default, values, f"blocks.{block.name}.params.{pname}",
                                                 {**dict(zip(block.inputs, sources)), "in": sources[0]})
        self.scope_types[path] = block.name
        named = dict(zip(block.inputs, sources))
        return self._scope(block.layers, prefix=path + ".", scope_input=sources[0], params=values, inputs=named,
                           scopes=scopes + (path,), frozen=frozen, stack=stack + (block.name,),
                           where=f"blocks.{block.name}.layers", sequential=block.sequential)

    # -- the layer count, before expanding -----------------------------------
    def _check_size(self, layers_node: YSeq) -> None:
        """Refuse a network of more than MAX_LAYERS layers without building them.

        Counted from literal repeats; where a repeat is a $param the count is
        unknown and ``_add`` enforces the limit while expanding.
        """
        sizes: dict[str, int | None] = {}
        total = 0
        for item in layers_node.items:
            count = self._static_count(item, (), sizes)
            if count is None:
                return
            total += count
            if total > MAX_LAYERS:
                loc = item.items[0][0].loc if isinstance(item, YMap) and item.items else item.loc
                raise SpecError(f"the network expands to more than {MAX_LAYERS:,} layers "
                                f"({total:,} up to this item)", loc=loc, hint="reduce 'repeat' counts")

    def _static_count(self, item: YNode, stack: tuple[str, ...], sizes: dict[str, int | None]) -> int | None:
        repeat = 1
        if isinstance(item, YScalar) and isinstance(item.value, str):
            type_name = item.value
        elif isinstance(item, YMap) and len(item.items) == 1 and isinstance(item.items[0][0].value, str):
            type_name, args = item.items[0][0].value, item.items[0][1]
            node = args.get("repeat") if isinstance(args, YMap) else None
            if node is not None:
                value = node.value if isinstance(node, YScalar) else None
                if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_REPEAT:
                    return None                  # a $param, or an error the expander reports
                repeat = value
        else:
            return None
        block = self.blocks.get(type_name)
        if block is None:
            return repeat
        if block.name in stack or len(stack) >= MAX_BLOCK_DEPTH:
            return None
        if block.name not in sizes:
            size: int | None = 0
            for inner in block.layers.items:
                count = self._static_count(inner, stack + (block.name,), sizes)
                if count is None:
                    size = None
                    break
                size += count
            sizes[block.name] = size
        size = sizes[block.name]
        return None if size is None else repeat * size

    def _add(self, spec: LayerSpec) -> None:
        if len(self.layers) >= MAX_LAYERS:
            raise SpecError(f"the network expands to more than {MAX_LAYERS:,} layers", loc=spec.loc,
                            hint="reduce 'repeat' counts")
        self.layers.append(spec)

    # -- one list item -----------------------------------------------------
    def _item(self, item: YNode, where: str) -> tuple[str, Loc, YMap | None]:
        if isinstance(item, YScalar):
            if not isinstance(item.value, str) or not item.value:
                raise SpecError(f"{where}: expected a layer type name or 'Type: {{args}}', found {_show(item)}",
                                loc=item.loc)
            return item.value, item.loc, None
        if isinstance(item, YMap):
            if len(item.items) != 1:
                keys = ", ".join(_shown_value(k) for k in item.keys()[:5]) + (", ..." if len(item.items) > 5 else "")
                raise SpecError(f"{where}: a layer is one 'Type: {{args}}' mapping, found {len(item.items)} keys "
                                f"({keys})",
                                loc=item.loc, hint="indent the arguments under the type, e.g. Conv2d: {out_channels: 64}")
            key, value = item.items[0]
            if not isinstance(key.value, str):
                raise SpecError(f"{where}: layer type must be a name, found {_shown_value(key.value)}", loc=key.loc)
            if isinstance(value, YScalar) and value.value is None:
                return key.value, key.loc, None
            if not isinstance(value, YMap):
                raise SpecError(f"{where} ({shown(key.value)}): arguments must be a mapping, found {_show(value)}",
                                loc=value.loc, hint=f"write {cut(key.value)}: {{name: value, ...}}")
            return key.value, key.loc, value
        raise SpecError(f"{where}: expected a layer (a type name or 'Type: {{args}}'), found {_show(item)}",
                        loc=item.loc, hint="a list inside 'layers' is not a layer; remove the inner brackets, "
                        "or define a block for a group of layers")

    # -- from ----------------------------------------------------------------
    def _sources(self, value: Any, loc: Loc, local: dict[str, str], history: list[str],
                 scope_input: str, item_nodes: tuple[YNode, ...] | None = None) -> tuple[str, ...]:
        values = value if isinstance(value, list) else [value]
        if not values:
            raise SpecError("'from' is an empty list", loc=loc)
        resolved = []
        for position, ref in enumerate(values):
            if item_nodes is not None and len(item_nodes) == len(values):
                loc = item_nodes[position].loc      # point at the offending entry of the list
            if isinstance(ref, bool):
                raise SpecError(f"'from' takes names or negative indices, found {_shown_value(ref)}", loc=loc)
            if isinstance(ref, int):
                if ref >= 0:
                    positional = str(ref) in local
                    raise SpecError(f"'from' index must be negative (-1 is the previous layer), found {ref}",
                                    loc=loc, hint=f"to take the child named {ref}, quote the name: from: \"{ref}\""
                                    if positional else None)
                back = -ref
                if back <= len(history):
                    resolved.append(history[-back])
                elif back == len(history) + 1:
                    resolved.append(scope_input)
                else:
                    raise SpecError(f"'from: {ref}' reaches before the start of this scope "
                                    f"({len(history)} layers precede it)", loc=loc)
            elif isinstance(ref, str):
                if ref == INPUT:
                    resolved.append(scope_input)
                elif ref in local:
                    resolved.append(local[ref])
                else:
                    index_hint = (f"for a relative index write it unquoted: from: {ref}"
                                  if re.fullmatch(r"-[0-9]{1,6}", ref) else None)
                    raise SpecError(f"'from' names {shown(ref)}, which is not defined before this layer in its scope",
                                    loc=loc, hint=index_hint or _suggest(ref, list(local) + [INPUT])
                                    or "a layer can only take tensors from layers above it")
            else:
                raise SpecError(f"'from' takes names or negative indices, found {_shown_value(ref)}", loc=loc,
                                hint="a list in 'from' holds names or indices, not further lists"
                                if isinstance(ref, list) else None)
            if resolved[-1] in self.multi:
                group = resolved[-1]
                short = group.rsplit(".", 1)[-1] if isinstance(ref, int) else ref
                raise SpecError(f"{shown(group)} has {self.multi[group]} outputs; 'from' must name one",
                                loc=loc, hint=f"write from: {short}.0 (up to {short}.{self.multi[group] - 1})")
        return tuple(resolved)

    # -- $params -------------------------------------------------------------
    def _substitute(self, node: YNode, params: dict[str, Any], where: str,
                    tensors: dict[str, str] | None = None) -> Any:
        """A value with its $params substituted; one that reads a block input's size is a Deferred.

        ``tensors``: what ``$in`` (the block's first input) and the block's named inputs stand for.
        """
        if isinstance(node, YSeq):
            return [self._substitute(item, params, where, tensors) for item in node.items]
        if isinstance(node, YMap):
            return {k.value: self._substitute(v, params, where, tensors) for k, v in node.items}
        value = node.value
        if not isinstance(value, str) or "$" not in value:
            return value
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", value.strip())
        if where.startswith("layers"):     # the top-level list: no block, no params
            raise SpecError(f"{shown(value)} is used outside a block; $params exist only inside blocks",
                            loc=node.loc, hint="write the value itself, or define a block with params")

        def unknown_hint(key: str) -> str:
            if ".params." in where:
                return "a default may use only the parameters listed before it"
            return _suggest(key, params) or (f"this block's parameters are {', '.join(params)}"
                                                 if params else "this block has no parameters")
        if whole:
            key = whole.group(1)
            if key not in params:
                raise SpecError(f"unknown parameter {shown(value)}", loc=node.loc, hint=unknown_hint(key))
            return params[key]
        deferred = self._deferred(node, value, params, tensors or {}, unknown_hint)
        if deferred is not None:
            return deferred
        try:
            return expr.evaluate(value, params)
        except expr.ExprError as err:
            raise SpecError(str(err), loc=node.loc,
                            hint=unknown_hint(err.unknown) if err.unknown else None) from None


    @staticmethod
    def _deferred(node: YNode, value: str, params: dict[str, Any], tensors: dict[str, str],
                  unknown_hint: Any) -> Deferred | None:
        """An expression reading a block input's size (``$in.channels // 2``), or a parameter that does:
        its syntax and names checked now, its value left to the evaluation (spec/deferred.py)."""
        try:
            names = expr.names(value)
            expr.evaluate(value, {}, dry=True)        # the syntax, located here
        except expr.ExprError as err:
            raise SpecError(str(err), loc=node.loc) from None
        sizes = [name for name in names if expr.is_size(name)]
        late = [name for name in names if not expr.is_size(name) and isinstance(params.get(name), Deferred)]
        if not sizes and not late:
            return None
        for name in sizes:
            base = name.split(".", 1)[0]
            if base not in tensors:
                raise SpecError(f"{shown('$' + name)} names no input of this block", loc=node.loc,
                                hint=_suggest(base, list(tensors)) or
                                f"a block's sizes are {', '.join('$' + t + '.channels' for t in tensors)} "
                                "and $NAME.shape[i]")
        for name in names:
            if not expr.is_size(name) and name not in params:
                raise SpecError(f"unknown parameter {shown('$' + name)} in expression {shown(value)}",
                                loc=node.loc, hint=unknown_hint(name))
        bindings = tuple((name, params[name]) for name in dict.fromkeys(names) if not expr.is_size(name))
        for name, bound in bindings:
            if isinstance(bound, bool) or not isinstance(bound, (int, Deferred)):
                raise SpecError(f"${cut(name)} is {_shown_value(bound)}, not an integer, in expression "
                                f"{shown(value)}", loc=node.loc)
        used = dict.fromkeys(name.split(".", 1)[0] for name in sizes)
        return Deferred(value, bindings, tuple((base, tensors[base]) for base in used))


def _sequential(node: YNode | None, where: str) -> bool:
    """The value of a 'sequential' key: true or false (absent: false)."""
    if node is None:
        return False
    value = node.value if isinstance(node, YScalar) else None
    if not isinstance(value, bool):
        raise SpecError(f"'sequential' of {where} must be true or false, found {_show(node)}", loc=node.loc,
                        hint="sequential: true names unnamed children by position (0, 1, ...) as nn.Sequential does")
    return value


def parse_input(node: YNode, channels_last: bool = False) -> tuple[Any, ...]:
    """The 'input' list: channels first (Keras files: last), batch excluded; ints or symbol names."""
    if not isinstance(node, YSeq):
        raise SpecError(f"'input' must be a list [C, L], [C, H, W] or [C, D, H, W], found {_show(node)}",
                        loc=node.loc, hint="one sample's shape, channels first, e.g. input: [3, 224, 224]")
    if not 2 <= len(node.items) <= 4:
        raise SpecError(f"'input' has {len(node.items)} size{'s' if len(node.items) != 1 else ''}; it takes 2 to 4 "
                        "([C, L], [C, H, W] or [C, D, H, W])", loc=node.loc,
                        hint="the batch is not part of 'input': give it as 'batch:'" if len(node.items) == 5
                        else "one sample's shape, channels first, e.g. input: [3, 224, 224]")
    dims = []
    for item in node.items:
        value = item.value if isinstance(item, YScalar) else None
        if isinstance(value, int) and not isinstance(value, bool):
            if not 1 <= value <= MAX_DIM:
                raise SpecError(f"input sizes must be from 1 to {MAX_DIM:,}, found {value}", loc=item.loc)
        elif isinstance(value, str) and _SYMBOL.match(value) and len(value) <= MAX_NAME_LENGTH:
            pass
        else:
            raise SpecError(f"an input size is a positive integer or a name (H), found {_show(item)}",
                            loc=item.loc, hint=NAME_RULE if isinstance(value, str) else None)
        dims.append(value)
    if channels_last and isinstance(dims[-1], str):
        raise SpecError("the channel count (last input size, framework: keras) must be an integer",
                        loc=node.items[-1].loc, hint="only spatial sizes may be names")
    if not channels_last and isinstance(dims[0], str):
        raise SpecError("the channel count (first input size) must be an integer", loc=node.items[0].loc,
                        hint="only spatial sizes may be names")
    return tuple(dims)


def _check_name(name: Any, what: str, loc: Loc) -> None:
    """A name the file gives (layer, block, parameter): ASCII identifier, bounded length.

    Python's ``str.isidentifier`` accepts ``conv_é``; the format does not, so
    that every name is also a plain torch attribute and an ASCII column in a table.
    """
    pattern, rule = (_LAYER_NAME, LAYER_NAME_RULE) if what == "name" else (_NAME, NAME_RULE)
    if isinstance(name, str) and pattern.match(name) and len(name) <= MAX_NAME_LENGTH:
        return
    if isinstance(name, int) and not isinstance(name, bool) and name >= 0:
        name = str(name)                 # name: 3 is digits, as name: "3" is
    if not isinstance(name, str):
        raise SpecError(f"{what} must be text, found {_shown_value(name)}", loc=loc, hint=rule)
    if len(name) > MAX_NAME_LENGTH:
        raise SpecError(f"{what} {shown(name)} is too long (at most {MAX_NAME_LENGTH} characters)", loc=loc)
    if name.isdigit():
        raise SpecError(f"{what} {shown(name)} is only digits; {rule}", loc=loc,
                        hint="names made of digits are given by position in a block with 'sequential: true'")
    if not name.isascii():
        odd = next(char for char in name if not char.isascii())
        raise SpecError(f"{what} {shown(name)} has the non-ASCII character {odd!r}; {rule}", loc=loc,
                        hint="e.g. conv_e instead of conv_é")
    raise SpecError(f"{what} {shown(name)} is not a valid name; {rule}", loc=loc,
                    hint="e.g. conv_1, bn2, layer1")


def _suggest(word: Any, choices) -> str | None:
    """did_you_mean, bounded: no suggestion for a non-string or a very long word."""
    if not isinstance(word, str) or len(word) > MAX_SUGGESTED:
        return None
    return did_you_mean(word, choices)


def _shown_value(value: Any) -> str:
    """A value from the file for a message: strings quoted and cut, containers summarised."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return f"a mapping of {len(value)} key{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return cut(value)                    # numbers: YAML ints are bounded by the reader, so str() is cheap


def _show(node: YNode) -> str:
    return _shown_value(plain(node))
