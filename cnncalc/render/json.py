"""SPEC §3: the report as one JSON object, written as it is produced.

``json_chunks`` yields exactly the text of ``json.dumps(report.to_dict(),
indent=2)``, one layer at a time: the whole dict of 100,000 layers and its
57 MB string never exist at once. The layout is json's own (indent 2,
``", "``/``": "`` separators, ASCII escapes via json's C string encoder);
tests compare the two byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
from json.encoder import encode_basestring_ascii as _string   # json's own (C) string escaper
from typing import Any, Iterator

from ..report import Layers, Report, json_value


class _Encoded(str):
    """A value's JSON text, already encoded at the level it is placed (written as it is)."""


def _encode(value: Any, level: int) -> str:
    """``value`` as ``json.dumps(value, indent=2)`` writes it when nested ``level`` deep."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is _Encoded:
        return value
    if kind is int:
        return int.__repr__(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is dict and all(type(key) is str for key in value):
        if not value:
            return "{}"
        inner = "\n" + "  " * (level + 1)
        # str and int values inline: a 100,000-layer report has 1.8 M of them, a call each otherwise
        return ("{" + inner + ("," + inner).join(
            _string(key) + ": " + (_string(item) if type(item) is str else int.__repr__(item) if type(item) is int
                                   else _encode(item, level + 1))
            for key, item in value.items()) + "\n" + "  " * level + "}")
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        flat = all(type(item) is int for item in value)
        if flat:
            key = (level, tuple(value))
            text = _FLAT.get(key)
            if text is not None:
                return text
        inner = "\n" + "  " * (level + 1)
        text = ("[" + inner + ("," + inner).join(
            _string(item) if type(item) is str else int.__repr__(item) if type(item) is int
            else _encode(item, level + 1) for item in value) + "\n" + "  " * level + "]")
        if flat and len(_FLAT) < _FLAT_LIMIT:
            _FLAT[key] = text
        return text
    # anything else (a float, an int subclass, non-string keys): json itself, re-indented
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * level)


# Texts of short lists of ints (shapes, field sizes), which repeat from layer to layer; bounded
_FLAT: dict[tuple, str] = {}
_FLAT_LIMIT = 100_000
_FIELD_TEXTS_LIMIT = 10_000      # distinct receptive fields kept per report


def encode(value: Any) -> str:
    """``json.dumps(value, indent=2)``, faster for the plain values a report holds."""
    return _encode(value, 0)


def json_chunks(report: Report) -> Iterator[str]:
    """The report's JSON text in pieces (no final newline, as json.dumps)."""
    head = dataclasses.replace(report, layers=Layers()).to_dict()     # every key but the layers' contents
    yield "{"
    separator = "\n  "
    for key, value in head.items():
        yield separator + _string(key) + ": "
        separator = ",\n  "
        if key == "layers" and report.layers:
            yield "["
            inner = "\n    "
            steps = report.training.layers if report.training is not None else ()
            # each distinct receptive field encoded once (a chain of ReLUs passes one field on and on:
            # 2,000 distinct fields among 100,000 layers, and encoding them was 38% of the text's time)
            field_texts: dict[Any, _Encoded] = {}
            for index, row in enumerate(report.layers):
                field = row.receptive_field
                field_text = field_texts.get(field)
                if field_text is None:
                    field_text = _Encoded(_encode(field.to_dict(), 3))
                    if len(field_texts) < _FIELD_TEXTS_LIMIT:
                        field_texts[field] = field_text
                data = row.to_dict(receptive_field=field_text)
                if steps:                       # Report.to_dict's per-layer "training" object
                    data["training"] = {k: json_value(v) for k, v in steps[index].to_dict().items()}
                yield inner + _encode(data, 2)
                inner = ",\n    "
            yield "\n  ]"
        else:
            yield _encode(value, 1)
    yield "\n}"


def render_json(report: Report) -> str:
    return "".join(json_chunks(report))
