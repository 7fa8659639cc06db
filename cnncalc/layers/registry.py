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


def lookup(name: str, framework: str = "torch") -> LayerType | None:
    """The layer type called ``name`` (any case) in ``framework``'s names (torch, or keras), or None."""
    _load_families()
    if not isinstance(name, str):
        return None
    if framework == "keras":
        from .keras import ALIASES
        return _KERAS_BY_LOWER.get(ALIASES.get(name, name).lower())
    return _BY_LOWER.get(name.lower())


def all_types(framework: str = "torch") -> dict[str, LayerType]:
    _load_families()
    return dict(_KERAS if framework == "keras" else _TYPES)


# Keras layer names (a file with ``framework: keras``): a namespace of their own, since
# Keras's Conv2D and torch's Conv2d differ only in case and mean different layouts.
_KERAS: dict[str, LayerType] = {}
_KERAS_BY_LOWER: dict[str, LayerType] = {}


def register_keras(instance: LayerType) -> LayerType:
    if instance.name.lower() in _KERAS_BY_LOWER:
        raise ValueError(f"Keras layer type {instance.name!r} registered twice")
    _KERAS[instance.name] = instance
    _KERAS_BY_LOWER[instance.name.lower()] = instance
    return instance


_loaded = False


def _load_families() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import families  # noqa: F401  (registers every family module)
