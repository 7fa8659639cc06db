"""Argument values that depend on a block input's shape: ``groups: $in.channels``.

A block written once is used at several widths (a depthwise convolution's
``groups`` equal to its input's channels, a 1×1 convolution to half of
them). The loader knows no shapes, so the expander records such a value as
a :class:`Deferred`: the expression as written, the ``$params`` it reads
(ints, or a Deferred of an enclosing block's input) and the tensors its
``$in`` / ``$NAME`` stand for. The engine resolves it when it evaluates the
layer (the tensors come before the layer in file order, so their shapes are
known), then checks the arguments once (engine/plan.py ``bind``); the torch
bridge, export, verify and run read the resolved values from the bound plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from . import expr

ShapeOf = Callable[[str], tuple]   # a tensor's path -> its shape, batch included


class DeferredError(Exception):
    """A size cannot be resolved (out of range, symbolic, division by zero): the caller locates it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Deferred:
    """One argument value computed from a block input's shape when the layer is evaluated."""

    text: str                                   # the expression as written: "$in.channels // 2"
    bindings: tuple[tuple[str, Any], ...]       # the $params it reads: ints, or a Deferred of an outer block
    tensors: tuple[tuple[str, str], ...]        # "in" (or an input's name) -> the tensor's path

    def __repr__(self) -> str:               # messages show the expression, as written
        return repr(self.text)

    def paths(self) -> set[str]:
        """Every tensor this value reads, through the parameters it was given too."""
        found = {path for _, path in self.tensors}
        for _, value in self.bindings:
            if isinstance(value, Deferred):
                found |= value.paths()
        return found

    def value(self, shape_of: ShapeOf, channels_last: bool = False) -> int:
        """The integer this expression has once the tensors' shapes are known."""
        values: dict[str, Any] = {}
        for name, bound in self.bindings:
            values[name] = bound.value(shape_of, channels_last) if isinstance(bound, Deferred) else bound
        tensors = dict(self.tensors)
        for name in expr.names(self.text):
            if not expr.is_size(name) or name in values:
                continue
            base, attr = name.split(".", 1)
            shape = shape_of(tensors[base])
            if attr == "channels":
                # torch: x.shape[1] (channels first); a Keras file: the last axis
                size, where = (shape[-1], -1) if channels_last else (shape[1], 1)
            else:
                where = int(attr[len("shape["):-1])
                if not -len(shape) <= where < len(shape):
                    raise DeferredError(f"${name} is out of range: ${base} is {len(shape)}-d "
                                        f"{_shape_text(shape)} (indices {-len(shape)}..{len(shape) - 1}, "
                                        "batch included, as torch's x.shape)")
                size = shape[where]
            values[name] = _concrete(size, name, shape)
        try:
            return expr.evaluate(self.text, values)
        except expr.ExprError as err:
            raise DeferredError(f"{err} (with {_values_text(values)})") from None


def resolve(value: Any, shape_of: ShapeOf, channels_last: bool = False) -> Any:
    """``value`` with every Deferred in it (lists, mappings too) replaced by its integer."""
    if isinstance(value, Deferred):
        return value.value(shape_of, channels_last)
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(item, shape_of, channels_last) for item in value)
    if isinstance(value, dict):
        return {key: resolve(item, shape_of, channels_last) for key, item in value.items()}
    return value


def contains(value: Any) -> bool:
    """Whether an argument value holds a Deferred anywhere."""
    if isinstance(value, Deferred):
        return True
    if isinstance(value, (list, tuple)):
        return any(contains(item) for item in value)
    if isinstance(value, dict):
        return any(contains(item) for item in value.values())
    return False


def paths(value: Any) -> set[str]:
    """The tensors every Deferred in ``value`` reads."""
    if isinstance(value, Deferred):
        return value.paths()
    if isinstance(value, (list, tuple)):
        return set().union(*(paths(item) for item in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(paths(item) for item in value.values())) if value else set()
    return set()


def _concrete(size: Any, name: str, shape: tuple) -> int:
    """A size as a Python int; a size that depends on the input's symbols (H) cannot be an argument."""
    if isinstance(size, int) and not isinstance(size, bool):
        return size
    if getattr(size, "is_Integer", False):       # sympy.Integer: a symbolic run's fixed size
        return int(size)
    raise DeferredError(f"${name} is {size}, which depends on the input's symbolic sizes "
                        f"(of {_shape_text(shape)}); an argument needs a fixed number",
                        hint="give the symbols values (--set H=224) or read a fixed size ($in.channels)")


def _shape_text(shape: tuple) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _values_text(values: dict[str, Any]) -> str:
    return ", ".join(f"${name} = {value}" for name, value in values.items()) or "no values"
