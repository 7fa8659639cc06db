"""The analysis overrides (input shape, symbolic sizes, batch, dtype), checked in one place.

The Python API (``analyze``, ``explain``, ``check``) validates its keyword
arguments here; the command line parses its text (``--input 3,H,W``,
``--set H=512``, ``--batch 8``) into the same values and runs the same
checks, so both refuse the same things with the same words. Numbers are
parsed from ASCII digits only (``str.isdigit`` accepts ``²`` and other
Unicode digits, which ``int`` then refuses) and their length is bounded
before any conversion (Python refuses to convert ints of more than 4,300
digits, even to format them in a message).
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import ArgumentError
from .text import shown

MAX_DIM = 2**31          # the largest input size (as in the architecture file)
MAX_BATCH = 2**20        # the largest batch (as in the architecture file)
MAX_SIZES = 16           # entries of ``sizes``/``--set``: an input has at most 3 symbols
SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")      # ASCII identifiers, as in the file
_DIGITS = re.compile(r"[0-9]+\Z")                     # ASCII digits only


@dataclass(frozen=True)
class Labels:
    """How each override is named in messages: the keyword or the flag."""

    input: str
    sizes: str
    batch: str
    dtype: str


PYTHON = Labels("input=", "sizes=", "batch=", "dtype=")
CLI = Labels("--input", "--set", "--batch", "--dtype")


@dataclass(frozen=True)
class Overrides:
    """Checked overrides; None where the file's own value applies."""

    input: tuple | None = None
    sizes: dict[str, int] | None = None
    batch: int | None = None
    dtype: str | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {"input": self.input, "sizes": self.sizes, "batch": self.batch, "dtype": self.dtype}


def describe(value: object) -> str:
    """A short, safe view of any value for a message: never a huge repr, never an int too long to print."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 200:
            digits = int(value.bit_length() * math.log10(2)) + 1
            return f"an integer of about {digits:,} digits"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (str, bytes)):
        return shown(value if isinstance(value, str) else value.decode("utf-8", "replace"))
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return f"a {type(value).__name__} of {len(value):,} item{'s' if len(value) != 1 else ''}"
    return f"a {type(value).__name__}"


def ascii_int(text: str, what: str, *, low: int, high: int) -> int:
    """``text`` as an int from ASCII digits, ``low <= n <= high``; ArgumentError naming ``what`` otherwise.

    The length is checked before converting, so 5,000 digits cost nothing.
    """
    text = text.strip()
    if not _DIGITS.match(text):
        raise ArgumentError(f"{what}: expected a whole number written with the digits 0-9, found {shown(text)}")
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(high)):
        raise ArgumentError(f"{what}: {len(significant):,} digits is too large; the largest is {high:,}")
    return bounded_int(int(significant), what, low=low, high=high)


def bounded_int(value: object, what: str, *, low: int, high: int) -> int:
    """``value`` as a real integer (not a bool, a float or a string) with ``low <= value <= high``."""
    if isinstance(value, bool) or isinstance(value, (str, bytes, float)):
        number = None
    else:
        try:
            number = operator.index(value)                 # ints, numpy integers
        except TypeError:
            number = None
    if number is None:
        hint = None
        if isinstance(value, str) and _DIGITS.match(value.strip()):
            hint = f"pass the number {value.strip()}, not the string {shown(value)}"
        elif isinstance(value, float) and value.is_integer():
            hint = f"pass the integer {int(value)}"
        raise ArgumentError(f"{what}: expected an integer from {low:,} to {high:,}, found {describe(value)}",
                            hint=hint)
    if not low <= number <= high:
        raise ArgumentError(f"{what}: expected an integer from {low:,} to {high:,}, found {describe(number)}")
    return number


def check_input(value: object, label: str = PYTHON.input) -> tuple | None:
    """An input shape (batch excluded): 2 to 4 sizes, channels an int, the others ints or names."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ArgumentError(f"{label} expected a list such as [3, 224, 224] or [3, 'H', 'W'], "
                            f"found {describe(value)}")
    if not 2 <= len(value) <= 4:
        raise ArgumentError(f"{label} expected [C, L], [C, H, W] or [C, D, H, W], found {describe(value)}")
    dims: list[Any] = []
    for position, dim in enumerate(value):
        what = f"{label} size {position}"
        if isinstance(dim, str) and SYMBOL.match(dim):
            if position == 0:
                raise ArgumentError(f"{what}: the channel count must be an integer, found {shown(dim)}",
                                    hint="only spatial sizes may be names")
            dims.append(dim)
        elif isinstance(dim, str) and not _DIGITS.match(dim.strip()):
            raise ArgumentError(f"{what}: a size is a positive integer or a name such as H "
                                f"(letters, digits, _), found {shown(dim)}")
        else:
            dims.append(bounded_int(dim, what, low=1, high=MAX_DIM))
    return tuple(dims)


def check_sizes(value: object, label: str = PYTHON.sizes) -> dict[str, int] | None:
    """Values of symbolic sizes: ``{"H": 512}``; names are identifiers, sizes ints from 1 to 2**31."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ArgumentError(f"{label} expected a mapping such as {{'H': 512, 'W': 384}}, found {describe(value)}")
    if len(value) > MAX_SIZES:
        raise ArgumentError(f"{label} gives {len(value):,} sizes; an input has at most 3 symbolic sizes")
    sizes: dict[str, int] = {}
    for name, size in value.items():
        if not isinstance(name, str) or not SYMBOL.match(name):
            raise ArgumentError(f"{label} names a size by {describe(name)}; names are identifiers such as H")
        sizes[name] = bounded_int(size, f"{label} {name}", low=1, high=MAX_DIM)
    return sizes or None


def check_batch(value: object, label: str = PYTHON.batch) -> int | None:
    """A batch size from 1 to 2**20, or None for the file's."""
    if value is None:
        return None
    return bounded_int(value, label, low=1, high=MAX_BATCH)


def check_dtype(value: object, label: str = PYTHON.dtype) -> str | None:
    """One of the element types of memory figures (float32, float16, ...), or None for the file's."""
    if value is None:
        return None
    from .errors import did_you_mean
    from .spec.model import DTYPE_BYTES
    if not isinstance(value, str):
        raise ArgumentError(f"{label} expected a dtype name such as 'float32', found {describe(value)}",
                            hint=f"expected one of {', '.join(DTYPE_BYTES)}")
    if value not in DTYPE_BYTES:
        raise ArgumentError(f"{label} unknown dtype {shown(value)}",
                            hint=did_you_mean(value[:64], DTYPE_BYTES) or f"expected one of {', '.join(DTYPE_BYTES)}")
    return value


def check_overrides(*, input: object = None, sizes: object = None, batch: object = None, dtype: object = None,
                    labels: Labels = PYTHON) -> Overrides:
    """Every override checked: the one gate between a caller's values and the engine."""
    return Overrides(check_input(input, labels.input), check_sizes(sizes, labels.sizes),
                     check_batch(batch, labels.batch), check_dtype(dtype, labels.dtype))


TRAIN_KEYS = ("optimizer", "precision", "device")


def check_train(value: object, label: str = "train=") -> Any:
    """``train=``: None/False (no training step), True (adam, fp32, cuda), a mapping of
    ``optimizer``/``precision``/``device``, or an ``engine.training.TrainingOptions``; the options checked."""
    if value is None or value is False:
        return None
    from .engine.training import TrainingOptions, check_options
    if value is True:
        return TrainingOptions()
    if isinstance(value, TrainingOptions):
        options = value
    elif isinstance(value, Mapping):
        unknown = [key for key in value if key not in TRAIN_KEYS]
        if unknown:
            from .errors import did_you_mean
            key = unknown[0]
            raise ArgumentError(f"{label} unknown option {describe(key)}",
                                hint=(did_you_mean(key[:64], TRAIN_KEYS) if isinstance(key, str) else None)
                                or f"expected {', '.join(TRAIN_KEYS)}")
        options = TrainingOptions(**{key: value[key] for key in TRAIN_KEYS if key in value})
    else:
        raise ArgumentError(f"{label} expected True, False, None or a mapping such as "
                            f"{{'optimizer': 'adam', 'precision': 'bf16-mixed'}}, found {describe(value)}")
    try:
        check_options(options.optimizer, options.precision, options.device)
    except ArgumentError as err:
        raise ArgumentError(f"{label} {err.message}", hint=err.hint) from None
    if options.batch is not None:
        check_batch(options.batch, f"{label} batch")
    return options


# -- the command line's text, parsed into the same values -------------------------------

def parse_input_text(text: str | None) -> tuple | None:
    """'3,512,512', '3x512x512' or '3,H,W' -> (3, 512, 512) / (3, 'H', 'W'), checked like ``input=``."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    if len(parts) == 1 and "x" in parts[0] and not SYMBOL.match(parts[0]):
        parts = [part.strip() for part in parts[0].split("x")]
    if not 2 <= len(parts) <= 4:
        raise ArgumentError(f"--input {shown(text)}: expected sizes like 3,224,224 (names allowed: 3,H,W): "
                            f"[C, L], [C, H, W] or [C, D, H, W]")
    dims: list[Any] = []
    for position, part in enumerate(parts):
        if SYMBOL.match(part):
            dims.append(part)
        else:
            dims.append(ascii_int(part, f"--input size {position}", low=1, high=MAX_DIM))
    return check_input(tuple(dims), CLI.input)


def parse_sets_text(values: tuple[str, ...] | list[str]) -> dict[str, int] | None:
    """('H=512,W=384',) -> {'H': 512, 'W': 384}, checked like ``sizes=``."""
    sizes: dict[str, int] = {}
    for value in values:
        for item in value.split(","):
            name, sep, number = item.partition("=")
            name = name.strip()
            if not sep or not SYMBOL.match(name):
                raise ArgumentError(f"--set {shown(item)}: expected NAME=SIZE with a positive integer size, "
                                    f"e.g. H=512")
            sizes[name] = ascii_int(number, f"--set {name}", low=1, high=MAX_DIM)
            if len(sizes) > MAX_SIZES:
                raise ArgumentError(f"--set gives more than {MAX_SIZES} sizes; an input has at most 3 symbolic sizes")
    return check_sizes(sizes, CLI.sizes)


def parse_batch_text(text: str | None) -> int | None:
    """'8' -> 8 (ASCII digits, 1 to 2**20)."""
    if text is None:
        return None
    return ascii_int(text, "--batch", low=1, high=MAX_BATCH)
