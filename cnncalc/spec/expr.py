"""Integer expressions in block arguments: ``"$mid * 4"``, ``"($c + 1) // 2"``.

A tiny recursive-descent parser over ints, ``$names``, ``+ - * //`` and
parentheses. Never ``eval``: a file cannot run code. A name may also be a
block input's size, ``$in.channels`` or ``$in.shape[2]`` (torch's
``x.shape[2]``, batch included): such a name is looked up as the key
``"in.channels"`` / ``"in.shape[2]"``, which the expander leaves to the
evaluation (spec/deferred.py), where the input's shape is known.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..text import cut, shown

_TOKEN = re.compile(r"\s*(?:([0-9]+)|\$([A-Za-z_][A-Za-z0-9_]*)(?:\.(channels|shape\[\s*(-?[0-9]{1,6})\s*\]))?"
                    r"|(//|[-+*()]))")
SIZE_ATTRS = "$in.channels, $in.shape[i]"   # how a block input's sizes are written (for messages)
LIMIT = 2**63
MAX_LENGTH = 1000      # characters: keeps the recursive-descent parser's depth bounded
MAX_NESTING = 100      # parentheses and unary minus


class ExprError(Exception):
    def __init__(self, message: str, unknown: str | None = None) -> None:
        super().__init__(message)
        self.unknown = unknown          # an unknown $name, for a did-you-mean hint


def evaluate(text: str, params: Mapping[str, Any], dry: bool = False) -> int:
    """The value of ``text`` with ``params`` substituted; ExprError (bounded, located by the caller) otherwise.

    ``dry``: only check the syntax (every value 1, no division-by-zero or bound check), for
    expressions whose sizes are known only when evaluating.
    """
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression of {len(text):,} characters is too long (at most {MAX_LENGTH:,})")
    tokens = _tokenize(text)
    parser = _Parser(tokens, params, text)
    parser.dry = dry
    value = parser.expr()
    if parser.pos != len(tokens):
        raise ExprError(f"unexpected {shown(tokens[parser.pos][1])} in expression {shown(text)}")
    return value


def names(text: str) -> list[str]:
    """The names an expression reads, in order: parameters (``mid``) and input sizes (``in.channels``)."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression of {len(text):,} characters is too long (at most {MAX_LENGTH:,})")
    return [value for kind, value in _tokenize(text) if kind == "name"]


def is_size(name: str) -> bool:
    """A name that stands for a block input's size (``in.channels``, ``x.shape[-1]``), not a parameter."""
    return "." in name


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if not match:
            raise ExprError(f"cannot read {shown(stripped[pos:].strip(), 30)} in expression {shown(text)}; "
                            f"expressions use integers, $params, {SIZE_ATTRS}, + - * // and parentheses")
        number, name, attr, index, op = match.groups()
        if number is not None:
            if len(number.lstrip("0")) > 19 or int(number.lstrip("0") or "0") >= LIMIT:
                raise ExprError(f"number {number[:30]}{'...' if len(number) > 30 else ''} in expression "
                                f"{shown(text)} exceeds 2**63")
            tokens.append(("int", int(number.lstrip("0") or "0")))
        elif name is not None:
            if attr is None:
                tokens.append(("name", name))
            else:                    # a block input's size: one canonical key per size
                tokens.append(("name", f"{name}.channels" if attr == "channels" else f"{name}.shape[{int(index)}]"))
        else:
            tokens.append(("op", op))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens, params, text):
        self.tokens, self.params, self.text, self.pos = tokens, params, text, 0
        self.nesting = 0
        self.dry = False

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def expr(self) -> int:
        value = self.term()
        while self._peek() in (("op", "+"), ("op", "-")):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self.term()
            value = value + right if op == "+" else value - right
            self._bound(value)
        return value

    def term(self) -> int:
        value = self.unary()
        while self._peek() in (("op", "*"), ("op", "//")):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self.unary()
            if op == "*":
                value = value * right
            else:
                if self.dry:
                    continue
                if right == 0:
                    raise ExprError(f"division by zero in expression {shown(self.text)}")
                value = value // right
            self._bound(value)
        return value

    def unary(self) -> int:
        if self._peek() == ("op", "-"):
            self.pos += 1
            self._nest()
            value = -self.unary()
            self.nesting -= 1
            return value
        return self.atom()

    def _nest(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ExprError(f"expression {shown(self.text)} nests more than {MAX_NESTING} deep")

    def atom(self) -> int:
        kind, value = self._peek()
        if kind is None:
            raise ExprError(f"expression {shown(self.text)} ends too early")
        self.pos += 1
        if kind == "int":
            return value
        if kind == "name":
            if self.dry:
                return 1
            if value not in self.params:
                raise ExprError(f"unknown parameter {shown('$' + value)} in expression {shown(self.text)}",
                                unknown=value)
            param = self.params[value]
            if isinstance(param, bool) or not isinstance(param, int):
                raise ExprError(f"${cut(value)} is {_describe(param)}, not an integer, "
                                f"in expression {shown(self.text)}")
            self._bound(param)
            return param
        if value == "(":
            self._nest()
            inner = self.expr()
            self.nesting -= 1
            if self._peek() != ("op", ")"):
                raise ExprError(f"missing ')' in expression {shown(self.text)}")
            self.pos += 1
            return inner
        raise ExprError(f"unexpected {shown(value)} in expression {shown(self.text)}")

    def _bound(self, value: int) -> None:
        if abs(value) >= LIMIT and not self.dry:
            raise ExprError(f"expression {shown(self.text)} exceeds 2**63")


def _describe(value: Any) -> str:
    """A parameter's value for a message, bounded whatever it holds."""
    if isinstance(value, (list, dict)):
        kind = "list" if isinstance(value, list) else "mapping"
        return f"a {kind} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return shown(value) if isinstance(value, str) else cut(value)
