"""The memory limit of the commands that allocate (`verify`, `run`): refuse a
run whose analytic memory estimate is above it, before anything is allocated.

The default is min(8 GiB, half of the RAM available now): a file (or a
``--batch``) cannot make cnncalc swap the machine to a halt. ``--max-memory``
(parsed by :func:`cnncalc.units.parse_bytes`: ``16GiB``, ``500MB``) changes it.
"""

from __future__ import annotations

import os
from typing import Iterable

from .errors import ArgumentError
from .units import format_bytes, parse_bytes

DEFAULT_CAP = 8 * 2**30


def available_ram() -> int | None:
    """Bytes of RAM available now (Linux: MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def default_limit() -> int:
    """min(8 GiB, half of the available RAM)."""
    ram = available_ram()
    return DEFAULT_CAP if not ram else min(DEFAULT_CAP, ram // 2)


def resolve_limit(value: object) -> int:
    """``None`` -> the default; ``"16GiB"`` / ``500_000_000`` -> bytes (ArgumentError otherwise)."""
    if value is None:
        return default_limit()
    try:
        limit = parse_bytes(value)
    except ArgumentError as err:
        raise ArgumentError(f"--max-memory: {err.message}", hint=err.hint or "e.g. --max-memory 16GiB") from None
    if limit < 1:
        raise ArgumentError(f"--max-memory {value!r}: the limit must be positive")
    return limit


def refuse_above(what: str, parts: Iterable[tuple[str, int]], limit: int, hint: str,
                 python: str = "max_memory") -> int:
    """The sum of ``parts`` (name, bytes); ArgumentError naming the figure and
    ``--max-memory`` when it is above ``limit``."""
    parts = [(name, int(size)) for name, size in parts]
    total = sum(size for _, size in parts)
    if total > limit:
        shown = ", ".join(f"{name} {format_bytes(size)}" for name, size in parts if size)
        raise ArgumentError(
            f"{what} needs about {format_bytes(total)} ({shown}), above the memory limit of "
            f"{format_bytes(limit)}",
            hint=f"{hint}, or raise the limit with --max-memory (e.g. --max-memory {_suggest(total)}; "
                 f"Python: {python}=...)")
    return total


def _suggest(total: int) -> str:
    gib = -(-total // 2**30)
    return f"{gib}GiB"
