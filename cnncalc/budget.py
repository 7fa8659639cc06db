"""Model budgets: limits on a network's totals, checked analytically (issue #5).

A limit comes from the architecture file's ``budget:`` section (SPEC §1), from
a command-line flag or a keyword argument (which override the file), or from
a baseline report (``cnncalc summarize --format json`` saved earlier) that a
total may not outgrow by more than ``max_growth``.

    >>> import cnncalc
    >>> result = cnncalc.check("examples/resnet18.yaml", params="12M")
    >>> result.ok
    True
    >>> cnncalc.check("examples/resnet18.yaml", params="11M", strict=True)
    Traceback (most recent call last):
    ...
    cnncalc.errors.BudgetExceeded: resnet18 exceeds its budget: params
    resnet18 — examples/resnet18.yaml, input [1, 3, 224, 224], float32
    ...

Every figure is an exact integer; a limit such as ``"4.1G"`` is parsed
exactly (cnncalc.units). A total that is still symbolic (input ``[3, H, W]``)
cannot be compared: give the sizes values (``--set H=224,W=224``).
"""

from __future__ import annotations

import glob
import io
import json
import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import ArgumentError, BudgetExceeded, CnnCalcError, Loc, SpecError, did_you_mean
from .overrides import Labels, check_overrides, describe
from .report import Report, json_value
from .text import cut, shown, visible
from .units import MAX_DIGITS, format_bytes, format_count, parse_bytes, parse_count

# -- what can be limited ---------------------------------------------------------

# check name -> (attribute of Totals, unit, command-line flag, keyword of check())
LIMITS: dict[str, tuple[str, str, str, str]] = {
    "params": ("params", "count", "--max-params", "params"),
    "trainable_params": ("trainable_params", "count", "--max-trainable-params", "trainable_params"),
    "macs": ("macs", "count", "--max-macs", "macs"),
    "flops": ("flops", "count", "--max-flops", "flops"),
    "param_memory": ("param_bytes", "bytes", "--max-param-memory", "param_memory"),
    "activation_memory": ("peak_activation_bytes", "bytes", "--max-activation-memory", "activation_memory"),
    # the peak of one training step (report.training.peak_bytes, docs/training.md), at the batch,
    # optimizer and precision the limit names (else --batch/--optimizer/--precision, else the file's, adam, fp32)
    "train_memory": ("training.peak_bytes", "bytes", "--max-train-memory", "train_memory"),
    "receptive_field.min": ("receptive_field", "size", "--min-rf", "min_rf"),
    "receptive_field.max": ("receptive_field", "size", "--max-rf", "max_rf"),
}
BUDGET_KEYS = ("params", "trainable_params", "macs", "flops", "param_memory", "activation_memory",
               "train_memory", "receptive_field")
TRAIN_MEMORY_KEYS = ("limit", "batch", "optimizer", "precision", "device")
RF_KEYS = ("min", "max")
# names users reach for that mean one of the budget keys
_ALIASES = {
    "param_bytes": "param_memory", "parameter_memory": "param_memory", "weights_memory": "param_memory",
    "peak_activation_bytes": "activation_memory", "activation_bytes": "activation_memory",
    "peak_memory": "activation_memory", "memory": "activation_memory", "parameters": "params",
    "num_params": "params", "mac": "macs", "flop": "flops", "rf": "receptive_field",
    "receptive_fields": "receptive_field", "field": "receptive_field",
    "training_memory": "train_memory", "train_peak": "train_memory", "training_peak": "train_memory",
}
# totals a baseline guards (SPEC §3 names)
BASELINE_KEYS = ("params", "trainable_params", "macs", "flops", "param_bytes", "activation_bytes",
                 "peak_activation_bytes", "buffers")
_BYTE_TOTALS = {"param_bytes", "activation_bytes", "peak_activation_bytes"}
DEFAULT_MAX_GROWTH = "5%"
MAX_NAME_SHOWN = 120      # characters of a network name or a path in a table line or an annotation


@dataclass(frozen=True)
class Limit:
    """One limit before it is checked: where it came from and its exact value."""

    name: str                 # a key of LIMITS
    value: int
    loc: Loc | None = None    # the budget line; None when a flag or argument set it
    source: str = "budget"    # "budget", a flag ("--max-params") or a keyword ("params=")
    # train_memory: the options it names (batch, optimizer, precision, device); the others come from the command
    options: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Check:
    """One limit checked against the network.

    ``margin`` is the percentage of the limit left (negative when exceeded;
    for a minimum, how far above it the network is); None for a zero limit.
    ``loc`` is the line of the budget section that set the limit, None when a
    flag, an argument or the baseline did.
    """

    name: str
    limit: int
    actual: int
    margin: float | None
    ok: bool
    loc: Loc | None = None
    source: str = "budget"
    kind: str = "max"                  # "max": actual <= limit; "min": actual >= limit
    unit: str = "count"                # "count", "bytes" or "size" (receptive field)
    axes: tuple[int, ...] = ()         # receptive field: the size on every axis
    baseline: int | None = None        # baseline checks: the baseline's value
    delta: float | None = None         # baseline checks: growth in percent (None from 0)
    max_growth: Fraction | None = None
    assumes: str | None = None         # train_memory: "batch 32, adam, bf16-mixed"

    def describe(self) -> str:
        """One sentence for annotations: what was found against what was allowed."""
        actual = _exact(self.actual, self.unit)
        where = f"budget, line {self.loc.line}" if self.loc is not None else self.source
        if self.baseline is not None:
            grew = "grew from 0" if self.delta is None else f"changed by {_percent(self.delta, sign=True)}"
            verb = "within" if self.ok else "more than"
            unit = " B" if self.unit == "bytes" else ""
            return (f"{self.name.removesuffix(' growth')} {grew} against the baseline "
                    f"({self.baseline:,}{unit} -> {self.actual:,}{unit}), {verb} the allowed "
                    f"+{_growth_text(self.max_growth)}")
        if self.unit == "size":
            actual = "x".join(str(a) for a in self.axes) if self.axes else actual
            if self.kind == "min":
                relation = "is at least" if self.ok else "is below"
                return f"receptive field {actual} {relation} the minimum {self.limit:,} ({where})"
            relation = "is within" if self.ok else "exceeds"
            return f"receptive field {actual} {relation} the maximum {self.limit:,} ({where})"
        if self.assumes:
            actual = f"{actual} (training step at {self.assumes})"
        if self.ok:
            return f"{self.name} {actual} is within the limit {_compact(self.limit, self.unit)} ({where})"
        over = "" if self.margin is None else f" by {_percent(-self.margin)}"
        return f"{self.name} {actual} exceeds the limit {_compact(self.limit, self.unit)}{over} ({where})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "kind": self.kind, "unit": self.unit, "limit": self.limit, "actual": self.actual,
            "margin": None if self.margin is None else round(self.margin, 6), "ok": self.ok, "source": self.source,
            "file": self.loc.file if self.loc else None, "line": self.loc.line if self.loc else None,
            "col": self.loc.col if self.loc else None,
        }
        if self.axes:
            out["axes"] = list(self.axes)
        if self.assumes is not None:
            out["assumes"] = self.assumes
        if self.baseline is not None:
            out["baseline"] = self.baseline
            out["delta"] = None if self.delta is None else round(self.delta, 6)
            out["max_growth"] = _growth_text(self.max_growth)
        return out


@dataclass(frozen=True)
class CheckResult:
    """The checks of one network: ``ok`` when every limit holds."""

    report: Report
    checks: tuple[Check, ...]
    source: str = "<string>"

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def summary(self) -> str:
        name = cut(self.report.name, MAX_NAME_SHOWN)
        if not self.checks:
            return f"{name}: no limits set (add a 'budget:' section or --max-* flags)"
        if self.ok:
            n = len(self.checks)
            return f"{name}: ok, {n} limit{'s' if n != 1 else ''} met"
        failed = self.failed
        return (f"{name}: EXCEEDED, {len(failed)} of {len(self.checks)} limits "
                f"({', '.join(check.name for check in failed)})")

    def text(self, width: int | None = None) -> str:
        """The table of ``cnncalc check`` as plain text."""
        return render_text(self, width=width)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source, "name": self.report.name, "ok": self.ok,
            "input": json_value(list(self.report.input)), "batch": self.report.batch, "dtype": self.report.dtype,
            "totals": self.report.to_dict()["totals"] if self.report.training is not None
            else self.report.totals.to_dict(),
            "checks": [check.to_dict() for check in self.checks],
        }

    def raise_if_exceeded(self) -> "CheckResult":
        if not self.ok:
            error = BudgetExceeded(f"{cut(self.report.name, MAX_NAME_SHOWN)} exceeds its budget: "
                                   + ", ".join(check.name for check in self.failed),
                                   loc=next((c.loc for c in self.failed if c.loc), None),
                                   detail=self.text())
            error.result = self  # type: ignore[attr-defined]
            raise error
        return self


# -- reading limits ----------------------------------------------------------------

def _parser(unit: str) -> Callable[[object], int]:
    return parse_bytes if unit == "bytes" else parse_count


def read_budget(budget: Any) -> dict[str, Limit]:
    """The limits of a file's located ``budget`` node (NetworkSpec.budget); SpecError when malformed."""
    from .spec.yaml_source import YMap, YScalar
    if budget is None or (isinstance(budget, YScalar) and budget.value is None):
        return {}
    if not isinstance(budget, YMap):
        raise SpecError("'budget' must be a mapping of limits, e.g. {params: 12M, macs: 2G}", loc=budget.loc,
                        path="budget")
    limits: dict[str, Limit] = {}
    for key_node, value_node in budget.items:
        key = key_node.value
        if key not in BUDGET_KEYS:
            alias = _ALIASES.get(str(key).lower())
            hint = f"did you mean {alias!r}?" if alias else did_you_mean(str(key), BUDGET_KEYS)
            raise SpecError(f"unknown key {key!r}", loc=key_node.loc, path="budget",
                            hint=hint or f"expected one of {', '.join(BUDGET_KEYS)}")
        if key == "receptive_field":
            limits.update(_read_rf(value_node))
            continue
        if key == "train_memory" and isinstance(value_node, YMap):
            limits[key] = _read_train_memory(value_node)
            continue
        unit = LIMITS[key][1]
        limits[key] = Limit(key, _located_value(value_node, unit, f"budget.{key}"), value_node.loc, "budget")
    _check_rf_order(limits)
    return limits


def _read_rf(node: Any) -> dict[str, Limit]:
    from .spec.yaml_source import YMap
    if not isinstance(node, YMap):
        raise SpecError("'receptive_field' must be a mapping such as {min: 100} or {min: 100, max: 400}",
                        loc=node.loc, path="budget.receptive_field")
    limits = {}
    for key_node, value_node in node.items:
        key = key_node.value
        if key not in RF_KEYS:
            spelled = {"minimum": "min", "maximum": "max", "lower": "min", "upper": "max"}.get(str(key).lower())
            hint = f"did you mean {spelled!r}?" if spelled else did_you_mean(str(key), RF_KEYS)
            raise SpecError(f"unknown key {key!r}", loc=key_node.loc, path="budget.receptive_field",
                            hint=hint or "expected min and/or max")
        name = f"receptive_field.{key}"
        limits[name] = Limit(name, _located_value(value_node, "size", f"budget.{name}"), value_node.loc, "budget")
    return limits


def _read_train_memory(node: Any) -> Limit:
    """``train_memory: {limit: 16GiB, batch: 32, optimizer: adam, precision: bf16-mixed}``."""
    from .overrides import check_train
    from .spec.yaml_source import YScalar
    found: dict[str, Any] = {}
    for key_node, value_node in node.items:
        key = key_node.value
        if key not in TRAIN_MEMORY_KEYS:
            raise SpecError(f"unknown key {key!r}", loc=key_node.loc, path="budget.train_memory",
                            hint=did_you_mean(str(key), TRAIN_MEMORY_KEYS)
                            or f"expected {', '.join(TRAIN_MEMORY_KEYS)}")
        found[key] = (key_node, value_node)
    if "limit" not in found:
        raise SpecError("'train_memory' needs a limit, e.g. {limit: 16GiB, batch: 32, optimizer: adam}",
                        loc=node.loc, path="budget.train_memory")
    value = _located_value(found["limit"][1], "bytes", "budget.train_memory.limit")
    options: dict[str, Any] = {}
    for key in ("batch", "optimizer", "precision", "device"):
        if key not in found:
            continue
        value_node = found[key][1]
        if not isinstance(value_node, YScalar):
            raise SpecError(f"expected a {'number' if key == 'batch' else 'name'}", loc=value_node.loc,
                            path=f"budget.train_memory.{key}")
        item = value_node.value
        try:
            if key == "batch":
                from .overrides import MAX_BATCH, ascii_int
                if isinstance(item, bool) or item is None:
                    raise ArgumentError(f"expected a whole number from 1 to {MAX_BATCH:,}, found {item}")
                item = ascii_int(str(item), "batch", low=1, high=MAX_BATCH)
            else:
                check_train({key: item}, "")
        except ArgumentError as err:
            raise SpecError(err.message.strip(), loc=value_node.loc, path=f"budget.train_memory.{key}",
                            hint=err.hint) from None
        options[key] = item
    return Limit("train_memory", value, found["limit"][1].loc, "budget", options)


def train_assumption(step: Any) -> str:
    """'batch 32, adam, bf16-mixed' of a training step (the device only where not cuda)."""
    return (f"batch {step.batch:,}, {step.optimizer}, {step.precision}"
            + (f", {step.device}" if step.device != "cuda" else ""))


def _located_value(node: Any, unit: str, path: str) -> int:
    from .spec.yaml_source import YScalar
    if not isinstance(node, YScalar):
        raise SpecError(f"expected a {'byte size' if unit == 'bytes' else 'number'}, found a "
                        f"{'list' if type(node).__name__ == 'YSeq' else 'mapping'}", loc=node.loc, path=path)
    try:
        return _parser(unit)(node.value)
    except ArgumentError as err:
        raise SpecError(err.message, loc=node.loc, path=path, hint=err.hint) from None


def parse_limits(values: Mapping[str, object], label: Callable[[str], str]) -> dict[str, Limit]:
    """Limits from flags or keywords: ``{"params": "5M", "receptive_field.min": 100}``; None = not set.

    ``label(name)`` names the source in messages: "--max-params" or "params=".
    """
    limits: dict[str, Limit] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in LIMITS:
            raise ArgumentError(f"unknown limit {name!r}", hint=did_you_mean(name, LIMITS))
        source = label(name)
        try:
            number = _parser(LIMITS[name][1])(value)
        except ArgumentError as err:
            raise ArgumentError(f"{source} {err.message}", hint=err.hint) from None
        limits[name] = Limit(name, number, None, source)
    return limits


def _check_rf_order(limits: Mapping[str, Limit]) -> None:
    low, high = limits.get("receptive_field.min"), limits.get("receptive_field.max")
    if low is not None and high is not None and low.value > high.value:
        message = (f"the receptive-field minimum {low.value:,} ({low.source}) is above the maximum "
                   f"{high.value:,} ({high.source}); no network can meet both")
        loc = low.loc or high.loc
        if low.loc is not None and high.loc is not None:
            raise SpecError(message, loc=loc, path="budget.receptive_field")
        raise ArgumentError(message, loc=loc)


def merge_limits(file_limits: Mapping[str, Limit], overrides: Mapping[str, Limit]) -> dict[str, Limit]:
    """The file's limits with flags/arguments replacing them one by one, in LIMITS order."""
    merged = {**file_limits, **overrides}
    _check_rf_order(merged)
    return {name: merged[name] for name in LIMITS if name in merged}


_GROWTH = re.compile(r"\s*([0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})\s*(%?)\s*\Z")


def parse_growth(value: object, label: str = "--max-growth") -> Fraction:
    """'5%' or 0.05 -> Fraction(1, 20). A bare number is a fraction, so it may not exceed 1 ('150%' may).

    Text takes ASCII digits, at most 30 before and 30 after the point (no
    exponent: ``Fraction("1e-999999999")`` would spend minutes building 10**999999999).
    """
    expected = "expected a percentage such as '5%' or a fraction such as 0.05"
    if isinstance(value, Fraction):
        number, percent, text = value, False, None
    elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ArgumentError(f"{label}: {expected}, found {describe(value)}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ArgumentError(f"{label} {value!r}: {expected}")
        number, percent, text = Fraction(repr(value)), False, repr(value)     # 0.05 is 1/20, not the float's binary
    elif isinstance(value, int):
        if abs(value) > 10**30:
            raise ArgumentError(f"{label}: {expected}, found {describe(value)}")
        number, percent, text = Fraction(value), False, str(value)
    else:
        match = _GROWTH.match(value) if len(value) <= 100 else None
        if match is None:
            if value.strip().startswith("-"):
                raise ArgumentError(f"{label} {shown(value)}: growth cannot be negative")
            raise ArgumentError(f"{label} {shown(value)}: {expected}")
        text = match.group(1)
        number, percent = Fraction(text), bool(match.group(2))
    if number < 0:
        raise ArgumentError(f"{label} {describe(value)}: growth cannot be negative")
    if percent:
        return number / 100
    if number > 1:
        raise ArgumentError(f"{label} {describe(value)}: a bare number is a fraction ({text} would allow "
                            f"{_growth_text(number)} growth)", hint=f"write '{text}%' for {text} percent, "
                            "or a fraction such as 0.05")
    return number


# -- baselines -------------------------------------------------------------------

@dataclass(frozen=True)
class Baseline:
    """The totals of one network, as saved in a report."""

    name: str | None
    totals: Mapping[str, int]
    source: str = "<baseline>"


MAX_BASELINE_BYTES = 64 * 2**20       # a saved report of 100,000 layers is a few MiB
MAX_BASELINE_FILES = 10_000           # .json files read from a --baseline directory


def load_baselines(source: Any, label: str = "--baseline") -> tuple[Baseline, ...]:
    """Baselines from a path (a `summarize --format json` report, a list of reports, a `check --format
    json` output, or a directory of such files), a report dict, a Report or a list of these."""
    if isinstance(source, (list, tuple)):
        out: list[Baseline] = []
        for index, item in enumerate(source):
            if isinstance(item, (list, tuple)):
                raise ArgumentError(f"{label}[{index}]: expected a path, a report dict or a Report, "
                                    f"found {describe(item)}", hint="pass one flat list of baselines")
            out.extend(load_baselines(item, label))
        return tuple(out)
    if isinstance(source, Report):
        return (Baseline(source.name, _baseline_totals(source.totals.to_dict(), source.name, label), label),)
    if isinstance(source, Baseline):
        return (source,)
    if isinstance(source, (str, os.PathLike)) and not isinstance(source, bytes):
        text = os.fspath(source)
        if not isinstance(text, str) or "\0" in text:
            raise ArgumentError(f"{label}: expected the path of a JSON report, found {describe(text)}")
        path = Path(text)
        if path.is_dir():
            files = []
            for file in sorted(path.glob("*.json")):
                files.append(file)
                if len(files) > MAX_BASELINE_FILES:
                    raise ArgumentError(f"{label} {shown(text)}: more than {MAX_BASELINE_FILES:,} .json files")
            if not files:
                raise ArgumentError(f"{label} {shown(text)}: the directory holds no .json reports")
            return tuple(b for f in files for b in _load_baseline_file(f, label))
        return _load_baseline_file(path, label)
    if isinstance(source, Mapping):
        return _baselines_from_json(source, label, label)
    raise ArgumentError(f"{label}: expected a path to a JSON report, a report dict or a Report, "
                        f"found {describe(source)}")


def _bounded_int(text: str) -> int:
    """json's parse_int: refuses more digits than any total has, before converting them."""
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _TooManyDigits(len(text.lstrip("-")))
    return int(text)


class _TooManyDigits(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _load_baseline_file(path: Path, label: str) -> tuple[Baseline, ...]:
    from ._files import read_limited
    where = f"{label} {shown(str(path))}"
    try:
        data = read_limited(path, MAX_BASELINE_BYTES, label, error=ArgumentError)
    except ArgumentError as err:
        if err.hint is not None:              # a baseline is never read from standard input
            err.hint = "save the report to a regular file: cnncalc summarize FILE --format json > report.json"
        raise
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ArgumentError(f"{where}: not UTF-8 text (byte 0x{data[err.start:err.start + 1].hex()})",
                            loc=Loc(visible(path), line, col),
                            hint="save a baseline with `cnncalc summarize FILE --format json > report.json`") from None
    try:
        parsed = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as err:
        raise ArgumentError(f"{where}: not valid JSON: {err.msg}",
                            loc=Loc(visible(path), err.lineno, err.colno),
                            hint="save a baseline with `cnncalc summarize FILE --format json > report.json`") from None
    except _TooManyDigits as err:
        raise ArgumentError(f"{where}: holds a {err.digits:,}-digit number; totals have at most {MAX_DIGITS} digits",
                            loc=Loc(visible(path), 1, 1)) from None
    except RecursionError:
        raise ArgumentError(f"{where}: the JSON is nested too deeply to be a report",
                            loc=Loc(visible(path), 1, 1),
                            hint="save a baseline with `cnncalc summarize FILE --format json > report.json`") from None
    return _baselines_from_json(parsed, where, str(path))


def _baselines_from_json(data: Any, where: str, source: str, nested: bool = False) -> tuple[Baseline, ...]:
    if isinstance(data, list) and not nested:
        if not data:
            raise ArgumentError(f"{where}: the list of reports is empty")
        return tuple(b for i, item in enumerate(data)
                     for b in _baselines_from_json(item, f"{where}[{i}]", source, nested=True))
    if not isinstance(data, Mapping):
        raise ArgumentError(f"{where}: expected a JSON object (a `cnncalc summarize --format json` report), "
                            f"found {_json_kind(data)}")
    if "files" in data and "totals" not in data and not nested:     # a `cnncalc check --format json` output
        files = data["files"]
        if not isinstance(files, list) or not files:
            raise ArgumentError(f"{where}: 'files' must be a non-empty list of checked files")
        return tuple(b for i, item in enumerate(files)
                     for b in _baselines_from_json(item, f"{where}: files[{i}]", source, nested=True))
    if "totals" not in data:
        keys = ", ".join(shown(key, 40) for key in list(data)[:8])
        raise ArgumentError(f"{where}: no 'totals' object; expected a `cnncalc summarize --format json` report",
                            hint=f"found keys: {keys or 'none'}")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ArgumentError(f"{where}: 'name' must be a string, found {_json_kind(name)}")
    return (Baseline(name, _baseline_totals(data["totals"], name, where), source),)


def _json_kind(value: Any) -> str:
    """What a JSON value is, for a message: never its whole text."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return describe(value)


def _baseline_totals(totals: Any, name: str | None, where: str) -> dict[str, int]:
    if not isinstance(totals, Mapping):
        raise ArgumentError(f"{where}: 'totals' must be an object, found {_json_kind(totals)}")
    missing = [key for key in BASELINE_KEYS if key not in totals]
    if missing:
        raise ArgumentError(f"{where}: 'totals' lacks {', '.join(missing)}",
                            hint="save a baseline with `cnncalc summarize FILE --format json > report.json`")
    out = {}
    for key in BASELINE_KEYS:
        value = totals[key]
        if isinstance(value, str):
            raise ArgumentError(f"{where}: totals.{key} is symbolic ({shown(value)}); a baseline needs numbers",
                                hint="save it with the sizes set: cnncalc summarize FILE --set H=224,W=224 "
                                     "--format json")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 10**MAX_DIGITS:
            raise ArgumentError(f"{where}: totals.{key} must be a non-negative integer of at most {MAX_DIGITS} "
                                f"digits, found {_json_kind(value)}")
        out[key] = value
    return out


def pick_baseline(baselines: Sequence[Baseline], report: Report, *, only_file: bool) -> Baseline:
    """The baseline of ``report``: the only one when one file is checked against one report, else by name."""
    if len(baselines) == 1 and only_file:
        return baselines[0]
    matches = [b for b in baselines if b.name == report.name]
    if len(matches) == 1:
        return matches[0]
    names = sorted({str(b.name) for b in baselines})
    if not matches:
        suggestion = did_you_mean(report.name, [n for n in names if len(n) <= 200]) if len(report.name) <= 200 else None
        held = ", ".join(shown(n, 40) for n in names[:8]) + (f" and {len(names) - 8:,} more" if len(names) > 8 else "")
        raise ArgumentError(f"the baseline has no report named {shown(report.name)}",
                            hint=(visible(suggestion) if suggestion else None) or f"it holds: {held}")
    raise ArgumentError(f"the baseline holds {len(matches)} reports named {shown(report.name)}")


# -- checking -----------------------------------------------------------------------

def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if getattr(value, "is_Integer", False):
        return int(value)
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return None


def _symbolic_error(what: str, value: Any, report: Report, loc: Loc | None) -> ArgumentError:
    symbols = report.symbols or ("H", "W")
    example = ",".join(f"{s}=224" for s in symbols)
    return ArgumentError(
        f"{what} of {cut(report.name, MAX_NAME_SHOWN)} is symbolic ({cut(value, 200)}) and cannot be compared "
        "with a limit",
        loc=loc, hint=f"give the input sizes values: --set {example} on the command line, "
                      f"sizes={{{', '.join(repr(s) + ': 224' for s in symbols)}}} in Python")


def _margin(limit: int, actual: int, kind: str) -> float | None:
    if limit == 0:
        return None
    left = (limit - actual) if kind == "max" else (actual - limit)
    return float(Fraction(left * 100, limit))


def evaluate_limits(report: Report, limits: Mapping[str, Limit],
                    training_for: Callable[[Limit], Any] | None = None) -> list[Check]:
    """Each limit against the report; ``training_for(limit)`` gives train_memory its training step
    (without it, the report's own)."""
    checks = []
    for name, limit in limits.items():
        attribute, unit, _, _ = LIMITS[name]
        if name == "train_memory":
            step = training_for(limit) if training_for is not None else report.training
            if step is None:
                raise ArgumentError("train_memory needs a training step: analyze with train=... "
                                    "(or pass a path or a network, not a Report)", loc=limit.loc)
            if limit.options and any(getattr(step, key) != value for key, value in limit.options.items()):
                raise ArgumentError(f"train_memory assumes {dict(limit.options)}; the report's training step "
                                    f"is at batch {step.batch}, {step.optimizer}, {step.precision}, {step.device}",
                                    loc=limit.loc, hint="pass a path or a network, not a Report")
            actual = step.peak_bytes
            checks.append(Check(name, limit.value, actual, _margin(limit.value, actual, "max"),
                                actual <= limit.value, limit.loc, limit.source, "max", unit,
                                assumes=train_assumption(step)))
            continue
        if unit == "size":
            field_ = report.receptive_field
            axes = tuple(_integer(size) for size in field_.size)
            if not axes or any(a is None for a in axes):
                raise _symbolic_error("the receptive field", " x ".join(map(str, field_.size)), report, limit.loc)
            kind = "min" if name.endswith(".min") else "max"
            actual = min(axes) if kind == "min" else max(axes)      # the binding axis
            ok = actual >= limit.value if kind == "min" else actual <= limit.value
            checks.append(Check(name, limit.value, actual, _margin(limit.value, actual, kind), ok, limit.loc,
                                limit.source, kind, unit, axes))  # type: ignore[arg-type]
            continue
        value = getattr(report.totals, attribute)
        actual = _integer(value)
        if actual is None:
            raise _symbolic_error(f"{name} ({attribute})" if attribute != name else name, value, report, limit.loc)
        checks.append(Check(name, limit.value, actual, _margin(limit.value, actual, "max"), actual <= limit.value,
                            limit.loc, limit.source, "max", unit))
    return checks


def evaluate_baseline(report: Report, baseline: Baseline, max_growth: Fraction) -> list[Check]:
    checks = []
    for key in BASELINE_KEYS:
        value = getattr(report.totals, key)
        actual = _integer(value)
        if actual is None:
            raise _symbolic_error(key, value, report, None)
        base = baseline.totals[key]
        limit = math.floor(base * (1 + max_growth))
        delta = None if base == 0 else float(Fraction((actual - base) * 100, base))
        if base == 0 and actual == 0:
            delta = 0.0
        checks.append(Check(f"{key} growth", limit, actual, _margin(limit, actual, "max"), actual <= limit, None,
                            "--baseline", "max", "bytes" if key in _BYTE_TOTALS else "count",
                            baseline=base, delta=delta, max_growth=max_growth))
    return checks


def run_checks(network: Any, limits: Mapping[str, Limit], *, baselines: Sequence[Baseline] = (),
               max_growth: Fraction = Fraction(1, 20), only_file: bool = True, input: Any = None,
               sizes: Mapping[str, int] | None = None, batch: int | None = None,
               dtype: str | None = None, labels: Labels | None = None, train: Any = None,
               count_as: str | None = None) -> CheckResult:
    """Analyze ``network`` (a NetworkSpec) and check the file's budget merged with ``limits``.

    The overrides are checked like :func:`cnncalc.analyze`'s; ``labels`` names
    them in messages (the flags, for the command line). ``train`` (as
    ``analyze``'s) adds the training step to the report and gives
    ``train_memory`` the options its limit does not name. ``count_as`` (as
    ``analyze``'s) checks ``macs``/``flops`` limits against that tool's figures.
    """
    from .api import analyze_checked, analyze_training
    from .engine.training import TrainingOptions
    from .overrides import PYTHON, check_train
    overrides = check_overrides(input=input, sizes=sizes, batch=batch, dtype=dtype, labels=labels or PYTHON)
    options = check_train(train)
    file_limits = read_budget(network.budget)
    merged = merge_limits(file_limits, limits)
    if options is not None:
        report = analyze_training(network, overrides, options, count_as)
    elif count_as is not None:
        from .api import analyze
        report = analyze(network, count_as=count_as, **overrides.as_kwargs())
    else:
        report = analyze_checked(network, overrides)

    def training_for(limit: Limit) -> Any:
        given = dict(limit.options or {})
        base = options or TrainingOptions()
        wanted = TrainingOptions(given.get("optimizer", base.optimizer), given.get("precision", base.precision),
                                 given.get("device", base.device), given.get("batch", base.batch or report.batch))
        step = report.training
        if step is not None and (step.optimizer, step.precision, step.device, step.batch) == (
                wanted.optimizer, wanted.precision, wanted.device, wanted.batch):
            return step
        try:
            return analyze_training(network, overrides, wanted).training
        except ArgumentError as err:
            raise ArgumentError(err.message, loc=limit.loc, hint=err.hint) from None

    checks = evaluate_limits(report, merged, training_for)
    if baselines:
        checks += evaluate_baseline(report, pick_baseline(baselines, report, only_file=only_file), max_growth)
    return CheckResult(report, tuple(checks), network.source)


def check(net: Any, *, params: Any = None, trainable_params: Any = None, macs: Any = None, flops: Any = None,
          param_memory: Any = None, activation_memory: Any = None, min_rf: Any = None, max_rf: Any = None,
          baseline: Any = None, max_growth: Any = DEFAULT_MAX_GROWTH, input: Sequence[Any] | None = None,
          sizes: Mapping[str, int] | None = None, batch: int | None = None, dtype: str | None = None,
          strict: bool = False, train_memory: Any = None, train: Any = None,
          count_as: str | None = None) -> CheckResult:
    """Check a network against its file's ``budget`` and these limits (which override the file's).

    ``net`` is a path, YAML text, a loaded network or an analyzed Report.
    Counts take ``"5M"``-style strings or ints, memory ``"48MiB"``/``"48MB"``
    or ints, ``min_rf``/``max_rf`` bound the output's receptive field on
    every axis. ``baseline`` (a saved `summarize --format json` report, its
    path, or a Report) fails a total that grew by more than ``max_growth``
    (``"5%"`` or ``0.05``). ``train_memory`` bounds the peak of one training
    step: ``"16GiB"``, or ``{"limit": "16GiB", "batch": 32, "optimizer":
    "adam", "precision": "bf16-mixed"}``; what it does not name comes from
    ``train`` (as ``analyze``'s), else the batch given or the file's, adam,
    fp32. ``count_as`` (a peer, as ``analyze``'s) compares ``macs`` and
    ``flops`` limits with that tool's figures. With ``strict=True`` a failed limit raises
    :class:`cnncalc.BudgetExceeded` whose message holds the table. Every
    argument is checked first: a bad one raises :class:`cnncalc.ArgumentError`.
    """
    values = {"params": params, "trainable_params": trainable_params, "macs": macs, "flops": flops,
              "param_memory": param_memory, "activation_memory": activation_memory,
              "receptive_field.min": min_rf, "receptive_field.max": max_rf}
    if not isinstance(strict, bool):
        raise ArgumentError(f"strict= expected True or False, found {describe(strict)}")
    limits = parse_limits(values, lambda name: f"{LIMITS[name][3]}=")
    if train_memory is not None:
        limits["train_memory"] = _train_memory_keyword(train_memory)
    from .overrides import check_train
    train = check_train(train)
    growth = parse_growth(max_growth, "max_growth=")
    overrides = check_overrides(input=input, sizes=sizes, batch=batch, dtype=dtype)
    baselines = load_baselines(baseline, "baseline=") if baseline is not None else ()
    if isinstance(net, Report):
        if any(v is not None for v in overrides.as_kwargs().values()):
            raise ArgumentError("input, sizes, batch and dtype apply when analyzing; pass a path or a network, "
                                "not a Report")
        if train is not None:
            raise ArgumentError("train= applies when analyzing; pass a path or a network, not a Report")
        merged = merge_limits({}, limits)
        checks = evaluate_limits(net, merged)
        if baselines:
            checks += evaluate_baseline(net, pick_baseline(baselines, net, only_file=True), growth)
        result = CheckResult(net, tuple(checks), net.source)
    else:
        from .api import as_network
        result = run_checks(as_network(net), limits, baselines=baselines, max_growth=growth,
                            train=train, count_as=count_as, **overrides.as_kwargs())
    if strict:
        result.raise_if_exceeded()
    return result


def _train_memory_keyword(value: Any) -> Limit:
    """``train_memory=``: a byte size, or a mapping of ``limit`` and the options it assumes."""
    from .overrides import check_batch, check_train
    if not isinstance(value, Mapping):
        return parse_limits({"train_memory": value}, lambda name: "train_memory=")["train_memory"]
    unknown = [key for key in value if key not in TRAIN_MEMORY_KEYS]
    if unknown:
        raise ArgumentError(f"train_memory= unknown key {describe(unknown[0])}",
                            hint=f"expected {', '.join(TRAIN_MEMORY_KEYS)}")
    if "limit" not in value:
        raise ArgumentError("train_memory= needs a limit, e.g. {'limit': '16GiB', 'batch': 32}")
    limit = parse_limits({"train_memory": value["limit"]}, lambda name: "train_memory= limit")["train_memory"]
    options = {key: value[key] for key in ("optimizer", "precision", "device") if key in value}
    check_train(options, "train_memory=")
    if "batch" in value:
        options["batch"] = check_batch(value["batch"], "train_memory= batch")
    return Limit("train_memory", limit.value, None, "train_memory=", options)


# -- files and globs -------------------------------------------------------------------

_GLOB_CHARS = set("*?[")


def expand_files(patterns: Iterable[str]) -> list[str]:
    """Paths and globs (expanded here too, for shells that don't) in order, without repeats.

    A glob that matches nothing is an ArgumentError; ``-`` is standard input.
    """
    files: list[str] = []
    for pattern in patterns:
        if pattern != "-" and _GLOB_CHARS & set(pattern) and not os.path.exists(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            matches = [m for m in matches if os.path.isfile(m)]
            if not matches:
                raise ArgumentError(f"no file matches {pattern!r}")
            files.extend(matches)
        else:
            files.append(pattern)
    seen: set[str] = set()
    out = []
    for file in files:
        key = file if file == "-" else os.path.normpath(file)
        if key not in seen:
            seen.add(key)
            out.append(file)
    return out


# -- rendering -----------------------------------------------------------------------------

def _exact(value: int, unit: str) -> str:
    if unit == "bytes":
        return f"{value:,} B" if value < 1024 else f"{value:,} B ({format_bytes(value)})"
    return f"{value:,}" if value < 1000 else f"{value:,} ({format_count(value)})"


def _compact(value: int, unit: str) -> str:
    """The shortest exact spelling of a limit: 30000000 -> '30M', 50331648 -> '48MiB'; else with commas."""
    if unit == "size":
        return f"{value:,}"
    scales = ((("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10), ("TB", 10**12),
               ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)) if unit == "bytes"
              else (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)))
    for suffix, scale in scales:
        if value >= scale:
            number = Fraction(value, scale)
            text = _decimal(number, 3)
            if text is not None and len(text.replace(".", "").lstrip("0")) <= 3:   # '30M', '4.1G', '48MiB'
                return f"{text}{suffix}"
    return f"{value:,} B" if unit == "bytes" else f"{value:,}"


def _decimal(number: Fraction, digits: int) -> str | None:
    """``number`` written exactly with at most ``digits`` decimals, or None."""
    scaled = number * 10**digits
    if scaled.denominator != 1:
        return None
    whole, frac = divmod(int(scaled), 10**digits)
    if frac == 0:
        return str(whole)
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


def _percent(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0.0%"
    text = f"{value:+.1f}" if sign else f"{value:.1f}"
    if float(text) == 0:                       # too small for one decimal: keep its sign visible
        text = f"{value:+.1e}" if sign else f"{value:.1e}"
    return f"{text}%"


def _growth_text(growth: Fraction | None) -> str:
    if growth is None:
        return "-"
    percent = growth * 100
    text = _decimal(percent, 4)
    return f"{text}%" if text is not None else f"{float(percent):.4g}%"


def limit_text(check_: Check) -> str:
    if check_.baseline is not None:
        return f"≤ {_compact(check_.limit, check_.unit)} (+{_growth_text(check_.max_growth)})"
    return f"{'≥' if check_.kind == 'min' else '≤'} {_compact(check_.limit, check_.unit)}"


def actual_text(check_: Check) -> str:
    if check_.unit == "size":
        return "×".join(str(a) for a in check_.axes)
    return _exact(check_.actual, check_.unit)


def delta_text(check_: Check) -> str:
    if check_.baseline is None:
        return ""
    diff = check_.actual - check_.baseline
    if check_.delta is None:
        return f"+{diff:,} (from 0)"
    return f"{diff:+,} ({_percent(check_.delta, sign=True)})"


def source_text(check_: Check) -> str:
    if check_.loc is not None:
        return f"budget, line {check_.loc.line}"
    return check_.source


def title_text(result: CheckResult) -> str:
    from .render.rows import shape_text
    report = result.report
    counted = f", MACs as {report.counted_as} counts them" if report.counted_as else ""
    return (f"{cut(report.name, MAX_NAME_SHOWN)} — {cut(result.source, MAX_NAME_SHOWN)}, "
            f"input {visible(shape_text(report.input_shape))}, {report.dtype}{counted}")


def build_table(result: CheckResult):
    from rich import box
    from rich.table import Table
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    with_delta = any(c.baseline is not None for c in result.checks)
    table.add_column("Check", no_wrap=True)
    table.add_column("Limit", justify="right", no_wrap=True)
    table.add_column("Actual", justify="right", no_wrap=True)
    if with_delta:
        table.add_column("vs baseline", justify="right", no_wrap=True)
    table.add_column("Margin", justify="right", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("From", no_wrap=True)
    from rich.markup import escape
    for c in result.checks:
        # every cell but the status is plain text: rich markup escaped, control characters shown
        row = [c.name + (f" at {c.assumes}" if c.assumes else ""), limit_text(c), actual_text(c)]
        if with_delta:
            row.append(delta_text(c))
        row += [_percent(c.margin)]
        cells = [escape(cut(cell, MAX_NAME_SHOWN)) for cell in row]
        status = "[green]ok[/]" if c.ok else "[bold red]EXCEEDED[/]"
        table.add_row(*cells, status, escape(cut(source_text(c), MAX_NAME_SHOWN)))
    return table


def render_text(result: CheckResult, *, width: int | None = None, color: bool = False) -> str:
    """The check table and a summary line; plain text unless ``color``."""
    from rich.console import Console
    console = Console(file=io.StringIO(), width=width or 200, force_terminal=color,
                      color_system="standard" if color else None, highlight=False, emoji=False)
    console.print(title_text(result), soft_wrap=True, markup=False)
    if result.checks:
        console.print(build_table(result))
    step = result.report.training
    if step is not None:                   # --train: the step's figures under the table
        console.print(f"training step at {train_assumption(step)}: peak {format_bytes(step.peak_bytes)} "
                      f"({step.peak_bytes:,} B) at {visible(step.peak_at)}; saved {format_bytes(step.saved_bytes)}, "
                      f"gradients {format_bytes(step.grad_bytes)}, optimizer state "
                      f"{format_bytes(step.optimizer_state_bytes)}", soft_wrap=True, markup=False)
    console.print(result.summary(), soft_wrap=True, markup=False)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _escape_data(text: str) -> str:
    """GitHub's encoding of a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """GitHub's encoding of a workflow command's property (file, title)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(level: str, message: str, file: str | None, line: int | None = None, col: int | None = None,
                   title: str | None = None) -> str:
    """A GitHub Actions workflow command: ``::error file=arch.yaml,line=31,col=11,title=...::message``.

    Always one line: message, file and title are encoded (and control
    characters other than newlines shown as escapes), whatever they hold.
    """
    props = []
    if file is not None:
        props.append(f"file={_escape_property(_safe(file, 1000))}")
        props.append(f"line={_position(line)}")
        props.append(f"col={_position(col)}")
    if title:
        props.append(f"title={_escape_property(_safe(title, 200))}")
    body = _escape_data(_safe(message, 4000))
    return f"::{level} {','.join(props)}::{body}" if props else f"::{level}::{body}"


def _safe(text: object, limit: int) -> str:
    """Text for an annotation: newlines kept (they are encoded), every other control character visible."""
    lines = str(text).replace("\r\n", "\n").split("\n")
    joined = "\n".join(visible(line) for line in lines)
    return joined if len(joined) <= limit else f"{joined[:limit]}… ({len(joined):,} characters)"


def _position(value: int | None) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 10**9 else 1


def github_group(title: str, body: str) -> list[str]:
    """A collapsed log group holding ``body`` with workflow commands off, so no line of it can act as one.

    ``::stop-commands::TOKEN`` ... ``::TOKEN::`` is GitHub's way to print text
    it must not interpret; the token is the body's hash, which the body cannot
    contain.
    """
    import hashlib
    token = "cnncalc-" + hashlib.sha256(body.encode("utf-8", "replace")).hexdigest()[:32]
    return [f"::group::{_escape_data(_safe(title, 200))}", f"::stop-commands::{token}",
            *body.rstrip("\n").split("\n"), f"::{token}::", "::endgroup::"]


def github_annotations(result: CheckResult, notices: bool = False) -> list[str]:
    """``::error`` for every failed check at the budget line that set it (line 1 for flags and baselines)."""
    lines = []
    name = cut(result.report.name, MAX_NAME_SHOWN)
    for c in result.checks:
        if c.ok and not notices:
            continue
        file = c.loc.file if c.loc is not None else result.source
        line, col = (c.loc.line, c.loc.col) if c.loc is not None else (1, 1)
        lines.append(github_command("error" if not c.ok else "notice", f"{name}: {c.describe()}",
                                    file, line, col, title=f"cnncalc check: {c.name}"))
    return lines


def error_annotation(error: CnnCalcError, file: str) -> str:
    """One ``::error`` for a file that could not be checked, at the error's line."""
    loc = error.loc
    return github_command("error", error.headline(), loc.file if loc else file, loc.line if loc else 1,
                          loc.col if loc else 1, title="cnncalc check: invalid file")


__all__ = [
    "BASELINE_KEYS", "BUDGET_KEYS", "Baseline", "Check", "CheckResult", "LIMITS", "Limit", "check",
    "expand_files", "load_baselines", "parse_growth", "read_budget", "render_text",
]
