"""The Python API: load, loads, analyze, explain."""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence, Union

from .errors import ArgumentError
from .report import Report
from .spec.model import NetworkSpec

NetLike = Union[NetworkSpec, str, "os.PathLike[str]"]


def load(path: str | os.PathLike) -> NetworkSpec:
    """Read and expand an architecture file (``-`` reads standard input)."""
    from .spec.expand import load_bytes, load_path
    if str(path) == "-":
        import sys
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read(4 * 2**20 + 1) if stream is not None else sys.stdin.read().encode("utf-8", "replace")
        return load_bytes(data, "<stdin>")
    return load_path(path)


def loads(text: str, filename: str = "<string>") -> NetworkSpec:
    """Expand an architecture given as YAML text."""
    from .spec.expand import load_text
    return load_text(text, filename)


def as_network(net: NetLike) -> NetworkSpec:
    if isinstance(net, NetworkSpec):
        return net
    if isinstance(net, (str, os.PathLike)):
        text = str(net)
        if "\n" in text:          # YAML text, not a path
            return loads(text)
        return load(net)
    raise ArgumentError(f"expected a path, YAML text or a loaded network, found {type(net).__name__}")


def analyze(net: NetLike, *, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
            batch: int | None = None, dtype: str | None = None) -> Report:
    """Shapes, counts, memory and receptive fields of every layer, analytically.

    ``input`` replaces the file's input shape (batch excluded); ``sizes``
    gives values to symbolic sizes ({"H": 512}); ``batch`` and ``dtype``
    override the file's.
    """
    from .engine import evaluate, plan
    network = as_network(net)
    _check_overrides(batch, dtype)
    return evaluate(plan(network), input=input, sizes=sizes, batch=batch, dtype=dtype)


def _check_overrides(batch: int | None, dtype: str | None) -> None:
    from .spec.model import DTYPE_BYTES
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise ArgumentError(f"batch must be a positive integer, found {batch!r}")
    if dtype is not None and dtype not in DTYPE_BYTES:
        from .errors import did_you_mean
        raise ArgumentError(f"unknown dtype {dtype!r}",
                            hint=did_you_mean(dtype, DTYPE_BYTES) or f"expected one of {', '.join(DTYPE_BYTES)}")
