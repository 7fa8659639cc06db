"""rows.py: the memoising formula printer prints what sympy's own str prints, and folded sums equal sympy's."""

from __future__ import annotations

from pathlib import Path

import pytest

import cnncalc
from cnncalc.render.rows import formula_text, rows

sympy = pytest.importorskip("sympy")

RESNET = Path(__file__).resolve().parents[2] / "examples" / "resnet50.yaml"


def test_formula_text_is_sympys_str_on_every_cell():
    report = cnncalc.analyze(RESNET, input=(3, "H", "W"))
    values = [v for row in rows(report, 1) + rows(report) for v in
              (row.params, row.macs, row.flops, row.activation_bytes, *row.output_shape)]
    assert any(isinstance(v, sympy.Basic) and v.free_symbols for v in values)
    assert [formula_text(v) for v in values] == [str(v) for v in values]


def test_folded_rows_sum_like_one_by_one():
    """A folded block's figures are the plain sum of its layers' (sympy's + one by one)."""
    report = cnncalc.analyze(RESNET, input=(3, "H", "W"))
    block = next(row for row in rows(report, 1) if row.layers > 1)
    members = [layer for layer in report.layers if len(layer.scopes) > 1 and layer.scopes[1] == block.name]
    assert len(members) == block.layers
    total = members[0].macs
    for layer in members[1:]:
        total = total + layer.macs
    assert sympy.simplify(block.macs - total) == 0 and str(block.macs) == str(total)


def test_formula_text_of_plain_values():
    assert formula_text(25_557_032) == "25557032"
    assert formula_text("H") == "H"


def test_memoised_formats_each_value_once_and_equal_values_alike():
    from fractions import Fraction

    from cnncalc.render.rows import memoised
    calls = []

    @memoised
    def text(value):
        calls.append(value)
        return repr(sorted(value)) if isinstance(value, list) else str(value)

    assert text((1, 2)) == "(1, 2)" and text((1, 2)) == "(1, 2)"
    assert calls == [(1, 2)]                               # the second was remembered
    assert text([2, 1]) == "[1, 2]" and text([2, 1]) == "[1, 2]"
    assert calls[1:] == [[2, 1], [2, 1]]                   # unhashable: formatted each time, not refused
    assert text(3) == "3"
    before = len(calls)
    assert text(Fraction(3)) == "3" and len(calls) == before   # an equal value is served the remembered text


def test_shape_and_field_texts_repeat_unchanged():
    # the memoised texts are those of the first call, for every row of a long chain
    from cnncalc.render.rows import field_text, shape_text
    report = cnncalc.analyze(cnncalc.loads("input: [4, 8, 8]\nlayers:\n" + "  - Conv2d: {out_channels: 4, kernel_size: 3}\n"
                                           + "  - ReLU\n" * 3))
    assert [shape_text(row.output_shape) for row in report.layers] == ["[1, 4, 6, 6]"] * 4
    assert [field_text(row.receptive_field) for row in report.layers] == ["3×3"] * 4
