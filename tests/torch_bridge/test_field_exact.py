"""Global receptive fields are exact, per axis, and verify catches a wrong one (issue 10).

Truth is autograd: the gradient of one output element at a time (border ones included) through the
linearised copy of torch_bridge/field.py, and, for SqueezeNet 1.0, through torchvision's own module.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cnncalc

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

DATA = Path(__file__).resolve().parents[1] / "data" / "rf"

STRIDED = """
input: [3, 8, 8]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, stride: 2}
  - AdaptiveAvgPool2d: {output_size: 1}
"""

LINEAR_ON_W = """
input: [1, 32, 32]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3}
  - Linear: {out_features: 5}
"""


def _measure(text_or_path, **kwargs):
    from cnncalc.torch_bridge.field import measure_fields
    net = cnncalc.load(text_or_path) if isinstance(text_or_path, Path) else cnncalc.loads(text_or_path)
    return cnncalc.analyze(net), measure_fields(net, layers=[], **kwargs)


def test_strided_unpadded_conv_then_global_pool_reads_7x7():
    report, measured = _measure(STRIDED)
    outputs = (8 - 3) // 2 + 1                       # 3 outputs; the last reads 2·2 … 2·2 + 2
    last_read = (outputs - 1) * 2 + 2
    field = report.receptive_field
    assert field.is_global and field.size == (last_read + 1,) * 2 == (7, 7)
    assert field.start == (3, 3)                     # the centre of 0 … 6
    (check,) = measured.checks
    assert check.ok is True and check.size == [7, 7] and check.uniform == [True, True]


def test_linear_on_an_unflattened_map_is_global_along_w_only():
    report, measured = _measure(LINEAR_ON_W)
    field = report.receptive_field
    assert field.size == (3, 32) and field.jump == (1, 32) and field.global_axes == (False, True)
    assert field.to_dict()["global_axes"] == [False, True] and field.to_dict()["global"] is True
    (check,) = measured.checks
    assert check.ok is True and check.size == [3, 32]


def test_squeezenet_1_0_reads_223_of_224():
    report, measured = _measure(DATA / "squeezenet1_0.yaml")
    assert report.totals.params == 1_248_424         # torchvision's published count
    # the stem's 109 outputs read 2j … 2j + 6: the last reads 216 … 222, so 223 is never read
    stem_outputs = (224 - 7) // 2 + 1
    assert report.receptive_field.size == ((stem_outputs - 1) * 2 + 6 + 1,) * 2 == (223, 223)
    (check,) = measured.checks
    assert check.ok is True and check.size == [223, 223]


def test_squeezenet_1_0_through_torchvision_itself():
    """torchvision's module: the gradient of one output is exactly 0 on row and column 223 only."""
    import sys
    sys.path.insert(0, "/tmp/tvlib")
    try:
        for op in ("nms", "qnms"):                 # as tests/data/torchvision/make_keys.py does
            try:
                torch.library.define(f"torchvision::{op}",
                                     "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            except RuntimeError:
                pass
        import torchvision.models as models
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"torchvision cannot be imported: {err}")
    finally:
        sys.path.remove("/tmp/tvlib")
    torch.manual_seed(0)
    model = models.squeezenet1_0().double().eval()
    with torch.no_grad():                            # positive weights: no path cancels, every ReLU is on
        for p in model.parameters():
            p.copy_(p.abs() + 1e-3)
    x = torch.rand(1, 3, 224, 224, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x)[0, 0], x)
    seen = grad[0].abs().sum(0) != 0
    assert not seen[223].any() and not seen[:, 223].any()
    assert seen[:223].any(dim=1).all() and seen[:, :223].any(dim=0).all()


def test_a_wrong_global_rule_fails_verify(monkeypatch):
    """The old rule (the whole input after global pooling) is caught by one element's gradient."""
    import cnncalc.engine.receptive as receptive
    net = cnncalc.loads(STRIDED)
    assert not cnncalc.verify(net, device="cpu").failures
    monkeypatch.setattr(receptive, "hull", lambda axis, length, extent, exact=None: receptive.Mixed(0, extent - 1))
    result = cnncalc.verify(net, device="cpu")
    failures = [c for c in result.failures if c.kind == "field"]
    assert failures and failures[0].expected["size"] == [8, 8] and failures[0].measured["size"] == [7, 7]


def test_a_linear_claimed_global_on_every_axis_fails_verify(monkeypatch):
    from cnncalc.layers import linear
    from cnncalc.layers.base import GLOBAL
    net = cnncalc.loads(LINEAR_ON_W)
    original = linear.Linear.evaluate

    def everywhere(self, cfg, inputs, ctx):
        import dataclasses
        return dataclasses.replace(original(self, cfg, inputs, ctx), field=(GLOBAL, GLOBAL))
    monkeypatch.setattr(linear.Linear, "evaluate", everywhere)
    result = cnncalc.verify(net, device="cpu")
    failures = [c for c in result.failures if c.kind == "field"]
    assert failures and failures[0].expected["size"] == [32, 32]
    assert "read different parts" in failures[0].note


# --------------------------------------------------------------------------
# A hypothesis family: small random nets, sequential and DAG, ending global
# --------------------------------------------------------------------------

@st.composite
def nets(draw):
    """A valid net by construction: each layer's window fits the size it gets."""
    h, w = draw(st.integers(5, 14)), draw(st.integers(5, 14))
    lines, sizes = [], [h, w]
    for index in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg", "residual"]))
        smallest = min(sizes)
        if kind == "residual":                        # a DAG: add(conv 3x3 same, conv 1x1)
            lines.append(f"  - Conv2d: {{name: a{index}, out_channels: 2, kernel_size: 3, padding: 1}}")
            lines.append(f"  - Conv2d: {{name: b{index}, from: -2, out_channels: 2, kernel_size: 1}}")
            lines.append(f"  - add: {{from: [a{index}, b{index}]}}")
            continue
        dilation = draw(st.integers(1, 2)) if kind == "conv" else 1
        k = draw(st.integers(1, max(1, min(4, (smallest + 1) // dilation))))
        pad = draw(st.integers(0, k // 2))
        stride = draw(st.integers(1, 3))
        span = dilation * (k - 1) + 1
        if span > smallest + 2 * pad:
            pad = 0
            k = 1
            span = 1
        if kind == "conv":
            lines.append(f"  - Conv2d: {{out_channels: 2, kernel_size: {k}, stride: {stride}, padding: {pad}, "
                         f"dilation: {dilation}}}")
            sizes = [(s + 2 * pad - span) // stride + 1 for s in sizes]
        else:
            ceil = kind == "max" and draw(st.booleans())
            name = "MaxPool2d" if kind == "max" else "AvgPool2d"
            lines.append(f"  - {name}: {{kernel_size: {k}, stride: {stride}, padding: {pad}, ceil_mode: "
                         f"{'true' if ceil else 'false'}}}")
            out = []
            for s in sizes:
                n = (-(-(s + 2 * pad - k) // stride) if ceil else (s + 2 * pad - k) // stride) + 1
                if ceil and (n - 1) * stride >= s + pad:   # torch: the last window starts inside
                    n -= 1
                out.append(n)
            sizes = out
    end = draw(st.sampled_from(["pool", "pool_h", "flatten", "linear_w", "softmax_h", "softmax_w"]))
    lines += {
        "pool": ["  - AdaptiveAvgPool2d: {output_size: 1}"],
        "pool_h": ["  - AdaptiveMaxPool2d: {output_size: [1, null]}"],
        "flatten": ["  - Flatten", "  - Linear: {out_features: 3}"],
        "linear_w": ["  - Linear: {out_features: 3}"],
        "softmax_h": ["  - Softmax: {dim: 2}"],
        "softmax_w": ["  - Softmax: {dim: -1}"],
    }[end]
    return f"input: [1, {h}, {w}]\nlayers:\n" + "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nets())
def test_random_nets_match_the_gradient(text):
    report, measured = _measure(text, count=0)
    assert measured.checks
    for check in measured.checks:
        assert check.ok is not False, (text, check)
    output = [c for c in measured.checks if c.is_output]
    assert output and output[0].ok is True, (text, output)
    assert math.prod(report.receptive_field.size) > 0


# --------------------------------------------------------------------------
# Paired probes: two far-apart elements in one backward pass (field.py, _far_element)
# --------------------------------------------------------------------------

PAIRABLE = """
input: [1, 40, 40]
layers:
  - Conv2d: {name: c1, out_channels: 2, kernel_size: 3, stride: 2, padding: 1}
  - Conv2d: {name: c2, out_channels: 2, kernel_size: 3, padding: 1}
"""


def test_a_small_field_is_measured_with_one_backward_pass(monkeypatch):
    from cnncalc.torch_bridge.field import measure_fields
    calls = []
    original = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: calls.append(1) or original(*a, **k))
    (check,) = measure_fields(cnncalc.loads(PAIRABLE), layers=["c2"], output=False).checks
    # c2's element j reads c1's j-1 .. j+1, which read 2(j-1)-1 .. 2(j+1)+1: 7 wide, 2 apart, centred on 2j
    assert check.ok is True and check.size == [7, 7] and check.jump == [2, 2] and check.start == [0, 0]
    assert len(calls) == 1


def test_a_wrong_jump_is_caught_by_the_paired_probe(monkeypatch):
    import cnncalc.layers.conv as conv
    from cnncalc.layers.base import AxisMap
    original = conv.conv_axis_step

    def faster(kernel, stride, pad_left, dilation=1):     # claims each output moves 1 further
        step = original(kernel, stride, pad_left, dilation)
        return AxisMap(1, stride + 1, step.low, step.high, step.spacing) if stride > 1 else step
    monkeypatch.setattr(conv, "conv_axis_step", faster)
    result = cnncalc.verify(cnncalc.loads(PAIRABLE), device="cpu", field_layers=["c2"])
    failures = [c for c in result.failures if c.kind == "field"]
    assert failures and failures[0].measured["jump"] == [2, 2] and failures[0].expected["jump"] == [3, 3]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nets())
def test_paired_and_single_probes_measure_the_same(text):
    import cnncalc.torch_bridge.field as field
    _, paired = _measure(text, count=8)
    original = field._far_element
    field._far_element = lambda *args: None
    try:
        _, single = _measure(text, count=8)
    finally:
        field._far_element = original
    for a, b in zip(paired.checks, single.checks):
        assert (a.layer, a.size, a.jump, a.start, a.ok) == (b.layer, b.size, b.jump, b.start, b.ok), text


GLOBAL_THEN_GLOBAL = """
input: [1, 16, 16]
layers:
  - Conv2d: {out_channels: 2, kernel_size: 3, stride: 2}
  - AdaptiveAvgPool2d: {output_size: 1}
  - Upsample: {size: 8}
  - Conv2d: {out_channels: 2, kernel_size: 3, padding: 1}
  - AdaptiveAvgPool2d: {output_size: 1}
"""


def test_a_walk_stops_at_a_field_already_global():
    """After a global field, an upsampling and a second global layer read the first one's union still
    (0 .. 14: the strided unpadded conv never reads 15), as autograd measures."""
    report, measured = _measure(GLOBAL_THEN_GLOBAL)
    last_read = (16 - 3) // 2 * 2 + 2
    assert report.receptive_field.size == (last_read + 1,) * 2 == (15, 15)
    (check,) = measured.checks
    assert check.ok is True and check.size == [15, 15]
