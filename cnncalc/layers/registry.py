"""Layer types by name: torch class names, matched case-insensitively."""

from __future__ import annotations

from .base import LayerType

_TYPES: dict[str, LayerType] = {}
_BY_LOWER: dict[str, LayerType] = {}


def register(cls: type[LayerType]) -> type[LayerType]:
    """Class decorator: instantiate and register a layer type under ``cls.name``."""
    instance = cls()
    register_instance(instance)
    return cls


def register_instance(instance: LayerType) -> LayerType:
    name = instance.name
    if not name:
        raise ValueError(f"{type(instance).__name__} has no name")
    if name.lower() in _BY_LOWER:
        raise ValueError(f"layer type {name!r} registered twice")
    _TYPES[name] = instance
    _BY_LOWER[name.lower()] = instance
    return instance


def lookup(name: str) -> LayerType | None:
    """The layer type called ``name`` (any case), or None."""
    _load_families()
    return _BY_LOWER.get(name.lower()) if isinstance(name, str) else None


def all_types() -> dict[str, LayerType]:
    _load_families()
    return dict(_TYPES)


_loaded = False


def _load_families() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import families  # noqa: F401  (registers every family module)
