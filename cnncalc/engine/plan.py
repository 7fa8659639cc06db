"""Plan: check every layer's arguments against its type's schema, once.

The plan does not depend on the input size, so `cnncalc sizes` plans once
and evaluates many sizes. An argument written from a block input's size
(``groups: $in.channels``, spec/deferred.py) is the one exception: its layer
is planned with the value pending (``PlannedLayer.pending``) and checked
when it is evaluated, once per value (``bound_cfg``); ``bind`` gives the
plan of one evaluation, every value resolved, for the torch bridge, the
numpy run and the training step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import ShapeError, SpecError, did_you_mean
from ..layers import registry
from ..layers.base import ArgError, LayerType
from ..spec import deferred
from ..spec.model import INPUT, LayerSpec, NetworkSpec
from .._gc import gc_paused


@dataclass(frozen=True)
class PlannedLayer:
    spec: LayerSpec
    layer_type: LayerType
    cfg: Mapping[str, Any]           # validated arguments with torch's defaults filled in
    input_slots: tuple[int, ...]     # indices into the plan (-1: the network input)
    input_names: tuple[str, ...]     # the producers' paths (INPUT for the network input)
    is_view: bool = False            # output shares the input's memory (view or in-place)
    # arguments that read a block input's size: the tensors they read -> their slots; while
    # non-empty, ``cfg`` holds the written values (Deferred) and ``bound_cfg`` gives the checked ones
    pending: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Plan:
    network: NetworkSpec
    layers: tuple[PlannedLayer, ...]
    # the index of the last layer that reads each tensor (-1 = the input); the
    # network output is never freed (len(layers))
    last_use: tuple[int, ...]
    input_last_use: int

    def ancestors(self, position: int) -> set[int]:
        """Every layer a layer's output depends on, itself included (-1: the network input)."""
        seen: set[int] = set()
        stack = [position]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current != -1:
                stack.extend(self.layers[current].input_slots)
        return seen


_DEFAULTS: dict[int, dict[str, Any]] = {}


def _defaults(layer_type: LayerType) -> dict[str, Any]:
    """Each type's defaults, normalised by their own checks (0 -> (0, 0)), once."""
    key = id(layer_type)
    if key not in _DEFAULTS:
        _DEFAULTS[key] = {arg.name: arg.check(arg.default) for arg in layer_type.args if not arg.required}
    return _DEFAULTS[key]


def configure_layer(layer_type: LayerType, spec: LayerSpec) -> Mapping[str, Any]:
    """Schema-check one layer's arguments; SpecError with the argument's location."""
    args = dict(spec.args)
    _check_keys(layer_type, spec)
    cfg: dict[str, Any] = {}
    for arg in layer_type.args:
        if arg.name in args:
            value = args[arg.name]
            try:
                cfg[arg.name] = arg.check(value)
            except ArgError as err:
                err.found = value
                raise SpecError(f"{arg.name}: {err.text()}",
                                loc=spec.arg_locs.get(arg.name, spec.loc), path=spec.path,
                                layer_type=spec.type_name, hint=err.hint) from None
        elif arg.required:
            raise SpecError(f"missing required argument {arg.name!r}", loc=spec.loc, path=spec.path,
                            layer_type=spec.type_name,
                            hint=f"write {spec.type_name}: {{{arg.name}: ...}}")
        else:
            cfg[arg.name] = _defaults(layer_type)[arg.name]
    try:
        cfg = layer_type.configure(cfg)
    except ArgError as err:
        where = spec.arg_locs.get(err.arg, spec.loc) if err.arg else spec.loc
        raise SpecError((f"{err.arg}: " if err.arg and err.message is None else "") + err.text(), loc=where,
                        path=spec.path, layer_type=spec.type_name, hint=err.hint) from None
    return MappingProxyType(cfg)


def _check_keys(layer_type: LayerType, spec: LayerSpec) -> list[str]:
    """Every argument written is one the type takes (checked at plan time, even for pending values)."""
    names = [arg.name for arg in layer_type.args]
    for key in spec.args:
        if key not in names:
            raise SpecError(
                f"unknown argument {key!r}", loc=spec.key_locs.get(key) or spec.arg_locs.get(key, spec.loc),
                path=spec.path,
                layer_type=spec.type_name,
                hint=did_you_mean(key, names + ["name", "from", "repeat", "frozen"])
                or (f"{spec.type_name} takes {', '.join(names)}" if names else f"{spec.type_name} takes no arguments"),
            )
    return names


def bound_cfg(layer: PlannedLayer, shape_of_slot: Any, channels_last: bool,
              cache: dict[tuple, Mapping[str, Any]] | None = None) -> Mapping[str, Any]:
    """A pending layer's arguments with each block-input size resolved, then checked as at plan time.

    ``shape_of_slot``: a slot (-1: the network input) -> that tensor's shape, batch included.
    ``cache`` keeps one check per distinct set of values (a block used at three widths: three).
    """
    if not layer.pending:
        return layer.cfg
    spec = layer.spec
    slots = dict(layer.pending)
    args: dict[str, Any] = {}
    for name, value in spec.args.items():
        try:
            args[name] = deferred.resolve(value, lambda path: shape_of_slot(slots[path]), channels_last)
        except deferred.DeferredError as err:
            raise ShapeError(f"{name}: {err}", loc=spec.arg_locs.get(name, spec.loc), path=spec.path,
                             layer_type=spec.type_name,
                             hint=err.hint or "a block input's sizes are $in.channels and $in.shape[i] "
                             "(batch included)") from None
    key = (spec.type_name, _args_key(args))
    if cache is not None and key in cache:
        return cache[key]
    try:
        cfg = configure_layer(layer.layer_type, replace(spec, args=MappingProxyType(args)))
    except SpecError as err:
        written = {name: value.text for name, value in spec.args.items() if isinstance(value, deferred.Deferred)}
        if written and err.hint is None:
            err.hint = "; ".join(f"{name} is {value} = {args[name]!r} here" for name, value in written.items())
        raise
    if cache is not None:
        cache[key] = cfg
    return cfg


def bind(the_plan: Plan, report: Any) -> Plan:
    """The plan of one concrete evaluation (``report``): every pending argument resolved and checked.

    The torch bridge, the numpy run and the training step read ``cfg``; this gives them the values
    the evaluation used. A plan with nothing pending is returned as it is.
    """
    if not any(layer.pending for layer in the_plan.layers):
        return the_plan

    def shape_of(slot: int) -> tuple:
        return report.input_shape if slot == -1 else report.layers[slot].output_shape
    cache: dict[tuple, Mapping[str, Any]] = {}
    layers = []
    for layer in the_plan.layers:
        if layer.pending:
            cfg = bound_cfg(layer, shape_of, the_plan.network.channels_last, cache)
            layer = replace(layer, cfg=cfg, pending=(),
                            is_view=layer.layer_type.is_view(cfg) and len(layer.input_slots) == 1)
        layers.append(layer)
    return replace(the_plan, layers=tuple(layers))


def _args_key(args: Mapping[str, Any]) -> tuple:
    """A hashable key for a layer's arguments (lists become tuples; anything odd, its repr)."""
    key = tuple((name, tuple(value) if isinstance(value, list) else value) for name, value in args.items())
    try:
        hash(key)
    except TypeError:                    # a mapping or nested list where a number belongs
        return (repr(sorted(args.items(), key=lambda item: item[0])),)
    return key


_PLAIN = (int, float, str, bool, type(None))


def _reads(args: Mapping[str, Any]) -> set[str]:
    """The tensors a layer's arguments read ($in.channels ...); plain numbers and names read none."""
    found: set[str] = set()
    for value in args.values():
        kind = type(value)
        if kind in _PLAIN or (kind in (list, tuple) and all(type(item) in _PLAIN for item in value)):
            continue
        found |= deferred.paths(value)
    return found


@gc_paused
def plan(network: NetworkSpec) -> Plan:
    index_of: dict[str, int] = {INPUT: -1}
    layers = []
    last_use = []
    input_last_use = -1
    configured: dict[tuple, Mapping[str, Any]] = {}
    types: dict[str, LayerType] = {}
    for position, spec in enumerate(network.layers):
        layer_type = types.get(spec.type_name)
        if layer_type is None:
            layer_type = types[spec.type_name] = registry.lookup(spec.type_name, network.framework)
            if layer_type is None:  # pragma: no cover - the expander already checked
                raise SpecError(f"unknown layer type {spec.type_name!r}", loc=spec.loc, path=spec.path)
        reads = _reads(spec.args)
        pending = tuple((path, index_of[path]) for path in sorted(reads))
        if pending:                      # checked when evaluated, with the sizes it reads (bound_cfg)
            _check_keys(layer_type, spec)
            cfg = MappingProxyType(dict(spec.args))
        else:
            key = (spec.type_name, _args_key(spec.args))
            cfg = configured.get(key)
            if cfg is None:              # identical layers (every ReLU) are checked once
                cfg = configured[key] = configure_layer(layer_type, spec)
        slots = tuple(index_of[source] for source in spec.inputs)
        for slot in slots:
            if slot == -1:
                input_last_use = position
            else:
                last_use[slot] = position
        layers.append(PlannedLayer(spec, layer_type, cfg, slots, spec.inputs,
                                   not pending and layer_type.is_view(cfg) and len(slots) == 1, pending))
        last_use.append(position)        # a tensor nobody reads is freed at once
        index_of[spec.path] = position
    if last_use:
        last_use[-1] = len(layers)       # the network's output stays alive
    return Plan(network, tuple(layers), tuple(last_use), input_last_use)
