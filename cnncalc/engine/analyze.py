"""Evaluate a plan for one input size: one pass over the DAG in file order.

Per layer: output shape, parameter and buffer counts, MACs, FLOPs,
activation bytes and the receptive field; in total, the sums and the peak
of live activation memory (a tensor freed after its last reader).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

from ..errors import CnnCalcError, ShapeError, SpecError
from ..layers.base import GLOBAL, Context, ExplainingContext, numel
from . import reach, receptive
from ..report import Field, LayerRow, Layers, Report, Totals
from ..spec.model import DTYPE_BYTES, INPUT, NetworkSpec
from .plan import Plan, bound_cfg, plan
from .._gc import gc_paused


def analyze_spec(network: NetworkSpec, **overrides: Any) -> Report:
    return evaluate(plan(network), **overrides)


def resolve_input(network: NetworkSpec, input: Sequence[Any] | None = None,
                  sizes: Mapping[str, int] | None = None) -> tuple:
    """The input shape (batch excluded) after --input and --set overrides."""
    dims = tuple(input) if input is not None else network.input
    if sizes:
        unknown = [name for name in sizes if name not in dims]
        if unknown:
            raise SpecError(f"sizes are given for {', '.join(unknown)}, which the input {list(dims)} does not have",
                            loc=network.input_loc,
                            hint=f"its symbols are {', '.join(d for d in dims if isinstance(d, str))}"
                            if any(isinstance(d, str) for d in dims) else "the input has no symbolic sizes")
        dims = tuple(sizes.get(d, d) if isinstance(d, str) else d for d in dims)
    return dims


@gc_paused
def evaluate(the_plan: Plan, *, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
             batch: int | None = None, dtype: str | None = None, explain: str | None = None) -> Report:
    """The report for one input shape. ``explain``: a layer path whose formulas to record."""
    network = the_plan.network
    dims = resolve_input(network, input, sizes)
    batch = network.batch if batch is None else batch
    dtype = network.dtype if dtype is None else dtype
    dtype_bytes = DTYPE_BYTES[dtype]
    symbols = tuple(d for d in dims if isinstance(d, str))
    if symbols:
        from .symbolic import SymbolicContext, make_dims, simplify_outcome
        dims = make_dims(dims)
        context: Context = SymbolicContext()
    else:
        context = Context()
    input_shape = (batch, *dims)
    spatial_extent = tuple(dims[:-1]) if network.channels_last else tuple(dims[1:])   # Keras: [*spatial, C]
    input_state = receptive.input_axes(len(spatial_extent))
    input_field = receptive.to_field(input_state)
    states: list[Any] = []                  # per layer: the exact per-axis field (None once unread)
    layer_steps: list[Any] = []             # per layer: its Outcome.field, for the walks behind global fields
    # per tensor, per axis: the first axis with the same history (sizes, maps); its walk is reused.
    # Filled in order up to the tensor a walk starts from, only when one does (_twins_up_to)
    twins: dict[int, tuple[int, ...]] = {-1: _twin_axes(spatial_extent)}
    budget = receptive.PhaseBudget()        # phases the exact fields may still enumerate

    shapes: list[tuple] = []
    fields: list[Field] = []
    rows: list[LayerRow] = []
    explanation: list[tuple[str, str, Any]] = []
    explained_step: Any = None
    storage: list[int] = []                 # storage id of each layer's output (views share)
    storage_bytes: dict[int, Any] = {-1: numel(input_shape) * dtype_bytes}
    storage_last: dict[int, int] = {-1: the_plan.input_last_use}
    alive = storage_bytes[-1]
    peak = alive
    # the forward pass's memory curve (concrete sizes only): bytes alive while each layer runs, and after
    curve_running: list[int] = []
    curve_after: list[int] = []
    live_sets: list[frozenset] = [frozenset({-1})]     # symbolic sizes: the storages alive at each peak candidate
    live: set[int] = {-1}                   # the storages alive now (kept as a set: O(alive) per layer, not O(layers))
    # symbolic sums are added once at the end (sympy.Add of n terms), not term by term (O(n) each)
    symbolic_terms: dict[str, list] = {"macs": [], "flops": [], "activation": []}
    total_params = total_trainable = total_buffers = total_macs = total_flops = total_activation = 0
    last_use = the_plan.last_use
    bound: dict[tuple, Mapping[str, Any]] = {}    # pending arguments (groups: $in.channels), checked once per value
    outcomes: dict[tuple, tuple] = {}       # symbolic sizes: (type, cfg, input shapes) -> (outcome, its conditions)

    def shape_of(slot: int) -> tuple:
        return input_shape if slot == -1 else shapes[slot]

    for position, layer in enumerate(the_plan.layers):
        spec = layer.spec
        slots = layer.input_slots
        in_shapes = [input_shape if slot == -1 else shapes[slot] for slot in slots]
        ctx = context
        if explain is not None and spec.path == explain:
            ctx = _explaining(context)
        if symbols:
            ctx.layer, ctx.layer_type = spec.path, spec.type_name
        cfg = bound_cfg(layer, shape_of, network.channels_last, bound) if layer.pending else layer.cfg
        # symbolic sizes: a layer whose type, arguments and input shapes an earlier one had (a stage's
        # repeated blocks) has its outcome, and records its conditions again under its own path
        memo_key = (layer.layer_type, id(cfg), tuple(in_shapes)) if symbols and ctx is context else None
        memo = outcomes.get(memo_key) if memo_key is not None else None
        try:
            if memo is not None:
                outcome, conditions = memo
                context.constraints.extend(replace(c, layer=spec.path, layer_type=spec.type_name)
                                           for c in conditions)
            else:
                recorded = len(context.constraints) if symbols else 0
                outcome = layer.layer_type.evaluate(cfg, in_shapes, ctx)
        except CnnCalcError as err:
            err.add_context(loc=spec.loc, path=spec.path, layer_type=spec.type_name)
            if isinstance(err, ShapeError) and err.detail is None:
                err.detail = _failure_detail(layer.layer_type, cfg, in_shapes, context)
            raise
        except (ArithmeticError, TypeError, ValueError) as err:
            raise ShapeError(f"cannot evaluate this layer on input {_shapes_text(in_shapes)}: {err}",
                             loc=spec.loc, path=spec.path, layer_type=spec.type_name) from None
        if ctx is not context:
            explanation = ctx.lines
            explained_step = outcome.field
            if symbols:
                context.constraints.extend(ctx.constraints)
        if symbols and memo is None:
            outcome = simplify_outcome(outcome)
            if memo_key is not None:
                outcomes[memo_key] = (outcome, tuple(context.constraints[recorded:]))
        output = outcome.output_shape
        elements = numel(output)
        if not symbols and elements > MAX_ELEMENTS:
            _refuse_unaddressable(elements, spec)
        shapes.append(output)
        params = sum(numel(shape) for shape in outcome.param_shapes.values()) if outcome.param_shapes else 0
        buffers = sum(numel(shape) for shape in outcome.buffer_shapes.values()) if outcome.buffer_shapes else 0
        trainable = 0 if spec.frozen else params
        out_bytes = elements * dtype_bytes

        # receptive field: exact periodic fields per axis (engine/receptive.py); a one-input type's
        # further inputs only give sizes (interpolate's size_of), so only the first one's field is followed
        if len(slots) == 1 or layer.layer_type.arity == 1:
            source_state = input_state if slots[0] == -1 else states[slots[0]]
            source_field = input_field if slots[0] == -1 else fields[slots[0]]
            if outcome.field is None:
                state, field = source_state, source_field
            else:
                # the layer input's size per network-input axis, where its dims still line up with them
                lengths = tuple(_spatial(in_shapes[0], network)) if len(in_shapes[0]) - 2 == len(spatial_extent) else None
                union = _unions(slots[0], lengths, the_plan, layer_steps, fields, shapes, input_shape, twins)
                if outcome.field is GLOBAL or len(outcome.field) != len(spatial_extent):
                    state = receptive.mix_all(source_state, lengths, spatial_extent, union)
                else:
                    state = receptive.apply(source_state, outcome.field, budget, lengths, spatial_extent, union)
                field = receptive.to_field(state, source_field.aligned, source_field.parted_at, spatial_extent)
        else:
            state, field = _merge(slots, states, fields, input_state, input_field, spatial_extent, output,
                                  the_plan, budget, layer_steps, shapes, input_shape, twins)
        layer_steps.append(outcome.field)
        states.append(state)
        fields.append(field)
        for slot in slots:                  # a field nobody reads again need not be kept (memory)
            if slot != -1 and last_use[slot] == position:
                states[slot] = None

        # memory: views and in-place layers share their input's storage
        if layer.is_view or (layer.pending and layer.layer_type.is_view(cfg) and len(slots) == 1):
            sid = -1 if slots[0] == -1 else storage[slots[0]]
            storage.append(sid)
            storage_last[sid] = max(storage_last[sid], last_use[position])
        else:
            sid = position
            storage.append(sid)
            storage_bytes[sid] = out_bytes
            storage_last[sid] = last_use[position]
            if symbols:
                live.add(sid)
                live_sets.append(frozenset(live))
            else:
                alive = alive + out_bytes
                peak = alive if alive > peak else peak
        if not symbols:
            curve_running.append(alive)
        # free every storage whose last reader is this layer
        for slot in slots:
            sid_in = -1 if slot == -1 else storage[slot]
            if storage_last.get(sid_in) == position:
                if symbols:
                    live.discard(sid_in)
                else:
                    alive = alive - storage_bytes[sid_in]
                storage_last[sid_in] = None
        if storage_last.get(sid) == position:     # nobody reads it (a dead branch)
            if symbols:
                live.discard(sid)
            else:
                alive = alive - storage_bytes[sid]
            storage_last[sid] = None
        if not symbols:
            curve_after.append(alive)

        total_params += params
        total_trainable += trainable
        total_buffers += buffers
        if symbols:
            symbolic_terms["macs"].append(outcome.macs)
            symbolic_terms["flops"].append(outcome.flops)
            symbolic_terms["activation"].append(out_bytes)
        else:
            total_macs += outcome.macs
            total_flops += outcome.flops
            total_activation += out_bytes
        rows.append(LayerRow(
            name=spec.path, type=spec.type_name,
            inputs=layer.input_names,
            output_shape=output, params=params, trainable_params=trainable, buffers=buffers,
            macs=outcome.macs, flops=outcome.flops, activation_bytes=out_bytes, receptive_field=field,
            scopes=spec.scopes, loc=spec.loc, param_shapes=outcome.param_shapes,
            buffer_shapes=outcome.buffer_shapes,
        ))
    if symbols:
        from .symbolic import peak_of, total_of
        peak = peak_of(live_sets, storage_bytes)
        total_macs = total_of(symbolic_terms["macs"])
        total_flops = total_of(symbolic_terms["flops"])
        total_activation = total_of(symbolic_terms["activation"])
    report_totals = Totals(
        params=total_params, trainable_params=total_trainable,
        non_trainable_params=total_params - total_trainable, buffers=total_buffers,
        macs=total_macs, flops=total_flops, param_bytes=total_params * dtype_bytes,
        activation_bytes=total_activation, peak_activation_bytes=peak,
    )
    report = Report(
        name=network.name, input=tuple(dims), batch=batch, dtype=dtype, layers=Layers(rows),
        totals=report_totals, output_shape=shapes[-1], receptive_field=fields[-1], symbols=symbols,
        scope_types=network.scope_types, source=network.source, input_shape=input_shape,
        explanation=tuple(explanation), explained_step=explained_step,
        constraints=tuple(context.constraints) if symbols else (),
        memory_curve=() if symbols else tuple(zip(curve_running, curve_after)),
    )
    return _with_keras_params(report) if network.channels_last else report


def _with_keras_params(report: Report) -> Report:
    """Keras's count_params(): its non-trainable weights (the moving mean and variance) are our buffers."""
    rows = Layers(replace(row, keras_params=row.params + row.buffers) for row in report.layers)
    totals = replace(report.totals, keras_params=report.totals.params + report.totals.buffers)
    return replace(report, layers=rows, totals=totals)


MAX_ELEMENTS = 2**63 - 1      # torch's sizes and element counts are int64


def _refuse_unaddressable(elements: int, spec) -> None:
    """torch cannot make a tensor of more than 2⁶³ − 1 elements; refusing here also keeps every later figure small."""
    if elements > MAX_ELEMENTS:
        shown = f"{elements:,}" if elements < 10**30 else f"about 10^{int(elements.bit_length() * 0.30103)}"
        raise ShapeError(f"the output would have {shown} elements, more than torch's limit of 2^63 - 1 "
                         f"(sizes are int64)", loc=spec.loc, path=spec.path, layer_type=spec.type_name,
                         hint="a size grows past any tensor torch can make: check the strides and scale factors")


def _explaining(context: Context) -> Context:
    explaining = ExplainingContext()
    if type(context) is not Context:      # symbolic: keep its constraint recording
        explaining = type(context)()
        explaining.explaining = True
        explaining.lines = []
    return explaining


def _failure_detail(layer_type, cfg, in_shapes, context: Context) -> str:
    """The failing layer's formulas up to the failure, so the user sees why."""
    ctx = _explaining(context)
    try:
        layer_type.evaluate(cfg, in_shapes, ctx)
    except Exception:  # noqa: BLE001 - we only want the lines recorded so far
        pass
    lines = [f"  input {_shapes_text(in_shapes)}"]
    for label, formula, value in ctx.lines:
        lines.append(f"  {label} = {formula}" + ("" if value is None else f" = {value}"))
    return "\n".join(lines)


def _shapes_text(shapes: Sequence[tuple]) -> str:
    return ", ".join("[" + ", ".join(str(s) for s in shape) + "]" for shape in shapes)


def _spatial(shape: tuple, network: NetworkSpec) -> tuple:
    """A tensor's spatial sizes: after batch and channels (torch), between them (Keras)."""
    return shape[1:-1] if network.channels_last else shape[2:]


def _twin_axes(lengths: Sequence[Any]) -> tuple[int, ...]:
    """Per axis, the first axis of the same length (itself if none)."""
    return tuple(lengths.index(length) for length in lengths)


def _twins_up_to(slot: int, twins: dict, the_plan: Plan, layer_steps: list, shapes: list, axes: int) -> tuple:
    """twins[slot], computing every layer's twins up to it first (keys run -1, 0, 1, ... in order)."""
    for position in range(len(twins) - 1, slot + 1):
        twins[position] = _layer_twins(the_plan.layers[position].input_slots, twins, layer_steps[position],
                                       shapes[position], the_plan.network, axes)
    return twins[slot]


def _layer_twins(slots, twins, step, output, network, axes: int) -> tuple[int, ...]:
    """Per axis of this layer's output, the first axis whose whole history is the same: same twin in
    every input, the same map along both, the same output length. Such axes walk alike (reach.py)."""
    if len(output) - 2 != axes:
        return tuple(range(axes))
    base = twins[slots[0]] if slots else tuple(range(axes))
    lengths = _spatial(output, network)
    if step is None and len(slots) == 1 and all(lengths[axis] == lengths[twin] for axis, twin in enumerate(base)):
        return base                     # an elementwise layer keeps its input's twins (most layers)
    found = list(base)
    for axis, twin in enumerate(base):
        if twin != axis and not (lengths[axis] == lengths[twin]
                                 and all(twins[slot][axis] == twin for slot in slots[1:])
                                 and (step is None or reach.axis_step(step, axis, axes)
                                      == reach.axis_step(step, twin, axes))):
            found[axis] = axis
    return tuple(found)


def _unions(slot, lengths, the_plan, layer_steps, fields, shapes, input_shape, twins):
    """Per axis, what all elements of tensor ``slot`` read together, walked back exactly (engine/reach.py);
    None where it cannot walk (the forward estimate is used then). An axis whose history is its twin's
    (a square net on a square input) reuses the twin's walk."""
    if lengths is None:
        return None
    axes = len(input_shape) - 2
    network = the_plan.network
    walked: dict[int, Any] = {}

    def union(axis: int):
        twin = _twins_up_to(slot, twins, the_plan, layer_steps, shapes, axes)[axis]
        if twin in walked:
            return walked[twin]
        walked[axis] = found = walk(axis)
        return found

    def walk(axis: int):
        def layer(position: int):
            planned = the_plan.layers[position]
            if planned.layer_type.name == "concat" and planned.cfg.get("dim", 1) % len(shapes[position]) >= 2:
                raise reach.Unknown          # a concat along a spatial axis shifts indices: not walked
            sources = planned.input_slots if planned.layer_type.arity != 1 else planned.input_slots[:1]
            found = []
            for source in sources:
                shape = input_shape if source == -1 else shapes[source]
                if len(shape) - 2 != axes:
                    raise reach.Unknown
                found.append(_spatial(shape, network)[axis])
            return sources, reach.axis_step(layer_steps[position], axis, axes), found, fields[position]
        return reach.union(reach.Walker(axis, layer), slot, lengths[axis])
    return union


def _merge(slots, states, fields, input_state, input_field, extent, output, the_plan, budget,
           layer_steps, shapes, input_shape, twins):
    """A merge's field: the article's multi-path rule; an axis global on any path is global (the union read)."""
    sources = [input_field if slot == -1 else fields[slot] for slot in slots]
    was_aligned = all(f.aligned for f in sources)
    parted_at = next((f.parted_at for f in sources if not f.aligned), None)
    lengths = tuple(_spatial(output, the_plan.network)) if len(output) - 2 == len(extent) else None
    unions = [_unions(slot, lengths, the_plan, layer_steps, fields, shapes, input_shape, twins) for slot in slots]
    state, aligned = receptive.merge([(input_state if slot == -1 else states[slot], True) for slot in slots], budget,
                                     lengths, extent, None if lengths is None else unions)
    if not aligned and was_aligned:
        parted_at = _parting_layer(slots, the_plan)
    return state, receptive.to_field(state, aligned and was_aligned, parted_at, extent)


def _parting_layer(slots: Sequence[int], the_plan: Plan) -> str:
    """The last layer that every merged path passes through: where the paths part."""
    common = set.intersection(*(the_plan.ancestors(slot) for slot in slots))
    latest = max(common)
    return INPUT if latest == -1 else the_plan.layers[latest].spec.path
