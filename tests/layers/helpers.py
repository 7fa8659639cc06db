"""Shared machinery of the per-family layer tables (torchscan style).

A case is one layer type, its arguments and an input shape *with* the batch;
the expected figures are written in the tables as arithmetic taken from the
torch docs, never from cnncalc's output.

``run_layer`` evaluates the layer through the real pipeline: a one-layer
YAML network (``input:`` is the shape without its batch, ``batch:`` the
batch) through ``cnncalc.loads`` and ``cnncalc.analyze``, so the loader, the
argument schema and the defaults are exercised. Shapes the file format
cannot state as an input are reached the same way with a prefix layer
(``(N, C)``: input ``[C, 1]`` then ``Flatten``); merges of differently
shaped tensors and ranks above 5 use ``configure_layer`` + ``evaluate``
directly (the schema still runs).

``torch_measure`` builds the same layer with ``torch.nn`` directly (the
torch keyword arguments plus the sizes torch wants spelled out: in_channels,
in_features, num_features, num_channels), runs it in eval mode on a zero
tensor and returns what torch reports.
"""

from __future__ import annotations

import json
import re
import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import pytest

import cnncalc
from cnncalc.engine.plan import configure_layer
from cnncalc.errors import Loc
from cnncalc.layers import registry
from cnncalc.layers.base import Context, numel
from cnncalc.spec.model import LayerSpec

# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One row of a family table.

    ``rf``: the receptive field of the layer's output when it reads the
    network input directly, one ``(size, jump, start)`` per spatial axis,
    or ``"global"``; None means "not checked" (an identity field is
    ``[(1, 1, 0)] * axes``).
    """

    type: str
    args: dict
    shape: Any                       # a shape tuple, or a list of shapes for merges
    out: tuple
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    rf: Any = None
    id: str | None = None
    torch: bool = True              # False: torch has no equivalent (documented in the case id)

    @property
    def shapes(self) -> list[tuple]:
        return list(self.shape) if isinstance(self.shape, list) else [self.shape]

    def param(self):
        return pytest.param(self, id=self.id or _auto_id(self))


@dataclass(frozen=True)
class Bad:
    """An input or argument torch refuses: cnncalc must raise ``error``.

    ``mentions``: fragments the message must contain (the offending numbers).
    ``torch``: False when torch does not refuse it: it has no module for it, or
    it reads the tensor as an unbatched input (cnncalc's dim 0 is always the
    batch, so a 3-d tensor into MaxPool2d is a mistake in a file).
    """

    type: str
    args: dict
    shape: Any
    error: type
    mentions: tuple = ()
    id: str | None = None
    torch: bool = True

    @property
    def shapes(self) -> list[tuple]:
        return list(self.shape) if isinstance(self.shape, list) else [self.shape]

    def param(self):
        return pytest.param(self, id=self.id or _auto_id(self))


def _auto_id(case) -> str:
    args = ",".join(f"{k}={_short(v)}" for k, v in case.args.items())
    shapes = "+".join("x".join(map(str, s)) for s in case.shapes)
    return f"{case.type}({args})@{shapes}"


def _short(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_short(v) for v in value) + ")"
    return str(value)


def params(cases: Sequence) -> list:
    """pytest.param list with readable ids; ids must be unique."""
    out = [case.param() for case in cases]
    ids = [p.id for p in out]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate case ids: {duplicates}"
    return out


# --------------------------------------------------------------------------
# cnncalc side
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    output_shape: tuple
    params: int
    buffers: int
    macs: int
    flops: int
    receptive_field: Any = None        # report.receptive_field (a Field) on the YAML path
    param_shapes: dict = dataclasses.field(default_factory=dict)
    buffer_shapes: dict = dataclasses.field(default_factory=dict)


def yaml_value(value: Any) -> str:
    """A YAML flow value PyYAML reads back exactly (floats always with a dot)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, float):
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if "." not in mantissa and mantissa not in ("inf", "-inf", "nan"):
            mantissa += ".0"
        return mantissa + ("e" + exponent if exponent else "")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {yaml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def layer_yaml(type_name: str, args: dict, shape: Sequence[int]) -> str | None:
    """The one-layer file for ``shape`` (batch included), or None if the format can't say it."""
    shape = tuple(shape)
    prefix = []
    if 3 <= len(shape) <= 5:
        dims = list(shape[1:])
    elif len(shape) == 2:
        dims = [shape[1], 1]            # (N, C, 1) -> Flatten -> (N, C)
        prefix = ["  - Flatten"]
    else:
        return None
    lines = [f"input: {yaml_value(dims)}", f"batch: {shape[0]}", "layers:", *prefix]
    lines.append(f"  - {type_name}: {yaml_value(args)}" if args else f"  - {type_name}")
    return "\n".join(lines) + "\n"


def run_layer(type_name: str, args: dict, shapes: Sequence[Sequence[int]]) -> Result:
    """Evaluate one layer on ``shapes`` (batch included) through cnncalc."""
    if len(shapes) == 1:
        text = layer_yaml(type_name, args, shapes[0])
        if text is not None:
            report = cnncalc.analyze(cnncalc.loads(text))
            row = report.layers[-1]
            return Result(tuple(row.output_shape), row.params, row.buffers, row.macs, row.flops,
                          report.receptive_field, dict(row.param_shapes), dict(row.buffer_shapes))
    return evaluate_direct(type_name, args, shapes)


def evaluate_direct(type_name: str, args: dict, shapes: Sequence[Sequence[int]]) -> Result:
    """configure_layer + evaluate with a plain Context (merges, ranks the file can't state)."""
    layer_type = registry.lookup(type_name)
    assert layer_type is not None, type_name
    spec = LayerSpec(path="layer", type_name=layer_type.name, args=dict(args),
                     inputs=tuple("input" for _ in shapes), loc=Loc("<test>", 1, 1))
    cfg = configure_layer(layer_type, spec)
    outcome = layer_type.evaluate(cfg, [tuple(s) for s in shapes], Context())
    return Result(tuple(outcome.output_shape),
                  sum(numel(s) for s in outcome.param_shapes.values()),
                  sum(numel(s) for s in outcome.buffer_shapes.values()),
                  outcome.macs, outcome.flops, None,
                  dict(outcome.param_shapes), dict(outcome.buffer_shapes))


def check_case(case: Case) -> None:
    """The analytic table row: shape, params, buffers, MACs, FLOPs, field."""
    got = run_layer(case.type, case.args, case.shapes)
    assert got.output_shape == tuple(case.out), "output shape"
    assert got.params == case.params, "params"
    assert got.buffers == case.buffers, "buffers"
    assert got.macs == case.macs, "MACs"
    assert got.flops == case.flops, "FLOPs"
    if case.rf is not None:
        assert got.receptive_field is not None, "the field is only read on the YAML path"
        check_field(got.receptive_field, case.rf)


def check_field(field, expected) -> None:
    if expected == "global":
        assert field.is_global, f"expected a global field, got {field}"
        return
    assert not field.is_global, f"unexpected global field {field}"
    sizes = tuple(e[0] for e in expected)
    jumps = tuple(Fraction(e[1]) for e in expected)
    starts = tuple(Fraction(e[2]) for e in expected)
    assert tuple(field.size) == sizes, f"field size {field.size} != {sizes}"
    assert tuple(Fraction(j) for j in field.jump) == jumps, f"field jump {field.jump} != {jumps}"
    assert tuple(Fraction(s) for s in field.start) == starts, f"field start {field.start} != {starts}"


def check_bad(case: Bad) -> None:
    with pytest.raises(case.error) as info:
        run_layer(case.type, case.args, case.shapes)
    message = info.value.message + (f"; {info.value.hint}" if info.value.hint else "")
    for fragment in case.mentions:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --------------------------------------------------------------------------
# torch side (each test calls pytest.importorskip("torch") first)
# --------------------------------------------------------------------------

# the sizes torch wants in the constructor and cnncalc infers from the input
_INFERRED = [
    (re.compile(r"^(Conv|ConvTranspose)[123]d$"), lambda s: {"in_channels": s[1]}),
    (re.compile(r"^Linear$"), lambda s: {"in_features": s[-1]}),
    (re.compile(r"^(BatchNorm|InstanceNorm)[123]d$"), lambda s: {"num_features": s[1]}),
    (re.compile(r"^GroupNorm$"), lambda s: {"num_channels": s[1]}),
]


def _torchify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_torchify(v) for v in value)
    return value


def torch_module(type_name: str, args: dict, shapes: Sequence[Sequence[int]]):
    """The torch.nn module (or a plain function for merges) for one case."""
    import torch
    if type_name == "add":
        return lambda *xs: _fold(torch.add, xs)
    if type_name == "mul":
        return lambda *xs: _fold(torch.mul, xs)
    if type_name == "concat":
        return lambda *xs: torch.cat(xs, dim=args.get("dim", 1))
    kwargs = {k: _torchify(v) for k, v in args.items()}
    for pattern, inferred in _INFERRED:
        if pattern.match(type_name):
            kwargs = {**inferred(shapes[0]), **kwargs}
    module = getattr(torch.nn, type_name)(**kwargs)
    return module.eval()


def _fold(op, xs):
    out = xs[0]
    for x in xs[1:]:
        out = op(out, x)
    return out


@dataclass(frozen=True)
class TorchResult:
    output_shape: tuple
    params: int
    buffers: int
    flops: int                   # FlopCounterMode's total


def torch_measure(type_name: str, args: dict, shapes: Sequence[Sequence[int]]) -> TorchResult:
    import warnings

    import torch
    from torch.utils.flop_counter import FlopCounterMode
    module = torch_module(type_name, args, shapes)
    inputs = [torch.randn(*s) for s in shapes]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counter = FlopCounterMode(display=False)
        with counter:
            out = module(*inputs)
    if isinstance(module, torch.nn.Module):
        n_params = sum(p.numel() for p in module.parameters())
        n_buffers = sum(b.numel() for b in module.buffers())
    else:
        n_params = n_buffers = 0
    return TorchResult(tuple(out.shape), n_params, n_buffers, counter.get_total_flops())


def check_against_torch(case: Case, count_flops: bool = False) -> None:
    """Same output shape, parameter and buffer counts as torch; 2·MACs = FlopCounterMode."""
    pytest.importorskip("torch")
    if not case.torch:
        pytest.skip("torch has no module for this case")
    got = run_layer(case.type, case.args, case.shapes)
    measured = torch_measure(case.type, case.args, case.shapes)
    assert got.output_shape == measured.output_shape, "output shape vs torch"
    assert got.params == measured.params, "params vs torch"
    assert got.buffers == measured.buffers, "buffers vs torch"
    if count_flops:
        assert 2 * got.macs == measured.flops, "2 x MACs vs FlopCounterMode"


def check_torch_refuses(case: Bad) -> None:
    """torch raises too: at construction or on a zero tensor of the shape."""
    pytest.importorskip("torch")
    if not case.torch:
        pytest.skip("torch accepts this (an unbatched input) or has no module for it")
    import warnings

    import torch
    with pytest.raises(Exception), torch.no_grad(), warnings.catch_warnings():  # noqa: B017, PT011
        warnings.simplefilter("ignore")
        module = torch_module(case.type, case.args, case.shapes)
        module(*[torch.zeros(*s) for s in case.shapes])


def rf_chain(input_dims: Sequence[int], layers: Sequence[str]):
    """The output field of a small chain given as YAML layer lines."""
    text = f"input: {yaml_value(list(input_dims))}\nlayers:\n" + "".join(f"  - {line}\n" for line in layers)
    return cnncalc.analyze(cnncalc.loads(text)).receptive_field
