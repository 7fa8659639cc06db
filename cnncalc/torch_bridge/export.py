"""`cnncalc export FILE --to torch`: readable, runnable PyTorch source, written without torch.

The source defines one ``nn.Module`` class whose ``__init__`` writes every
layer as a ``torch.nn`` constructor with keyword arguments and whose
``forward`` spells the graph out: one line per layer, merges as
``torch.add`` / ``torch.mul`` / ``torch.cat``. Submodules carry the same
qualified names as :func:`cnncalc.to_torch`'s model, so the two load each
other's ``state_dict``.

Exporting only writes text, so it never imports torch: the constructor
arguments come from the layer's analysed configuration (what the layer types'
``to_torch`` pass to torch), and the qualified names repeat
:func:`cnncalc.torch_bridge.build.assemble`'s renaming with a fixed list of the
``nn.Module`` attributes. The tests build every layer type both ways with torch
and compare, so the source cannot drift from ``to_torch``.

Nothing a file controls reaches the source raw: names and paths become string
literals only through :func:`python_string` (every quote, backslash and
non-printable character escaped), attribute access is written plainly only for
names that are safe attributes (``getattr(self, "__conv")`` otherwise), and
``inf`` / ``nan`` are written as ``math.inf`` / ``math.nan``.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from typing import Any, Mapping, Sequence

from .._version import __version__
from ..errors import ArgumentError, CnnCalcError
from ..layers._torch_ops import SOURCES as TORCH_OPS
from ..layers.base import REQUIRED
from ..text import shown
from .build import Concrete, concrete

MERGES = {"add", "mul", "concat"}
_TUPLE_NAMES = {"kernel_size", "stride", "padding", "dilation", "output_padding"}
CLASS_NAME_LIMIT = 80

# The constructor argument each layer type's to_torch reads from its input shape
# (name pattern of the layer type -> (argument, axis of the first input's shape)).
_FROM_INPUT: tuple[tuple[re.Pattern, str, int], ...] = (
    (re.compile(r"(Conv|ConvTranspose)[123]d"), "in_channels", 1),
    (re.compile(r"(BatchNorm|InstanceNorm)[123]d"), "num_features", 1),
    (re.compile(r"GroupNorm"), "num_channels", 1),
    (re.compile(r"Linear"), "in_features", -1),
)

# ``hasattr(torch.nn.Module(), name)`` for torch 2.x, less the attributes of a
# plain Python object (added at run time below, as this Python has them).
# build.assemble renames a child whose name is an attribute of its parent
# (``train`` -> ``train_``); export must rename the same names without torch.
# tests/torch_bridge/test_export_hostile.py checks this list against the installed torch.
_NN_MODULE_ATTRIBUTES = frozenset("""
T_destination __annotations__ __call__ __getattr__ __setstate__ _apply _backward_hooks _backward_pre_hooks
_buffers _call_impl _compiled_call_impl _forward_hooks _forward_hooks_always_called _forward_hooks_with_kwargs
_forward_pre_hooks _forward_pre_hooks_with_kwargs _get_backward_hooks _get_backward_pre_hooks _get_name
_is_full_backward_hook _load_from_state_dict _load_state_dict_post_hooks _load_state_dict_pre_hooks
_maybe_warn_non_full_backward_hook _modules _named_members _non_persistent_buffers_set _parameters
_register_load_state_dict_pre_hook _register_state_dict_hook _replicate_for_data_parallel _save_to_state_dict
_slow_forward _state_dict_hooks _state_dict_pre_hooks _version _wrapped_call_impl add_module apply bfloat16
buffers call_super_init children compile cpu cuda double dump_patches eval extra_repr float forward get_buffer
get_extra_state get_parameter get_submodule half ipu load_state_dict modules mtia named_buffers named_children
named_modules named_parameters parameters register_backward_hook register_buffer register_forward_hook
register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule
share_memory state_dict to to_empty train training type xpu zero_grad
""".split())
# what build's Scope and CnnCalcModel add to nn.Module
_SCOPE_EXTRA = frozenset({"__contains__", "__getitem__", "__iter__", "__len__"})
_MODEL_EXTRA = frozenset({"_cnncalc_input_last", "_cnncalc_module", "_cnncalc_steps", "cnncalc_name",
                          "input_shape", "layer", "paths", "run_until"})


class _Plain:
    """A plain class: its instance's dir() is what every Python class has (this Python's dunders)."""


_OBJECT_ATTRIBUTES = frozenset(dir(_Plain()))
SCOPE_ATTRIBUTES = _NN_MODULE_ATTRIBUTES | _OBJECT_ATTRIBUTES | _SCOPE_EXTRA
MODEL_ATTRIBUTES = _NN_MODULE_ATTRIBUTES | _OBJECT_ATTRIBUTES | _MODEL_EXTRA

# Names the generated module binds or uses at module level: a class name must not shadow them.
_MODULE_GLOBALS = frozenset({"torch", "nn", "F", "math", "Scope", "self", "x", "input_", "model", "out"})


# --------------------------------------------------------------------------
# Literals: the only way file-controlled text reaches the source
# --------------------------------------------------------------------------

def python_string(text: str, *, docstring: bool = False, keep_newlines: bool = False) -> str:
    """A double-quoted Python string literal that evaluates to ``text``.

    Built character by character: quotes and backslashes are escaped, every
    non-printable character (controls, ESC, line separators, bidi overrides,
    lone surrogates) becomes a ``\\x``/``\\u``/``\\U`` escape, so the literal can
    neither end early nor show anything raw. ``docstring`` writes it
    triple-quoted; ``keep_newlines`` (only with ``docstring``) keeps ``\\n`` as
    line breaks.
    """
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n" and docstring and keep_newlines:
            out.append("\n")
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF
                       else f"\\U{code:08x}")
    quote = '"""' if docstring else '"'
    return quote + "".join(out) + quote


def literal(value: Any, uses: set[str] | None = None) -> str:
    """Python source for a constructor argument value; ``uses`` collects the modules it needs (math)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            if uses is not None:
                uses.add("math")
            return "math.nan"
        if math.isinf(value):
            if uses is not None:
                uses.add("math")
            return "math.inf" if value > 0 else "-math.inf"
        return repr(float(value))
    if isinstance(value, str):
        return python_string(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v, uses) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, uses) for v in value) + "]"
    raise CnnCalcError(f"cannot export a {type(value).__name__} argument value")


# --------------------------------------------------------------------------
# Constructor arguments (no torch: what the layer types' to_torch pass)
# --------------------------------------------------------------------------

def _same(value: Any, default: Any) -> bool:
    """value equals a schema default ((1, 1) equals 1; True never equals 1)."""
    if isinstance(value, tuple) and not isinstance(default, tuple):
        return bool(value) and all(_same(v, default) for v in value)
    if isinstance(value, bool) or isinstance(default, bool) or value is None or default is None:
        return type(value) is type(default) and value == default
    if isinstance(value, float) and isinstance(default, float) and math.isnan(value) and math.isnan(default):
        return True
    if type(value) in (int, float) and type(default) in (int, float):
        return value == default
    return type(value) is type(default) and value == default


def _one_int(name: str, value: Any) -> Any:
    """(3, 3) -> 3 for the sizes torch's _single/_pair/_triple/_ntuple accept as one int."""
    if (name in _TUPLE_NAMES and isinstance(value, tuple) and value
            and all(type(v) is int and v == value[0] for v in value)):
        return value[0]
    return value


def constructor_kwargs(con: Concrete, position: int) -> dict[str, Any]:
    """The keyword arguments of layer ``position``'s ``torch.nn`` constructor: the one its
    input implies (``in_channels``...), the required ones, those the file wrote and every
    value that differs from the schema's (torch's) default."""
    layer = con.plan.layers[position]
    layer_type, spec = layer.layer_type, layer.spec
    kwargs: dict[str, Any] = {}
    for pattern, name, axis in _FROM_INPUT:
        if pattern.fullmatch(layer_type.name):
            kwargs[name] = con.input_shapes(position)[0][axis]
    defaults = {arg.name: arg.default for arg in layer_type.args}
    for name, value in layer.cfg.items():
        default = defaults.get(name, REQUIRED)
        if default is REQUIRED or name in spec.args or not _same(value, default):
            kwargs[name] = _one_int(name, list(value) if name == "normalized_shape" else value)
    for name, value in kwargs.items():
        if not isinstance(value, (int, float, str, tuple, list, type(None))):
            raise CnnCalcError(f"cannot export {name}={value!r}: not a plain value", loc=spec.loc, path=spec.path,
                               layer_type=spec.type_name)
    return kwargs


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

def _is_plain(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def is_safe_attribute(name: str) -> bool:
    """``owner.name`` may be written in the class body: an ASCII identifier, no keyword,
    not name-mangled (no leading ``__``)."""
    return name.isascii() and _is_plain(name) and not name.startswith("__")


def class_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name the generated class (None when it can)."""
    if not (name.isascii() and name.isidentifier()):
        return "is not an ASCII Python identifier"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "is a Python keyword"
    if name in _MODULE_GLOBALS:
        return f"would shadow {name!r}, which the generated module uses"
    if hasattr(builtins, name) or (name.startswith("__") and name.endswith("__")):
        return f"would shadow the builtin {name!r}"
    if len(name) > CLASS_NAME_LIMIT:
        return f"is longer than {CLASS_NAME_LIMIT} characters"
    return None


def class_name_for(name: str) -> str:
    """A safe class name from the network's name: CamelCase ASCII words (``resnet-50`` -> ``Resnet50``)."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words)[:CLASS_NAME_LIMIT - 6] or "Network"
    if text[0].isdigit():
        text = "Net" + text
    if class_name_problem(text) is not None:
        text += "Net"
    return text


def _attribute(owner: str, name: str, owner_is_scope: bool) -> str:
    """Source that reads child ``name`` of ``owner``."""
    if is_safe_attribute(name):
        return f"{owner}.{name}"
    if owner_is_scope and name.isascii() and name.isdigit():
        return f"{owner}[{int(name)}]" if str(int(name)) == name else f"{owner}[{python_string(name)}]"
    return f"getattr({owner}, {python_string(name)})"


def module_ref(parts: Sequence[str]) -> str:
    """Source for the submodule at qualified-name ``parts``: self.layer1[0].conv1, getattr(self, "__x")."""
    out = "self"
    for depth, part in enumerate(parts):
        out = _attribute(out, part, owner_is_scope=depth > 0)
    return out


def _assign(parts: Sequence[str], value: str) -> str:
    *parents, last = parts
    owner = module_ref(parents)
    if is_safe_attribute(last):
        return f"{owner}.{last} = {value}"
    return f"{owner}.add_module({python_string(last)}, {value})"


def qualified_names(con: Concrete) -> list[tuple[str, ...]]:
    """Each layer's qualified-name parts in ``to_torch``'s model, as build.assemble names them:
    one part per path component, ``_`` appended while the name is an attribute of its parent."""
    renamed: dict[str, str] = {}
    kinds: dict[tuple[str, ...], str] = {}          # qualified parts -> "layer" | "scope"
    out = []
    for layer in con.plan.layers:
        spec = layer.spec
        parts = spec.path.split(".")
        actual: list[str] = []
        for depth, part in enumerate(parts):
            leaf = depth == len(parts) - 1
            key = ".".join(parts[:depth + 1])
            name = renamed.get(key)
            if name is None:
                attributes = MODEL_ATTRIBUTES if depth == 0 else SCOPE_ATTRIBUTES
                name = part
                while (name in attributes and tuple(actual) + (name,) not in kinds) or name == "" or "." in name:
                    name += "_"
                renamed[key] = name
            actual.append(name)
            here = tuple(actual)
            if leaf:
                if here in kinds:
                    raise CnnCalcError(f"two layers share the path {spec.path!r}", loc=spec.loc, path=spec.path)
                kinds[here] = "layer"
            elif kinds.setdefault(here, "scope") != "scope":
                raise CnnCalcError(f"{key!r} is both a layer and a block", loc=spec.loc, path=spec.path)
        out.append(tuple(actual))
    return out


class _Names:
    """Local variable names for forward(): from the path, never a keyword, builtin or global."""

    def __init__(self, reserved: set[str]) -> None:
        self.used = set(reserved) | _MODULE_GLOBALS | set(dir(builtins)) | set(keyword.kwlist)

    def make(self, path: str) -> str:
        base = re.sub(r"\W", "_", path.replace(".", "_"), flags=re.ASCII).lstrip("_") or "t"
        if base[0].isdigit():
            base = "t_" + base
        name, count = base, 1
        while name in self.used or keyword.iskeyword(name):
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
    """The PyTorch source of ``net`` (a path, YAML text or a NetworkSpec); needs no torch."""
    if class_name is not None:
        problem = class_name_problem(class_name)
        if problem is not None:
            raise ArgumentError(f"--class-name {shown(class_name)} {problem}",
                                hint="give a CamelCase name such as MyNet")
    if con is None:
        con = concrete(net, input=input, sizes=sizes, batch=batch, what="cnncalc export")
    report, plan = con.report, con.plan
    cls = class_name or class_name_for(con.network.name)
    layers = plan.layers
    count = len(layers)
    qualified = qualified_names(con)
    uses: set[str] = set()

    # consumers of each tensor (-1: the input)
    consumers: dict[int, list[int]] = {i: [] for i in range(-1, count)}
    for position, layer in enumerate(layers):
        for slot in layer.input_slots:
            consumers[slot].append(position)

    names = _Names({cls})
    var: dict[int, str] = {}
    for index in range(-1, count):
        if 0 <= index < count - 1 and _ends_its_block(layers, qualified, index):
            var[index] = names.make(layers[index].spec.path)   # `aspp_convs_cat = torch.cat(...)`: import's clue
        elif index == count - 1 or consumers[index] == [index + 1]:
            var[index] = "x"
        else:
            var[index] = "input_" if index == -1 else names.make(layers[index].spec.path)

    init: list[str] = []
    helpers: dict[str, str] = {}                    # torch ops classes the file needs (layers/_torch_ops.py)
    made_scopes: set[tuple[str, ...]] = set()
    forward: list[str] = []
    if var[-1] != "x":
        forward.append("input_ = x")
    for position, layer in enumerate(layers):
        spec = layer.spec
        parts = qualified[position]
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
                expr = f"torch.cat([{', '.join(args)}], dim={literal(layer.cfg['dim'])})"
            else:
                op = "torch.add" if type_name == "add" else "torch.mul"
                expr = args[0]
                for other in args[1:]:
                    expr = f"{op}({expr}, {other})"
        elif getattr(layer.layer_type, "torch_class", None):
            # a type torch.nn has no class for: the class cnncalc's to_torch builds, written into the file
            helper = layer.layer_type.torch_class
            helpers.setdefault(helper, TORCH_OPS[helper])
            kwargs = layer.layer_type.torch_kwargs(layer.cfg, con.input_shapes(position))
            call = f"{helper}(" + ", ".join(f"{k}={literal(v, uses)}" for k, v in kwargs.items()) + ")"
            init.append(_assign(parts, call))
            if spec.frozen and report.layers[position].params:
                init.append(f"{module_ref(parts)}.requires_grad_(False)  # frozen")
            expr = f"{module_ref(parts)}({', '.join(args)})"
        else:
            if not is_safe_attribute(type_name):
                raise CnnCalcError(f"cannot export the layer type {shown(type_name)}: not a torch.nn class name",
                                   loc=spec.loc, path=spec.path, layer_type=spec.type_name)
            kwargs = constructor_kwargs(con, position)
            call = f"nn.{type_name}(" + ", ".join(f"{k}={literal(v, uses)}" for k, v in kwargs.items()) + ")"
            init.append(_assign(parts, call))
            if spec.frozen and report.layers[position].params:
                init.append(f"{module_ref(parts)}.requires_grad_(False)  # frozen")
            expr = f"{module_ref(parts)}({', '.join(args)})"
        forward.append(f"{var[position]} = {expr}")
    forward.append("return x")
    if cls in helpers:                               # a network called "permute" must not shadow the Permute op
        if class_name is not None:
            raise ArgumentError(f"--class-name {shown(class_name)} would shadow the {cls} class the file defines",
                                hint="give another name")
        cls += "Net"

    totals = report.totals
    shape = ", ".join(str(int(s)) for s in report.input_shape)
    name, source_file = str(con.network.name), str(con.network.source)
    module_doc = (f"{name}: PyTorch source exported by cnncalc {__version__}.\n\n"
                  f"From {source_file}, input [{shape}] (batch included): {totals.params:,} parameters, "
                  f"{totals.macs:,} MACs,\n"
                  f"output {list(report.output_shape)}. Layers are named by the file's paths; the merges of the file\n"
                  "(add, mul, concat) are torch.add / torch.mul / torch.cat in forward().\n")
    lines = [
        python_string(module_doc, docstring=True, keep_newlines=True),
        "",
        *(["import math"] if "math" in uses else []),
        "import torch",
        "from torch import nn",
        *(["from torch.nn import functional as F"] if any("F." in source for source in helpers.values()) else []),
        "",
        SCOPE_SOURCE.rstrip("\n"),
        *[line for source in helpers.values() for line in ("", source.rstrip("\n"))],
        "",
        "",
        f"class {cls}(nn.Module):",
        "    " + python_string(f"{name}, as cnncalc reads {source_file}.", docstring=True),
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


def _ends_its_block(layers: Sequence[Any], qualified: Sequence[tuple], index: int) -> bool:
    """A merge that is its block's last layer: in forward() it is one line between two module calls, and
    only its variable (named by its path, ``classifier_0_convs_cat``) tells ``cnncalc import`` which block
    it belongs to (a merge after a positional block's branches, DeepLabV3's ASPP concat)."""
    parts = qualified[index]
    return (layers[index].layer_type.name in MERGES and len(parts) > 1
            and tuple(qualified[index + 1][:len(parts) - 1]) != tuple(parts[:-1]))


def _strip_blank_start(lines: list[str]) -> list[str]:
    while lines and not lines[0]:
        lines = lines[1:]
    return lines
