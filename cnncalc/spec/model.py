"""Frozen values the loader produces and the engine consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import Loc

INPUT = "input"   # the name of the network's (or a block's) input tensor

DTYPE_BYTES = {
    "float64": 8, "double": 8, "float32": 4, "float": 4, "float16": 2, "half": 2,
    "bfloat16": 2, "int64": 8, "int32": 4, "int16": 2, "int8": 1, "uint8": 1,
}


@dataclass(frozen=True)
class LayerSpec:
    """One layer after blocks and repeats are expanded."""

    path: str                          # unique, e.g. "layer1.0.bn2"
    type_name: str                     # canonical torch name, e.g. "BatchNorm2d"
    args: Mapping[str, Any]            # the layer's own arguments, $params substituted
    inputs: tuple[str, ...]            # producer paths, or INPUT
    loc: Loc                           # where the layer is written
    arg_locs: Mapping[str, Loc] = field(default_factory=lambda: MappingProxyType({}))
    frozen: bool = False
    scopes: tuple[str, ...] = ()       # enclosing block instances, outermost first
    key_locs: Mapping[str, Loc] = field(default_factory=lambda: MappingProxyType({}))  # where each arg's name is

    @property
    def depth(self) -> int:
        return len(self.scopes)


@dataclass(frozen=True)
class NetworkSpec:
    """A whole architecture file, expanded to a flat graph in file order."""

    name: str
    input: tuple[Any, ...]             # ints, or symbol names (str)
    layers: tuple[LayerSpec, ...]
    batch: int = 1
    dtype: str = "float32"
    source: str = "<string>"
    budget: Any = None                 # the raw located 'budget' node (spec.yaml_source.YMap)
    input_loc: Loc | None = None
    scope_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # block path -> block name
    framework: str = "torch"           # whose layer names and layout: torch (channels first) or keras (channels last)

    @property
    def output(self) -> str:
        return self.layers[-1].path

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    @property
    def channels_last(self) -> bool:
        """Keras files: one sample is [*spatial, C]; torch's are [C, *spatial]."""
        return self.framework == "keras"

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(dim for dim in self.input if isinstance(dim, str))
