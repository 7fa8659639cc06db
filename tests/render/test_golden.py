"""Golden terminal output (torchinfo-style), plus the invariant that rows sum to totals.

The golden files pin the layout. Their figures are checked independently:
the digits network's dense layer is 3·7·7·10 = 1,470 params (the lesson),
its convolutions 3·1·3·3 + 3 and 3·3·3·3 + 3; resnet18 is torchvision's 11,689,512.
Regenerate after an intended layout change with:
  cnncalc summarize examples/digits.yaml > tests/data/golden/digits.txt
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main
from cnncalc.units import parse_count

from ..conftest import DATA, EXAMPLES


@pytest.mark.parametrize("stem, args", [("digits", []), ("resnet18_depth1", ["--depth", "1"])])
def test_golden_table(stem, args):
    source = "digits" if stem == "digits" else "resnet18"
    result = CliRunner().invoke(main, ["summarize", str(EXAMPLES / f"{source}.yaml"), *args])
    assert result.exit_code == 0
    expected = (DATA / "golden" / f"{stem}.txt").read_text()
    assert result.output == expected


def test_golden_figures_are_the_published_ones():
    text = (DATA / "golden" / "digits.txt").read_text()
    assert f"Params: {3 * 1 * 3 * 3 + 3 + 3 * 3 * 3 * 3 + 3 + 3 * 7 * 7 * 10:,}" in text
    text = (DATA / "golden" / "resnet18_depth1.txt").read_text()
    assert "Params: 11,689,512" in text


def test_table_rows_sum_to_footer():
    # small enough that every cell prints exactly (no K/M suffix)
    text = """
input: [1, 6, 6]
layers:
  - Conv2d: {out_channels: 2, kernel_size: 3, name: a}
  - ReLU
  - Conv2d: {out_channels: 2, kernel_size: 1, name: b}
  - add: {from: [a, b]}
  - Flatten
  - Linear: {out_features: 3}
"""
    from cnncalc.render import render
    table = render(cnncalc.analyze(cnncalc.loads(text)))
    lines = table.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith(" ───")]
    header = re.split(r"\s{2,}", lines[rules[0] - 1].strip())
    body = [re.split(r"\s{2,}", line.strip()) for line in lines[rules[0] + 1:rules[1]]]
    footer = re.split(r"\s{2,}", lines[rules[1] + 1].strip())
    footer.insert(1, "")                           # the footer has no type
    for column in ("Params", "MACs", "FLOPs"):
        index = header.index(column)
        assert sum(parse_count(cells[index]) for cells in body) == parse_count(footer[index]), column
    # and the figures are torch's: conv a 2·1·3·3 + 2, conv b 2·2·1·1 + 2, linear 3·(2·4·4) + 3
    assert parse_count(footer[header.index("Params")]) == (2 * 9 + 2) + (2 * 2 + 2) + (3 * 32 + 3)
