"""`cnncalc verify`: the analytic report against what torch measures.

One forward pass of the model that :func:`cnncalc.to_torch` builds, in eval
mode under ``torch.no_grad``, with a forward hook on every layer's module
(merges included) and ``torch.utils.flop_counter.FlopCounterMode`` around
it, compared with the analytic report at the same input:

* every layer's output shape;
* every layer's parameters, trainable parameters and buffers, counted on the
  module itself (``sum(p.numel() for p in m.parameters())``), and the totals;
* ``2 × macs`` against FlopCounterMode's count per module and in total.
  FlopCounterMode counts only convolutions and matrix products (2 FLOPs per
  multiply–accumulate), so cnncalc's other FLOPs (norms, activations,
  pooling, merges) have no torch counterpart and are not compared;
* the receptive field of the output and of a sample of inner layers,
  measured by autograd (:mod:`cnncalc.torch_bridge.field`).

The model is built on the ``meta`` device and then allocated on the target
device with parameters set to 0 (shapes, counts and FLOPs do not depend on
the values; random initialisation of VGG's 138 M parameters would cost more
than the check).

Importing this module needs no torch; calling :func:`verify` does.
"""

from __future__ import annotations

import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from .._gc import gc_frozen
from .._version import __version__
from ..errors import ArgumentError, VerifyMismatch
from ..report import json_value

FLOP_NOTE = ("FlopCounterMode counts only convolutions and matrix products (2 FLOPs per multiply-accumulate); "
             "cnncalc's other FLOPs (norms, activations, pooling, upsampling, merges) have no torch counterpart "
             "and are not compared")

PER_LAYER = (
    ("shape", "output shape"),
    ("params", "params"),
    ("trainable", "trainable params"),
    ("buffers", "buffers"),
    ("flops", "2×MACs vs FlopCounterMode"),
    # verify --train (verify_train.py)
    ("train_saved", "saved bytes"),
    ("train_backward", "2×backward MACs vs FlopCounterMode"),
    ("train_grads", "gradient bytes"),
    ("train_state", "optimizer state bytes"),
)


@dataclass
class Check:
    """One comparison: ``ok`` is True, False, or None (shown, not compared)."""

    kind: str                  # shape | params | trainable | buffers | flops | total | field | info
    check: str                 # what is compared, in words
    expected: Any
    measured: Any
    ok: bool | None
    layer: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "check": self.check, "layer": self.layer,
                "expected": _jsonable(self.expected), "measured": _jsonable(self.measured),
                "ok": self.ok, "note": self.note}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return json_value(value)


@dataclass
class VerifyResult:
    name: str
    source: str
    device: str
    torch_version: str
    input_shape: tuple                 # batch included
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    field_inputs: list[tuple] = field(default_factory=list)

    @property
    def compared(self) -> list[Check]:
        return [c for c in self.checks if c.ok is not None]

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "file": self.source, "device": self.device, "torch": self.torch_version,
            "cnncalc": __version__, "input": list(self.input_shape), "ok": self.ok,
            "summary": {"checks": len(self.compared), "failed": len(self.failures),
                        "not_compared": len(self.checks) - len(self.compared)},
            "checks": [c.to_dict() for c in self.checks],
            "notes": list(self.notes),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

    def mismatch_message(self) -> str:
        failures = self.failures
        parts = []
        for c in failures[:5]:
            where = f" of {c.layer}" if c.layer and c.kind != "field" else ""
            parts.append(f"{c.check}{where}: analytic {_text(c.expected)}, torch {_text(c.measured)}")
        more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
        return (f"{self.source}: {len(failures)} of {len(self.compared)} checks disagree: "
                + "; ".join(parts) + more)

    def raise_for_mismatch(self) -> None:
        """VerifyMismatch (exit code 1) naming the disagreeing checks, if any."""
        if not self.ok:
            raise VerifyMismatch(self.mismatch_message())

    # -- rendering -----------------------------------------------------------
    def rows(self, every: bool = False) -> list[tuple[str, str, str, str, str]]:
        """(check, expected, measured, ok mark, style) rows of the table."""
        out: list[tuple[str, str, str, str, str]] = []
        per_layer = [c for c in self.checks if c.kind in dict(PER_LAYER)]
        layer_count = len({c.layer for c in per_layer})
        for kind, label in PER_LAYER:
            group = [c for c in per_layer if c.kind == kind]
            if not group:
                continue
            bad = [c for c in group if c.ok is False]
            suffix = " ¹" if kind == "flops" else ""
            what = f"{label}, every layer" + (" (merges included)" if kind == "shape" else "") + suffix
            out.append((what, f"{layer_count} layers", f"{len(group) - len(bad)} agree",
                        _mark(not bad), "" if not bad else "red"))
            shown = group if every else bad
            for c in shown:
                out.append((f"  {c.layer}", _text(c.expected), _text(c.measured), _mark(c.ok),
                            "red" if c.ok is False else "dim"))
        for c in self.checks:
            if c.kind in dict(PER_LAYER):
                continue
            label = c.check + (" ¹" if c.kind == "total" and "FlopCounterMode" in c.check else "")
            if c.kind == "field" and c.note:
                label += f" [{self._note_keys()[c.note]}]"
            out.append((label, _text(c.expected), _text(c.measured), _mark(c.ok),
                        "red" if c.ok is False else ("dim" if c.ok is None else "")))
        return out

    def _note_keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for c in self.checks:
            if c.kind == "field" and c.note and c.note not in keys:
                keys[c.note] = "abcdefghijklmnopqrstuvwxyz"[len(keys) % 26]
        return keys

    def title(self) -> str:
        return (f"{self.name} — cnncalc verify on {self.device} (torch {self.torch_version}), "
                f"input {_text(list(self.input_shape))}")

    def footer(self) -> list[str]:
        lines = [f"¹ {FLOP_NOTE}."]
        inputs = sorted({tuple(i) for i in self.field_inputs})
        if inputs:
            sizes = ", ".join("×".join(str(d) for d in i) for i in inputs)
            lines.append(f"Fields: gradient of one output element through a linearised positive float64 copy, "
                         f"at input {sizes} (docs/torch.md).")
        for note, key in self._note_keys().items():
            lines.append(f"[{key}] {note}")
        for note in self.notes:
            lines.append(f"Note: {note}")
        compared, failures = len(self.compared), len(self.failures)
        if failures:
            lines.append(f"MISMATCH: {failures} of {compared} checks disagree.")
        else:
            lines.append(f"OK: all {compared} checks agree.")
        return lines


def _mark(ok: bool | None) -> str:
    return "✓" if ok else ("—" if ok is None else "✗")


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(json_value(v)) for v in value) + "]"
    if isinstance(value, dict) and "size" in value:
        return _field_text(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(v) if not isinstance(v, str) else v}" for k, v in value.items())
    return str(json_value(value)) if not isinstance(value, str) else value


def render_text(result: VerifyResult, every: bool = False, width: int = 140) -> str:
    """The table as plain text."""
    import io

    from rich.console import Console
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False, soft_wrap=False)
    print_result(result, console, every=every)
    return buffer.getvalue()


def print_result(result: VerifyResult, console: Any, every: bool = False) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text
    table = Table(title=Text(result.title(), style="bold"), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  title_style="bold", header_style="bold")
    table.add_column("Check", overflow="fold")
    table.add_column("Expected (cnncalc)", overflow="fold")
    table.add_column("Measured (torch)", overflow="fold")
    table.add_column("OK", justify="center")
    for check, expected, measured, mark, style in result.rows(every):
        table.add_row(Text(check), Text(expected), Text(measured), Text(mark), style=style or None)
    console.print(table)
    for line in result.footer():
        style = "bold red" if line.startswith("MISMATCH") else ("bold green" if line.startswith("OK:") else "dim")
        if line.startswith("["):
            style = ""
        console.print(Text(line, style=style))


# --------------------------------------------------------------------------
# Running the checks
# --------------------------------------------------------------------------

def resolve_device(device: str | None) -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'; 'cuda' without one is an error (exit 2)."""
    from . import require_torch
    torch = require_torch("cnncalc verify")
    name = (device or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ArgumentError(f"--device {device}: torch {torch.__version__} sees no CUDA device "
                                f"(torch.cuda.is_available() is False)", hint="use --device cpu or auto")
        return name
    raise ArgumentError(f"--device {device!r}: expected auto, cpu or cuda")


def _allocate(model: Any, device: str, zeros: bool = False) -> Any:
    """Meta-device model -> real storage on ``device``, statistics reset.

    The parameters' values are left as the allocator gives them (``torch.empty``):
    verify compares shapes, counts and FLOPs, none of which reads a value, and
    filling ResNet-50's 100 MB of weights with zeros was 5% of a verify run.
    ``torch.empty(shape)`` per tensor rather than ``Module.to_empty``: the
    latter's ``empty_like`` of a meta tensor goes through torch's Python
    references, whose first call imports ``torch.fx.experimental.symbolic_shapes``
    and sympy (0.3-1 s of a 2 s run). ``zeros``: parameters 0 (a training step reads them).
    """
    import torch
    make = torch.zeros if zeros else torch.empty
    with torch.no_grad():
        model = model._apply(lambda t: make(t.shape, dtype=t.dtype, device=device))
        for module in model.modules():
            if hasattr(module, "reset_running_stats"):
                module.reset_running_stats()
    return model


@contextmanager
def _dispatch_without_dynamo() -> Iterator[None]:
    """FlopCounterMode, without importing torch._dynamo on its first operation.

    torch wraps every TorchDispatchMode's ``__torch_dispatch__`` in
    ``torch._disable_dynamo``, which imports torch._dynamo (about 1-2 s) on
    the first call only to mark the function "not to be compiled". Nothing
    here is compiled, so for the duration of the block the wrapper is told
    the function is already marked (its own cache attribute, holding the
    plain function). The counting is FlopCounterMode's own, unchanged. Where
    dynamo is already loaded, or this torch lays things out differently,
    nothing is changed.
    """
    raw = None
    if "torch._dynamo" not in sys.modules:
        try:
            from torch.utils.flop_counter import _FlopCounterMode
            raw = _FlopCounterMode.__dict__["__torch_dispatch__"].__wrapped__
        except (ImportError, KeyError, AttributeError):
            raw = None
        if raw is not None and getattr(raw, _DYNAMO_CACHE, None) is not None:
            raw = None
    if raw is not None:
        setattr(raw, _DYNAMO_CACHE, raw)
    try:
        yield
    finally:
        if raw is not None and raw.__dict__.get(_DYNAMO_CACHE) is raw:
            delattr(raw, _DYNAMO_CACHE)


_DYNAMO_CACHE = "__dynamo_disable"      # torch/_compile.py caches dynamo.disable(fn) here


def forward_memory(report: Any) -> list[tuple[str, int]]:
    """What the float32 forward pass will hold, from the analytic report, in bytes:
    parameters, buffers (counted at 8 bytes: num_batches_tracked is int64), the
    peak of live activations (the model frees each tensor after its last
    reader), twice the largest layer output as the kernels' workspace, and
    what torch allocates on first use (measured against peak RSS: docs/torch.md)."""
    from .field import RUNTIME_BYTES
    from ..spec.model import DTYPE_BYTES
    scale = 4 / DTYPE_BYTES[report.dtype.removeprefix("torch.")]      # the report's dtype -> float32
    totals = report.totals
    largest = max((row.activation_bytes for row in report.layers), default=0)
    return [("parameters", 4 * totals.params), ("buffers", 8 * totals.buffers),
            ("activations", int(totals.peak_activation_bytes * scale)), ("workspace", int(2 * largest * scale)),
            ("torch runtime", 2 * RUNTIME_BYTES)]


@gc_frozen
def verify(net: Any, *, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
           batch: int | None = None, device: str | None = "auto", fields: int | None = 8,
           field_layers: Sequence[str] | None = None,
           progress: Callable[[str], None] | None = None, max_memory: int | str | None = None) -> VerifyResult:
    """Build the torch model of ``net``, run it once and compare with the analytic report.

    ``fields``: how many inner layers to sample for the receptive-field check
    (besides the last layer whose field is not global and a global output);
    None or a negative number skips the field check. ``field_layers`` names
    the layers to measure instead. Returns a :class:`VerifyResult`; call
    ``raise_for_mismatch()`` for a :class:`cnncalc.VerifyMismatch`.
    ``max_memory`` (bytes, or ``"16GiB"``; default min(8 GiB, half the
    available RAM)): the forward pass and the field check are estimated from
    the analytic report first and refused above it (ArgumentError, exit 2).
    """
    from .._memlimit import refuse_above, resolve_limit
    limit = resolve_limit(max_memory)
    from . import require_torch
    torch = require_torch("cnncalc verify")
    from torch.utils.flop_counter import FlopCounterMode

    from .build import build_model, concrete
    say = progress or (lambda stage: None)
    timings: dict[str, float] = {}
    dev = resolve_device(device)

    started = time.perf_counter()
    con = concrete(net, input=input, sizes=sizes, batch=batch, what="cnncalc verify")
    report = con.report
    timings["analyze"] = time.perf_counter() - started
    refuse_above(f"cnncalc verify of {report.name} at input {list(report.input_shape)}", forward_memory(report),
                 limit, "use a smaller --batch or --input")

    say("build")
    started = time.perf_counter()
    model = _allocate(build_model(None, device="meta", con=con), dev).eval()
    timings["build"] = time.perf_counter() - started

    result = VerifyResult(report.name, con.network.source, dev, torch.__version__, tuple(report.input_shape))

    # hooks: every layer's output shape
    shapes: dict[str, tuple] = {}
    handles = []
    for path, qualified in model.paths.items():
        module = model.get_submodule(qualified)

        def hook(_module, _inputs, output, path=path):
            shapes[path] = tuple(output.shape) if hasattr(output, "shape") else None
        handles.append(module.register_forward_hook(hook))

    say("forward")
    started = time.perf_counter()
    x = torch.zeros(report.input_shape, device=dev)
    counter = FlopCounterMode(display=False)
    failure: str | None = None
    out = None
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with _dispatch_without_dynamo(), counter:
                out = model(x)
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
        except Exception as err:  # noqa: BLE001 - torch refused what the analysis accepted
            failing = next((row.name for row in report.layers if row.name not in shapes), "?")
            failure = f"{type(err).__name__} in {failing}: {str(err).splitlines()[0] if str(err) else ''}"
    timings["forward"] = time.perf_counter() - started
    for handle in handles:
        handle.remove()
    if failure is not None:
        result.checks.append(Check("total", "torch's forward pass", "runs", f"fails: {failure}", False))

    prefix = type(model).__name__ + "."
    counts = {key[len(prefix):]: sum(ops.values()) for key, ops in counter.get_flop_counts().items()
              if key.startswith(prefix)}

    checks = result.checks
    ran = [row for row in report.layers if row.name in shapes or failure is None]
    for row in ran:
        module = model.layer(row.name)
        qualified = model.paths[row.name]
        measured_shape = shapes.get(row.name)
        expected_shape = tuple(row.output_shape)
        checks.append(Check("shape", "output shape", list(expected_shape),
                            None if measured_shape is None else list(measured_shape),
                            measured_shape == expected_shape, row.name,
                            "" if measured_shape is not None else "the module was not called"))
        params = sum(p.numel() for p in module.parameters())
        trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
        buffers = sum(b.numel() for b in module.buffers())
        checks.append(Check("params", "params", row.params, params, row.params == params, row.name))
        checks.append(Check("trainable", "trainable params", row.trainable_params, trainable,
                            row.trainable_params == trainable, row.name))
        checks.append(Check("buffers", "buffers", row.buffers, buffers, row.buffers == buffers, row.name))
        flops = counts.get(qualified, 0)
        checks.append(Check("flops", "2×MACs vs FlopCounterMode", 2 * row.macs, flops, 2 * row.macs == flops,
                            row.name))

    totals = report.totals
    out_shape = None if out is None else list(out.shape)
    checks.append(Check("total", "output shape of the network", list(report.output_shape), out_shape,
                        out_shape is not None and tuple(out_shape) == tuple(report.output_shape)))
    all_params = sum(p.numel() for p in model.parameters())
    all_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    all_buffers = sum(b.numel() for b in model.buffers())
    checks.append(Check("total", "params (total)", totals.params, all_params, totals.params == all_params))
    checks.append(Check("total", "trainable params (total)", totals.trainable_params, all_trainable,
                        totals.trainable_params == all_trainable))
    checks.append(Check("total", "buffers (total)", totals.buffers, all_buffers, totals.buffers == all_buffers))
    total_flops = counter.get_total_flops() if failure is None else None
    checks.append(Check("total", "2×MACs vs FlopCounterMode (total)", 2 * totals.macs, total_flops,
                        None if failure else 2 * totals.macs == total_flops))
    checks.append(Check("info", "FLOPs, all operations (not compared)", totals.flops, None, None,
                        note="no torch counterpart"))
    del model, out, x

    if field_layers is not None or (fields is not None and fields >= 0):
        say("fields")
        started = time.perf_counter()
        _field_checks(result, con, dev, fields if fields is not None else 8, field_layers, limit)
        timings["fields"] = time.perf_counter() - started
    result.timings = timings
    return result


def _field_checks(result: VerifyResult, con: Any, device: str, count: int,
                  layers: Sequence[str] | None, max_memory: int | None = None) -> None:
    from .field import measure_fields
    measurement = measure_fields(layers=layers, count=count, device=device, con=con, max_memory=max_memory)
    result.notes.extend(measurement.notes)
    for fc in measurement.checks:
        result.field_inputs.append(fc.input)
        f = fc.expected
        compared = fc.compared
        shown = [k for k in ("size", "jump", "start") if k == "size" or compared[k] is not None]
        if f.is_global:
            shown = ["size", "start"]
        expected = {"size": list(f.size), "jump": list(f.jump), "start": list(f.start), "aligned": f.aligned,
                    "global": f.is_global, "shown": shown}
        measured = {"size": list(fc.size), "jump": list(fc.jump), "start": list(fc.start), "input": list(fc.input),
                    "global": f.is_global, "shown": shown}
        label = f"field of {fc.layer}" + (" (output)" if fc.is_output else "")
        note = "; ".join(fc.notes)
        if not f.aligned and not f.is_global:
            note = ("paths disagree (aligned: false): the analytic size is the widest path's, the gradient "
                    "sees their union" + ("; " + note if note else ""))
        result.checks.append(Check("field", label, expected, measured, fc.ok, fc.layer, note))


def _axes(values: Sequence[Any]) -> str:
    return "×".join("?" if v is None else str(json_value(v)) for v in values)


def _starts(values: Sequence[Any]) -> str:
    return ", ".join("?" if v is None else str(json_value(v)) for v in values)


def _field_text(value: Mapping[str, Any]) -> str:
    """19×19, jump 4×4, start (0, 0): the analytic field, or what was measured."""
    shown = value.get("shown", ("size", "jump", "start"))
    measured = "input" in value
    if value.get("global"):
        return ("" if measured else "global: ") + f"{_axes(value['size'])}, centre ({_starts(value['start'])})"
    parts = [_axes(value["size"])]
    if not measured or any(j is not None for j in value["jump"]):
        parts.append(f"jump {_axes(value['jump'])}")
    if "start" in shown:
        parts.append(f"start ({_starts(value['start'])})")
    text = ", ".join(parts)
    if value.get("aligned") is False:
        text += " (misaligned)"
    return text
