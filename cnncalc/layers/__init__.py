"""The layer library: one module per family, each type registered once by name."""

from .base import LayerType, Outcome
from .registry import all_types, lookup

__all__ = ["LayerType", "Outcome", "all_types", "lookup"]
