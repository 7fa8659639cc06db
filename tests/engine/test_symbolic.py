"""Symbolic input sizes: exact formulas that agree with concrete evaluation."""

from __future__ import annotations

import pytest

sympy = pytest.importorskip("sympy")

import cnncalc  # noqa: E402
from cnncalc.engine.symbolic import collapse_floors, format_expr, make_dims  # noqa: E402

from ..conftest import EXAMPLES  # noqa: E402

H, W = make_dims(("H", "W"))


@pytest.mark.parametrize("a, b, c", [(2, 0, 2), (2, 1, 3), (3, -1, 2), (7, 5, 4)])
def test_nested_floor_identity(a, b, c):
    # ⌊(⌊x/a⌋ + b)/c⌋ = ⌊(x + ab)/(ac)⌋ (Concrete Mathematics, eq. 3.11)
    nested = (H // a + b) // c
    collapsed = collapse_floors(nested)
    assert collapsed == sympy.floor((H + a * b) / (a * c))
    for value in range(1, 200):
        assert collapsed.subs(H, value) == ((value // a) + b) // c


def test_resnet_sizes_stay_short():
    report = cnncalc.analyze(EXAMPLES / "resnet50.yaml", input=(3, "H", "W"))
    last_map = [row for row in report.layers if not row.receptive_field.is_global][-1]
    assert format_expr(last_map.output_shape[2]) == "floor((H - 1)/32) + 1"


@pytest.mark.parametrize("stem", ["resnet18", "mobilenet_v2", "fcn", "unet"])
def test_symbolic_equals_concrete(stem):
    path = EXAMPLES / f"{stem}.yaml"
    network = cnncalc.load(path)
    symbolic = cnncalc.analyze(network, input=(network.input[0], "H", "W"))
    for height, width in ((64, 64), (96, 128)):
        concrete = cnncalc.analyze(network, input=(network.input[0], height, width))
        values = {sympy.Symbol("H", integer=True, positive=True): height,
                  sympy.Symbol("W", integer=True, positive=True): width}
        for sym_row, row in zip(symbolic.layers, concrete.layers):
            assert tuple(sympy.sympify(d).subs(values) for d in sym_row.output_shape) == row.output_shape, row.name
            assert sympy.sympify(sym_row.macs).subs(values) == row.macs, row.name
            assert sympy.sympify(sym_row.flops).subs(values) == row.flops, row.name
        assert sympy.sympify(symbolic.totals.peak_activation_bytes).subs(values) == \
            concrete.totals.peak_activation_bytes


def test_json_prints_formulas_as_strings():
    data = cnncalc.analyze(EXAMPLES / "fcn.yaml").to_dict()
    assert data["output_shape"][2] == "8*floor(H/8)"
    assert isinstance(data["totals"]["params"], int)          # a fully convolutional net's params are fixed
    assert isinstance(data["totals"]["macs"], str) and "H" in data["totals"]["macs"]


def test_set_evaluates_formulas():
    report = cnncalc.analyze(EXAMPLES / "fcn.yaml", sizes={"H": 512, "W": 384})
    assert report.output_shape[2:] == (512, 384)
    assert isinstance(report.totals.macs, int)


def test_impossible_symbolic_layer_raises():
    text = "input: [3, H, W]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3, groups: 2}\n"
    with pytest.raises(cnncalc.ShapeError, match="divisible by groups"):
        cnncalc.analyze(cnncalc.loads(text))


def test_repeated_layers_each_record_their_conditions():
    # three identical unpadded convs on one [3, H, W] input (a branch each, then summed): the second and
    # third have the first's outcome (one evaluation), yet each must name itself in the condition it needs
    text = ("input: [3, H, W]\nlayers:\n"
            "  - Conv2d: {out_channels: 3, kernel_size: 5, name: a, from: input}\n"
            "  - Conv2d: {out_channels: 3, kernel_size: 5, name: b, from: input}\n"
            "  - Conv2d: {out_channels: 3, kernel_size: 5, name: c, from: input}\n"
            "  - add: {from: [a, b, c]}\n")
    report = cnncalc.analyze(cnncalc.loads(text))
    by_layer: dict = {}
    for constraint in report.constraints:
        by_layer.setdefault(constraint.layer, []).append(str(constraint.condition))
    assert sorted(by_layer) == ["a", "b", "c"]
    assert by_layer["a"] == by_layer["b"] == by_layer["c"] == ["H >= 5", "W >= 5"]
    assert [row.output_shape for row in report.layers][:3] == [(1, 3, H - 4, W - 4)] * 3
    assert all(c.layer_type == "Conv2d" for c in report.constraints)
