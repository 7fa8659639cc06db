"""The issue-11 types against torch's documented semantics (expected values as arithmetic).

chunk: pieces of ⌈L / chunks⌉, the last shorter; split: the given sections;
narrow: length elements from start; Permute / transpose reorder; mean / sum /
amax reduce n inputs per output (n − 1 operations, mean + 1 divide);
LayerScale: C params, one multiply per element; scale: one multiply;
StochasticDepth: identity in eval. The torch.nn classes (Threshold, RMSNorm,
GLU, ...) are also built with torch.nn directly; the rest are checked against
torch in tests/torch_bridge/test_layer_parity.py through to_torch.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc import ShapeError, SpecError

from .helpers import Bad, Case, check_against_torch, check_bad, check_case, evaluate_direct, params

PIECES = ("chunk", "split")      # one layer per output: the loader sets index, so evaluate one piece directly

CASES = [
    Case("chunk", {"chunks": 3, "dim": 1, "index": 2}, (1, 7, 4, 4), out=(1, 7 - 2 * 3, 4, 4), torch=False),
    Case("split", {"split_size_or_sections": [2, 5], "dim": 1, "index": 1}, (1, 7, 4, 4), out=(1, 5, 4, 4),
         torch=False),
    Case("narrow", {"dim": 3, "start": 1, "length": 2}, (1, 2, 4, 5), out=(1, 2, 4, 2), rf=[(1, 1, 0), (1, 1, 1)],
         torch=False),
    Case("Permute", {"dims": [0, 2, 3, 1]}, (2, 3, 4, 5), out=(2, 4, 5, 3), rf="global", torch=False),
    Case("transpose", {"dim0": 0, "dim1": 1}, (2, 3, 4, 5), out=(3, 2, 4, 5), rf=[(1, 1, 0)] * 2, torch=False),
    Case("mean", {"dim": [2, 3]}, (2, 3, 4, 5), out=(2, 3), flops=2 * 3 * (4 * 5 - 1) + 2 * 3, rf="global",
         torch=False),
    Case("sum", {"dim": 1, "keepdim": True}, (2, 3, 4, 5), out=(2, 1, 4, 5), flops=2 * 4 * 5 * (3 - 1),
         rf=[(1, 1, 0)] * 2, torch=False),
    Case("amax", {"dim": -1}, (2, 3, 4), out=(2, 3), flops=2 * 3 * (4 - 1), torch=False),
    Case("LayerScale", {}, (2, 3, 4, 5), out=(2, 3, 4, 5), params=3, flops=2 * 3 * 4 * 5, torch=False),
    Case("LayerScale", {"dim": -1}, (2, 4, 5, 3), out=(2, 4, 5, 3), params=3, flops=2 * 4 * 5 * 3, torch=False,
         id="LayerScale-channels-last"),
    Case("scale", {"factor": 0.17}, (2, 3, 4, 5), out=(2, 3, 4, 5), flops=2 * 3 * 4 * 5, torch=False),
    Case("StochasticDepth", {"p": 0.2}, (2, 3, 4, 5), out=(2, 3, 4, 5), torch=False),
    Case("Threshold", {"threshold": 0.1, "value": 0.0}, (2, 3, 4, 4), out=(2, 3, 4, 4), flops=2 * 3 * 4 * 4),
    Case("RMSNorm", {"normalized_shape": [4]}, (2, 3, 4), out=(2, 3, 4), params=4, flops=2 * 3 * 4 * (6 + 1)),
    Case("GLU", {"dim": 1}, (2, 6, 3, 3), out=(2, 3, 3, 3), flops=5 * 2 * 3 * 3 * 3),
    Case("Softmin", {"dim": 1}, (2, 3, 4, 4), out=(2, 3, 4, 4), flops=4 * 2 * 3 * 4 * 4),
    Case("UpsamplingNearest2d", {"scale_factor": 2}, (1, 2, 3, 3), out=(1, 2, 6, 6)),
    # im2col: C·k·k rows; L = (⌊(7 + 2 − 1·(2 − 1) − 1) / 2⌋ + 1) · (⌊(8 + 2 − 2·(3 − 1) − 1) / 2⌋ + 1) = 4 · 3
    Case("Unfold", {"kernel_size": [2, 3], "padding": 1, "stride": 2, "dilation": [1, 2]}, (2, 3, 7, 8),
         out=(2, 3 * 2 * 3, 4 * 3), rf="global"),
    # col2im: 12 / (2·3) channels; blocks (⌊(5 + 2 − 1 − 1)/2⌋ + 1) · (6 + 2 − 2 − 1 + 1) = 3 · 6 = 18; an add per input
    Case("Fold", {"output_size": [5, 6], "kernel_size": [2, 3], "padding": 1, "stride": [2, 1]}, (2, 12, 18),
         out=(2, 2, 5, 6), flops=2 * 12 * 18, rf="global"),
    # ⌊9 · 0.5⌋ = 4, ⌊10 · 0.7⌋ = 7; a 2×2 window: 3 comparisons per output; field: one window
    Case("FractionalMaxPool2d", {"kernel_size": 2, "output_ratio": [0.5, 0.7]}, (2, 3, 9, 10), out=(2, 3, 4, 7),
         flops=2 * 3 * 4 * 7 * 3),
    Case("FractionalMaxPool3d", {"kernel_size": [1, 2, 2], "output_size": [3, 4, 4]}, (1, 2, 4, 6, 7),
         out=(1, 2, 3, 4, 4), flops=2 * 3 * 4 * 4 * 3),
]

ERRORS = [
    Bad("chunk", {"chunks": 5, "dim": 1, "index": 4}, (1, 4, 2, 2), ShapeError, ("only 4 pieces",), torch=False),
    Bad("split", {"split_size_or_sections": [1, 2], "dim": 1}, (1, 4, 2, 2), ShapeError, ("add up to 3", "4"),
        torch=False),
    Bad("narrow", {"dim": 2, "start": 3, "length": 2}, (1, 2, 4, 4), ShapeError, ("3 + 2", "4"), torch=False),
    Bad("Permute", {"dims": [0, 1, 2]}, (1, 2, 4, 4), ShapeError, ("3 entries",), torch=False),
    Bad("GLU", {"dim": 1}, (1, 3, 4, 4), ShapeError, ("odd",)),
    Bad("StochasticDepth", {"p": 1.5}, (1, 2, 4, 4), SpecError, ("probability",), torch=False),
    Bad("Fold", {"output_size": [3, 3], "kernel_size": 2}, (1, 8, 3), ShapeError, ("2 · 2 = 4", "3")),
    Bad("Unfold", {"kernel_size": 5}, (1, 2, 3, 3), ShapeError, ("does not fit",)),
    Bad("FractionalMaxPool2d", {"kernel_size": 3, "output_size": 4}, (1, 1, 5, 5), ShapeError, ("too large",)),
    Bad("FractionalMaxPool2d", {"kernel_size": 2}, (1, 1, 5, 5), SpecError, ("output_size or output_ratio",),
        torch=False),
    Bad("FractionalMaxPool2d", {"kernel_size": 2, "output_ratio": 1.5}, (1, 1, 5, 5), SpecError, ("between 0 and 1",),
        torch=False),
]


@pytest.mark.parametrize("case", params(CASES))
def test_issue11_table(case):
    if case.type not in PIECES:
        check_case(case)
        return
    got = evaluate_direct(case.type, case.args, case.shapes)
    assert (got.output_shape, got.params, got.macs, got.flops) == (case.out, case.params, case.macs, case.flops)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(CASES))
def test_issue11_against_torch(case):
    check_against_torch(case, count_flops=True)


@pytest.mark.parametrize("case", params(ERRORS))
def test_issue11_errors(case):
    if case.type not in PIECES:
        check_bad(case)
        return
    with pytest.raises(case.error) as info:
        evaluate_direct(case.type, case.args, case.shapes)
    assert all(fragment in info.value.message for fragment in case.mentions)


NET = """
input: [8, H, W]
blocks:
  cell:
    inputs: [x, prev]
    layers:
      - Conv2d: {out_channels: 8, kernel_size: 1, from: prev, name: a}
      - add: {from: [x, a]}
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: 1, name: stem}
  - chunk: {chunks: 2, dim: 1, name: parts}
  - concat: {from: [parts.1, parts.0]}
  - cell: {from: [-1, stem]}
  - interpolate: {size_of: input, mode: bilinear}
"""


def test_pieces_blocks_of_two_inputs_and_size_of():
    report = cnncalc.analyze(cnncalc.loads(NET), sizes={"H": 9, "W": 10})
    names = [row.name for row in report.layers]
    assert names[1:3] == ["parts.0", "parts.1"]
    assert report.layers[3].inputs == ("parts.1", "parts.0")
    assert report.layers[4].inputs == ("stem",)          # cell_3.a reads prev = stem
    assert report.output_shape == (1, 8, 9, 10)          # back to the input's size
    symbolic = cnncalc.analyze(cnncalc.loads(NET))
    assert [str(d) for d in symbolic.output_shape[2:]] == ["H", "W"]


@pytest.mark.parametrize("text, fragment", [
    ("  - chunk: {chunks: 2, dim: 1, name: p}\n  - ReLU\n", "write from: p.0"),
    ("  - chunk: {chunks: 2, dim: 1, name: p}\n", "2 outputs"),
    ("  - chunk: {chunks: 2, dim: 1, index: 0}\n", "set by the loader"),
    ("  - chunk: {chunks: 2, dim: 1, repeat: 2}\n", "'repeat' cannot"),
])
def test_piece_errors(text, fragment):
    with pytest.raises(SpecError) as info:
        cnncalc.loads("input: [4, 4, 4]\nlayers:\n" + text)
    assert fragment in info.value.message + (info.value.hint or "")


def test_block_input_count_is_checked():
    text = NET.replace("  - cell: {from: [-1, stem]}", "  - cell: {from: -1}")
    with pytest.raises(SpecError) as info:
        cnncalc.loads(text)
    assert "takes 2 inputs" in info.value.message


@pytest.mark.parametrize("dims, expected", [([3], (3, 10)), ([2], (8, 3)), ([2, 3], (8, 10))])
def test_a_reduction_with_keepdim_is_global_only_along_the_reduced_axes(dims, expected):
    """x.mean(dim, keepdim=True) after a 3x3 conv: one output element's gradient spans the reduced
    axes whole and 3 along the kept ones (measured by autograd, as torch_bridge.field does)."""
    torch = pytest.importorskip("torch")
    text = ("input: [2, 8, 10]\nlayers:\n  - Conv2d: {out_channels: 3, kernel_size: 3}\n"
            f"  - mean: {{dim: {dims}, keepdim: true}}\n")
    report = cnncalc.analyze(cnncalc.loads(text))
    assert tuple(report.layers[-1].receptive_field.size) == expected
    x = torch.randn(1, 2, 8, 10, requires_grad=True)
    cnncalc.to_torch(cnncalc.loads(text))(x)[0, 0, 0, 0].backward()
    read = x.grad[0].abs().sum(0) != 0
    rows, cols = read.any(1).nonzero().flatten(), read.any(0).nonzero().flatten()
    assert (int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1) == expected
