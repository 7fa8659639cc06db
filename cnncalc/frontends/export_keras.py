"""``export --to keras``: Keras (Functional API) source for any file.

A Keras-dialect file: each layer becomes ``layers.<Type>(**args, name=...)``
called on its inputs, in file order (a shared call calls the earlier layer's
object again); the model has the file's input shape (channels last), so it
builds with the same ``count_params()`` (cnncalc's ``keras_params``) and output
shape, which tests/frontends/test_keras_export.py checks by running it.
A file with torch layer names is translated type by type, channels last
(frontends/export_keras_torch.py), or refused naming the layer Keras cannot say.
Every value reaches the source through ``repr`` of a plain literal (int,
float, str, bool, None, lists of them): text from a file can never become
code.
"""

from __future__ import annotations

import re

from typing import Any, Mapping, Sequence

from ..errors import ArgumentError, CnnCalcError
from ..spec.model import INPUT, NetworkSpec
from ..text import shown

_SKIPPED = {"shared", "data_format"}


def _literal(value: Any, where: str) -> str:
    """``value`` as Python source, only for plain literals."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CnnCalcError(f"{where}: {value!r} has no Keras literal")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v, where) for v in value) + "]"
    raise CnnCalcError(f"{where}: cannot write a {type(value).__name__} as Keras source")


def keras_source(network: NetworkSpec, input: Sequence[Any] | None = None,
                 sizes: Mapping[str, int] | None = None) -> str:
    """The Python source of a function ``build()`` returning the Keras model, and a main that prints it."""
    header = [
        f"# {network.name!r} as Keras (Functional API), written by cnncalc export --to keras.",
        "",
        "import keras",
        "from keras import layers",
        "",
        "",
        "def build():",
    ]
    footer = ["", "", 'if __name__ == "__main__":', "    model = build()",
              '    print(f"{model.count_params():,} parameters, output {list(model.outputs[0].shape)}")', ""]
    if network.framework != "keras":
        from .export_keras_torch import torch_layers_source
        body, out = torch_layers_source(network, input, sizes, _literal)
        header[0] += " Channels last: the input [C, H, W] is (H, W, C)."
        return "\n".join([*header, *body, f"    return keras.Model(inputs, {out}, name={network.name!r})",
                          *footer])
    from ..engine.analyze import resolve_input
    dims = resolve_input(network, input, sizes)
    if any(isinstance(d, str) for d in dims):
        named = [d for d in dims if isinstance(d, str)]
        raise ArgumentError(f"the input has symbolic sizes ({', '.join(named)}); give them values with --set",
                            hint=f"for example --set {named[0]}=224")
    variables = {INPUT: "inputs"}
    objects: dict[str, str] = {}                     # path -> the variable holding its layer object
    lines = [*header, f"    inputs = keras.Input(shape={_literal(list(dims), 'input')})"]
    uses_custom = False
    for index, layer in enumerate(network.layers):
        where = f"{layer.path} ({layer.type_name})"
        sources = [variables[name] for name in layer.inputs]
        call = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
        variable = f"t{index}"
        variables[layer.path] = variable
        if layer.args.get("shared"):
            first = _shared_with(layer, network.layers[:index])
            lines.append(f"    {variable} = {objects[first.path]}({call})  # shared with {first.path!r}")
            continue
        args = [f"{key}={_literal(value, where)}" for key, value in layer.args.items() if key not in _SKIPPED]
        args.append(f"name={layer.path.replace('.', '__')!r}")
        if layer.frozen:
            args.append("trainable=False")
        kind = layer.type_name
        if kind == "CustomScaleLayer":
            uses_custom = True
            constructor = "CustomScaleLayer"
        else:
            constructor = f"layers.{kind}"
        objects[layer.path] = f"layer{index}"
        lines.append(f"    layer{index} = {constructor}({', '.join(args)})")
        lines.append(f"    {variable} = layer{index}({call})")
    lines.append(f"    return keras.Model(inputs, {variables[network.output]}, name={network.name!r})")
    if uses_custom:
        lines[4:4] = ["from keras.src.applications.inception_resnet_v2 import CustomScaleLayer"]
    return "\n".join(lines + footer)


def _shared_with(layer: Any, earlier: Sequence[Any]) -> Any:
    """The earlier layer whose weights a shared call reuses: same type and arguments; by name where several
    (keras_config names a second call ``<name>_call1``, a nested model's ``…__call1__<name>``)."""
    def own(item: Any) -> dict:
        return {k: v for k, v in item.args.items() if k != "shared"}
    candidates = [item for item in earlier if not item.args.get("shared") and item.type_name == layer.type_name
                  and own(item) == own(layer)]
    plain = re.sub(r"_call\d+$", "", re.sub(r"call\d+__", "", layer.path))
    named = [item for item in candidates if item.path == plain]
    if named or len(candidates) == 1:
        return (named or candidates)[0]
    raise CnnCalcError(f"{layer.path} ({layer.type_name}) is a shared call, and "
                       f"{'no' if not candidates else len(candidates)} earlier layer"
                       f"{'s' if len(candidates) != 1 else ''} of its type and arguments could be the one it shares",
                       hint="name it <earlier name>_call1, or give it its own weights (drop shared: true)")
