"""`cnncalc export FILE --to torch`: readable, runnable PyTorch source.

The source defines one ``nn.Module`` class whose ``__init__`` writes every
layer as a ``torch.nn`` constructor with keyword arguments and whose
``forward`` spells the graph out: one line per layer, merges as
``torch.add`` / ``torch.mul`` / ``torch.cat``. Submodules carry the same
qualified names as :func:`cnncalc.to_torch`'s model, so the two load each
other's ``state_dict``.

The constructor arguments are read back from the modules that the layer
types' ``to_torch`` build (``inspect.signature`` of the class, the module's
attributes of the same names), and each line is checked by building it again
and comparing the result, so the source cannot drift from ``to_torch``.
"""

from __future__ import annotations

import inspect
import keyword
import re
from typing import Any, Mapping, Sequence

from .._version import __version__
from ..errors import CnnCalcError
from .build import Concrete, build_model, concrete

MERGES = {"add", "mul", "concat"}
_TUPLE_NAMES = {"kernel_size", "stride", "padding", "dilation", "output_padding"}
_RESERVED = {"self", "torch", "nn", "x", "input_", "Scope", "super"}


# --------------------------------------------------------------------------
# Constructor arguments
# --------------------------------------------------------------------------

def _same(value: Any, default: Any) -> bool:
    """value equals a parameter's default ((1, 1) equals 1; True never equals 1)."""
    if isinstance(value, tuple) and not isinstance(default, tuple):
        return bool(value) and all(_same(v, default) for v in value)
    if isinstance(value, bool) or isinstance(default, bool) or value is None or default is None:
        return type(value) is type(default) and value == default
    try:
        return bool(value == default)
    except Exception:  # noqa: BLE001
        return False


def constructor_kwargs(module: Any, written: Sequence[str] = ()) -> dict[str, Any]:
    """The keyword arguments that rebuild ``module``: the required ones, those
    the file wrote (``written``) and every value that differs from the default."""
    import torch
    cls = type(module)
    signature = inspect.signature(cls.__init__)
    kwargs: dict[str, Any] = {}
    for name, param in signature.parameters.items():
        if name in ("self", "device", "dtype") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if not hasattr(module, name):
            if param.default is param.empty:
                raise CnnCalcError(f"cannot export {cls.__name__}: its required argument {name!r} is not an "
                                   f"attribute of the module")
            continue
        value = getattr(module, name)
        if isinstance(value, torch.Tensor) or (value is None and name == "bias"):
            value = value is not None                    # bias=True/False from the Parameter
        if isinstance(value, list):
            value = tuple(value)
        required = param.default is param.empty
        if required or name in written or not _same(value, param.default):
            kwargs[name] = value
    return kwargs


def _simplified(kwargs: dict[str, Any]) -> dict[str, Any]:
    """(3, 3) -> 3 for the sizes torch's _pair/_triple accept as one int."""
    out = {}
    for name, value in kwargs.items():
        if (name in _TUPLE_NAMES and isinstance(value, tuple) and value
                and all(isinstance(v, int) and not isinstance(v, bool) and v == value[0] for v in value)):
            value = value[0]
        out[name] = value
    return out


def _norm(value: Any) -> Any:
    import torch
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape))
    if isinstance(value, (list, tuple)):
        items = tuple(_norm(v) for v in value)
        if items and all(type(v) is type(items[0]) and v == items[0] for v in items):
            return items[0]                      # (3, 3) acts as 3 (torch's _pair)
        return items
    return value


def _signature_of(module: Any) -> tuple:
    """What a rebuilt module must match: its class, the values of its constructor's
    arguments as attributes ((3, 3) ~ 3), its parameter and buffer shapes."""
    names = [n for n in inspect.signature(type(module).__init__).parameters if n not in ("self", "device", "dtype")]
    attributes = tuple((n, _norm(getattr(module, n))) for n in names if hasattr(module, n))
    return (type(module), attributes,
            tuple((n, tuple(p.shape)) for n, p in module.named_parameters()),
            tuple((n, tuple(b.shape)) for n, b in module.named_buffers()))


def checked_kwargs(module: Any, written: Sequence[str], where: str) -> dict[str, Any]:
    """Constructor kwargs, verified by rebuilding the module (on the meta device)."""
    import torch
    target = _signature_of(module)
    plain = constructor_kwargs(module, written)
    for kwargs in (_simplified(plain), plain):
        try:
            with torch.device("meta"):
                rebuilt = type(module)(**kwargs)
        except Exception:  # noqa: BLE001 - try the next form
            continue
        if _signature_of(rebuilt) == target:
            return kwargs
    raise CnnCalcError(f"cannot export {where} ({type(module).__name__}): its constructor arguments could not be "
                       f"recovered from the module ({module!r})")


def _literal(value: Any) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

def class_name_for(name: str) -> str:
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words) or "Network"
    if text[0].isdigit():
        text = "Net" + text
    if keyword.iskeyword(text) or text in _RESERVED:
        text += "Net"
    return text


def _is_plain(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def module_ref(parts: Sequence[str]) -> str:
    """self.layer1.bottleneck_1[0].conv1 (indexing for numbers and odd names)."""
    out = "self"
    for part in parts:
        if part.isdigit():
            out += f"[{part}]"
        elif _is_plain(part):
            out += f".{part}"
        else:
            out += f"[{_literal(part)}]"
    return out


class _Names:
    def __init__(self) -> None:
        import builtins
        self.used = set(_RESERVED) | set(dir(builtins))

    def make(self, path: str) -> str:
        base = re.sub(r"\W", "_", path.replace(".", "_")) or "t"
        if base[0].isdigit():
            base = "t_" + base
        if keyword.iskeyword(base):
            base += "_"
        name, count = base, 1
        while name in self.used:
            count += 1
            name = f"{base}_{count}"
        self.used.add(name)
        return name


# --------------------------------------------------------------------------
# The source
# --------------------------------------------------------------------------

SCOPE_SOURCE = '''
class Scope(nn.Module):
    """A block instance: a named group of layers, also indexable (scope[0], scope["conv1"])."""

    def __getitem__(self, key):
        return self._modules[str(key)]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
'''


def export_source(net: Any, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
                  batch: int | None = None, class_name: str | None = None, con: Concrete | None = None) -> str:
    if con is None:
        con = concrete(net, input=input, sizes=sizes, batch=batch, what="cnncalc export")
    model = build_model(None, device="meta", con=con)
    report, plan = con.report, con.plan
    cls = class_name or class_name_for(con.network.name)
    if not _is_plain(cls):
        from ..errors import ArgumentError
        raise ArgumentError(f"--class-name {cls!r} is not a Python identifier")
    layers = plan.layers
    count = len(layers)

    # consumers of each tensor (-1: the input)
    consumers: dict[int, list[int]] = {i: [] for i in range(-1, count)}
    for position, layer in enumerate(layers):
        for slot in layer.input_slots:
            consumers[slot].append(position)

    names = _Names()
    var: dict[int, str] = {}
    for index in range(-1, count):
        if index == count - 1 or consumers[index] == [index + 1]:
            var[index] = "x"
        else:
            var[index] = "input_" if index == -1 else names.make(layers[index].spec.path)

    init: list[str] = []
    made_scopes: set[tuple[str, ...]] = set()
    forward: list[str] = []
    if var[-1] != "x":
        forward.append("input_ = x")
    for position, layer in enumerate(layers):
        spec = layer.spec
        parts = tuple(model.paths[spec.path].split("."))
        for depth in range(1, len(parts)):
            scope = parts[:depth]
            if scope not in made_scopes:
                made_scopes.add(scope)
                if init and not init[-1].endswith("Scope()"):
                    init.append("")
                init.append(_assign(scope, "Scope()"))
        args = [var[slot] for slot in layer.input_slots]
        type_name = layer.layer_type.name
        if type_name in MERGES:
            if type_name == "concat":
                expr = f"torch.cat([{', '.join(args)}], dim={layer.cfg['dim']})"
            else:
                op = "torch.add" if type_name == "add" else "torch.mul"
                expr = args[0]
                for other in args[1:]:
                    expr = f"{op}({expr}, {other})"
        else:
            module = model.get_submodule(".".join(parts))
            if not type(module).__module__.startswith("torch.nn"):
                raise CnnCalcError(f"cannot export a {type(module).__name__} module (not a torch.nn class)",
                                   loc=spec.loc, path=spec.path, layer_type=spec.type_name)
            kwargs = checked_kwargs(module, list(spec.args), spec.path)
            call = f"nn.{type(module).__name__}(" + ", ".join(f"{k}={_literal(v)}" for k, v in kwargs.items()) + ")"
            init.append(_assign(parts, call))
            if spec.frozen and any(True for _ in module.parameters()):
                init.append(f"{module_ref(parts)}.requires_grad_(False)  # frozen")
            expr = f"{module_ref(parts)}({', '.join(args)})"
        forward.append(f"{var[position]} = {expr}")
    forward.append("return x")

    totals = report.totals
    shape = ", ".join(str(s) for s in report.input_shape)
    source_file = con.network.source
    lines = [
        f'"""{con.network.name}: PyTorch source exported by cnncalc {__version__}.',
        "",
        f"From {source_file}, input [{shape}] (batch included): {totals.params:,} parameters, "
        f"{totals.macs:,} MACs,",
        f"output {list(report.output_shape)}. Layers are named by the file's paths; the merges of the file",
        "(add, mul, concat) are torch.add / torch.mul / torch.cat in forward().",
        '"""',
        "",
        "import torch",
        "from torch import nn",
        "",
        SCOPE_SOURCE.rstrip("\n"),
        "",
        "",
        f"class {cls}(nn.Module):",
        f'    """{con.network.name}, as cnncalc reads {_doc_escape(source_file)}."""',
        "",
        f"    input_shape = ({shape}{',' if len(report.input_shape) == 1 else ''})",
        "",
        "    def __init__(self):",
        "        super().__init__()",
    ]
    lines += ["        " + line if line else "" for line in _strip_blank_start(init)]
    lines += ["", "    def forward(self, x):"]
    lines += ["        " + line for line in forward]
    lines += [
        "",
        "",
        'if __name__ == "__main__":',
        f"    model = {cls}().eval()",
        "    with torch.no_grad():",
        f"        out = model(torch.randn(*{cls}.input_shape))",
        '    print(f"{sum(p.numel() for p in model.parameters()):,} parameters, output {list(out.shape)}")',
        "",
    ]
    return "\n".join(lines)


def _doc_escape(text: str) -> str:
    return text.replace("\\", "/").replace('"""', "'''")


def _strip_blank_start(lines: list[str]) -> list[str]:
    while lines and not lines[0]:
        lines = lines[1:]
    return lines


def _assign(parts: Sequence[str], value: str) -> str:
    *parents, last = parts
    owner = module_ref(parents)
    if _is_plain(last) and not last.isdigit():
        return f"{owner}.{last} = {value}"
    return f"{owner}.add_module({_literal(last)}, {value})"
