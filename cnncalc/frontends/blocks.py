"""A tree of scopes (module instances) written as a readable document: names, ``from``, and blocks.

Each scope becomes a block instance named by its module's attribute name, so
paths are the module paths (``layer1.0.conv1``) and ``to_torch`` gives the
original's state_dict keys. Scopes of the same module class whose bodies
differ only in numbers (channels, stride, bias) share one block definition;
the numbers that differ become its parameters, named after the argument they
fill (``out_channels``, ``stride``), as a person would write it.
"""

from __future__ import annotations

import re
from typing import Any

from ..layers.registry import lookup
from .torch_fx import Op, Scope
from .torch_ops import Piece, Ref

_META = ("name", "from", "repeat", "frozen")
_VALID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,199}$")     # the format's names: '-' allowed, not first (block1-0)


def _valid_name(text: str) -> str:
    """A module attribute name made a valid cnncalc name: ASCII letters, digits, underscores, not a digit first."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", text.encode("ascii", "replace").decode())[:200] or "m"
    return name if not name[0].isdigit() and name != "input" else "m_" + name
_GENERIC = {"Sequential", "ModuleList", "ModuleDict", "Scope", "Module"}


def document(root: Scope, ops: list[Op], output: Any, module: Any) -> dict:
    """{'blocks': ..., 'layers': ..., 'sequential'?: true} for the tree ``root``."""
    writer = _Writer(ops)
    writer.body(root)
    writer.resolve()
    doc: dict[str, Any] = {}
    if _is_sequential(root):
        doc["sequential"] = True
    blocks = writer.definitions()
    if blocks:
        doc["blocks"] = blocks
    doc["layers"] = writer.emit(root)
    return doc


def _is_sequential(scope: Scope) -> bool:
    return any(_raw_key(item) is not None and _raw_key(item).isdigit() for item in scope.items)


def _raw_key(item: Any) -> str | None:
    return item.key


class _Writer:
    def __init__(self, ops: list[Op]) -> None:
        self.ops = ops
        self.entries: dict[int, list] = {}         # id(scope) -> its entries
        self.keys: dict[int, tuple] = {}           # id(scope) -> (class, sequential, skeleton)
        self.heights: dict[int, int] = {}
        self.groups: dict[tuple, list] = {}        # key -> scopes, in order of first appearance
        self.block_names: dict[tuple, str] = {}
        self.params: dict[tuple, list] = {}        # key -> [(param name, hole index)]
        self.defaults: dict[tuple, dict] = {}      # key -> {param name: default value}
        self._values: dict[int, list] = {}         # id(scope) -> [(arg, value)] of its holes

    # -- one scope's list ----------------------------------------------------
    def body(self, scope: Scope) -> list:
        """The scope's entries: {'kind': 'layer'|'call', ...} with names and 'from' resolved."""
        sequential = _is_sequential(scope)
        local: dict[Any, str] = {}                 # tensor (fx node) -> local name
        used: set[str] = set()
        entries: list = []
        height = 0
        for index, item in enumerate(scope.items):
            name, explicit = self._name(item, index, scope, sequential, used)
            used.add(name)
            meta: dict[str, Any] = {}
            if isinstance(item, Scope):
                self.body(item)
                reads = [self._input_of(item)]
                entry = {"kind": "call", "scope": item, "meta": meta}
                tensor = _last(item).node
                height = max(height, self.heights[id(item)] + 1)
            else:
                type_name, args = item.layers[0]
                reads = item.inputs
                entry = {"kind": "layer", "type": type_name, "args": _with_defaults(type_name, args), "meta": meta,
                         "given": set(args)}
                tensor = item.node
                if item.frozen:
                    meta["frozen"] = True
            refs = [_ref_name(local, t) for t in reads]     # not local: the scope's one input (checked)
            if entry["kind"] == "layer":
                for key, value in entry["args"].items():
                    if isinstance(value, Ref):
                        entry["args"][key] = _ref_name(local, value.tensor)
            previous = entries[-1]["name"] if entries else "input"
            if explicit:
                meta["name"] = name
            if len(refs) > 1 or (refs and refs[0] != previous):
                meta["from"] = refs if len(refs) > 1 else refs[0]
            entry["name"] = name
            local[tensor] = name
            entries.append(entry)
        self.entries[id(scope)] = entries
        self.heights[id(scope)] = height
        if scope.path:
            cls = type(scope.module).__name__ if scope.module is not None else "Module"
            key = (cls, sequential, tuple(self._skeleton(e) for e in entries))
            self.keys[id(scope)] = key
            self.groups.setdefault(key, []).append(scope)
        return entries

    def _skeleton(self, entry: dict) -> tuple:
        meta = tuple((k, repr(v)) for k, v in entry["meta"].items())
        if entry["kind"] == "call":
            return ("call", self.keys[id(entry["scope"])], meta)
        args = tuple((k, "?" if _is_hole_value(v) else repr(v)) for k, v in entry["args"].items())
        return ("layer", entry["type"], args, meta)

    def _name(self, item: Any, index: int, scope: Scope, sequential: bool, used: set) -> tuple[str, bool]:
        """(local name, whether to write it): module names as given; others as the loader would call them."""
        key = item.key
        if isinstance(item, Op) and key is not None and item.scope != scope.path:
            key = "_".join(item.scope[len(scope.path):] + (key,))          # a dissolved module's layer
            key = key if not key[0].isdigit() else "m_" + key
        if key is not None and not key.isdigit() and not _VALID.match(key):
            key = _valid_name(key)                                        # add_module("a b", ...): the format's rules
        if key is not None and key in used:
            key = None                                                    # a parameterless module called twice
        if key is not None and key.isdigit():
            return key, False                                             # its position (sequential)
        if key is not None:
            return key, True
        if sequential:
            return str(index), False
        base = (item.layers[0][0].lower() if isinstance(item, Op) else "block") + f"_{index}"
        name, suffix = base, 1
        while name in used or name in {i.key for i in scope.items}:
            name, suffix = f"{base}_{suffix}", suffix + 1
        return name, True

    def _input_of(self, scope: Scope) -> Any:
        inner = {op.node for op in _ops(scope)}
        for op in _ops(scope):
            for tensor in op.inputs:
                if tensor not in inner:
                    return tensor
        raise AssertionError("a scope without input")  # pragma: no cover - checked by torch_fx._check_io

    # -- blocks ----------------------------------------------------------------
    def resolve(self) -> None:
        """Name every block and choose its parameters: the holes whose values differ between instances."""
        taken: set[str] = set()
        for key, scopes in sorted(self.groups.items(), key=lambda kv: self.heights[id(kv[1][0])]):
            self.block_names[key] = self._new_name(key[0], scopes[0], taken)
            taken.add(self.block_names[key])
            vectors = [self.values(s) for s in scopes]
            chosen: list[tuple[str, int]] = []
            by_signature: dict[tuple, str] = {}
            names: set[str] = set()
            for position in range(len(vectors[0])):
                column = tuple(v[position][1] for v in vectors)
                if all(c == column[0] for c in column):
                    continue
                arg = vectors[0][position][0]
                signature = (arg, repr(column))            # values may be lists (Unflatten's sizes)
                if signature not in by_signature:
                    by_signature[signature] = _param_name(arg, names)
                    names.add(by_signature[signature])
                chosen.append((by_signature[signature], position))
            self.params[key] = chosen
            self.defaults[key] = {}
            for pname, position in chosen:                # the value where an instance kept the default
                default = next((v[position][1] for v in vectors if v[position][2]), None)
                if default is not None:
                    self.defaults[key].setdefault(pname, default)

    def values(self, scope: Scope) -> list:
        """[(arg, value)] of every number in the instance's body, nested calls' parameters included."""
        cached = self._values.get(id(scope))
        if cached is None:
            cached = []
            for entry in self.entries[id(scope)]:
                if entry["kind"] == "call":
                    defaults = self.defaults[self.keys[id(entry["scope"])]]
                    cached.extend((k, v, k in defaults and defaults[k] == v)
                                  for k, v in self.call_values(entry["scope"]).items())
                else:                                      # (arg, value, whether it is the default)
                    cached.extend((k, v, k not in entry["given"]) for k, v in entry["args"].items()
                                  if _is_hole_value(v))
            self._values[id(scope)] = cached
        return cached

    def call_values(self, scope: Scope) -> dict:
        """The parameter values one instance passes to its block."""
        values = self.values(scope)
        result: dict[str, Any] = {}
        for pname, position in self.params[self.keys[id(scope)]]:
            result[pname] = values[position][1]
        return result

    def emit(self, scope: Scope, substitute: dict[int, str] | None = None) -> list:
        """A scope's entries as the file's layer list; ``substitute``: hole position -> $param (in a block)."""
        out = []
        position = 0
        for entry in self.entries[id(scope)]:
            if entry["kind"] == "call":
                child = entry["scope"]
                args = {}
                defaults = self.defaults[self.keys[id(child)]]
                for pname, value in self.call_values(child).items():
                    if substitute and position in substitute:
                        args[pname] = f"${substitute[position]}"
                    elif not (pname in defaults and defaults[pname] == value):
                        args[pname] = value                  # the block's default is left out
                    position += 1
                type_name = self.block_names[self.keys[id(child)]]
            else:
                args = {}
                for k, v in entry["args"].items():
                    if _is_hole_value(v):
                        if substitute and position in substitute:
                            args[k] = f"${substitute[position]}"
                        elif k in entry["given"]:
                            args[k] = v                 # a default filled in only to line instances up: left out
                        position += 1
                    else:
                        args[k] = v
                type_name = entry["type"]
            args.update(entry["meta"])
            out.append({type_name: args} if args else type_name)
        return _fold_repeats(out) if _is_sequential(scope) else out

    def definitions(self) -> dict:
        blocks: dict[str, dict] = {}
        for key, scopes in sorted(self.groups.items(), key=lambda kv: self.heights[id(kv[1][0])]):
            chosen = self.params[key]
            definition: dict[str, Any] = {}
            if chosen:
                definition["params"] = {pname: self.defaults[key].get(pname)
                                        for pname in dict.fromkeys(p for p, _ in chosen)}
            if key[1]:
                definition["sequential"] = True
            definition["layers"] = self.emit(scopes[0], {position: pname for pname, position in chosen})
            blocks[self.block_names[key]] = definition
        return blocks

    def _new_name(self, cls: str, scope: Scope, taken: set) -> str:
        if cls in _GENERIC:
            key = next((p for p in reversed(scope.path) if not p.isdigit()), "block")
            base = _snake(key) + ("_block" if scope.path[-1].isdigit() else "")
        else:
            base = _snake(cls)
        base = re.sub(r"[^A-Za-z0-9_]", "_", base)[:100] or "block"
        if base[0].isdigit():
            base = "b_" + base
        if lookup(base) is not None or base.lower() in ("add", "mul", "concat", "input"):
            base += "_block"
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        return name


def _with_defaults(type_name: str, args: dict) -> dict:
    """The layer's arguments with its numeric defaults filled in after them, so that instances where one
    has ``stride: 2`` and another the default line up, and stride becomes the block's parameter."""
    layer_type = lookup(type_name)
    full: dict = {}
    for arg in getattr(layer_type, "args", ()):            # the type's order, so instances line up
        if arg.name in args:
            full[arg.name] = args[arg.name]
        elif not arg.required and _is_hole_value(arg.default):
            full[arg.name] = arg.default
    full.update((k, v) for k, v in args.items() if k not in full)
    return full


def _fold_repeats(items: list) -> list:
    """Identical consecutive unnamed items of a positional list as one ``{Type: {repeat: n}}``: the copies
    take n consecutive positions, so every path stays what it was (SPEC: unnamed repeats)."""
    out: list = []
    counts: list[int] = []
    for item in items:
        plain = isinstance(item, str) or not ({"name", "from", "repeat"} & set(next(iter(item.values()))))
        if out and plain and item == out[-1]:
            counts[-1] += 1
            continue
        out.append(item)
        counts.append(1 if plain else 0)
    result = []
    for item, count in zip(out, counts):
        if count > 1:
            type_name, args = (item, {}) if isinstance(item, str) else next(iter(item.items()))
            item = {type_name: {**args, "repeat": count}}
        result.append(item)
    return result


def _ref_name(local: dict, tensor: Any) -> str:
    """The name a layer reads ``tensor`` by: a local layer, a piece ``parts.1``, or the scope's input."""
    if isinstance(tensor, Piece):
        return f"{local[tensor.node]}.{tensor.index}" if tensor.node in local else "input"
    return local.get(tensor, "input")


def _param_name(arg: str, taken: set) -> str:
    base = arg if arg not in _META else f"{arg}_value"
    name, suffix = base, 2
    while name in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    return name


def _is_hole_value(value: Any) -> bool:
    if isinstance(value, (bool, int, float)):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, (bool, int, float)) for v in value)


def _snake(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()


def _ops(scope: Scope):
    for item in scope.items:
        if isinstance(item, Scope):
            yield from _ops(item)
        else:
            yield item


def _last(scope: Scope) -> Op:
    item = scope.items[-1]
    return _last(item) if isinstance(item, Scope) else item
