"""``export --to keras``: Keras (Functional API) source for a Keras-dialect file.

Each layer becomes ``layers.<Type>(**args, name=...)`` called on its inputs,
in file order; the model has the file's input shape (channels last), so it
builds with the same ``count_params()`` (cnncalc's ``keras_params``) and output
shape, which tests/frontends/test_keras_export.py checks by running it.
Every value reaches the source through ``repr`` of a plain literal (int,
float, str, bool, None, lists of them): text from a file can never become
code. Files with torch layer names are refused (their layout is channels first).
"""

from __future__ import annotations

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
    if network.framework != "keras":
        raise ArgumentError(f"export --to keras needs a Keras file (framework: keras); {shown(network.name)} "
                            f"uses torch layer names", hint="write the file with Keras layers, or use --to torch")
    from ..engine.analyze import resolve_input
    dims = resolve_input(network, input, sizes)
    if any(isinstance(d, str) for d in dims):
        named = [d for d in dims if isinstance(d, str)]
        raise ArgumentError(f"the input has symbolic sizes ({', '.join(named)}); give them values with --set",
                            hint=f"for example --set {named[0]}=224")
    variables = {INPUT: "inputs"}
    lines = [
        f"# {network.name!r} as Keras (Functional API), written by cnncalc export --to keras.",
        "",
        "import keras",
        "from keras import layers",
        "",
        "",
        "def build():",
        f"    inputs = keras.Input(shape={_literal(list(dims), 'input')})",
    ]
    uses_custom = False
    for index, layer in enumerate(network.layers):
        where = f"{layer.path} ({layer.type_name})"
        if layer.args.get("shared"):
            raise CnnCalcError(f"{where} is a shared call of another layer; export --to keras cannot say which",
                               hint="give it its own layer (its weights then count twice)")
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
        sources = [variables[name] for name in layer.inputs]
        call = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
        variable = f"t{index}"
        variables[layer.path] = variable
        lines.append(f"    {variable} = {constructor}({', '.join(args)})({call})")
    lines.append(f"    return keras.Model(inputs, {variables[network.output]}, name={network.name!r})")
    if uses_custom:
        lines[4:4] = ["from keras.src.applications.inception_resnet_v2 import CustomScaleLayer"]
    lines += ["", "", 'if __name__ == "__main__":', "    model = build()",
              '    print(f"{model.count_params():,} parameters, output {list(model.output.shape)}")', ""]
    return "\n".join(lines)
