"""Options and parsing shared by every command module (kept apart from cli.py
so that command modules never import cli.py, which imports them)."""

from __future__ import annotations

from typing import Any

import click

from .errors import ArgumentError


def parse_input(text: str | None) -> tuple | None:
    """'3,512,512' or '3,H,W' -> (3, 512, 512) / (3, 'H', 'W')."""
    if text is None:
        return None
    dims: list[Any] = []
    for part in text.replace("x", ",").split(","):
        part = part.strip()
        if part.isdigit() and int(part) >= 1:
            dims.append(int(part))
        elif part.isidentifier():
            dims.append(part)
        else:
            raise ArgumentError(f"--input {text!r}: expected sizes like 3,224,224 (names allowed: 3,H,W), "
                                f"found {part!r}")
    if not 2 <= len(dims) <= 4 or not isinstance(dims[0], int):
        raise ArgumentError(f"--input {text!r}: expected [C, L], [C, H, W] or [C, D, H, W] with an integer C")
    if any(isinstance(d, int) and d > 2**31 for d in dims):
        raise ArgumentError(f"--input {text!r}: sizes are limited to 2**31")
    return tuple(dims)


def parse_sets(values: tuple[str, ...]) -> dict[str, int] | None:
    """('H=512,W=384',) -> {'H': 512, 'W': 384}."""
    sizes: dict[str, int] = {}
    for value in values:
        for item in value.split(","):
            name, sep, number = item.partition("=")
            name, number = name.strip(), number.strip()
            if not sep or not name.isidentifier() or not number.isdigit() or int(number) < 1 or int(number) > 2**31:
                raise ArgumentError(f"--set {item!r}: expected NAME=SIZE with a positive integer size, e.g. H=512")
            sizes[name] = int(number)
    return sizes or None


def analysis_options(function):
    function = click.option("--dtype", default=None, help="Element type for memory figures (float32, float16, ...).")(function)
    function = click.option("--batch", type=click.IntRange(1, 2**20), default=None, help="Batch size (default: the file's, else 1).")(function)
    function = click.option("--set", "sets", multiple=True, metavar="NAME=SIZE",
                            help="Give symbolic input sizes values: --set H=512,W=384.")(function)
    function = click.option("--input", "input_text", metavar="C,H,W",
                            help="Replace the file's input shape (batch excluded): --input 3,512,512.")(function)
    return function


def analyze_file(file: str, input_text: str | None, sets: tuple[str, ...], batch: int | None, dtype: str | None):
    from .api import analyze, load
    return analyze(load(file), input=parse_input(input_text), sizes=parse_sets(sets), batch=batch, dtype=dtype)
