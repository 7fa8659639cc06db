"""Receptive fields against published figures.

Rows of google-research/receptive_field's RECEPTIVE_FIELD_TABLE.md (also in
Araujo, Norris, Sim, "Computing Receptive Fields of CNNs", Distill 2019) and
the graphs of that library's unit tests, rebuilt layer by layer in
tests/data/rf/ (each file's header quotes its source). The library reports
(r, effective stride S, effective padding P); cnncalc's start is the centre
c = −P + (r − 1)/2.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import cnncalc

from ..conftest import DATA

RF = DATA / "rf"

# file: (r per axis [H, W], S per axis, P per axis)
PUBLISHED = {
    "vgg16_pool5": ((212, 212), (32, 32), (90, 90)),
    "alexnet_v2_pool5": ((195, 195), (32, 32), (64, 64)),
    "mobilenet_v1_conv13": ((315, 315), (32, 32), (126, 126)),
    "resnet_v1_50_block4": ((483, 483), (32, 32), (239, 239)),
    "inception_v3_mixed_7c": ((1311, 1311), (32, 32), (618, 618)),
    "tf_aligned": ((3, 3), (4, 4), (1, 1)),
    "tf_intermediate_add": ((11, 11), (8, 8), (5, 5)),
    "tf_nonsquare": ((7, 5), (4, 4), (0, 0)),            # kernels [3, 5] then [3, 1]: height 7, width 5
    "tf_same_9x9": ((3, 3), (4, 4), (1, 1)),
}


@pytest.mark.parametrize("stem", sorted(PUBLISHED))
def test_published_receptive_fields(stem):
    sizes, jumps, paddings = PUBLISHED[stem]
    field = cnncalc.analyze(RF / f"{stem}.yaml").receptive_field
    assert field.aligned and not field.is_global
    assert field.size == sizes
    assert field.jump == jumps
    assert field.start == tuple(-p + Fraction(r - 1, 2) for p, r in zip(paddings, sizes))


@pytest.mark.parametrize("stem", ["tf_misaligned", "tf_same_8x8"])
def test_misaligned_graphs_are_reported(stem):
    # the library raises ValueError on these; cnncalc marks them and names where the paths part
    report = cnncalc.analyze(RF / f"{stem}.yaml")
    field = report.receptive_field
    assert not field.aligned
    assert field.parted_at == "input"
    first = next(row for row in report.layers if not row.receptive_field.aligned)
    assert first.type == "add"
    assert first.to_dict()["receptive_field"]["aligned"] is False


def test_dilation_and_global():
    text = """
input: [1, 64, 64]
layers:
  - Conv2d: {out_channels: 1, kernel_size: 3, dilation: 4}
  - Conv2d: {out_channels: 1, kernel_size: 3, stride: 2}
  - AdaptiveAvgPool2d: {output_size: 1}
"""
    report = cnncalc.analyze(cnncalc.loads(text))
    first, second, pooled = (row.receptive_field for row in report.layers)
    assert first.size == (4 * (3 - 1) + 1,) * 2            # dilation d makes k act as d(k − 1) + 1
    assert second.size == (9 + (3 - 1) * 1,) * 2 and second.jump == (2, 2)
    # 56 then 27 outputs; the last reads 2·26 … 2·26 + 2 of the first, i.e. input 52 … 52 + 10: column 63 is
    # never read, so the global field is 0 … 62 (the gradient's extent, tests/torch_bridge/test_field_exact.py)
    last = (((64 - 4 * 2) - 3) // 2) * 2 + 2 + 4 * 2
    assert pooled.is_global and pooled.size == (last + 1,) * 2 == (63, 63)


def test_rf_command_prints_every_layer():
    from click.testing import CliRunner

    from cnncalc.cli import main
    result = CliRunner().invoke(main, ["rf", str(RF / "tf_misaligned.yaml")])
    assert result.exit_code == 0
    assert "MISALIGNED (paths part at input)" in result.output
    json_result = CliRunner().invoke(main, ["rf", str(RF / "vgg16_pool5.yaml"), "--format", "json"])
    import json
    data = json.loads(json_result.output)
    assert data["receptive_field"]["size"] == [212, 212]
    assert data["receptive_field"]["start"] == ["31/2", "31/2"]


# --------------------------------------------------------------------------
# Twin axes: an axis whose whole history equals an earlier one's reuses its walk (engine/analyze.py)
# --------------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def square_input_nets(draw):
    """Valid by construction: a square input, per-axis kernels, strides and padding (often unequal)."""
    side = draw(st.integers(6, 16))
    sizes = [side, side]
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        ks, ss, ps = [], [], []
        for axis in range(2):
            k = draw(st.integers(1, min(4, sizes[axis])))
            s = draw(st.integers(1, 3))
            p = draw(st.integers(0, k // 2))
            ks.append(k), ss.append(s), ps.append(p)
        sizes = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(sizes, ks, ss, ps)]
        kind = draw(st.sampled_from(["Conv2d: {out_channels: 2, ", "MaxPool2d: {", "AvgPool2d: {"]))
        lines.append(f"  - {kind}kernel_size: {ks}, stride: {ss}, padding: {ps}}}")
        if draw(st.booleans()):
            lines.append("  - ReLU")
    lines.append(draw(st.sampled_from(["  - AdaptiveAvgPool2d: {output_size: 1}", "  - Linear: {out_features: 3}",
                                       "  - Softmax: {dim: 2}"])))
    return f"input: [1, {side}, {side}]\nlayers:\n" + "\n".join(lines) + "\n"


def test_square_input_nets_are_valid_by_construction():
    @settings(max_examples=30, deadline=None)
    @given(square_input_nets())
    def valid(text):
        cnncalc.analyze(cnncalc.loads(text))
    valid()


@settings(max_examples=80, deadline=None)
@given(square_input_nets())
def test_twin_axes_give_what_walking_each_axis_gives(text):
    import cnncalc.engine.analyze as analyze
    net = cnncalc.loads(text)
    reused = cnncalc.analyze(net)
    original = analyze._layer_twins
    analyze._layer_twins = lambda slots, twins, step, output, network, axes: tuple(range(axes))
    try:
        walked = cnncalc.analyze(net)
    finally:
        analyze._layer_twins = original
    for a, b in zip(reused.layers, walked.layers):
        assert a.receptive_field == b.receptive_field, (text, a.name)


def test_an_asymmetric_kernel_on_a_square_input_walks_each_axis():
    # kernels [3, 1], stride [2, 1], no padding, on 8x8: H outputs 0..2 read up to 2*2+2 = 6; W reads all 8
    report = cnncalc.analyze(cnncalc.loads(
        "input: [1, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 2, kernel_size: [3, 1], stride: [2, 1]}\n"
        "  - AdaptiveAvgPool2d: {output_size: 1}\n"))
    assert report.receptive_field.size == ((8 - 3) // 2 * 2 + 3, 8) == (7, 8)
