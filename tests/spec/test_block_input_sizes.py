"""A block input's sizes in arguments: ``groups: $in.channels``, ``out_channels: "$in.channels // 2"``.

One depthwise-separable block written once and used at several widths
(Xception's, NASNet's): expected params and MACs as arithmetic over the
width the block receives, then the same file through torch (to_torch's
parameters, verify's shapes and FLOPs, the numpy run). Errors are located
at the argument and say what the value was.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc import ShapeError, SpecError
from cnncalc.engine import plan
from cnncalc.engine.plan import bind

SEPARABLE = """
name: separable
input: [3, 12, 12]
blocks:
  sep:
    params: {out: ~, mid: "$in.channels // 2"}
    layers:
      - Conv2d: {out_channels: $in.channels, kernel_size: 3, padding: 1, groups: $in.channels, bias: false}
      - Conv2d: {out_channels: $mid, kernel_size: 1}
      - Conv2d: {out_channels: "$out + $in.shape[1] - $in.shape[-3]", kernel_size: 1}
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - sep: {out: 16}
  - sep: {out: 32}
  - sep: {out: 12}
"""


def separable_rows(width: int, out: int, hw: int = 12 * 12) -> list[tuple[int, int]]:
    """(params, MACs) of one sep block receiving ``width`` channels."""
    mid = width // 2
    return [
        (width * 3 * 3, width * 3 * 3 * hw),                 # depthwise 3×3, groups = width, no bias
        (width * mid + mid, width * mid * hw),               # 1×1 to half the block input's channels
        (mid * out + out, mid * out * hw),                   # 1×1 to out ($in.shape[1] - $in.shape[-3] = 0)
    ]


EXPECTED = [(3 * 8 * 9 + 8, 3 * 9 * 8 * 144)] + separable_rows(8, 16) + separable_rows(16, 32) + separable_rows(32, 12)


def test_one_block_at_three_widths():
    report = cnncalc.analyze(cnncalc.loads(SEPARABLE))
    assert [(row.params, row.macs) for row in report.layers] == EXPECTED
    assert [row.output_shape[1] for row in report.layers][1::3] == [8, 16, 32]   # the depthwise keeps the width


def test_pending_arguments_are_checked_once_per_value_and_bound():
    the_plan = plan(cnncalc.loads(SEPARABLE))
    pending = [layer.spec.path for layer in the_plan.layers if layer.pending]
    assert pending == [path for path in (layer.spec.path for layer in the_plan.layers) if path.startswith("sep_")]
    report = cnncalc.analyze(cnncalc.loads(SEPARABLE))
    bound = bind(the_plan, report)
    groups = [layer.cfg["groups"] for layer in bound.layers if layer.spec.path.endswith("conv2d_0")][1:]
    assert groups == [8, 16, 32] and not any(layer.pending for layer in bound.layers)


def test_symbolic_input_keeps_channel_sizes():
    report = cnncalc.analyze(cnncalc.loads(SEPARABLE.replace("[3, 12, 12]", "[3, H, W]")))
    concrete = cnncalc.analyze(cnncalc.loads(SEPARABLE.replace("[3, 12, 12]", "[3, H, W]")), sizes={"H": 12, "W": 12})
    assert report.totals.params == concrete.totals.params == sum(p for p, _ in EXPECTED)
    macs = report.totals.macs
    assert macs.subs({symbol: 12 for symbol in macs.free_symbols}) == concrete.totals.macs == sum(m for _, m in EXPECTED)


def test_two_input_block_reads_a_named_input_and_nested_params():
    text = """
input: [4, 8, 8]
blocks:
  half:
    params: {c: ~}
    layers:
      - Conv2d: {out_channels: "$c // 2", kernel_size: 1}
  cell:
    inputs: [x, prev]
    layers:
      - Conv2d: {out_channels: $prev.channels, kernel_size: 1, from: x}
      - add: {from: [-1, prev]}
      - half: {c: "$x.channels * 3"}
layers:
  - Conv2d: {name: a, out_channels: 6, kernel_size: 1}
  - Conv2d: {name: b, out_channels: 10, kernel_size: 1}
  - cell: {from: [a, b]}
"""
    report = cnncalc.analyze(cnncalc.loads(text))
    rows = {row.name: row for row in report.layers}
    assert rows["cell_2.conv2d_0"].params == 6 * 10 + 10          # $prev.channels = 10, input x has 6
    assert rows["cell_2.half_2.conv2d_0"].params == 10 * 9 + 9    # c = 6 * 3 = 18 -> 9 outputs


@pytest.mark.parametrize("expression, error, fragments", [
    ('"$in.shape[7]"', ShapeError, ("out of range", "4-d")),
    ('"$in.channels - 8"', SpecError, ("groups", "found 0", "$in.channels - 8 = 0")),
    ('"$x.channels"', SpecError, ("names no input",)),
    ('"$in.chanels"', SpecError, ("cannot read", "$in.channels")),
    ('"$nope + $in.channels"', SpecError, ("unknown parameter", "$nope")),
    ('"$in.channels // ($in.channels - 8)"', ShapeError, ("division by zero", "$in.channels = 8")),
])
def test_errors_are_located_and_say_the_value(expression, error, fragments):
    text = SEPARABLE.replace("groups: $in.channels", f"groups: {expression}")
    with pytest.raises(error) as info:
        cnncalc.analyze(cnncalc.loads(text))
    message = str(info.value) + (info.value.hint or "")
    assert info.value.loc is not None and info.value.loc.line == 8, message
    for fragment in fragments:
        assert fragment in message, message


def test_a_symbolic_size_cannot_be_an_argument():
    text = SEPARABLE.replace("[3, 12, 12]", "[3, H, W]").replace("groups: $in.channels", 'groups: "$in.shape[2]"')
    with pytest.raises(ShapeError, match="depends on the input's symbolic sizes"):
        cnncalc.analyze(cnncalc.loads(text))


def test_the_numpy_run_sees_the_resolved_values():
    from cnncalc.reference.run import check, run
    result = run(cnncalc.loads(SEPARABLE))
    check(result)
    assert all(layer.status == "ok" for layer in result.layers)


@pytest.mark.torch
def test_to_torch_and_verify_see_the_resolved_values():
    pytest.importorskip("torch")
    model = cnncalc.to_torch(cnncalc.loads(SEPARABLE))
    assert sum(p.numel() for p in model.parameters()) == sum(p for p, _ in EXPECTED)
    depthwise = [module for name, module in model.named_modules() if name.endswith("conv2d_0") and "sep" in name]
    assert [(m.in_channels, m.groups) for m in depthwise] == [(8, 8), (16, 16), (32, 32)]
    result = cnncalc.verify(cnncalc.loads(SEPARABLE), fields=0)
    assert result.ok, result
