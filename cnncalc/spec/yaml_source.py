"""YAML -> a tree of frozen nodes that remember file:line:col.

PyYAML composes the document (safe tags only, C parser where available);
we construct scalars with the safe constructor and keep every node's start
mark. Duplicate keys, merge keys and custom tags are errors. Aliases are
allowed but the expanded tree is bounded (no "billion laughs").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import yaml

from ..errors import Loc, SpecError

MAX_SOURCE_BYTES = 4 * 2**20      # a 4 MiB architecture file is already absurd
MAX_NODES = 200_000                # after alias expansion

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SAFE_TAGS = {
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float", "tag:yaml.org,2002:str",
}


@dataclass(frozen=True)
class YScalar:
    value: Any
    loc: Loc


@dataclass(frozen=True)
class YSeq:
    items: tuple["YNode", ...]
    loc: Loc


@dataclass(frozen=True)
class YMap:
    items: tuple[tuple[YScalar, "YNode"], ...]
    loc: Loc

    def get(self, key: str) -> "YNode | None":
        for k, v in self.items:
            if k.value == key:
                return v
        return None

    def keys(self) -> list[str]:
        return [k.value for k, _ in self.items]


YNode = Union[YScalar, YSeq, YMap]


def plain(node: YNode) -> Any:
    """The node as plain Python values (dicts, lists, scalars), locations dropped."""
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YSeq):
        return [plain(item) for item in node.items]
    return {k.value: plain(v) for k, v in node.items}


def parse_yaml(text: str, filename: str) -> YNode:
    """Compose ``text`` into located nodes; raise SpecError with file:line:col."""
    if len(text) > MAX_SOURCE_BYTES:
        raise SpecError(
            f"file is {len(text):,} bytes; architecture files are limited to {MAX_SOURCE_BYTES:,}",
            loc=Loc(filename, 1, 1),
        )
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        loc = Loc(filename, mark.line + 1, mark.column + 1) if mark else Loc(filename, 1, 1)
        problem = err.problem or err.context or "invalid YAML"
        raise SpecError(f"YAML syntax error: {problem}", loc=loc,
                        hint="check indentation and that every mapping uses 'key: value'") from None
    except yaml.YAMLError as err:  # pragma: no cover - reader errors without marks
        raise SpecError(f"YAML error: {err}", loc=Loc(filename, 1, 1)) from None
    if root is None:
        raise SpecError("the file is empty; expected a mapping with at least 'input' and 'layers'",
                        loc=Loc(filename, 1, 1))
    budget = [MAX_NODES]
    constructor = yaml.constructor.SafeConstructor()
    return _convert(root, filename, constructor, budget, depth=0)


def _loc(node: yaml.Node, filename: str) -> Loc:
    return Loc(filename, node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: yaml.Node, filename: str, constructor, budget: list[int], depth: int) -> YNode:
    budget[0] -= 1
    loc = _loc(node, filename)
    if budget[0] < 0:
        raise SpecError(f"the document expands to more than {MAX_NODES:,} nodes (aliases repeated too often?)",
                        loc=loc)
    if depth > 100:
        raise SpecError("the document is nested more than 100 levels deep", loc=loc)
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in _SAFE_TAGS:
            raise SpecError(f"unsupported YAML tag {node.tag!r}", loc=loc,
                            hint="architecture files hold plain numbers, strings, lists and mappings")
        try:
            value = constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as err:
            raise SpecError(f"invalid scalar {node.value!r}: {err}", loc=loc) from None
        return YScalar(value, loc)
    if isinstance(node, yaml.SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            raise SpecError(f"unsupported YAML tag {node.tag!r}", loc=loc)
        return YSeq(tuple(_convert(item, filename, constructor, budget, depth + 1) for item in node.value), loc)
    if isinstance(node, yaml.MappingNode):
        if node.tag != "tag:yaml.org,2002:map":
            raise SpecError(f"unsupported YAML tag {node.tag!r}", loc=loc)
        items = []
        seen: dict[Any, Loc] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SpecError("YAML merge keys ('<<') are not supported", loc=_loc(key_node, filename),
                                hint="use a block with params to reuse layers")
            key = _convert(key_node, filename, constructor, budget, depth + 1)
            if not isinstance(key, YScalar):
                raise SpecError("a mapping key must be a plain name", loc=key.loc)
            try:
                hash(key.value)
            except TypeError:  # pragma: no cover - scalars are hashable
                raise SpecError("a mapping key must be a plain name", loc=key.loc) from None
            if key.value in seen:
                raise SpecError(f"duplicate key {key.value!r} (first defined at line {seen[key.value].line})",
                                loc=key.loc)
            seen[key.value] = key.loc
            items.append((key, _convert(value_node, filename, constructor, budget, depth + 1)))
        return YMap(tuple(items), loc)
    raise SpecError(f"unsupported YAML node {type(node).__name__}", loc=loc)  # pragma: no cover
