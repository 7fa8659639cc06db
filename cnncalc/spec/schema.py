"""A JSON Schema of the architecture format, generated from the layer registry at run time.

Generated, not shipped as a file, so it cannot fall behind the registry:
``cnncalc schema`` prints it and editors (yaml-language-server) read it for
completion and checks as people type. Every registered type is a property
with its arguments, their JSON types, defaults and docs; blocks, ``params``,
``inputs``, ``$params``, ``from``, ``repeat``, ``frozen`` and ``sequential``
are described as the loader reads them.

The schema is deliberately no stricter than the loader: what it rejects the
loader rejects too (tests check this with mutated examples), while bounds,
shapes and cross-argument rules stay the loader's. Argument types are found
by probing each argument's own check with sample values, so a check and its
schema cannot disagree about which JSON types it accepts. Type names are
matched case-insensitively by the loader, and block calls have their own
names, so keys that are not exact type names accept any arguments.

Hook: ``EXTRA_TYPES`` holds callables that return more ``{name: LayerType}``
(the Keras dialect registers its names there when it lands).
"""

from __future__ import annotations

from typing import Any, Callable

from ..layers import registry
from ..layers.base import REQUIRED, LayerType
from .expand import BLOCK_KEYS, TOP_KEYS
from .model import DTYPE_BYTES

SCHEMA_ID = "https://github.com/cnncalc/cnncalc/architecture.schema.json"
EXTRA_TYPES: list[Callable[[], dict[str, LayerType]]] = []
META = {
    "name": {"type": ["string", "integer", "null"], "description": "the layer's name (ASCII letters, digits, _)"},
    "from": {"description": "input(s): a name, 'input', a negative index (-1: the previous layer), a list of them "
                            "(merges, blocks with several inputs); NAME.k is output k of a layer with several "
                            "outputs (chunk, split)",
             "anyOf": [{"type": ["string", "integer"]}, {"type": "array", "items": {"type": ["string", "integer"]}}]},
    "repeat": {"description": "copies chained one after another (0 skips the item)",
               "anyOf": [{"type": "integer", "minimum": 0}, {"$ref": "#/$defs/param"}]},
    "frozen": {"description": "parameters not trained", "anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/param"}]},
}

_PROBES: dict[str, list[Any]] = {
    "integer": [0, 1, 2, 3, 4, 8, 64, -1],
    "number": [0.5, 1.5, 1e-6, 0.25, 2.0, float("inf")],
    "boolean": [True, False],
    "null": [None],
    "array": [[1], [1, 1], [1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0.5, 0.5], [1, None], [2, 3]],
}


def _accepts(check: Callable[[Any], Any], value: Any) -> bool:
    try:
        check(value)
    except Exception:  # noqa: BLE001 - any refusal means "not this value"
        return False
    return True


def _strings(check: Callable[[Any], Any]) -> tuple[list[str], bool]:
    """The strings a check accepts: the choices it closes over, and whether any other string passes."""
    found: list[str] = []
    for cell in check.__closure__ or ():
        try:
            content = cell.cell_contents
        except ValueError:  # pragma: no cover - an empty cell
            continue
        items = content if isinstance(content, (tuple, list)) else (content,)
        found += [item for item in items if isinstance(item, str) and item not in found]
    code = getattr(check, "__code__", None)
    # module-level tables of names the check reads (Keras's ACTIVATIONS: a dict keyed by the names)
    for name in getattr(code, "co_names", ()):
        table = getattr(check, "__globals__", {}).get(name)
        if isinstance(table, (dict, tuple, list, frozenset, set)):
            found += [item for item in table if isinstance(item, str) and item not in found]
    stack = [code] if code is not None else []
    while stack:                              # string constants of the check itself ("same", "valid")
        current = stack.pop()
        consts = [item for const in current.co_consts
                  for item in (const if isinstance(const, (tuple, frozenset)) else (const,))]
        for const in consts:
            if isinstance(const, str) and const not in found and len(const) < 40:
                found.append(const)
            elif hasattr(const, "co_consts"):
                stack.append(const)
    chosen = [s for s in found if _accepts(check, s)]
    free = _accepts(check, "some_layer")
    return chosen, free


def arg_schema(arg) -> dict[str, Any]:
    """One argument: the JSON types its check accepts, its enum of strings, its default and doc."""
    types = [kind for kind, probes in _PROBES.items() if any(_accepts(arg.check, p) for p in probes)]
    if "integer" in types and "number" in types:
        types.remove("integer")               # JSON Schema's number includes the integers
    choices, free = _strings(arg.check)
    options: list[dict[str, Any]] = []
    if types:
        options.append({"type": types if len(types) > 1 else types[0]})
    if free:
        options.append({"type": "string"})
    elif choices:
        options.append({"enum": choices})
    options.append({"$ref": "#/$defs/param"})   # "$c" or "$c * 2" inside a block
    out: dict[str, Any] = {"anyOf": options}
    if arg.default is not REQUIRED:
        default = arg.default
        out["default"] = list(default) if isinstance(default, tuple) else default
        if isinstance(default, float) and default != default or default in (float("inf"), float("-inf")):
            del out["default"]
    if arg.doc:
        out["description"] = arg.doc
    return out


def type_schema(layer_type: LayerType) -> dict[str, Any]:
    """A layer type's argument mapping (null allowed: ``ReLU:`` with no arguments)."""
    hidden = {"index"} if getattr(layer_type, "output_count", None) else set()
    properties = {arg.name: arg_schema(arg) for arg in layer_type.args if arg.name not in hidden}
    properties.update(META)
    required = [arg.name for arg in layer_type.args if arg.required and arg.name not in hidden]
    body: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        body["required"] = required
    description = layer_type.summary or layer_type.name
    return {"description": description, "anyOf": [body, {"type": "null"}] if not required else [body]}


def all_layer_types() -> dict[str, LayerType]:
    types = dict(registry.all_types())
    for extra in EXTRA_TYPES:
        types.update(extra())
    return types


def _dialect(types: dict[str, LayerType], suffix: str) -> dict[str, Any]:
    """The layer, layer list and block definitions of one dialect (torch's or Keras's layer names)."""
    layer = {
        "description": "a layer: a type name, or one 'Type: {arguments}' mapping (a block's name calls the block)",
        "anyOf": [
            {"type": "string", "anyOf": [{"enum": sorted(types)}, {"type": "string"}]},
            {"type": "object", "minProperties": 1, "maxProperties": 1,
             "properties": {name: type_schema(t) for name, t in sorted(types.items())},
             "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}]}},
        ],
    }
    block = {
        "type": "object", "required": ["layers"], "additionalProperties": False,
        "properties": {
            "params": {"description": "parameter names and defaults (~: required), used as $name in the layers",
                       "anyOf": [{"type": "object"}, {"type": "null"}]},
            "inputs": {"description": "names of the block's inputs when it takes several (from: [a, b] at the call)",
                       "type": "array", "minItems": 1, "items": {"type": "string"}},
            "layers": {"$ref": f"#/$defs/layers{suffix}"},
            "sequential": {"type": "boolean", "description": "unnamed children named 0, 1, ... as nn.Sequential"},
            "description": {},
        },
    }
    assert set(block["properties"]) == set(BLOCK_KEYS)
    return {f"layers{suffix}": {"type": "array", "minItems": 1, "items": {"$ref": f"#/$defs/layer{suffix}"}},
            f"layer{suffix}": layer, f"block{suffix}": block}


def schema() -> dict[str, Any]:
    """The whole schema (JSON Schema draft 2020-12); ``framework: keras`` switches to Keras's layer names."""
    types = all_layer_types()
    keras_types = registry.all_types("keras")
    top = {
        "name": {"type": "string"},
        "input": {"description": "one sample's shape, channels first, batch excluded: [3, 224, 224] or [3, H, W]",
                  "type": "array", "minItems": 2, "maxItems": 4, "items": {"type": ["integer", "string"]}},
        "batch": {"type": "integer", "default": 1},
        "dtype": {"enum": sorted(DTYPE_BYTES) + sorted("torch." + d for d in DTYPE_BYTES), "default": "float32"},
        "blocks": {"type": "object"},          # the dialect's block definitions: below
        "layers": {},                          # the dialect's layer list: below
        "framework": {"enum": ["torch", "keras"], "default": "torch",
                      "description": "keras: Keras layer names and arguments, tensors channels last"},
        "sequential": {"type": "boolean"},
        "budget": {"description": "limits checked by cnncalc check (docs/ci.md)"},
        "description": {},
    }
    properties = {key: top.get(key, {}) for key in TOP_KEYS}   # a key the loader adds later is allowed
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "cnncalc architecture file",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": properties,
        # the dialect decides the layer names: Keras's where the file says framework: keras, else torch's
        "if": {"required": ["framework"], "properties": {"framework": {"const": "keras"}}},
        "then": {"properties": {"layers": {"$ref": "#/$defs/layers_keras"},
                                "blocks": {"additionalProperties": {"$ref": "#/$defs/block_keras"}}}},
        "else": {"properties": {"layers": {"$ref": "#/$defs/layers"},
                                "blocks": {"additionalProperties": {"$ref": "#/$defs/block"}}}},
        "$defs": {
            **_dialect(types, ""),
            **_dialect(keras_types, "_keras"),
            "param": {"type": "string", "pattern": "\\$", "description": "a block parameter: $name or an expression "
                      "(of $params and the block input's sizes, $in.channels, $in.shape[i])"},
        },
    }
