"""YAML -> a tree of frozen nodes that remember file:line:col.

PyYAML composes the document (safe tags only, C parser where available);
we construct scalars with the safe constructor and keep every node's start
mark. Duplicate keys, merge keys and custom tags are errors. Aliases are
allowed but the expanded tree is bounded (no "billion laughs").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

import yaml

from ..errors import Loc, SpecError
from ..text import cut, shown

MAX_SOURCE_BYTES = 4 * 2**20      # a 4 MiB architecture file is already absurd
MAX_NODES = 200_000                # after alias expansion
MAX_DEPTH = 100                    # nested lists and mappings
MAX_INT = 2**63                    # torch sizes are int64; also keeps repr() of ints cheap
MAX_INT_CHARS = 100                # an int scalar longer than this is refused unread: int() of 5,000
                                   # digits raises, and str() of one in a message would raise too

class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, plus YAML 1.2 floats: 1e-5 is a number (YAML 1.1 needs 1.0e-5)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


class _Resolver(yaml.resolver.Resolver):
    """The loader's implicit tags, to tell a plain scalar's implicit tag from one the file wrote."""

    yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


_RESOLVER = _Resolver()
_CORE = "tag:yaml.org,2002:"
_STR = _CORE + "str"
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
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        raise SpecError(
            f"file is {size:,} bytes; architecture files are limited to {MAX_SOURCE_BYTES:,}",
            loc=Loc(filename, 1, 1),
        )
    try:
        # Bound depth and size on the event stream first: libyaml's composer
        # recurses in C (a few thousand '[' crash the process) and composing
        # a huge document is slow; the events are cheap and flat.
        aliases = _prescan(text, filename)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        loc = Loc(filename, mark.line + 1, mark.column + 1) if mark else Loc(filename, 1, 1)
        problem = err.problem or err.context or "invalid YAML"
        raise SpecError(f"YAML syntax error: {problem}", loc=loc,
                        hint="check indentation and that every mapping uses 'key: value'") from None
    except yaml.reader.ReaderError as err:    # a control character: no mark, only a position
        position = err.position if isinstance(err.position, int) else 0
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        char = chr(err.character) if isinstance(err.character, int) else str(err.character)
        raise SpecError(f"invalid character {char!r} in the file: {cut(err.reason)}", loc=Loc(filename, line, col),
                        hint="architecture files are plain UTF-8 text") from None
    except yaml.YAMLError as err:  # pragma: no cover - other errors without marks
        raise SpecError(f"YAML error: {' '.join(str(err).split())}", loc=Loc(filename, 1, 1)) from None
    except UnicodeError as err:               # lone surrogates cannot be encoded for libyaml
        position = getattr(err, "start", 0) if isinstance(err.object, str) else 0
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        raise SpecError(f"the text is not valid Unicode: {err.reason}", loc=Loc(filename, line, col),
                        hint="architecture files are plain UTF-8 text") from None
    if root is None:
        raise SpecError("the file is empty; expected a mapping with at least 'input' and 'layers'",
                        loc=Loc(filename, 1, 1))
    if aliases:          # without aliases the tree is what the prescan counted and bounded: no walk needed
        _expanded_size(root, filename, {}, set(), depth=0)
    budget = [MAX_NODES]
    constructor = yaml.constructor.SafeConstructor()
    return _convert(root, filename, constructor, budget, depth=0)


def _prescan(text: str, filename: str) -> bool:
    """Reject a second document, or one nested too deep or with too many nodes, before composing.
    Returns whether the document has an alias (only then can its tree be larger than its text)."""
    depth = nodes = documents = 0
    aliases = False
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise SpecError("a second YAML document starts here; an architecture file holds one document",
                                loc=Loc(filename, event.start_mark.line + 1, event.start_mark.column + 1),
                                hint="remove the '---' line and what follows, or put each network in its own file")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            nodes += 1
            if depth > MAX_DEPTH:
                raise SpecError(f"the document is nested more than {MAX_DEPTH} levels deep",
                                loc=Loc(filename, event.start_mark.line + 1, event.start_mark.column + 1))
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
        elif isinstance(event, yaml.AliasEvent):
            nodes += 1
            aliases = True
        if nodes > MAX_NODES:
            raise SpecError(f"the document has more than {MAX_NODES:,} nodes",
                            loc=Loc(filename, event.start_mark.line + 1, event.start_mark.column + 1))
    return aliases


def _expanded_size(node: yaml.Node, filename: str, memo: dict[int, int], active: set[int], depth: int) -> int:
    """Nodes after alias expansion, counted once per shared node (billion laughs fail fast)."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise SpecError("a YAML alias refers to a node that contains it (infinite document)",
                        loc=_loc(node, filename))
    if depth > MAX_DEPTH:
        raise SpecError(f"the document is nested more than {MAX_DEPTH} levels deep (through aliases)",
                        loc=_loc(node, filename))
    total = 1
    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
        active.add(key)
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [child for pair in node.value for child in pair]
        for child in children:
            total += _expanded_size(child, filename, memo, active, depth + 1)
            if total > MAX_NODES:
                raise SpecError(f"the document expands to more than {MAX_NODES:,} nodes "
                                "(aliases repeated too often?)", loc=_loc(node, filename))
        active.discard(key)
    memo[key] = total
    return total


def _loc(node: yaml.Node, filename: str) -> Loc:
    return Loc(filename, node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(node: yaml.Node, filename: str, constructor, budget: list[int], depth: int) -> YNode:
    budget[0] -= 1
    loc = _loc(node, filename)
    if budget[0] < 0:
        raise SpecError(f"the document expands to more than {MAX_NODES:,} nodes (aliases repeated too often?)",
                        loc=loc)
    if depth > MAX_DEPTH:
        raise SpecError(f"the document is nested more than {MAX_DEPTH} levels deep", loc=loc)
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in _SAFE_TAGS:
            raise _tag_error(node, loc)
        if node.tag == _CORE + "int" and len(node.value) > MAX_INT_CHARS:
            raise SpecError(f"integer of {len(node.value):,} characters ({node.value[:20]}…) is too large; "
                            "integers must lie within ±2**63", loc=loc)
        try:
            # a string is its text (SafeConstructor's construct_yaml_str returns node.value); the other
            # safe tags go through the constructor
            value = node.value if node.tag == _STR else constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as err:
            raise SpecError(f"cannot read the value {shown(node.value, 40)}: {cut(err, 200)}", loc=loc,
                            hint="quote it if it is text") from None
        if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT < value < MAX_INT:
            raise SpecError(f"integer {cut(node.value, 40)} is too large; integers must lie within ±2**63",
                            loc=loc)
        return YScalar(value, loc)
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _CORE + "seq":
            raise _tag_error(node, loc)
        return YSeq(tuple(_convert(item, filename, constructor, budget, depth + 1) for item in node.value), loc)
    if isinstance(node, yaml.MappingNode):
        if node.tag != _CORE + "map":
            raise _tag_error(node, loc)
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
                raise SpecError(f"duplicate key {shown(key.value)} (first defined at line {seen[key.value].line})",
                                loc=key.loc)
            seen[key.value] = key.loc
            items.append((key, _convert(value_node, filename, constructor, budget, depth + 1)))
        return YMap(tuple(items), loc)
    raise SpecError(f"unsupported YAML node {type(node).__name__}", loc=loc)  # pragma: no cover


_IMPLICIT = {        # what a plain scalar with a non-safe implicit tag was read as, and what to do
    _CORE + "timestamp": "is read by YAML as a date",
    _CORE + "value": "is read by YAML as its value key",
    _CORE + "merge": "is read by YAML as a merge key",
}


def _tag_error(node: yaml.Node, loc: Loc) -> SpecError:
    """The error for a node whose tag is not plain data: a date YAML guessed, or a tag the file wrote."""
    tag = node.tag
    short = "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
    if isinstance(node, yaml.ScalarNode) and tag in _IMPLICIT:
        plain_style = node.style in (None, "")          # libyaml says "", PyYAML None
        implicit = _RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False)) if plain_style else None
        if implicit == tag:                              # the file did not write the tag: YAML guessed it
            text = cut(node.value, 40).replace('"', '\\"')
            return SpecError(f"{shown(node.value, 40)} {_IMPLICIT[tag]}, which architecture files do not use",
                             loc=loc, hint=f'quote it to make it text: "{text}"')
    return SpecError(f"the YAML tag {shown(short, 60)} is not supported", loc=loc,
                     hint="remove the tag: architecture files hold plain numbers, strings, lists and mappings")
