"""Reading a file a user names, bounded before anything is spent.

Special files (``/dev/zero``, a FIFO, a symlink to either, a directory) are
refused by what ``stat`` says, before a byte is read; a regular file is read
with a byte limit, so a file that grows while it is read cannot blow memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from .errors import CnnCalcError, SpecError


def read_limited(path: str | os.PathLike, limit: int, what: str,
                 error: Callable[..., CnnCalcError] = SpecError) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), at most ``limit`` of them.

    ``what`` names the file in messages ("architecture file", "--baseline");
    ``error`` is the CnnCalcError subclass raised (SpecError for the file
    being analysed, ArgumentError for a flag's file).
    """
    from .errors import Loc
    from .text import visible
    shown = visible(str(path))
    try:
        info = os.stat(path)                           # follows symlinks: the target is what is read
    except OSError as err:
        raise error(f"{what} {shown}: cannot read it: {err.strerror or err}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{what} {shown} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else "a character device" if stat.S_ISCHR(info.st_mode)
                else "a block device" if stat.S_ISBLK(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
                else "not a regular file")
        raise error(f"{what} {shown} is {kind}; only regular files are read",
                    hint="save the content to a file first, or pipe it to standard input with '-'")
    if info.st_size > limit:
        raise error(f"{what} {shown} is {info.st_size:,} bytes; the limit is {limit:,}",
                    loc=Loc(str(path), 1, 1))
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as err:
        raise error(f"{what} {shown}: cannot read it: {err.strerror or err}") from None
    if len(data) > limit:
        raise error(f"{what} {shown} is more than {limit:,} bytes", loc=Loc(str(path), 1, 1))
    return data


def read_stream_limited(stream, limit: int, what: str, error: Callable[..., CnnCalcError] = SpecError) -> bytes:
    """At most ``limit`` bytes from a binary stream (standard input); more is an error."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise error(f"{what} is more than {limit:,} bytes")
    return data


__all__ = ["Path", "read_limited", "read_stream_limited"]
