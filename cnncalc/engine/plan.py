"""Plan: check every layer's arguments against its type's schema, once.

The plan does not depend on the input size, so `cnncalc sizes` plans once
and evaluates many sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import SpecError, did_you_mean
from ..layers import registry
from ..layers.base import ArgError, LayerType
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
    names = [arg.name for arg in layer_type.args]
    for key in args:
        if key not in names:
            raise SpecError(
                f"unknown argument {key!r}", loc=spec.key_locs.get(key) or spec.arg_locs.get(key, spec.loc),
                path=spec.path,
                layer_type=spec.type_name,
                hint=did_you_mean(key, names + ["name", "from", "repeat", "frozen"])
                or (f"{spec.type_name} takes {', '.join(names)}" if names else f"{spec.type_name} takes no arguments"),
            )
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


def _args_key(args: Mapping[str, Any]) -> tuple:
    """A hashable key for a layer's arguments (lists become tuples; anything odd, its repr)."""
    key = tuple((name, tuple(value) if isinstance(value, list) else value) for name, value in args.items())
    try:
        hash(key)
    except TypeError:                    # a mapping or nested list where a number belongs
        return (repr(sorted(args.items(), key=lambda item: item[0])),)
    return key


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
        key = (spec.type_name, _args_key(spec.args))
        cfg = configured.get(key)
        if cfg is None:                  # identical layers (every ReLU) are checked once
            cfg = configured[key] = configure_layer(layer_type, spec)
        slots = tuple(index_of[source] for source in spec.inputs)
        for slot in slots:
            if slot == -1:
                input_last_use = position
            else:
                last_use[slot] = position
        layers.append(PlannedLayer(spec, layer_type, cfg, slots, spec.inputs,
                                   layer_type.is_view(cfg) and len(slots) == 1))
        last_use.append(position)        # a tensor nobody reads is freed at once
        index_of[spec.path] = position
    if last_use:
        last_use[-1] = len(layers)       # the network's output stays alive
    return Plan(network, tuple(layers), tuple(last_use), input_last_use)
