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


def _encode(value: Any, level: int) -> str:
    """``value`` as ``json.dumps(value, indent=2)`` writes it when nested ``level`` deep."""
    if isinstance(value, str):
        return _string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is dict and all(type(key) is str for key in value):
        if not value:
            return "{}"
        inner = "\n" + "  " * (level + 1)
        return ("{" + inner + ("," + inner).join(_string(key) + ": " + _encode(item, level + 1)
                                                 for key, item in value.items())
                + "\n" + "  " * level + "}")
    if type(value) in (list, tuple):
        if not value:
            return "[]"
        inner = "\n" + "  " * (level + 1)
        return "[" + inner + ("," + inner).join(_encode(item, level + 1) for item in value) + "\n" + "  " * level + "]"
    # anything else (a float, an int subclass, non-string keys): json itself, re-indented
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * level)


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
            for index, row in enumerate(report.layers):
                data = row.to_dict()
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
