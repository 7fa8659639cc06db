"""The report: frozen values the engine returns and the renderers format.

``Report.to_dict()`` is exactly the JSON object of SPEC §3: integers stay
integers, fractions become strings ("1/2"), symbolic sizes become their
formula as a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterator, Mapping

from .errors import ArgumentError, Loc, did_you_mean


def json_value(value: Any) -> Any:
    """An exact JSON value: int, "p/q" for fractions, formula strings for symbols."""
    if type(value) is int:           # the common cases first: a 100,000-layer report has 1.6 M values
        return value
    if isinstance(value, (list, tuple)):
        return [v if type(v) is int else json_value(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if isinstance(value, float):  # pragma: no cover - counts are never floats
        return value
    # a sympy expression: an Integer/Rational prints like the above
    if getattr(value, "is_Integer", False):
        return int(value)
    if getattr(value, "is_Rational", False):
        return f"{value.p}/{value.q}"
    from .engine.symbolic import format_expr
    return format_expr(value)


@dataclass(frozen=True)
class Field:
    """Receptive field of one tensor, per spatial axis of the network input."""

    size: tuple
    jump: tuple
    start: tuple
    aligned: bool = True
    is_global: bool = False           # some axis is global (the layer mixes every position along it)
    parted_at: str | None = None      # where the paths of a misaligned merge part
    # per axis: global along it? () = every axis as is_global says; set where only some axes are
    global_axes: tuple = ()

    def axis_global(self, axis: int) -> bool:
        """Whether the field is global along ``axis`` (size/start are then the union read, exactly)."""
        return self.global_axes[axis] if self.global_axes else self.is_global

    @property
    def all_global(self) -> bool:
        """Global along every axis (global pooling, flatten): the output's field is one box for all elements."""
        return self.is_global and (not self.global_axes or all(self.global_axes))

    def to_dict(self) -> dict[str, Any]:
        out = {
            "size": json_value(self.size), "jump": json_value(self.jump), "start": json_value(self.start),
            "aligned": self.aligned, "global": self.is_global,
        }
        if self.is_global and not self.all_global:
            out["global_axes"] = list(self.global_axes)
        if not self.aligned and self.parted_at is not None:
            out["parted_at"] = self.parted_at
        return out


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: tuple
    params: Any
    trainable_params: Any
    buffers: Any
    macs: Any
    flops: Any
    activation_bytes: Any
    receptive_field: Field
    scopes: tuple[str, ...] = ()
    loc: Loc | None = None
    param_shapes: Mapping[str, tuple] = field(default_factory=dict)
    buffer_shapes: Mapping[str, tuple] = field(default_factory=dict)
    count_note: str | None = None      # with count_as: why that tool's count of this layer differs (JSON only then)
    keras_params: Any = None           # Keras sources: what count_params() gives (params + non-trainable weights)

    @property
    def depth(self) -> int:
        return len(self.scopes)

    def to_dict(self, receptive_field: Any = None) -> dict[str, Any]:
        """SPEC §3's layer object. ``receptive_field``: the field's JSON value where the caller has it
        already (the JSON writer encodes each distinct field once: most layers pass theirs through)."""
        out = {
            "name": self.name, "type": self.type, "from": list(self.inputs),
            "output_shape": json_value(self.output_shape),
            "params": json_value(self.params), "trainable_params": json_value(self.trainable_params),
            "buffers": json_value(self.buffers), "macs": json_value(self.macs), "flops": json_value(self.flops),
            "activation_bytes": json_value(self.activation_bytes),
            "receptive_field": self.receptive_field.to_dict() if receptive_field is None else receptive_field,
        }
        if self.count_note is not None:
            out["count_note"] = self.count_note
        if self.keras_params is not None:
            out["keras_params"] = json_value(self.keras_params)
        return out


TOTAL_KEYS = ("params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops",
              "param_bytes", "activation_bytes", "peak_activation_bytes")


@dataclass(frozen=True)
class Totals:
    params: Any
    trainable_params: Any
    non_trainable_params: Any
    buffers: Any
    macs: Any
    flops: Any
    param_bytes: Any
    activation_bytes: Any
    peak_activation_bytes: Any
    keras_params: Any = None           # Keras sources: model.count_params(), BatchNormalization's moving stats included

    def to_dict(self) -> dict[str, Any]:
        out = {key: json_value(getattr(self, key)) for key in TOTAL_KEYS}
        if self.keras_params is not None:
            out["keras_params"] = json_value(self.keras_params)
        return out


class Layers(tuple):
    """The report's layers in execution order; also indexable by path."""

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            for row in self:
                if row.name == key:
                    return row
            raise KeyError(key)
        return super().__getitem__(key)

    def names(self) -> list[str]:
        return [row.name for row in self]


@dataclass(frozen=True)
class Report:
    name: str
    input: tuple
    batch: int
    dtype: str
    layers: Layers
    totals: Totals
    output_shape: tuple
    receptive_field: Field
    symbols: tuple[str, ...] = ()
    scope_types: Mapping[str, str] = field(default_factory=dict)   # block instance path -> block name
    source: str = "<string>"
    input_shape: tuple = ()                                        # with the batch
    # filled only when asked for: the explained layer's formula lines and field map
    # (cnncalc explain), and the conditions symbolic sizes must meet (cnncalc sizes)
    explanation: tuple = ()
    explained_step: Any = None
    constraints: tuple = ()
    counted_as: str | None = None      # a peer's name (cnncalc.counting): macs/flops are that tool's
    training: Any = None               # engine.training.Training: one training step (--train), or None
    # per layer, (bytes alive while it runs, bytes alive once its dead inputs are freed); () when symbolic.
    # The forward pass's liveness as the engine computes the peak (views share storage; the input counts)
    memory_curve: tuple = ()

    def layer(self, name: str) -> LayerRow:
        """The row of layer ``name``; ArgumentError with a suggestion when unknown."""
        try:
            return self.layers[name]
        except KeyError:
            raise ArgumentError(f"no layer named {name!r} in {self.name}",
                                hint=did_you_mean(name, self.layers.names())
                                or f"layers are: {', '.join(self.layers.names()[:8])}, ...") from None

    def __iter__(self) -> Iterator[LayerRow]:
        return iter(self.layers)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name, "input": json_value(list(self.input)), "batch": self.batch, "dtype": self.dtype,
            "layers": [row.to_dict() for row in self.layers],
            "totals": self.totals.to_dict(),
            "output_shape": json_value(self.output_shape),
            "receptive_field": self.receptive_field.to_dict(),
        }
        if self.counted_as is not None:
            out["counted_as"] = self.counted_as
        if self.training is not None:          # a "training" object in totals and in each layer
            out["totals"]["training"] = {k: json_value(v) for k, v in self.training.to_dict().items()}
            for row, layer in zip(out["layers"], self.training.layers):
                row["training"] = {k: json_value(v) for k, v in layer.to_dict().items()}
        return out
