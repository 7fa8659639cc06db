"""Engine and layers under hostile or extreme networks (issue 9, the engine part).

Valid networks that torch accepts must work whatever their strides; bad ones
give exit 2 and one located message; nothing may crash, hang or spend memory
in proportion to a size from the file. Shapes and fields are checked against
torch where a forward pass is cheap (1-d), else against the analytic rule.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from fractions import Fraction
from math import floor

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

import cnncalc
from cnncalc.cli import main
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import AxisMap
from cnncalc.layers.conv import transposed_axis_step
from cnncalc.layers.pool import adaptive_axis_map, adaptive_bins, adaptive_widest_bin, adaptive_window_sum

from ..conftest import HANG_LIMIT_S

runner = CliRunner()

UPSAMPLE_13 = """input: [1, 4, 4]
layers:
  - Upsample: {scale_factor: 2, repeat: 13}
"""
DECODER_1D = """input: [4, 3]
layers:
  - ConvTranspose1d: {out_channels: 4, kernel_size: 8, stride: 8}
  - ConvTranspose1d: {out_channels: 4, kernel_size: 8, stride: 8}
  - ConvTranspose1d: {out_channels: 4, kernel_size: 8, stride: 8}
  - ConvTranspose1d: {out_channels: 4, kernel_size: 8, stride: 8}
  - ConvTranspose1d: {out_channels: 4, kernel_size: 2, stride: 2}
"""
STRIDE_4097 = """input: [1, 2, 2]
layers:
  - ConvTranspose2d: {out_channels: 1, kernel_size: 3, stride: 4097}
"""
BIG_STRIDE_NETS = {"upsample-13": UPSAMPLE_13, "decoder-1d": DECODER_1D, "stride-4097": STRIDE_4097}


def _write(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("stem", sorted(BIG_STRIDE_NETS))
@pytest.mark.parametrize("command", ["summarize", "rf"])
def test_big_stride_nets_work_in_every_command(tmp_path, stem, command):
    path = _write(tmp_path, BIG_STRIDE_NETS[stem])
    start = time.perf_counter()
    result = runner.invoke(main, [command, path])
    assert time.perf_counter() - start < HANG_LIMIT_S
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    report = cnncalc.analyze(path)
    # the jump is exact past the exact-field limit: the product of the strides, inverted
    strides = {"upsample-13": 2 ** 13, "decoder-1d": 8 ** 4 * 2, "stride-4097": 4097}[stem]
    assert all(jump == Fraction(1, strides) for jump in report.receptive_field.jump)
    assert all(size >= 1 for size in report.receptive_field.size)


def _torch_fields(module, length: int) -> list[tuple[int, int] | None]:
    """Per output element, the first and last input that reaches it (None: none does), measured by torch.

    One forward pass per input element (a one-hot input; positive weights and no bias, so no tap cancels
    another and nothing lights an output that the input does not reach):
    output o depends on input i exactly when the one-hot of i lights o.
    """
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    for parameter in module.parameters():
        parameter.data.uniform_(0.5, 1.5)
    channels = next(m for m in module.modules() if hasattr(m, "in_channels")).in_channels
    fields: list = []
    with torch.no_grad():
        for i in range(length):
            x = torch.zeros(1, channels, length)
            x[0, :, i] = 1
            lit = (module(x)[0, 0] != 0).tolist()
            if not fields:
                fields = [None] * len(lit)
            for o, on in enumerate(lit):
                if on:
                    fields[o] = (i, i) if fields[o] is None else (fields[o][0], i)
    return fields


def _check_against_torch(report, module, length, check_start=True):
    """size against the widest field torch shows; start (Distill ignores borders) only where output 0 is inside."""
    fields = _torch_fields(module, length)
    widest = max(last - first + 1 for first, last in (f for f in fields if f is not None))
    first, last = next(f for f in fields if f is not None)
    index = next(o for o, f in enumerate(fields) if f is not None)
    field = report.receptive_field
    assert field.size == (widest,)
    if check_start:
        assert field.start == (Fraction(first + last, 2) - index * field.jump[0],)


@pytest.mark.parametrize("stride, kernel, padding", [(4097, 3, 0), (5000, 7000, 2), (4100, 4099, 1)])
def test_stride_past_the_exact_limit_agrees_with_torch(stride, kernel, padding):
    torch = pytest.importorskip("torch")
    text = (f"input: [1, 2]\nlayers:\n  - ConvTranspose1d: {{out_channels: 1, kernel_size: {kernel}, "
            f"stride: {stride}, padding: {padding}}}\n")
    report = cnncalc.analyze(text)
    module = torch.nn.ConvTranspose1d(1, 1, kernel, stride, padding, bias=False)
    assert tuple(module(torch.zeros(1, 1, 2)).shape) == report.output_shape
    _check_against_torch(report, module, 2, check_start=padding == 0)


def test_decoder_field_agrees_with_torch():
    torch = pytest.importorskip("torch")
    report = cnncalc.analyze(DECODER_1D.replace("[4, 3]", "[1, 3]"))
    module = torch.nn.Sequential(*(torch.nn.ConvTranspose1d(1 if i == 0 else 4, 4, k, k, bias=False)
                                   for i, k in enumerate((8, 8, 8, 8, 2))))
    assert tuple(module(torch.zeros(1, 1, 3)).shape) == report.output_shape
    _check_against_torch(report, module, 3)


# -- a family of random large-stride chains: never a crash, shapes as the analytic rule says --------------

LAYER = st.one_of(
    st.tuples(st.just("Upsample"), st.integers(2, 64)),
    st.tuples(st.just("ConvTranspose1d"), st.integers(1, 9000), st.integers(1, 9000), st.integers(0, 3)),
    st.tuples(st.just("Conv1d"), st.integers(1, 9), st.integers(1, 9000)),
)


@given(length=st.integers(1, 50), layers=st.lists(LAYER, min_size=1, max_size=8))
def test_large_stride_chains_never_crash(length, layers):
    lines, sizes, jump = [], [], Fraction(1)
    size = length
    for layer in layers:
        if layer[0] == "Upsample":
            scale = layer[1]
            size, step = floor(float(size) * scale), Fraction(1, scale)
            lines.append(f"  - Upsample: {{scale_factor: {scale}}}")
        elif layer[0] == "ConvTranspose1d":
            _, kernel, stride, padding = layer
            padding = min(padding, (kernel - 1) // 2)
            new = (size - 1) * stride - 2 * padding + kernel
            if new < 1:
                continue
            size, step = new, Fraction(1, stride)
            lines.append(f"  - ConvTranspose1d: {{out_channels: 1, kernel_size: {kernel}, stride: {stride}, "
                         f"padding: {padding}}}")
        else:
            _, kernel, stride = layer
            if size < kernel:
                continue
            size, step = (size - kernel) // stride + 1, Fraction(stride)
            lines.append(f"  - Conv1d: {{out_channels: 1, kernel_size: {kernel}, stride: {stride}}}")
        if size > 2 ** 40:                      # stay far below torch's int64 limit: every net here is valid
            lines.pop()
            break
        sizes.append(size)
        jump *= step
    if not lines:
        return
    report = cnncalc.analyze("input: [1, %d]\nlayers:\n%s\n" % (length, "\n".join(lines)))
    assert [row.output_shape[-1] for row in report.layers] == sizes
    assert report.receptive_field.jump == (jump,)
    assert report.receptive_field.size[0] >= 1


def test_growth_past_int64_is_refused_with_a_located_message(tmp_path):
    path = _write(tmp_path, "input: [1, 4]\nlayers:\n  - Upsample: {scale_factor: 2, repeat: 100}\n")
    result = runner.invoke(main, ["summarize", path])
    assert result.exit_code == 2
    assert f"{path}:3:" in result.output and "upsample_0" in result.output


# -- work bounded before it is spent -----------------------------------------------------------------------

@pytest.mark.parametrize("pool", ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])
def test_huge_adaptive_output_is_constant_work(pool):
    tracemalloc.start()
    start = time.perf_counter()
    report = cnncalc.analyze(f"input: [1, 8, 8]\nlayers:\n  - {pool}: {{output_size: {2 ** 31}}}\n")
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < HANG_LIMIT_S and peak < 2 ** 30
    assert report.output_shape == (1, 1, 2 ** 31, 2 ** 31)


def test_huge_adaptive_output_on_a_symbolic_input():
    report = cnncalc.analyze(f"input: [1, H]\nlayers:\n  - AdaptiveAvgPool1d: {{output_size: {2 ** 31 - 1}}}\n")
    flops = report.layers[0].flops
    (symbol,) = flops.free_symbols
    for h in (1, 7, 2 ** 31 - 1, 2 ** 32):      # Σ of ATen's bin lengths, L + O − gcd(L, O), without the 2³¹ bins
        assert flops.subs(symbol, h) == h + (2 ** 31 - 1) - math.gcd(h, 2 ** 31 - 1)


@given(size=st.integers(1, 300), out=st.integers(1, 300))
def test_adaptive_closed_forms_match_aten_bins(size, out):
    lengths = [end - start for start, end in adaptive_bins(size, out)]      # ATen's bins, enumerated
    assert adaptive_window_sum(size, out) == sum(lengths)
    assert adaptive_widest_bin(size, out) == max(lengths)
    report = cnncalc.analyze(f"input: [2, {size}]\nlayers:\n  - AdaptiveAvgPool1d: {{output_size: {out}}}\n")
    assert report.layers[0].flops == (2 * sum(lengths) if size != out else 2 * size)


def test_adaptive_pool_against_torch():
    torch = pytest.importorskip("torch")
    for size, out in [(7, 3), (5, 9), (64, 7)]:
        report = cnncalc.analyze(f"input: [1, {size}]\nlayers:\n  - AdaptiveAvgPool1d: {{output_size: {out}}}\n")
        module = torch.nn.AdaptiveAvgPool1d(out)
        assert tuple(module(torch.zeros(1, 1, size)).shape) == report.output_shape
        field = adaptive_axis_map(size, out)
        assert isinstance(field, AxisMap)
        widest = 0
        for index in range(out):
            x = torch.ones(1, 1, size, requires_grad=True)
            module(x)[0, 0, index].backward()
            seen = x.grad[0, 0].nonzero().flatten().tolist()
            widest = max(widest, len(seen))
        assert report.receptive_field.size == (widest,)


@given(kernel=st.integers(1, 40), stride=st.integers(1, 40), padding=st.integers(0, 10), dilation=st.integers(1, 12))
def test_transposed_map_matches_tap_enumeration(kernel, stride, padding, dilation):
    low, high = [], []
    for phase in range(stride):     # output o = i·s − p + t·d: every tap, by brute force
        sources = [(phase + padding - tap * dilation) // stride for tap in range(kernel)
                   if (phase + padding - tap * dilation) % stride == 0]
        low.append(min(sources) if sources else None)
        high.append(max(sources) if sources else None)
    assert transposed_axis_step(kernel, stride, padding, dilation) == AxisMap(stride, 1, tuple(low), tuple(high))


def test_huge_kernel_and_stride_cost_nothing():
    start = time.perf_counter()
    report = cnncalc.analyze("input: [1, 2]\nlayers:\n"
                             f"  - ConvTranspose1d: {{out_channels: 1, kernel_size: {10 ** 9}, stride: {2 ** 40}}}\n")
    assert time.perf_counter() - start < HANG_LIMIT_S
    assert report.output_shape == (1, 1, 2 ** 40 + 10 ** 9)


# -- symbols named like sympy's functions and constants ---------------------------------------------------

NAMES = ["floor", "ceiling", "Min", "Max", "E", "I", "pi", "S", "N", "Q", "beta", "gamma", "zeta", "lambda", "Mod"]
SYMBOLIC = """input: [3, {name}, W]
layers:
  - Conv2d: {{out_channels: 4, kernel_size: 3, stride: 2}}
  - MaxPool2d: {{kernel_size: 2}}
  - Upsample: {{scale_factor: 2}}
"""


def _invoke(tmp_path, command, text):
    result = runner.invoke(main, [command, _write(tmp_path, text)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", NAMES)
def test_symbol_names_do_not_shadow_sympy(tmp_path, name):
    reference = _invoke(tmp_path, "sizes", SYMBOLIC.format(name="H")).replace(str(tmp_path), "")
    output = _invoke(tmp_path, "sizes", SYMBOLIC.format(name=name)).replace(str(tmp_path), "")
    # the same rules, word for word, as for a plain name
    assert f"{name}: {name} ≥ " in output
    h_rule = next(line for line in reference.splitlines() if line.startswith("H:"))
    assert h_rule.replace("H", name) in output
    summary = _invoke(tmp_path, "summarize", SYMBOLIC.format(name=name))
    assert name in summary
    concrete = cnncalc.analyze(_write(tmp_path, SYMBOLIC.format(name=name)), sizes={name: 64, "W": 64})
    plain = cnncalc.analyze(_write(tmp_path, SYMBOLIC.format(name="H"), "h.yaml"), sizes={"H": 64, "W": 64})
    assert concrete.totals.flops == plain.totals.flops


# -- messages that say what was wrong --------------------------------------------------------------------

def _error(tmp_path, layer):
    path = _write(tmp_path, f"input: [1, 8, 8]\nlayers:\n  - {layer}\n")
    result = runner.invoke(main, ["summarize", path])
    assert result.exit_code == 2, result.output
    assert f"{path}:3:" in result.output
    assert "Traceback" not in result.output
    return result.output


def test_upsample_with_size_and_scale_factor(tmp_path):
    output = _error(tmp_path, "Upsample: {size: 4, scale_factor: 2}")
    assert "not both" in output and "found None" not in output
    assert "upsample_0" in output


def test_upsample_with_neither(tmp_path):
    output = _error(tmp_path, "Upsample: {mode: nearest}")
    assert "found None" not in output and "size" in output and "scale_factor" in output


@pytest.mark.parametrize("value, says", [("[3, 3, 3]", "3 values"), ("[3, x]", "item 2"), ("[]", "0 values")])
def test_list_arguments_say_what_is_wrong(tmp_path, value, says):
    output = _error(tmp_path, f"Conv2d: {{out_channels: 2, kernel_size: {value}}}")
    assert says in output and "kernel_size" in output


def test_errors_are_the_project_hierarchy():
    with pytest.raises(SpecError):
        cnncalc.analyze("input: [1, 8, 8]\nlayers:\n  - Upsample: {size: 4, scale_factor: 2}\n")
    with pytest.raises(ShapeError):
        cnncalc.analyze("input: [1, 4]\nlayers:\n  - Upsample: {scale_factor: 1.0e+300}\n")


@pytest.mark.parametrize("transposed, conv", [((2, 4), (3, 4)), ((1, 3), (2, 3)), ((3, 5), (4, 2)), ((2, 6), (6, 6))])
def test_window_over_outputs_that_see_nothing_agrees_with_torch(transposed, conv):
    """A transposed conv with kernel < stride leaves outputs that read nothing; a conv over them is exact."""
    torch = pytest.importorskip("torch")
    (k1, s1), (k2, s2) = transposed, conv
    report = cnncalc.analyze(f"input: [1, 12]\nlayers:\n"
                             f"  - ConvTranspose1d: {{out_channels: 1, kernel_size: {k1}, stride: {s1}}}\n"
                             f"  - Conv1d: {{out_channels: 1, kernel_size: {k2}, stride: {s2}}}\n")
    module = torch.nn.Sequential(torch.nn.ConvTranspose1d(1, 1, k1, s1, bias=False),
                                 torch.nn.Conv1d(1, 1, k2, s2, bias=False))
    assert tuple(module(torch.zeros(1, 1, 12)).shape) == report.output_shape
    _check_against_torch(report, module, 12)
