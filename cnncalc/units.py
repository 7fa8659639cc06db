"""Exact parsing and printing of counts (5M, 4.089G) and byte sizes (64MiB).

Counts take the SI suffixes K M G T (powers of 1000); byte sizes take KB MB
GB TB (1000) and KiB MiB GiB TiB (1024). Parsing is exact: ``"4.089G"`` is
the integer 4_089_000_000, via :class:`fractions.Fraction`, never a float.
Numbers take ASCII digits only and at most MAX_DIGITS of them, checked before
anything is converted (Python refuses ints of more than 4,300 digits, even in
an f-string, and a 5,000-digit limit means nothing anyway).
"""

from __future__ import annotations

import re
from fractions import Fraction

from .errors import ArgumentError

COUNT_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BYTE_SUFFIXES = {
    "": 1, "B": 1,
    "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}
_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*$")
MAX_DIGITS = 40           # digits of a limit (10**40 is far beyond any network's total)
MAX_TEXT = 100            # characters of a limit's text, checked before the pattern runs


def _parse(text: object, suffixes: dict[str, int], kind: str, other: dict[str, int]) -> int:
    from .overrides import describe
    from .text import shown
    if isinstance(text, bool):
        raise ArgumentError(f"expected a {kind}, found {text!r}")
    if isinstance(text, int):
        if abs(text) >= 10**MAX_DIGITS:
            raise ArgumentError(f"expected a {kind} of at most {MAX_DIGITS} digits, found {describe(text)}")
        if text < 0:
            raise ArgumentError(f"expected a non-negative {kind}, found {text}")
        return text
    if isinstance(text, float):
        text = repr(text)
    if not isinstance(text, str):
        raise ArgumentError(f"expected a {kind} such as {_example(kind)}, found {describe(text)}")
    if len(text) > MAX_TEXT:
        raise ArgumentError(f"expected a {kind} such as {_example(kind)} of at most {MAX_DIGITS} digits, "
                            f"found {len(text):,} characters ({shown(text, 40)})")
    match = _NUMBER.match(text)
    if not match:
        raise ArgumentError(f"expected a {kind} such as {_example(kind)}, found {shown(text)}")
    number, suffix = match.groups()
    if sum(char.isdigit() for char in number) > MAX_DIGITS:
        raise ArgumentError(f"{shown(text, 40)}: a {kind} has at most {MAX_DIGITS} digits")
    key = suffix.upper()
    if key not in suffixes:
        if key in other:
            if kind == "count":
                hint = f"{suffix!r} is a byte unit; a count takes K M G T (e.g. '5M')"
            else:
                hint = f"{suffix!r} is a count suffix; a byte size takes KB MB GB or KiB MiB GiB (e.g. '64MiB')"
            raise ArgumentError(f"{shown(text)}: {hint}")
        valid = " ".join(k for k in suffixes if k and k != "B") if kind == "count" else "KB MB GB TB KiB MiB GiB TiB"
        raise ArgumentError(f"{shown(text)}: unknown suffix {shown(suffix)}; use one of {valid}")
    value = Fraction(number) * suffixes[key]
    if value.denominator != 1:
        raise ArgumentError(f"{shown(text)} is not a whole number of {'bytes' if kind != 'count' else 'units'}")
    return int(value)


def _example(kind: str) -> str:
    return "'5M' or 1200000" if kind == "count" else "'64MiB' or '48MB'"


def parse_count(text: object) -> int:
    """'5M' -> 5_000_000; '4.089G' -> 4_089_000_000; 12 -> 12."""
    return _parse(text, COUNT_SUFFIXES, "count", {k: v for k, v in BYTE_SUFFIXES.items() if k not in COUNT_SUFFIXES})


def parse_bytes(text: object) -> int:
    """'64MiB' -> 67_108_864; '48MB' -> 48_000_000; 1024 -> 1024."""
    return _parse(text, BYTE_SUFFIXES, "byte size", {"K": 1, "M": 1, "G": 1, "T": 1})


def format_count(value: int | None) -> str:
    """Human form of a count: 25557032 -> '25.56M', 4089184256 -> '4.09G'."""
    if value is None:
        return "-"
    if not isinstance(value, int):
        return str(value)
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if magnitude.bit_length() > _HUGE_BITS:
        return f"{sign}{_huge(magnitude)}"
    for suffix, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if magnitude >= scale:
            return f"{sign}{_short(magnitude / scale)}{suffix}"
    return f"{sign}{magnitude}"


_HUGE_BITS = 1000        # beyond this an int no longer fits a float: shown by its order of magnitude


def _huge(magnitude: int) -> str:
    """'~10^1234' for an int too large for a float (and perhaps too long for str())."""
    return f"~10^{int(magnitude.bit_length() * 0.30102999566398120)}"


def _short(x: float) -> str:
    if x >= 100:
        return f"{x:.1f}"
    if x >= 10:
        return f"{x:.2f}"
    return f"{x:.3f}"


def format_bytes(value: int | None) -> str:
    """Human form of a byte size in binary units: 102760448 -> '98.00 MiB'."""
    if value is None:
        return "-"
    if not isinstance(value, int):
        return str(value)
    if abs(value).bit_length() > _HUGE_BITS:
        return f"{'-' if value < 0 else ''}{_huge(abs(value))} B"
    for suffix, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:.2f} {suffix}"
    return f"{value} B"
