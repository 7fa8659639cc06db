"""Options and parsing shared by every command module (kept apart from cli.py
so that command modules never import cli.py, which imports them).

The flags' text is parsed into the values the Python API takes and checked by
the same code (cnncalc.overrides), so ``--input`` and ``input=`` refuse the
same things in the same words.
"""

from __future__ import annotations

import click

from .overrides import CLI, check_batch, check_dtype, parse_batch_text, parse_input_text, parse_sets_text


def parse_input(text: str | None) -> tuple | None:
    """'3,512,512' or '3,H,W' -> (3, 512, 512) / (3, 'H', 'W'); ArgumentError when malformed."""
    return parse_input_text(text)


def parse_sets(values: tuple[str, ...]) -> dict[str, int] | None:
    """('H=512,W=384',) -> {'H': 512, 'W': 384}; ArgumentError when malformed."""
    return parse_sets_text(values)


def parse_batch(text: str | int | None) -> int | None:
    """'8' -> 8 (ASCII digits only, 1 to 2**20); an int is checked as it is."""
    if text is None or isinstance(text, int):
        return check_batch(text, CLI.batch)
    return parse_batch_text(text)


class BatchSize(click.ParamType):
    """``--batch``: ASCII digits, 1 to 2**20, refused with the same one-line error as every other flag."""

    name = "N"

    def convert(self, value, param, ctx) -> int:
        return parse_batch(value)


def analysis_options(function):
    """--input, --set, --batch and --dtype, as every analysing command takes them."""
    function = click.option("--dtype", default=None, help="Element type for memory figures (float32, float16, ...).")(function)
    return geometry_options(function)


def geometry_options(function):
    """--input, --set, --batch: what changes shapes and fields (an element type changes neither); and --arg."""
    function = source_arg_option(function)
    function = click.option("--batch", type=BatchSize(), default=None,
                            help="Batch size, 1 to 1048576 (default: the file's, else 1).")(function)
    function = click.option("--set", "sets", multiple=True, metavar="NAME=SIZE",
                            help="Give symbolic input sizes values: --set H=512,W=384.")(function)
    function = click.option("--input", "input_text", metavar="C,H,W", callback=_remember_input,
                            help="Replace the file's input shape (batch excluded): --input 3,512,512.")(function)
    return function


def source_arg_option(function):
    """--arg NAME=VALUE: arguments for a SOURCE's factory (package.module:callable); kept for the command's load."""
    return click.option("--arg", "source_args", multiple=True, metavar="NAME=VALUE", expose_value=False,
                        callback=_remember_args,
                        help="An argument for a SOURCE's class or factory (package.module:callable): "
                             "--arg num_classes=10.")(function)


def _remember_args(ctx, param, values):
    """Store --arg values where api.load finds them for a model SOURCE (cnncalc.frontends.source.OPTIONS)."""
    from dataclasses import replace
    from .frontends.source import OPTIONS, parse_arg_values
    OPTIONS.set(replace(OPTIONS.get(), args=parse_arg_values(values or ())))
    return values


def _remember_input(ctx, param, value):
    """A concrete --input is also the shape a model SOURCE is traced at."""
    from dataclasses import replace
    from .frontends.source import OPTIONS
    shape = parse_input(value) if value is not None else None
    concrete = shape if shape and all(isinstance(d, int) for d in shape) else None
    OPTIONS.set(replace(OPTIONS.get(), input=concrete))
    return value


def analyze_file(file: str, input_text: str | None, sets: tuple[str, ...], batch: str | int | None,
                 dtype: str | None):
    """Load ``file`` and analyze it with the flags' overrides."""
    from .api import analyze, load
    input_shape, sizes = parse_input(input_text), parse_sets(sets)
    batch_size, dtype_name = parse_batch(batch), check_dtype(dtype, CLI.dtype)
    return analyze(load(file), input=input_shape, sizes=sizes, batch=batch_size, dtype=dtype_name)
