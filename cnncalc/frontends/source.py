"""SOURCE: what every analysing command accepts in place of an architecture file.

- ``package.module:callable``: a class or factory, imported and called (with
  no arguments, or with ``--arg name=value``); must return a ``torch.nn.Module``.
- ``path/to/file.py:callable``: the same, from a Python file.
- ``model.onnx``: an ONNX graph (read, never executed).
- ``model.keras`` / ``model.json``: a Keras model config (``.keras`` zip or ``to_json()``; read as data, Keras not imported).
- anything else: the path of a YAML architecture file (or ``-``).

Importing a callable runs the user's own code, by their explicit request: that
is the feature. Nothing from a YAML or ONNX file is ever executed. This module
imports neither torch nor onnx; only a model source does, on use.
"""

from __future__ import annotations

import ast
import contextvars
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import ArgumentError, CnnCalcError
from ..text import cut, shown

_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_PYTHON = re.compile(rf"^(?P<where>{_DOTTED}|.+\.py):(?P<attr>{_DOTTED})$", re.DOTALL)
MAX_ARGS = 64


class SourceError(CnnCalcError):
    """A model source cannot be imported, called, traced or mapped (exit code 2)."""


@dataclass(frozen=True)
class Source:
    """A resolved SOURCE: its kind ('python-module', 'python-file', 'onnx', 'yaml') and parts."""

    kind: str
    where: str                        # module name, file path, or the YAML/ONNX path
    attr: str | None = None           # the callable, for Python sources
    text: str = ""                    # the SOURCE as given


@dataclass(frozen=True)
class SourceOptions:
    """What the command line adds to a model source: ``--arg`` values and ``--input``."""

    args: Mapping[str, Any] = field(default_factory=dict)
    input: tuple | None = None


# Set by the command line's --arg / --input callbacks (cli_common) for the one command being run,
# so that every analysing command's ``load(SOURCE)`` calls the factory with them.
OPTIONS: contextvars.ContextVar[SourceOptions] = contextvars.ContextVar("cnncalc_source_options",
                                                                        default=SourceOptions())


def resolve_source(text: str) -> Source:
    """Classify a SOURCE string; never imports or reads anything."""
    if text.lower().endswith(".onnx"):
        return Source("onnx", text, text=text)
    if text.lower().endswith((".keras", ".json")):    # a Keras model config (frontends/keras_config.py)
        return Source("keras", text, text=text)
    match = _PYTHON.match(text)
    if match and not (os.path.exists(text) and not match.group("where").endswith(".py")):
        where, attr = match.group("where"), match.group("attr")
        return Source("python-file" if where.endswith(".py") else "python-module", where, attr, text)
    return Source("yaml", text, text=text)


def is_model_source(text: Any) -> bool:
    """True when ``text`` names a Python callable or an ONNX file rather than a YAML file."""
    return isinstance(text, str) and text != "-" and resolve_source(text).kind != "yaml"


def parse_arg_values(values: Sequence[str]) -> dict[str, Any]:
    """``('width=2', 'name=x')`` -> ``{'width': 2, 'name': 'x'}``: Python literals, else the text itself.

    ``true``/``false``/``none`` are accepted in lower case as well. Values are
    parsed by ``ast.literal_eval`` (literals only, never evaluated as code).
    """
    result: dict[str, Any] = {}
    if len(values) > MAX_ARGS:
        raise ArgumentError(f"--arg given {len(values):,} times; at most {MAX_ARGS}")
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise ArgumentError(f"--arg expected NAME=VALUE with NAME a Python identifier, found {shown(value)}",
                                hint="for example --arg num_classes=10 --arg width=0.5")
        result[name] = _literal(text)
    return result


def _literal(text: str) -> Any:
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    if len(text) > 10_000:
        raise ArgumentError(f"an --arg value is {len(text):,} characters long; at most 10,000")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def load_source(text: str, *, args: Mapping[str, Any] | None = None, input: Sequence[Any] | None = None):
    """The NetworkSpec of a Python or ONNX SOURCE (a YAML path is the loader's business)."""
    doc = import_document(text, args=args, input=input)
    from ..api import loads
    from .write_yaml import dump
    return loads(dump(doc), filename=text)


def import_document(text: str, *, args: Mapping[str, Any] | None = None, input: Sequence[Any] | None = None,
                    name: str | None = None) -> dict:
    """The cnncalc document (the YAML file's data) for a SOURCE: a traced module or an ONNX graph."""
    source = resolve_source(text)
    options = OPTIONS.get()
    args = dict(options.args if args is None else args)
    input = options.input if input is None else input
    if source.kind == "keras":
        if args:
            raise ArgumentError("--arg is for a Python factory; a Keras model config takes no arguments")
        from .keras_config import import_keras
        return import_keras(source.where, name=name)
    if source.kind == "onnx":
        if args:
            raise ArgumentError("--arg is for a Python factory; an ONNX file takes no arguments")
        from .onnx import import_onnx
        return import_onnx(source.where, input=input, name=name)
    if source.kind == "yaml":
        raise ArgumentError(f"{shown(text)} is not a model source",
                            hint="give package.module:callable, path/to/file.py:callable or a .onnx file")
    module = build_module(source, args)
    from .torch_fx import import_module
    return import_module(module, input=input, name=name or _default_name(source))


def _default_name(source: Source) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", source.attr.split(".")[-1]) or "model"


def build_module(source: Source, args: Mapping[str, Any]):
    """Import the callable named by ``source`` and call it with ``args``: the user's own code, on request."""
    from ..torch_bridge import require_torch
    torch = require_torch("importing a torch model")
    target = _import_target(source)
    obj = target
    for part in source.attr.split("."):
        if not hasattr(obj, part):
            raise SourceError(f"{_where(source)} has no attribute {shown(part)}",
                              hint=_public_callables(target))
        obj = getattr(obj, part)
    if isinstance(obj, torch.nn.Module):
        if args:
            raise ArgumentError(f"{shown(source.text)} is a module instance; --arg needs a class or factory")
        return obj
    if not callable(obj):
        raise SourceError(f"{shown(source.text)} is a {type(obj).__name__}, not a class or factory of an nn.Module")
    try:
        module = obj(**args)
    except CnnCalcError:
        raise
    except Exception as err:  # the user's code: report it in one line, no traceback
        raise SourceError(f"calling {shown(source.text)}({_args_text(args)}) raised "
                          f"{type(err).__name__}: {cut(err, 300)}",
                          hint="pass constructor arguments with --arg name=value") from None
    if not isinstance(module, torch.nn.Module):
        raise SourceError(f"{shown(source.text)} returned a {type(module).__name__}, not a torch.nn.Module")
    return module


def _import_target(source: Source):
    import importlib
    import importlib.util
    try:
        if source.kind == "python-module":
            here = os.getcwd()                         # `cnncalc summarize mypkg.models:net` from the folder
            added = here not in sys.path               # holding mypkg, as `python -m` would find it
            if added:
                sys.path.insert(0, here)
            try:
                return importlib.import_module(source.where)
            finally:
                if added and here in sys.path:
                    sys.path.remove(here)
        path = os.path.abspath(source.where)
        if not os.path.isfile(path):
            raise SourceError(f"no Python file {shown(source.where)}")
        module_name = "_cnncalc_source_" + re.sub(r"\W", "_", path)
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise SourceError(f"cannot import {shown(source.where)} as Python")
        module = importlib.util.module_from_spec(spec)
        folder = os.path.dirname(path)
        sys.path.insert(0, folder)                     # the file's own imports of its neighbours
        sys.modules[module_name] = module              # dataclasses and pickling look it up
        try:
            spec.loader.exec_module(module)
        finally:
            if sys.path and sys.path[0] == folder:
                sys.path.pop(0)
        return module
    except CnnCalcError:
        raise
    except ModuleNotFoundError as err:
        raise SourceError(f"cannot import {shown(source.where)}: {cut(err, 300)}",
                          hint="run from the folder that holds the package, or set PYTHONPATH") from None
    except Exception as err:  # the user's module raised while importing
        raise SourceError(f"importing {shown(source.where)} raised {type(err).__name__}: {cut(err, 300)}") from None


def _where(source: Source) -> str:
    return f"module {shown(source.where)}" if source.kind == "python-module" else f"file {shown(source.where)}"


def _public_callables(target) -> str | None:
    names = [n for n, v in vars(target).items() if not n.startswith("_") and callable(v)][:8]
    return f"it has {', '.join(names)}" if names else None


def _args_text(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())
