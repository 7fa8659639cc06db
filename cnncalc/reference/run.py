"""A torch-free forward pass: run an architecture on random input with numpy.

Each layer runs through its type's own numpy reference (the fast path) and
its actual output shape is compared with the analytic one; a mismatch is a
bug report naming the layer. A layer without a reference is reported as
skipped and never faked: the layers after it receive zeros of its analytic
shape, so their own rules are still exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any, Mapping, Sequence

import numpy as np

from .._memlimit import refuse_above, resolve_limit
from ..api import NetLike, as_network
from ..engine import evaluate, plan
from ..engine.plan import bind
from ..errors import ArgumentError, CnnCalcError, VerifyMismatch
from ..text import cut, shown
from . import ops


@dataclass(frozen=True)
class LayerRun:
    name: str
    type: str
    expected_shape: tuple
    actual_shape: tuple | None
    status: str                      # "ok", "mismatch", "skipped: ..."
    loc: Any = None                  # where the layer is written (errors.Loc)


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


FRESH_LIMIT = 1 << 16      # tensors up to this many elements are drawn fresh; larger ones cut from the pool


class WeightPool:
    """Standard-normal draws that large weight tensors are cut from, per dtype.

    Drawing 25.6 M fresh values for ResNet-50 cost more than its forward pass
    (0.44 s of 0.98 s), and ``run`` only needs finite, varied weights of the
    right shapes. So a tensor of more than FRESH_LIMIT elements is a window, at
    a random offset, of one pool as long as the largest tensor asked for. The
    windows of different tensors overlap; the values stay reproducible from the
    seed. A window is a read-only view, with no copy: the pool is kept scaled by
    1/√fan_in once per fan-in (``scaled``), so the work is one multiply per
    element of the longest tensor of each fan-in (ResNet-50: 10.8 M for its 24.8 M
    pooled weights, 7 fan-ins) instead of one per weight.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.pools: dict[np.dtype, np.ndarray] = {}
        self.scaled_pools: dict[tuple[np.dtype, int], np.ndarray] = {}

    def _pool(self, size: int, dtype: np.dtype) -> np.ndarray:
        """The standard-normal pool of ``dtype``, drawn again (longer) when it is shorter than ``size``."""
        pool = self.pools.get(dtype)
        if pool is None or pool.size < size:
            # standard_normal draws float32 and float64 only; float16 is cut from a float32 pool
            draw_dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
            pool = self.rng.standard_normal(size, dtype=draw_dtype).astype(dtype, copy=False)
            pool.flags.writeable = False
            self.pools[dtype] = pool
        return pool

    def _cut(self, pool: np.ndarray, size: int) -> np.ndarray:
        """``size`` values of ``pool`` from a random offset, a multiple of 64 bytes (as the pool's own
        start is): BLAS reads an unaligned weight tensor more slowly."""
        step = max(1, 64 // pool.itemsize)
        offset = step * int(self.rng.integers(0, (pool.size - size) // step + 1))
        return pool[offset:offset + size]

    def window(self, size: int, dtype) -> np.ndarray:
        """A read-only view of ``size`` pool values (the pool grows to ``size`` if needed)."""
        return self._cut(self._pool(size, np.dtype(dtype)), size)

    def scaled(self, size: int, dtype, fan_in: int) -> np.ndarray:
        """A read-only view of ``size`` pool values times 1/√fan_in (the weights' variance), no copy."""
        dtype = np.dtype(dtype)
        key = (dtype, fan_in)
        pool = self.scaled_pools.get(key)
        if pool is None or pool.size < size:
            base = self._pool(size, dtype)
            pool = base * np.asarray(1 / max(fan_in, 1) ** 0.5, dtype=base.dtype)
            pool.flags.writeable = False
            self.scaled_pools[key] = pool
        return self._cut(pool, size)


def make_weights(shapes: Mapping[str, tuple], rng: np.random.Generator, dtype,
                 pool: WeightPool | None = None) -> dict[str, np.ndarray]:
    """Random weights of the analytic parameter/buffer shapes (variances kept positive).

    Weights are normal with variance 1/fan_in; running_var is uniform on
    [0.5, 1.5); num_batches_tracked is 0. Tensors larger than FRESH_LIMIT are
    cut from ``pool`` (a :class:`WeightPool`; one is made from ``rng`` if not
    given), smaller ones drawn from ``rng``."""
    weights = {}
    for name, shape in shapes.items():
        size = prod(shape)
        if name == "num_batches_tracked":
            weights[name] = np.zeros(shape, dtype=np.int64)
        elif name == "running_var":
            weights[name] = rng.uniform(0.5, 1.5, size=shape).astype(dtype)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            if size <= FRESH_LIMIT:
                weights[name] = (rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))).astype(dtype)
                continue
            pool = pool if pool is not None else WeightPool(rng)
            weights[name] = pool.scaled(size, dtype, fan_in).reshape(shape)     # read-only: never written
    return weights


# numpy has no bfloat16, and random integer weights say nothing about shapes
RUN_DTYPES = {"float16": "float16", "half": "float16", "float32": "float32", "float": "float32",
              "float64": "float64", "double": "float64"}
SCRATCH_KEPT = 2 * ops._SCRATCH_KEEP_BYTES      # the conv's per-thread scratch buffers kept between layers


def run_dtype(dtype: str) -> np.dtype:
    """The numpy dtype of ``--dtype``; ArgumentError naming the ones run supports."""
    name = str(dtype).removeprefix("torch.")
    if name not in RUN_DTYPES:
        why = "numpy has no bfloat16" if name == "bfloat16" else f"{shown(name)} is not a floating dtype numpy runs"
        raise ArgumentError(f"cnncalc run --dtype {shown(name)}: {why}",
                            hint="use float16, float32 or float64 (the shapes do not depend on the dtype; "
                                 "summarize --dtype bfloat16 gives the memory figures)")
    return np.dtype(RUN_DTYPES[name])


def layer_scratch_bytes(planned: Any, row: Any, input_shapes: Sequence[tuple], itemsize: int) -> int:
    """Bytes a layer's numpy reference allocates besides its output.

    Convolutions: exactly what the fast path allocates (the im2col chunk, the
    padded buffer; the transposed GEMM's columns); every other reference: a
    padded copy of its inputs and one intermediate of its output's size at
    most (pools and pads copy the input, interpolation runs axis by axis;
    element-wise references one temporary of the output's size)."""
    name, cfg = planned.layer_type.name, planned.cfg
    base = name[:-2] if name[-2:] in ("1d", "2d", "3d") else name
    shape = tuple(input_shapes[0]) if input_shapes else ()
    weight = tuple(row.param_shapes.get("weight", ()))
    if base == "Conv" and weight:
        return ops.conv_scratch_bytes(shape, weight, cfg["stride"], cfg["padding"], cfg["dilation"],
                                      cfg["groups"], cfg["padding_mode"], itemsize)
    if base == "ConvTranspose" and weight:
        return ops.conv_transpose_scratch_bytes(shape, weight, tuple(row.output_shape), cfg["stride"],
                                                cfg["dilation"], cfg["groups"], cfg["padding"], itemsize)
    if "Pool" in name or "Pad" in name or name == "Upsample":
        return itemsize * (sum(prod(s) for s in input_shapes) + prod(row.output_shape))
    return itemsize * prod(row.output_shape)


def memory_needed(the_plan: Any, report: Any, itemsize: int) -> list[tuple[str, int]]:
    """What :func:`run` holds at its peak, in bytes: the input and every layer's
    output (all kept), the largest layer's weights and the pool they are cut
    from (bounded by 8 + itemsize bytes per weight: a small tensor is drawn in
    float64 and cast; the pool is as long as the largest tensor, in float32 or
    float64, plus its cast to float16), and the
    largest reference scratch plus the scratch kept between calls."""
    outputs = sum(prod(row.output_shape) for row in report.layers) * itemsize
    weights = max((sum(prod(s) for s in {**row.param_shapes, **row.buffer_shapes}.values())
                   for row in report.layers), default=0) * (8 + itemsize)
    scratch = 0
    for planned, row in zip(the_plan.layers, report.layers):
        inputs = [report.input_shape if slot == -1 else report.layers[slot].output_shape
                  for slot in planned.input_slots]
        scratch = max(scratch, layer_scratch_bytes(planned, row, inputs, itemsize))
    return [("input", prod(report.input_shape) * itemsize), ("outputs", outputs), ("weights", weights),
            ("reference scratch", scratch + min(scratch, SCRATCH_KEPT))]


def run(net: NetLike, *, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
        batch: int | None = None, seed: int = 0, dtype: str = "float32",
        max_bytes: int | str | None = None) -> RunReport:
    """Run ``net`` on random input with the numpy references; see the module docstring.

    ``max_bytes`` (bytes or ``"4GiB"``; default min(8 GiB, half the available
    RAM)): the run is estimated first (:func:`memory_needed`, convolution
    scratch included) and refused above it. Errors name the layer's file:line."""
    from ..overrides import check_overrides
    network = as_network(net)
    checked = check_overrides(input=input, sizes=sizes, batch=batch)
    input, sizes, batch = checked.input, checked.sizes, checked.batch
    np_dtype = run_dtype(dtype)
    limit = resolve_limit(max_bytes)
    the_plan = plan(network)
    _refuse_nothing_to_run(network, the_plan)
    report = evaluate(the_plan, input=input, sizes=sizes, batch=batch, dtype=np_dtype.name)
    the_plan = bind(the_plan, report)         # arguments read from a block input's size, resolved
    if report.symbols:
        raise ArgumentError(f"the input has symbolic sizes {', '.join(report.symbols)}; give them values with "
                            f"--set (e.g. --set {'=64,'.join(report.symbols)}=64)", loc=network.input_loc)
    try:
        refuse_above(f"a numpy run of {network.name} at input {list(report.input_shape)}",
                     memory_needed(the_plan, report, np_dtype.itemsize), limit, "use a smaller --input or --batch",
                     python="max_bytes")
    except ArgumentError as err:
        raise err.add_context(loc=network.input_loc)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(report.input_shape).astype(np_dtype)
    pool = WeightPool(rng)
    outputs: list[np.ndarray] = []
    results = []
    for planned, row in zip(the_plan.layers, report.layers):
        inputs = [x if slot == -1 else outputs[slot] for slot in planned.input_slots]
        layer_type = planned.layer_type
        spec = planned.spec
        if not layer_type.has_reference():
            outputs.append(np.zeros(row.output_shape, dtype=np_dtype))
            results.append(LayerRun(row.name, row.type, row.output_shape, None,
                                    "skipped: no numpy reference for this type", spec.loc))
            continue
        try:
            weights = make_weights({**row.param_shapes, **row.buffer_shapes}, rng, np_dtype, pool)
            out = np.asarray(layer_type.reference(planned.cfg, weights, inputs))
        except CnnCalcError as err:
            raise err.add_context(loc=spec.loc, path=spec.path, layer_type=spec.type_name)
        except MemoryError:
            raise ArgumentError("numpy ran out of memory in this layer", loc=spec.loc, path=spec.path,
                                layer_type=spec.type_name, hint="use a smaller --input or --batch") from None
        except Exception as err:  # noqa: BLE001 - the reference refused what the analysis accepted: a bug to report
            raise CnnCalcError(f"the numpy reference failed: {type(err).__name__}: {cut(str(err), 300)}",
                               loc=spec.loc, path=spec.path, layer_type=spec.type_name,
                               hint="the analysis accepted this layer; please report it") from None
        outputs.append(out)
        status = "ok" if tuple(out.shape) == tuple(row.output_shape) else "mismatch"
        results.append(LayerRun(row.name, row.type, row.output_shape, tuple(out.shape), status, spec.loc))
    return RunReport(network.name, report.input_shape, tuple(results), outputs[-1])


def _refuse_nothing_to_run(network: Any, the_plan: Any) -> None:
    """ArgumentError when no layer has a numpy reference: a run that checked nothing must not pass.

    Some layers without one are skipped with a note (their analytic zeros feed the rest); none at all
    (a Keras file: its types have no numpy references) would print "0 of N layers ran" and exit 0."""
    layers = the_plan.layers
    if not layers or any(planned.layer_type.has_reference() for planned in layers):
        return
    types = ", ".join(dict.fromkeys(planned.layer_type.name for planned in layers))
    keras = getattr(network, "framework", "torch") == "keras"
    why = "Keras layer types have no numpy references" if keras else "its layer types have no numpy references"
    first = layers[0].spec
    raise ArgumentError(f"cnncalc run has nothing to run: none of the {len(layers)} layers of "
                        f"{shown(network.name)} has a numpy reference ({types}); {why}",
                        loc=first.loc,
                        hint="cnncalc verify FILE checks this file's shapes, parameters and MACs against torch "
                             "(Keras files included); cnncalc summarize FILE gives the analysis")


def check(run_report: RunReport) -> None:
    """Raise VerifyMismatch listing every layer whose numpy shape differs from the analytic one."""
    bad = [layer for layer in run_report.layers if layer.status == "mismatch"]
    if bad:
        lines = [f"{(str(layer.loc) + ': ') if layer.loc else ''}{layer.name} ({layer.type}): analytic {list(layer.expected_shape)}, numpy "
                 f"{list(layer.actual_shape)}" for layer in bad]
        raise VerifyMismatch(f"{len(bad)} layer(s) disagree with the analytic shapes (a bug in cnncalc's rules "
                             f"or references; please report it):\n  " + "\n  ".join(lines))
