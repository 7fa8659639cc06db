"""A cnncalc document written as a readable architecture file (the ``import`` command's output).

A document is the YAML file's data: ``{"name", "input", "blocks", "layers", ...}``
with each layer a ``{Type: {args}}`` mapping. Every scalar is written by
PyYAML's ``safe_dump``, so a name or string from a model is quoted as YAML
needs and can never break the file's structure; comments pass through
``text.visible`` (one line each, no control character).
"""

from __future__ import annotations

from typing import Any, Iterable

from ..text import visible


def dump(doc: dict, comments: Iterable[str] = ()) -> str:
    """The document as YAML text: blocks first, one flow-style line per layer."""
    import yaml
    head = "".join(f"# {visible(line)}\n" for line in comments)
    top = {k: _plain(v) for k, v in doc.items() if k not in ("blocks", "layers")}
    parts = [head, yaml.safe_dump(top, sort_keys=False, default_flow_style=None, width=100_000)]
    blocks = doc.get("blocks") or {}
    if blocks:
        parts.append("\nblocks:\n")
        for name, body in blocks.items():
            parts.append(f"  {_flow(name)}:\n")
            for key in ("params", "sequential"):
                if key in body:
                    parts.append(f"    {key}: {_flow(_plain(body[key]))}\n")
            parts.append("    layers:\n")
            parts.extend(f"      - {_layer(item)}\n" for item in body["layers"])
    parts.append("\nlayers:\n")
    parts.extend(f"  - {_layer(item)}\n" for item in doc["layers"])
    return "".join(parts)


def _flow(value: Any) -> str:
    """One value as a single line of flow-style YAML, quoted by safe_dump where needed."""
    import yaml
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=100_000)
    if text.endswith("\n...\n"):                 # a plain scalar ends its document explicitly
        text = text[:-len("\n...\n")]
    return text.strip()


def _layer(item: Any) -> str:
    """``- Conv2d: {out_channels: 64, kernel_size: 3}``: a bare type, or a one-key mapping without its braces."""
    if isinstance(item, str):
        return _flow(item)
    text = _flow(_plain(item))
    assert text.startswith("{") and text.endswith("}") and len(item) == 1
    return text[1:-1]


def _plain(value: Any) -> Any:
    """Tuples as lists (safe_dump refuses tuples), recursively."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
