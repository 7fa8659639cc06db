"""Build a trainable torch.nn.Module from an architecture file.

Each layer's module comes from its layer type's ``to_torch(cfg, input_shapes)``
with the input shapes of the analytic report at the concrete input size, so
``in_channels``, ``in_features``, ``num_features`` ... are what the file
implies. Submodules are nested per component of the layer's path
(``layer1.0.bn2`` -> ``model.layer1[0].bn2``); torch forbids "." in a child's
name, so every block instance is a :class:`Scope` (a plain container whose
children are also reachable by index: ``scope[0]``, ``scope["bn2"]``).

The model's ``forward`` runs the layers in file order, feeds each layer the
tensors its ``from`` names (merges get them all), frees a tensor after its
last reader and returns the last layer's output.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Mapping, Sequence

from ..errors import ArgumentError, CnnCalcError
from ..report import Report
from ..spec.model import NetworkSpec


@dataclass(frozen=True)
class Concrete:
    """An architecture evaluated at one concrete input size."""

    network: NetworkSpec
    plan: Any                 # engine.plan.Plan, bound to the report (every $in size resolved)
    report: Report

    def __post_init__(self) -> None:
        from ..engine.plan import bind
        object.__setattr__(self, "plan", bind(self.plan, self.report))

    def input_shapes(self, position: int) -> list[tuple]:
        """The shapes (batch included) that layer ``position`` reads."""
        layer = self.plan.layers[position]
        return [self.report.input_shape if slot == -1 else self.report.layers[slot].output_shape
                for slot in layer.input_slots]


def concrete(net: Any, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
             batch: int | None = None, what: str = "a torch model") -> Concrete:
    """Load, plan and evaluate ``net`` at a concrete input (symbolic sizes need values)."""
    from ..api import as_network
    from ..engine import evaluate, plan
    from ..engine.analyze import resolve_input
    from ..overrides import check_overrides
    network = as_network(net)
    checked = check_overrides(input=input, sizes=sizes, batch=batch)
    input, sizes, batch = checked.input, checked.sizes, checked.batch
    dims = resolve_input(network, input, sizes)
    symbols = [d for d in dims if isinstance(d, str)]
    if symbols:
        example = ",".join(f"{s}=224" for s in symbols)
        raise ArgumentError(
            f"{network.name}: the input {_dims_text(dims)} has symbolic sizes {', '.join(symbols)}; "
            f"{what} needs concrete sizes",
            loc=network.input_loc,
            hint=f"give them values: --set {example} (Python: sizes={{{', '.join(repr(s) + ': 224' for s in symbols)}}}) "
                 f"or a whole input shape with --input")
    the_plan = plan(network)
    report = evaluate(the_plan, input=input, sizes=sizes, batch=batch)
    return Concrete(network, the_plan, report)


def _dims_text(dims: Sequence[Any]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


# --------------------------------------------------------------------------
# The module classes (defined on first use: importing this file needs no torch)
# --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def classes() -> SimpleNamespace:
    import torch

    class Scope(torch.nn.Module):
        """A block instance: a named group of layers.

        Children are attributes (``scope.bn2``) and also indexable
        (``scope[0]`` for a repeat, ``scope["bn2"]``); iterating yields the
        children in order.
        """

        def __getitem__(self, key: int | str) -> torch.nn.Module:
            try:
                return self._modules[str(key)]
            except KeyError:
                raise KeyError(f"{key!r} is not a child of this scope (children: "
                               f"{', '.join(self._modules)})") from None

        def __len__(self) -> int:
            return len(self._modules)

        def __iter__(self):
            return iter(self._modules.values())

        def __contains__(self, key: object) -> bool:
            return str(key) in self._modules

        def forward(self, *args: Any) -> Any:  # pragma: no cover - a container, never called
            raise RuntimeError("a Scope only groups layers; call the whole model")

    class CnnCalcModel(torch.nn.Module):
        """A network built by cnncalc from an architecture file.

        ``forward(x)`` follows the file's graph and returns the last layer's
        output. ``layer(path)`` is the module of one layer by its path in the
        report (``"layer1.0.bn2"``); ``paths`` maps every path to its module's
        qualified name (they differ only where a name clashes with a
        ``torch.nn.Module`` attribute: ``train`` becomes ``train_``).
        ``input_shape`` is the input the model was built for, batch included.
        """

        def __init__(self, name: str, input_shape: tuple) -> None:
            super().__init__()
            self.cnncalc_name = name
            self.input_shape = tuple(input_shape)
            self.paths: dict[str, str] = {}
            # (path, qualified-name parts, input slots, slots to free afterwards)
            self._cnncalc_steps: list[tuple[str, tuple[str, ...], tuple[int, ...], tuple[int, ...]]] = []
            self._cnncalc_input_last = -1

        def layer(self, path: str) -> torch.nn.Module:
            """The module of the layer at ``path`` (as the report names it)."""
            try:
                qualified = self.paths[path]
            except KeyError:
                from ..errors import did_you_mean
                raise KeyError(f"no layer {path!r}" + (f"; {did_you_mean(path, self.paths)}"
                                                       if did_you_mean(path, self.paths) else "")) from None
            return self.get_submodule(qualified)

        def _cnncalc_module(self, parts: tuple[str, ...]) -> torch.nn.Module:
            module: torch.nn.Module = self
            for part in parts:
                module = module._modules[part]
            return module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            values: dict[int, torch.Tensor] = {-1: x}
            out = x
            for position, (_, parts, slots, free) in enumerate(self._cnncalc_steps):
                module = self._cnncalc_module(parts)
                out = module(*[values[slot] for slot in slots])
                values[position] = out
                for slot in free:
                    del values[slot]
            return out

        def run_until(self, x: torch.Tensor, keep: Sequence[str], stop: str | None = None) -> dict[str, torch.Tensor]:
            """The outputs of the layers ``keep`` (paths), running only up to ``stop``
            (default: the last of ``keep``) -- later layers are not called."""
            wanted = set(keep)
            index = {path: i for i, (path, *_ ) in enumerate(self._cnncalc_steps)}
            for path in wanted | ({stop} if stop else set()):
                if path not in index:
                    raise KeyError(f"no layer {path!r}")
            last = index[stop] if stop else max(index[p] for p in wanted)
            values: dict[int, torch.Tensor] = {-1: x}
            kept: dict[str, torch.Tensor] = {}
            for position, (path, parts, slots, free) in enumerate(self._cnncalc_steps[:last + 1]):
                module = self._cnncalc_module(parts)
                out = module(*[values[slot] for slot in slots])
                values[position] = out
                if path in wanted:
                    kept[path] = out
                for slot in free:
                    del values[slot]
            return kept

    return SimpleNamespace(Scope=Scope, CnnCalcModel=CnnCalcModel)


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------

def layer_module(con: Concrete, position: int):
    """One layer's torch module, from its type's ``to_torch``."""
    layer = con.plan.layers[position]
    spec = layer.spec
    try:
        return layer.layer_type.to_torch(layer.cfg, con.input_shapes(position))
    except CnnCalcError as err:
        raise err.add_context(loc=spec.loc, path=spec.path, layer_type=spec.type_name)
    except NotImplementedError as err:
        raise CnnCalcError(f"cannot build a torch module: {err}", loc=spec.loc, path=spec.path,
                           layer_type=spec.type_name) from None
    except Exception as err:  # noqa: BLE001 - torch's constructor refused the arguments
        raise CnnCalcError(f"torch refused the constructor: {type(err).__name__}: {err}", loc=spec.loc,
                           path=spec.path, layer_type=spec.type_name) from None


def assemble(con: Concrete, modules: Sequence[Any], batch: int | None = None):
    """A CnnCalcModel holding ``modules`` (one per layer of the plan, in order)."""
    found = classes()
    Scope, CnnCalcModel = found.Scope, found.CnnCalcModel
    model = CnnCalcModel(con.network.name, con.report.input_shape)
    from .export import qualified_names
    # each layer's qualified name, by the one naming rule export writes too (a name that is an
    # attribute of its parent, `train`, gets `_` appended; the attribute lists are checked against torch)
    names = qualified_names(con)
    last_use = con.plan.last_use
    steps = []
    # free each tensor right after its last reader (the output stays)
    frees: list[list[int]] = [[] for _ in con.plan.layers]
    if 0 <= con.plan.input_last_use < len(frees):
        frees[con.plan.input_last_use].append(-1)
    for index, last in enumerate(last_use):
        if index < len(frees) - 1 and index <= last < len(frees):
            frees[last].append(index)
    for position, (layer, module, actual_parts) in enumerate(zip(con.plan.layers, modules, names)):
        spec = layer.spec
        parent = model
        for name in actual_parts[:-1]:
            child = parent._modules.get(name)
            if child is None:
                child = Scope()
                parent.add_module(name, child)
            parent = child
        parent.add_module(actual_parts[-1], module)
        if spec.frozen:
            for parameter in module.parameters():
                parameter.requires_grad_(False)
        model.paths[spec.path] = ".".join(actual_parts)
        free = tuple(slot for slot in frees[position] if slot != len(con.plan.layers) - 1)
        steps.append((spec.path, actual_parts, tuple(layer.input_slots), free))
    model._cnncalc_steps = steps
    if batch is not None:
        model.input_shape = (batch, *model.input_shape[1:])
    return model


def build_model(net: Any, input: Sequence[Any] | None = None, sizes: Mapping[str, int] | None = None,
                batch: int | None = None, device: Any = None, con: Concrete | None = None):
    """See :func:`cnncalc.torch_bridge.to_torch`."""
    import torch
    if con is None:
        con = concrete(net, input=input, sizes=sizes, batch=batch)
    if device is not None:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ArgumentError(f"unknown torch device {device!r}: {err}") from None
        with device:
            modules = [layer_module(con, position) for position in range(len(con.plan.layers))]
    else:
        modules = [layer_module(con, position) for position in range(len(con.plan.layers))]
    return assemble(con, modules)
