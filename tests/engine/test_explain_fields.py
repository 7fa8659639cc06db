"""`cnncalc explain`'s field lines: the numbers put into each formula evaluate back to the figure,
and that figure is the report's field (as tests/test_explain.py does for shapes and counts)."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

import cnncalc
from cnncalc.explain import explain

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "examples" / f"{stem}.yaml" for stem in ("resnet50", "unet", "alexnet", "vgg16", "fcn")] + [
    ROOT / "tests" / "data" / "rf" / "squeezenet1_0.yaml"]
LINEAR_ON_W = "input: [1, 32, 32]\nlayers:\n  - Conv2d: {out_channels: 8, kernel_size: 3}\n  - Linear: {out_features: 5}\n"


def _value(text: str) -> Fraction:
    """A printed formula of numbers (·, −, /, parentheses; 1/2 fractions), evaluated exactly."""
    python = text.replace("·", "*").replace("−", "-")
    python = re.sub(r"(\d+)", r"F(\1)", python)
    return eval(python, {"F": Fraction})  # noqa: S307 - our own output, numbers and operators only


def _check(network, report, name: str) -> int:
    row = report.layer(name)
    field = row.receptive_field
    axes = ("L",) if len(field.size) == 1 else ("D", "H", "W")[-len(field.size):]
    checked = 0
    for label, formula, result in explain(network, name).lines:
        if not label.startswith("field "):
            continue
        axis = axes.index(label.split()[1])
        figures = dict(part.split(" ") for part in result.split(", "))
        assert _value(figures["r"]) == Fraction(field.size[axis]), (name, label, result)
        if "c" in figures:
            assert _value(figures["c"]) == Fraction(field.start[axis]), (name, label, result)
        if "S" in figures:
            assert _value(figures["S"]) == Fraction(field.jump[axis]), (name, label, result)
        for segment in formula.split("; "):
            parts = [p.strip() for p in segment.split(" = ")]
            if len(parts) < 3 or not re.fullmatch(r"[\d\s()+·−/-]+", parts[-2]):
                continue                     # words (unchanged, per-phase maps): no numbers to evaluate
            assert _value(parts[-2]) == _value(parts[-1]), (name, label, segment)
            symbol = segment.split(" = ")[0].strip().split()[-1]
            assert _value(parts[-1]) == _value(figures[{"r": "r", "S": "S", "c": "c"}.get(symbol, "r")]), segment
            checked += 1
    return checked


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_field_line_evaluates_to_the_reported_field(path):
    network = cnncalc.load(path)
    report = cnncalc.analyze(network)
    checked = sum(_check(network, report, row.name) for row in report.layers[:80])
    assert checked > 20


def test_a_partly_global_field_explains_each_axis():
    network = cnncalc.loads(LINEAR_ON_W)
    report = cnncalc.analyze(network)
    lines = {label: (formula, result) for label, formula, result in explain(network, "linear_1").lines}
    assert lines["field H"] == ("unchanged", "r 3, S 1, c 1")
    assert lines["field W"][0].startswith("global: every output element reads input 0 … 31")
    assert _check(network, report, "linear_1") == 1
