"""A torch-free forward pass: run an architecture on random input with numpy.

Each layer runs through its type's own numpy reference (the fast path) and
its actual output shape is compared with the analytic one; a mismatch is a
bug report naming the layer. A layer without a reference is reported as
skipped and never faked: the layers after it receive zeros of its analytic
shape, so their own rules are still exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..api import NetLike, as_network
from ..engine import evaluate, plan
from ..errors import ArgumentError, VerifyMismatch

DEFAULT_MAX_BYTES = 2 * 2**30        # refuse runs whose activations would exceed 2 GiB


@dataclass(frozen=True)
class LayerRun:
    name: str
    type: str
    expected_shape: tuple
    actual_shape: tuple | None
    status: str                      # "ok", "mismatch", "skipped: ..."


@dataclass(frozen=True)
class RunReport:
    name: str
    input_shape: tuple
    layers: tuple[LayerRun, ...]
    output: Any                      # the network's output array

    @property
    def ok(self) -> bool:
        return all(layer.status != "mismatch" for layer in self.layers)

    @property
    def skipped(self) -> tuple[LayerRun, ...]:
        return tuple(layer for layer in self.layers if layer.status.startswith("skipped"))


def make_weights(shapes: Mapping[str, tuple], rng: np.random.Generator, dtype) -> dict[str, np.ndarray]:
    """Random weights of the analytic parameter/buffer shapes (variances kept positive)."""
    weights = {}
    for name, shape in shapes.items():
        if name == "num_batches_tracked":
            weights[name] = np.zeros(shape, dtype=np.int64)
        elif name == "running_var":
            weights[name] = rng.uniform(0.5, 1.5, size=shape).astype(dtype)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            weights[name] = (rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))).astype(dtype)
    return weights


def run(net: NetLike, *, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
        batch: int | None = None, seed: int = 0, dtype: str = "float32",
        max_bytes: int = DEFAULT_MAX_BYTES) -> RunReport:
    network = as_network(net)
    the_plan = plan(network)
    report = evaluate(the_plan, input=input, sizes=sizes, batch=batch, dtype=dtype)
    if report.symbols:
        raise ArgumentError(f"the input has symbolic sizes {', '.join(report.symbols)}; give them values with "
                            f"--set (e.g. --set {'=64,'.join(report.symbols)}=64)")
    needed = report.totals.activation_bytes + report.totals.param_bytes
    if needed > max_bytes:
        raise ArgumentError(f"a numpy run of {network.name} needs about {needed / 2**30:.1f} GiB "
                            f"(limit {max_bytes / 2**30:.1f} GiB)", hint="use a smaller --input or --batch")
    np_dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(report.input_shape).astype(np_dtype)
    outputs: list[np.ndarray] = []
    results = []
    for planned, row in zip(the_plan.layers, report.layers):
        inputs = [x if slot == -1 else outputs[slot] for slot in planned.input_slots]
        layer_type = planned.layer_type
        if not layer_type.has_reference():
            outputs.append(np.zeros(row.output_shape, dtype=np_dtype))
            results.append(LayerRun(row.name, row.type, row.output_shape, None,
                                    "skipped: no numpy reference for this type"))
            continue
        weights = make_weights({**row.param_shapes, **row.buffer_shapes}, rng, np_dtype)
        out = np.asarray(layer_type.reference(planned.cfg, weights, inputs))
        outputs.append(out)
        status = "ok" if tuple(out.shape) == tuple(row.output_shape) else "mismatch"
        results.append(LayerRun(row.name, row.type, row.output_shape, tuple(out.shape), status))
    return RunReport(network.name, report.input_shape, tuple(results), outputs[-1])


def check(run_report: RunReport) -> None:
    """Raise VerifyMismatch listing every layer whose numpy shape differs from the analytic one."""
    bad = [layer for layer in run_report.layers if layer.status == "mismatch"]
    if bad:
        lines = [f"{layer.name} ({layer.type}): analytic {list(layer.expected_shape)}, numpy "
                 f"{list(layer.actual_shape)}" for layer in bad]
        raise VerifyMismatch(f"{len(bad)} layer(s) disagree with the analytic shapes (a bug in cnncalc's rules "
                             f"or references; please report it):\n  " + "\n  ".join(lines))
