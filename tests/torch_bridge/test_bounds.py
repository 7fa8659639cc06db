"""verify and run: memory is estimated from the analytic report and refused
above --max-memory before anything is allocated; verify's start-up does not
pull in torch._dynamo or sympy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

import cnncalc
from cnncalc.cli import main

from ..conftest import HANG_LIMIT_S

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def invoke(args, input=None):
    started = time.perf_counter()
    result = CliRunner().invoke(main, args, input=input)
    return result, time.perf_counter() - started


def refused(result, seconds):
    """Exit 2, one message naming the figure and the flag, at once, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "--max-memory" in result.output and re.search(r"needs about [0-9.]+ [KMGT]iB", result.output)
    assert "Traceback" not in result.output
    assert seconds < HANG_LIMIT_S


# -- verify ------------------------------------------------------------------------------

def _torch():
    return pytest.importorskip("torch")


@pytest.mark.torch
@pytest.mark.parametrize("args", [
    ["verify", str(EXAMPLES / "vgg16.yaml"), "--batch", "1048576"],                 # ~49 TiB
    ["verify", str(EXAMPLES / "resnet18.yaml"), "--input", "3,30000,30000"],       # a 3x30000² input
    ["verify", "-", "--no-fields"],                                                 # a 10⁹-output Linear
])
def test_verify_refuses_what_does_not_fit(args):
    _torch()
    text = "input: [16, 1]\nlayers:\n  - Flatten: {}\n  - Linear: {out_features: 1000000000}\n"
    result, seconds = invoke(args + ["--device", "cpu"], input=text if "-" in args else None)
    refused(result, seconds)


@pytest.mark.torch
def test_verify_limit_is_the_flag():
    _torch()
    small = ["verify", str(EXAMPLES / "digits.yaml"), "--device", "cpu"]
    result, seconds = invoke(small + ["--max-memory", "10KiB"])
    refused(result, seconds)
    assert invoke(small + ["--max-memory", "512MiB"])[0].exit_code == 0
    bad, _ = invoke(small + ["--max-memory", "lots"])
    assert bad.exit_code == 2 and "--max-memory" in bad.output


@pytest.mark.torch
def test_verify_estimate_counts_what_torch_allocates():
    """The parameter and buffer figures of the estimate against the real torch model."""
    _torch()
    from cnncalc.torch_bridge.build import concrete
    from cnncalc.torch_bridge.verify import forward_memory
    for stem in ("resnet18", "mobilenet_v2"):
        con = concrete(EXAMPLES / f"{stem}.yaml", input=(3, 32, 32))
        parts = dict(forward_memory(con.report))
        model = cnncalc.to_torch(EXAMPLES / f"{stem}.yaml", input=(3, 32, 32))
        assert parts["parameters"] == sum(p.numel() * p.element_size() for p in model.parameters())
        assert parts["buffers"] >= sum(b.numel() * b.element_size() for b in model.buffers())
        x = __import__("torch").zeros(con.report.input_shape)
        outputs = []
        hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.numel() * out.element_size()))
                 for m in model.modules() if not list(m.children())]
        with __import__("torch").no_grad():
            model.eval()(x)
        for hook in hooks:
            hook.remove()
        assert parts["workspace"] >= max(outputs)        # the largest tensor torch produced


@pytest.mark.torch
def test_field_check_is_bounded_too():
    _torch()
    from cnncalc.torch_bridge.field import measure_fields
    with pytest.raises(cnncalc.ArgumentError, match="--no-fields"):
        measure_fields(EXAMPLES / "resnet18.yaml", input=(3, 64, 64), max_memory="64KiB")
    # verify: the forward pass fits, the field check does not
    result, seconds = invoke(["verify", str(EXAMPLES / "unet.yaml"), "--input", "3,64,64", "--device", "cpu",
                              "--max-memory", "300MiB"])
    refused(result, seconds)
    assert "receptive-field check" in result.output


@pytest.mark.torch
def test_verify_start_up_pulls_in_neither_dynamo_nor_sympy():
    """The 1-3 s of a small verify that were torch._dynamo (FlopCounterMode's first
    operation) and sympy (Module.to_empty of the meta model); the counts stay torch's."""
    _torch()
    code = ("import sys; from cnncalc.cli import main\n"
            f"try:\n    main(['verify', {str(EXAMPLES / 'digits.yaml')!r}, '--device', 'cpu'])\n"
            "except SystemExit as exit:\n    assert exit.code in (0, None), exit.code\n"
            "heavy = [m for m in ('torch._dynamo', 'torch.fx.experimental.symbolic_shapes') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "from torch.utils.flop_counter import _FlopCounterMode\n"
            "raw = _FlopCounterMode.__dict__['__torch_dispatch__'].__wrapped__\n"
            "assert '__dynamo_disable' not in raw.__dict__, 'left patched'\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "OK: all" in run.stdout


# -- run (numpy) -------------------------------------------------------------------------

np = pytest.importorskip("numpy")


def test_run_counts_the_im2col_scratch():
    """A big kernel on one sample: outputs and weights are ~2 MiB, the column matrix ~900 MiB.
    The old check (activations + parameters) let it through; this one refuses it."""
    from cnncalc.reference.run import run
    text = "input: [1, 512, 512]\nlayers:\n  - Conv2d: {out_channels: 1, kernel_size: 31}\n"
    report = cnncalc.analyze(text)
    limit = 256 * 2**20
    assert report.totals.activation_bytes + report.totals.param_bytes < limit     # what the old check summed
    started = time.perf_counter()
    with pytest.raises(cnncalc.ArgumentError, match="reference scratch") as caught:
        run(text, max_bytes=limit)
    assert time.perf_counter() - started < HANG_LIMIT_S
    assert caught.value.loc is not None                                             # file:line of the input
    result, _ = invoke(["run", "-", "--max-memory", "256MiB"], input=text)
    assert result.exit_code == 2 and "--max-memory" in result.output


SLACK = 160 * 1024        # what tracemalloc also sees: Python objects, numpy's first-call caches


def _allocated_peak(function):
    from cnncalc.reference import ops
    ops._scratch_cache.__dict__.clear()          # no buffer kept from an earlier call
    tracemalloc.start()
    try:
        out = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


conv_cases = st.tuples(
    st.integers(1, 3), st.integers(1, 4), st.integers(1, 3),      # batch, groups, channels per group
    st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),      # kernel, stride, dilation
    st.integers(0, 3), st.integers(32, 96),                       # padding, size
    st.sampled_from(["zeros", "reflect"]))


@given(conv_cases)
def test_conv_scratch_estimate_is_what_numpy_allocates(case):
    """conv_scratch_bytes against tracemalloc's peak of a real call (numpy reports its allocations)."""
    from cnncalc.reference import ops
    n, groups, per_group, k, s, d, p, size = case[:8]
    mode = case[8]
    if d * (k - 1) + 1 > size + 2 * p or (mode == "reflect" and p >= size):
        return
    c = groups * per_group
    x = np.ones((n, c, size, size), dtype=np.float32)
    w = np.ones((2 * groups, per_group, k, k), dtype=np.float32)
    out, peak = _allocated_peak(lambda: ops.conv(x, w, None, s, p, d, groups, mode))
    estimate = ops.conv_scratch_bytes(x.shape, w.shape, s, p, d, groups, mode, 4)
    assert estimate <= peak                                           # never an over-promise...
    assert peak <= estimate + out.nbytes + 2 * w.nbytes + SLACK       # ...and nothing big left out


@given(st.integers(1, 2), st.integers(1, 2), st.integers(1, 4), st.integers(1, 3), st.integers(0, 1),
       st.integers(4, 16))
def test_conv_transpose_scratch_estimate_is_what_numpy_allocates(n, groups, k, s, p, size):
    from cnncalc.reference import ops
    x = np.ones((n, 2 * groups, size, size), dtype=np.float32)
    w = np.ones((2 * groups, 3, k, k), dtype=np.float32)
    if (size - 1) * s - 2 * p + k < 1:
        return
    out, peak = _allocated_peak(lambda: ops.conv_transpose(x, w, None, s, p, 0, groups))
    estimate = ops.conv_transpose_scratch_bytes(x.shape, w.shape, out.shape, s, 1, groups, p, 4)
    assert estimate <= peak <= estimate + out.nbytes + 2 * w.nbytes + SLACK


def test_run_bfloat16_is_a_clear_refusal():
    result, _ = invoke(["run", str(EXAMPLES / "digits.yaml"), "--dtype", "bfloat16"])
    assert result.exit_code == 2 and "bfloat16" in result.output and "float32" in result.output
    assert "Traceback" not in result.output
    assert invoke(["run", str(EXAMPLES / "digits.yaml"), "--dtype", "float64"])[0].exit_code == 0


def test_run_errors_name_the_layer_location(tmp_path, monkeypatch):
    conv2d = cnncalc.layers.lookup("Conv2d")

    def broken(self, cfg, weights, inputs):
        raise ValueError("boom\x1b[2J")

    monkeypatch.setattr(type(conv2d), "reference", broken)
    path = tmp_path / "net.yaml"
    path.write_text("input: [1, 8, 8]\nlayers:\n  - ReLU: {}\n  - Conv2d: {out_channels: 2, kernel_size: 3}\n")
    result, _ = invoke(["run", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}:4:" in result.output and "conv2d_1" in result.output
    assert "\x1b" not in result.output and "Traceback" not in result.output


def test_help_has_examples():
    for command in ("run", "verify"):
        result, _ = invoke([command, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.output and "--max-memory" in result.output
