"""Text that came from a file, made safe to show: one place for every view.

Anything a file controls (a network or layer name, a type, a path) may hold
newlines, ESC sequences or other control characters, or be 100,000 characters
long. ``visible`` shows control characters as escapes (``\\n``, ``\\x1b``), so
nothing reaches a terminal, a CI log or a table raw; ``cut`` bounds length.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi
# overrides that reorder what a terminal shows (CVE-2021-42574, "Trojan Source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

MAX_SHOWN = 80          # characters of one file-controlled token in a message


def _escape(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` with every control character shown as an escape: one line, nothing raw."""
    text = str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def cut(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` made visible and cut to ``limit`` characters, saying how much was left out."""
    shown = visible(text)
    if len(shown) <= limit:
        return shown
    return f"{shown[:limit]}… ({len(shown):,} characters)"


def shown(text: object, limit: int = MAX_SHOWN) -> str:
    """A user's string quoted for a message: ``repr`` escapes every non-printable character; long ones cut."""
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"
