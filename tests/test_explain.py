"""`cnncalc explain`: formulas with numbers, which evaluate to the reported figures."""

from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main
from cnncalc.explain import explain

from .conftest import EXAMPLES


def test_first_conv_of_resnet50():
    result = CliRunner().invoke(main, ["explain", str(EXAMPLES / "resnet50.yaml"), "conv1"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "H_out = ⌊(224 + 2·3 − 1·(7 − 1) − 1) / 2⌋ + 1 = 112" in text
    assert f"params = weight 64 · 3 · 7 · 7 = {64 * 3 * 7 * 7:,}" in text
    assert f"MACs = 1 · 64 · 112 · 112 · 3 · 7 · 7 = {64 * 112 * 112 * 3 * 7 * 7:,}" in text
    assert "output j reads inputs j·2 + (-3 … 3): r = r_in + (3 − (-3))·S_in = 1 + 6·1" in text
    assert "r 7, S 2, c 0" in text


def _evaluate(formula: str) -> int:
    """Evaluate a formula as printed: ⌊x⌋, ·, − (test-only; formulas are our own output)."""
    python = formula.replace("⌊", "math.floor(").replace("⌋", ")").replace("·", "*").replace("−", "-")
    python = re.sub(r"/", "/", python)
    return eval(python, {"math": math})  # noqa: S307


@pytest.mark.parametrize("stem", ["resnet50", "mobilenet_v2", "unet", "alexnet"])
def test_every_formula_evaluates_to_its_figure(stem):
    network = cnncalc.load(EXAMPLES / f"{stem}.yaml")
    report = cnncalc.analyze(network)
    checked = 0
    for row in report.layers[:60]:
        explanation = explain(network, row.name)
        for label, formula, value in explanation.lines:
            if label.startswith("field") or not isinstance(value, int) or "  (" in formula:
                continue
            if label in ("params", "buffers"):
                formula = re.sub(r"[a-z_]+ ", "", formula)
            assert _evaluate(formula) == value, (row.name, label, formula)
            checked += 1
        assert explanation.output_shape == row.output_shape
    assert checked > 50


def test_unknown_layer_suggests():
    result = CliRunner().invoke(main, ["explain", str(EXAMPLES / "resnet50.yaml"), "conv_1"])
    assert result.exit_code == 2
    assert "did you mean 'conv1'" in result.output


def test_shape_errors_carry_the_explanation(tmp_path):
    path = tmp_path / "arch.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3}\n"
                    "  - Conv2d: {out_channels: 4, kernel_size: 7}\n")
    result = CliRunner().invoke(main, ["summarize", str(path)])
    assert result.exit_code == 2
    assert "input [1, 4, 6, 6]" in result.output
    assert "H_out = ⌊(6 + 2·0 − 1·(7 − 1) − 1) / 1⌋ + 1" in result.output
