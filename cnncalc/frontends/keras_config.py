"""Keras model configs as SOURCE: a ``.keras`` file (a zip holding config.json) or ``model.to_json()``.

The config is plain JSON and is read as data, never run: Keras is not
imported. Functional and Sequential models (Keras 3 and Keras 2 node
formats), nested models (inlined, their layers named ``outer__inner``),
shared layers (a second call is ``shared: true``: its weights are counted
once), and Keras's own custom layers that cnncalc maps (InceptionResNetV2's
CustomScaleLayer). A ``Lambda`` layer holds serialized Python code: it is
refused, naming the layer. The result is a cnncalc document with
``framework: keras`` (what ``write_yaml.dump`` writes as a dialect file).

Bounds: the file is a regular file; the zip has at most MAX_ENTRIES entries
and config.json at most MAX_CONFIG_BYTES (read so, whatever the zip claims);
JSON nesting at most MAX_DEPTH; at most MAX_LAYERS layers after inlining.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any, Sequence

from ..errors import CnnCalcError, Loc
from ..text import cut, shown

MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_DEPTH = 100
MAX_LAYERS = 100_000
MODELS = ("Functional", "Sequential", "Model")

#: config keys that change neither shapes nor counts (or are the layer's identity): dropped
DROPPED = {"name", "trainable", "dtype", "build_config", "seed", "noise_shape", "synchronized", "lora_rank",
           "lora_alpha", "quantization_config", "momentum", "epsilon", "activity_regularizer", "autocast",
           "renorm", "renorm_clipping", "renorm_momentum", "optional", "mask_value"}
_DROPPED_SUFFIX = ("_initializer", "_regularizer", "_constraint")


class KerasConfigError(CnnCalcError):
    """A Keras config that cannot be read or mapped (exit code 2)."""


def is_keras_path(text: str) -> bool:
    return isinstance(text, str) and text.lower().endswith((".keras", ".json"))


def read_config(path: str) -> dict:
    """The config of a ``.keras`` zip or a ``to_json()`` file, bounded; nothing is run."""
    where = Loc(str(path), 1, 1)
    try:
        info = os.stat(path)
    except OSError as err:
        raise KerasConfigError(f"Keras model {shown(str(path))}: cannot read it: {err.strerror or err}") from None
    if not stat.S_ISREG(info.st_mode):
        raise KerasConfigError(f"Keras model {shown(str(path))} is not a regular file", loc=where)
    if str(path).lower().endswith(".keras"):
        import zipfile
        try:
            with zipfile.ZipFile(path) as archive:
                entries = archive.infolist()
                if len(entries) > MAX_ENTRIES:
                    raise KerasConfigError(f"the .keras file has {len(entries):,} entries; at most {MAX_ENTRIES:,}",
                                           loc=where)
                names = [entry.filename for entry in entries]
                if "config.json" not in names:
                    raise KerasConfigError("the .keras file has no config.json (is it a Keras 3 model file?)",
                                           loc=where, hint="save it with model.save('model.keras')")
                if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
                    raise KerasConfigError(f"config.json is more than {MAX_CONFIG_BYTES:,} bytes", loc=where)
                with archive.open("config.json") as stream:
                    data = stream.read(MAX_CONFIG_BYTES + 1)      # a zip's sizes may lie: read at most this
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as err:
            raise KerasConfigError(f"{shown(str(path))} is not a readable .keras (zip) file: {cut(err, 200)}",
                                   loc=where) from None
    else:
        from .._files import read_limited
        data = read_limited(path, MAX_CONFIG_BYTES + 1, "Keras config")
    if len(data) > MAX_CONFIG_BYTES:
        raise KerasConfigError(f"the Keras config is more than {MAX_CONFIG_BYTES:,} bytes", loc=where)
    return parse_config(data, str(path))


def parse_config(data: bytes | str, filename: str = "<string>") -> dict:
    """JSON text -> the model config, with its nesting bounded."""
    try:
        config = json.loads(data)
    except RecursionError:
        raise KerasConfigError(f"the Keras config nests deeper than {MAX_DEPTH} levels", loc=Loc(filename, 1, 1)) from None
    except (ValueError, UnicodeDecodeError) as err:
        line, col = getattr(err, "lineno", 1), getattr(err, "colno", 1)
        raise KerasConfigError(f"the Keras config is not JSON: {cut(getattr(err, 'msg', err), 200)}",
                               loc=Loc(filename, line, col)) from None
    _check_depth(config, filename)
    if not isinstance(config, dict) or config.get("class_name") not in MODELS:
        found = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise KerasConfigError(f"expected a Keras model config (class_name {' or '.join(MODELS)}), "
                               f"found {shown(str(found))}", loc=Loc(filename, 1, 1),
                               hint="give the JSON of model.to_json() or a .keras file")
    return config


def _check_depth(value: Any, filename: str) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise KerasConfigError(f"the Keras config nests deeper than {MAX_DEPTH} levels", loc=Loc(filename, 1, 1))
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def import_keras(path: str, name: str | None = None) -> dict:
    """A ``.keras`` / ``to_json()`` file -> a cnncalc document (``framework: keras``)."""
    return config_document(read_config(path), name=name, filename=str(path))


def config_document(config: dict, name: str | None = None, filename: str = "<string>") -> dict:
    """A model config (the parsed JSON) -> a cnncalc document."""
    builder = _Builder(filename)
    inner = _dict(config.get("config"), "the model's config")
    input_shape, output = builder.model(config["class_name"], inner, prefix="", inputs=None)
    model_name = name or _identifier(str(inner.get("name") or "model"))
    return {"name": model_name, "framework": "keras", "input": input_shape, "layers": builder.layers}


def _dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise KerasConfigError(f"{what} must be a JSON object, found {type(value).__name__}")
    return value


def _identifier(text: str) -> str:
    """A Keras name as a cnncalc name: ASCII letters, digits, underscores, not starting with a digit."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", text)[:200] or "layer"
    if clean[0].isdigit():
        clean = "l_" + clean
    return "input_" if clean == "input" else clean


class _Builder:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.layers: list[dict] = []
        self.used: set[str] = set()
        self.weights_seen: set[int] = set()        # ids of layer configs whose weights are counted

    def fresh(self, text: str) -> str:
        base = _identifier(text)
        candidate, suffix = base, 1
        while candidate in self.used:
            candidate = f"{base}_{suffix}"
            suffix += 1
        self.used.add(candidate)
        return candidate

    # -- a model: returns (its input shape, the cnncalc name of its output) --------------------------
    def model(self, kind: str, cfg: dict, prefix: str, inputs: str | None) -> tuple[list | None, str]:
        layers = cfg.get("layers")
        if not isinstance(layers, list) or not layers:
            raise KerasConfigError(f"model {shown(str(cfg.get('name')))} has no 'layers' list")
        if kind == "Sequential":
            return self.sequential(cfg, layers, prefix, inputs)
        return self.functional(cfg, layers, prefix, inputs)

    def sequential(self, cfg: dict, layers: list, prefix: str, inputs: str | None):
        shape = None
        current = inputs if inputs is not None else "input"
        for index, layer in enumerate(layers):
            layer = _dict(layer, f"layer {index}")
            kind = layer.get("class_name")
            lcfg = _dict(layer.get("config", {}), f"layer {index}'s config")
            if kind == "InputLayer":
                shape = self.input_shape(lcfg)
                continue
            if shape is None and inputs is None:
                found = lcfg.get("batch_shape") or lcfg.get("batch_input_shape") or cfg.get("build_input_shape")
                shape = self.input_shape({"batch_shape": found}) if found else None
            if kind in MODELS:
                _, current = self.model(kind, _dict(lcfg, "a nested model"), prefix + _identifier(
                    str(lcfg.get("name", kind))) + "__", current)
                continue
            current = self.add(kind, lcfg, str(lcfg.get("name", kind)), prefix, [current], shared=False,
                               key=id(layer))
        if shape is None and inputs is None:
            raise KerasConfigError("the Sequential model has no input shape (no InputLayer, no batch_shape)",
                                   hint="build the model with keras.Input(shape) before to_json()")
        return shape, current

    def functional(self, cfg: dict, layers: list, prefix: str, inputs: str | None):
        produced: dict[tuple[str, int], str] = {}      # (keras layer name, node index) -> cnncalc name
        input_names = [ref[0] for ref in _refs(cfg.get("input_layers"))]
        if len(input_names) != 1:
            raise KerasConfigError(f"the model has {len(input_names)} inputs; cnncalc analyses one-input networks",
                                   hint="build a one-input model around the part to analyse")
        outputs = _refs(cfg.get("output_layers"))
        if len(outputs) != 1:
            raise KerasConfigError(f"the model has {len(outputs)} outputs; cnncalc analyses one-output networks")
        shape = None
        for index, layer in enumerate(layers):
            layer = _dict(layer, f"layer {index}")
            kind = layer.get("class_name")
            lcfg = _dict(layer.get("config", {}), f"layer {index}'s config")
            lname = str(layer.get("name") or lcfg.get("name") or kind)
            if kind == "InputLayer":
                if lname != input_names[0]:
                    raise KerasConfigError(f"input layer {shown(lname)} is not the model's input")
                produced[(lname, 0)] = inputs if inputs is not None else "input"
                shape = self.input_shape(lcfg)
                continue
            nodes = layer.get("inbound_nodes") or []
            if not isinstance(nodes, list):
                raise KerasConfigError(f"layer {shown(lname)}: inbound_nodes must be a list")
            for node_index, node in enumerate(nodes):
                sources = [produced.get((name, node)) for name, node in _node_sources(node, lname)]
                missing = [src for src, got in zip(_node_sources(node, lname), sources) if got is None]
                if missing:
                    raise KerasConfigError(f"layer {shown(lname)} reads {shown(missing[0][0])}, which is not "
                                           f"defined before it")
                if kind in MODELS:
                    if len(sources) != 1:
                        raise KerasConfigError(f"nested model {shown(lname)} is called on {len(sources)} tensors")
                    before = len(self.layers)
                    _, out = self.model(kind, lcfg, prefix + _identifier(lname) + "__" + (
                        f"call{node_index}__" if node_index else ""), sources[0])
                    if node_index:                        # a second call of a nested model shares its weights
                        for item in self.layers[before:]:
                            next(iter(item.values()))["shared"] = True
                    produced[(lname, node_index)] = out
                    continue
                produced[(lname, node_index)] = self.add(kind, lcfg, lname + (f"_call{node_index}" if node_index else ""),
                                                         prefix, sources, shared=node_index > 0, key=id(layer))
        out = produced.get((outputs[0][0], outputs[0][1]))
        if out is None:
            raise KerasConfigError(f"the model's output {shown(str(outputs[0][0]))} is not one of its layers")
        if out != self.layers[-1][next(iter(self.layers[-1]))].get("name") and inputs is None:
            raise KerasConfigError(f"the model's output {shown(str(outputs[0][0]))} is not its last layer",
                                   hint="cnncalc's output is the last layer; drop the layers after it")
        return shape, out

    def input_shape(self, cfg: dict) -> list:
        batch_shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
        if not isinstance(batch_shape, list) or len(batch_shape) < 2:
            raise KerasConfigError(f"input layer {shown(str(cfg.get('name')))} has no batch_shape",
                                   hint="build the model with keras.Input(shape)")
        dims = batch_shape[1:]
        names = iter(("H", "W") if len(dims) == 3 else ("L",) if len(dims) == 2 else ("D", "H", "W"))
        shape = []
        for dim in dims[:-1]:
            shape.append(next(names, "S") if dim is None else dim)
        if not isinstance(dims[-1], int):
            raise KerasConfigError("the input's channel count (its last size) must be known")
        return shape + [dims[-1]]

    def add(self, kind: Any, cfg: dict, lname: str, prefix: str, sources: Sequence[str], shared: bool,
            key: int) -> str:
        from ..layers import registry
        if kind == "Lambda":
            raise KerasConfigError(f"layer {shown(lname)} is a Lambda layer: it holds serialized Python code, "
                                   f"which cnncalc never runs", hint="replace it with built-in Keras layers")
        if not isinstance(kind, str) or registry.lookup(kind, "keras") is None:
            from ..errors import did_you_mean
            raise KerasConfigError(f"layer {shown(lname)} has Keras class {shown(str(kind))}, which cnncalc does "
                                   f"not map", hint=did_you_mean(str(kind), list(registry.all_types("keras")))
                                   or "see docs/keras.md for the Keras layers cnncalc reads")
        if len(self.layers) >= MAX_LAYERS:
            raise KerasConfigError(f"the model has more than {MAX_LAYERS:,} layers")
        args = {k: v for k, v in cfg.items() if k not in DROPPED and not k.endswith(_DROPPED_SUFFIX)}
        if kind in ("BatchNormalization", "LayerNormalization") and isinstance(args.get("axis"), list) \
                and len(args["axis"]) == 1:
            args["axis"] = args["axis"][0]
        if args.get("activation") == "linear":
            del args["activation"]
        args = _compact(args, registry.lookup(kind, "keras"))
        name = self.fresh(prefix + lname)
        args["name"] = name
        if list(sources) != [self.last_name()]:
            args["from"] = list(sources) if len(sources) > 1 else sources[0]
        if shared:
            args["shared"] = True
        if cfg.get("trainable") is False:
            args["frozen"] = True                  # Keras's trainable=False: its weights count as non-trainable
        self.weights_seen.add(key)
        self.layers.append({registry.lookup(kind, "keras").name: args})
        return name

    def last_name(self) -> str:
        if not self.layers:
            return "input"
        item = self.layers[-1]
        return next(iter(item.values()))["name"]


def _compact(args: dict, layer_type: Any) -> dict:
    """Drop what equals the type's default (data_format channels_last, strides [1, 1]); [3, 3] as 3."""
    defaults = {arg.name: arg.default for arg in layer_type.args}
    out = {}
    for key, value in args.items():
        if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) and v == value[0]
                                                     for v in value) and key not in ("target_shape", "dims"):
            value = value[0]
        if key == "data_format" and value == "channels_last":
            continue
        if key in defaults and defaults[key] is not None and type(defaults[key]) is type(value) \
                and defaults[key] == value:
            continue
        out[key] = value
    return out


def _refs(value: Any) -> list[tuple[str, int]]:
    """input_layers / output_layers: [name, node, tensor] or a list of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [(value[0], int(value[1]))]
    if isinstance(value, list):
        return [(ref[0], int(ref[1])) for ref in value if isinstance(ref, list) and len(ref) >= 2]
    return []


def _node_sources(node: Any, lname: str) -> list[tuple[str, int]]:
    """The (layer, node index) pairs one call reads: Keras 3 ``{"args": [...]}`` or Keras 2 ``[[name, node, t, {}]]``."""
    found: list[tuple[str, int]] = []
    if isinstance(node, dict):
        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if value.get("class_name") == "__keras_tensor__":
                    history = value.get("config", {}).get("keras_history")
                    if isinstance(history, list) and len(history) >= 2:
                        found.append((str(history[0]), int(history[1])))
                    return
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
        walk(node.get("args", []))
    elif isinstance(node, list):
        for ref in node:
            if isinstance(ref, list) and len(ref) >= 2 and isinstance(ref[0], str):
                found.append((ref[0], int(ref[1])))
    if not found:
        raise KerasConfigError(f"layer {shown(lname)}: a call with no input tensor")
    return found
