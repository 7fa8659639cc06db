"""The Python API: load, loads, analyze, explain.

Every keyword argument is checked by cnncalc.overrides before any work is
done (the command line's flags go through the same checks), so a bad value
is one ArgumentError naming the keyword, never a TypeError from deep inside.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence, Union

from .errors import ArgumentError
from .overrides import Overrides, check_overrides, check_train, describe
from .report import Report
from .spec.model import NetworkSpec

NetLike = Union[NetworkSpec, str, "os.PathLike[str]"]
MAX_SOURCE_BYTES = 4 * 2**20        # an architecture file, from a path or standard input


def load(path: str | os.PathLike, *, args: Mapping[str, Any] | None = None,
         input: Sequence[Any] | None = None) -> NetworkSpec:
    """Read and expand an architecture file (``-`` reads standard input, at most 4 MiB of it), or a model SOURCE.

    A SOURCE (``package.module:callable``, ``file.py:callable``, ``model.onnx``)
    is imported as ``cnncalc import`` would write it (cnncalc.frontends): the
    callable is called with ``args``; ``input`` is the shape it is traced at.
    """
    from .spec.expand import load_bytes, load_path
    from .frontends.source import is_model_source
    if is_model_source(path):
        from .frontends.source import load_source
        return load_source(path, args=args, input=input)
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"expected the path of an architecture file, found {describe(path)}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise ArgumentError(f"expected the path of an architecture file, found {describe(text)}")
    if text == "-":
        return load_bytes(_read_stdin(), "<stdin>")
    if "\0" in text:
        raise ArgumentError(f"the path {describe(text)} holds a NUL character; no file can have that name")
    return load_path(path)


def _read_stdin() -> bytes:
    """Standard input, bounded: a larger stream is an error before it fills memory."""
    import sys
    from ._files import read_stream_limited
    from .errors import SpecError
    stream = getattr(sys.stdin, "buffer", None)
    if stream is not None:
        return read_stream_limited(stream, MAX_SOURCE_BYTES, "standard input", error=SpecError)
    text = sys.stdin.read(MAX_SOURCE_BYTES + 1)            # a text stream (tests, notebooks)
    if len(text) > MAX_SOURCE_BYTES:
        raise SpecError(f"standard input is more than {MAX_SOURCE_BYTES:,} characters")
    return text.encode("utf-8", "replace")


def loads(text: str, filename: str = "<string>") -> NetworkSpec:
    """Expand an architecture given as YAML text (``bytes`` are decoded as UTF-8)."""
    from .spec.expand import load_bytes, load_text
    if not isinstance(filename, str):
        raise ArgumentError(f"filename= expected a string, found {describe(filename)}")
    if isinstance(text, (bytes, bytearray)):
        return load_bytes(bytes(text), filename)
    if not isinstance(text, str):
        raise ArgumentError(f"expected YAML text, found {describe(text)}")
    if len(text) > MAX_SOURCE_BYTES:
        from .errors import Loc, SpecError
        raise SpecError(f"the text is {len(text):,} characters; architecture files are limited to 4 MiB",
                        loc=Loc(filename, 1, 1))
    return load_text(text, filename)


def as_network(net: NetLike) -> NetworkSpec:
    """A loaded network from a network, a path, or YAML text (a string holding a newline)."""
    if isinstance(net, NetworkSpec):
        return net
    if isinstance(net, os.PathLike):                       # a path object is always a file
        return load(net)
    if isinstance(net, str):
        if "\n" in net:                                   # YAML text, not a path
            return loads(net)
        return load(net)
    raise ArgumentError(f"expected a path, YAML text or a loaded network, found {describe(net)}")


def analyze(net: NetLike, *, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
            batch: int | None = None, dtype: str | None = None, count_as: str | None = None,
            train: Any = None) -> Report:
    """Shapes, counts, memory and receptive fields of every layer, analytically.

    ``input`` replaces the file's input shape (batch excluded; ints, and names
    for symbolic sizes: ``[3, "H", "W"]``); ``sizes`` gives values to symbolic
    sizes (``{"H": 512}``); ``batch`` and ``dtype`` override the file's.
    ``count_as`` (one of ``cnncalc.counting.PEERS``: torchinfo, fvcore,
    ptflops, thop, torchscan, flopcounter) makes ``macs`` (and ``flops``
    where that tool has FLOPs) the figures that tool computes, per layer and
    in total, with a ``count_note`` on each layer it counts differently.
    ``train`` (True, ``{"optimizer": "adam"|"sgd"|"momentum"|"adamw",
    "precision": "fp32"|"bf16-mixed"|"fp16-mixed", "device": "cuda"|"cpu"}``
    or an ``engine.training.TrainingOptions``) adds one training step:
    ``report.training`` (docs/training.md), a "training" object in the JSON.
    A bad value raises :class:`cnncalc.ArgumentError`.
    """
    overrides = check_overrides(input=input, sizes=sizes, batch=batch, dtype=dtype)
    options = check_train(train)
    if options is not None:
        return analyze_training(as_network(net), overrides, options, count_as)
    if count_as is None:
        return analyze_checked(as_network(net), overrides)
    from .counting import check_peer, recount
    from .engine import evaluate, plan
    peer = check_peer(count_as)
    the_plan = plan(as_network(net))
    return recount(the_plan, evaluate(the_plan, **overrides.as_kwargs()), peer)


def analyze_checked(network: NetworkSpec, overrides: Overrides) -> Report:
    """``analyze`` once the overrides are checked (callers that checked them already)."""
    from .engine import evaluate, plan
    return evaluate(plan(network), **overrides.as_kwargs())


def analyze_training(network: NetworkSpec, overrides: Overrides, options: Any, count_as: str | None = None) -> Report:
    """The report with its training step (``options``: a checked TrainingOptions); with ``count_as``,
    the step is the exact one and only the forward figures are the peer's."""
    from .engine import evaluate, plan
    from .engine.training import train_step, with_training
    peer = None
    if count_as is not None:
        from .counting import check_peer
        peer = check_peer(count_as)
    the_plan = plan(network)
    kwargs = overrides.as_kwargs()
    if options.batch is not None:
        kwargs["batch"] = options.batch
    report = evaluate(the_plan, **kwargs)
    training = train_step(the_plan, report, options.optimizer, options.precision, options.device)
    if peer is not None:
        from .counting import recount
        report = recount(the_plan, report, peer)
    return with_training(report, training)


def _check_overrides(batch: Any, dtype: Any) -> None:
    """Kept for callers of the older helper (torch_bridge.build): checks ``batch`` and ``dtype``."""
    check_overrides(batch=batch, dtype=dtype)
