"""`cnncalc verify`: every example agrees with torch; a wrong rule is caught."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[2]

# examples and the input they are verified at (224 is slow on a CPU; AlexNet and VGG have an
# AdaptiveAvgPool, ResNets and MobileNet a global one, so a small input works)
EXAMPLES = {
    "alexnet": "3,64,64", "digits": None, "fcn": "3,64,64", "lenet5": None, "mobilenet_v2": "3,64,64",
    "resnet18": "3,64,64", "resnet50": "3,64,64", "unet": "3,64,64", "vgg16": "3,64,64",
}


def test_the_examples_are_all_here():
    # the zoo's other files are verified by tests/test_zoo.py (a subset, for time) and from the CLI
    from tests.test_zoo import ZOO_ONLY
    assert sorted(p.stem for p in (ROOT / "examples").glob("*.yaml")) == sorted([*EXAMPLES, *ZOO_ONLY])


@pytest.mark.parametrize("stem", sorted(EXAMPLES))
def test_example_verifies_on_cpu(stem, example):
    dims = EXAMPLES[stem]
    input = tuple(int(d) for d in dims.split(",")) if dims else None
    result = cnncalc.verify(example(stem), input=input, device="cpu")
    assert result.ok, result.mismatch_message()
    kinds = {c.kind for c in result.checks}
    assert {"shape", "params", "trainable", "buffers", "flops", "total", "field"} <= kinds
    report = cnncalc.analyze(example(stem), input=input)
    assert sum(c.kind == "shape" for c in result.checks) == len(report.layers)
    fields = [c for c in result.checks if c.kind == "field"]
    assert fields and all(c.ok is not False for c in fields)
    assert sum(c.ok is True for c in fields) >= len(fields) - 1


def test_cli_verify_table(example):
    result = CliRunner().invoke(main, ["verify", str(example("resnet18")), "--device", "cpu", "--input", "3,64,64"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "resnet18 — cnncalc verify on cpu" in out
    assert "output shape, every layer (merges included)" in out
    assert "2×MACs vs FlopCounterMode (total)" in out
    assert "FlopCounterMode counts only convolutions and matrix products" in out
    assert "11,689,512" in out
    assert "field of" in out and "OK: all" in out


def test_cli_verify_json_several_files(example):
    result = CliRunner().invoke(main, ["verify", str(example("digits")), str(example("lenet5")), str(example("fcn")),
                                       "--device", "cpu", "--set", "H=32,W=32", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["name"] for d in data] == ["digits", "lenet5", "fcn"]
    digits = data[0]
    assert digits["ok"] is True and digits["summary"]["failed"] == 0
    assert digits["input"] == [1, 1, 28, 28]
    totals = {c["check"]: c for c in digits["checks"] if c["kind"] == "total"}
    assert totals["params (total)"]["expected"] == totals["params (total)"]["measured"] == 1584
    assert totals["2×MACs vs FlopCounterMode (total)"]["measured"] == 2 * 38_514
    field = [c for c in digits["checks"] if c["kind"] == "field"][0]
    assert field["ok"] is True
    assert data[2]["input"] == [1, 3, 32, 32]


def _shape_off_by_one(monkeypatch):
    from cnncalc.layers.conv import _Conv
    original = _Conv.evaluate

    def wrong(self, cfg, inputs, ctx):
        outcome = original(self, cfg, inputs, ctx)
        shape = outcome.output_shape
        return dataclasses.replace(outcome, output_shape=(*shape[:-1], shape[-1] + 1))
    monkeypatch.setattr(_Conv, "evaluate", wrong)


def test_a_wrong_shape_rule_fails(monkeypatch, example):
    _shape_off_by_one(monkeypatch)
    result = cnncalc.verify(example("digits"), device="cpu", fields=None)
    assert not result.ok
    bad = {(c.kind, c.layer) for c in result.failures}
    assert ("shape", "conv1") in bad and ("shape", "conv2") in bad
    message = result.mismatch_message()
    assert "output shape of conv1: analytic [1, 3, 28, 29], torch [1, 3, 28, 28]" in message
    with pytest.raises(cnncalc.VerifyMismatch) as info:
        result.raise_for_mismatch()
    assert info.value.exit_code == 1


def test_a_wrong_mac_rule_fails_on_the_command_line(monkeypatch, example):
    from cnncalc.layers.conv import _Conv
    original = _Conv.evaluate

    def doubled(self, cfg, inputs, ctx):
        outcome = original(self, cfg, inputs, ctx)
        return dataclasses.replace(outcome, macs=2 * outcome.macs)
    monkeypatch.setattr(_Conv, "evaluate", doubled)
    result = CliRunner().invoke(main, ["verify", str(example("lenet5")), "--device", "cpu", "--no-fields"])
    assert result.exit_code == 1
    assert "MISMATCH" in result.stdout
    assert "✗" in result.stdout
    assert "2×MACs vs FlopCounterMode of c1: analytic 470,400, torch 235,200" in result.output


def test_a_wrong_field_rule_fails(monkeypatch, example):
    import cnncalc.layers.conv as conv
    original = conv.conv_axis_step

    def wider(kernel, stride, pad_left, dilation=1):
        return original(kernel + 2, stride, pad_left + 1, dilation)      # same centre, 2 more elements
    monkeypatch.setattr(conv, "conv_axis_step", wider)
    result = cnncalc.verify(example("digits"), device="cpu")
    failures = [c for c in result.failures if c.kind == "field"]
    assert failures, result.checks
    assert failures[0].layer == "conv1"
    assert failures[0].expected["size"] == [5, 5] and failures[0].measured["size"] == [3, 3]
    assert "field of conv1: analytic 5×5, jump 1×1, start (0, 0), torch 3×3, jump 1×1, start (0, 0)" \
        in result.mismatch_message()


def test_a_forward_that_torch_refuses_is_a_mismatch(monkeypatch):
    text = """
input: [3, 8, 8]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3}
  - Flatten
  - Linear: {out_features: 2}
"""
    _shape_off_by_one(monkeypatch)        # Linear is then built for 4·6·7 features; torch gets 4·6·6
    result = cnncalc.verify(text, device="cpu", fields=None)
    assert not result.ok
    forward = [c for c in result.failures if c.check == "torch's forward pass"]
    assert forward and "linear_2" in forward[0].measured


def test_device_cuda_without_cuda_is_exit_2(example):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = CliRunner().invoke(main, ["verify", str(example("digits")), "--device", "cuda"])
    assert result.exit_code == 2
    assert "sees no CUDA device" in result.output
    result = CliRunner().invoke(main, ["verify", str(example("digits")), "--device", "tpu"])
    assert result.exit_code == 2


def test_auto_device_picks_what_torch_has():
    from cnncalc.torch_bridge.verify import resolve_device
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"


def test_bad_files_are_exit_2(example, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 9}\n")
    result = CliRunner().invoke(main, ["verify", str(bad)])
    assert result.exit_code == 2
    assert "kernel_size 9x9 exceeds the padded input 8x8" in result.output
    result = CliRunner().invoke(main, ["verify", str(example("fcn"))])
    assert result.exit_code == 2 and "--set H=224,W=224" in result.output
    # several files: the good ones are still verified and shown
    result = CliRunner().invoke(main, ["verify", str(example("digits")), str(bad), "--device", "cpu", "--no-fields"])
    assert result.exit_code == 2
    assert "digits — cnncalc verify" in result.stdout
    assert "1 of 2 files could not be verified" in result.output


def test_without_torch_the_message_is_clear(example):
    code = ("import sys; sys.modules['torch'] = None; from cnncalc.cli import main; "
            f"main(['verify', {str(example('digits'))!r}])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 2
    assert "cnncalc verify needs torch" in run.stderr and "cnncalc[torch]" in run.stderr
    # the hint leads to the CPU wheel, not an unpinned multi-GB CUDA torch
    assert "--index-url https://download.pytorch.org/whl/cpu" in run.stderr
    assert "Traceback" not in run.stderr


def test_summarize_still_imports_no_torch(example):
    code = ("import sys; from cnncalc.cli import main\n"
            "try:\n    main(['summarize', %r])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'" % str(example("resnet18")))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_batch_is_verified(example):
    result = cnncalc.verify(example("lenet5"), batch=3, device="cpu", fields=None)
    assert result.ok
    assert result.input_shape == (3, 1, 32, 32)


@pytest.mark.cuda
def test_verify_on_cuda(example):
    result = cnncalc.verify(example("resnet18"), device="cuda")
    assert result.ok, result.mismatch_message()
    assert result.device.startswith("cuda")


@pytest.mark.cuda
def test_cli_verify_on_cuda_all_examples(example):
    files = [str(example(stem)) for stem in sorted(EXAMPLES)]
    result = CliRunner().invoke(main, ["verify", *files, "--device", "cuda", "--set", "H=224,W=224",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    assert all(d["ok"] and d["device"].startswith("cuda") for d in json.loads(result.stdout))


def test_a_field_cut_by_the_border_is_not_compared():
    """Adaptive pooling's bins follow the input size, so verify cannot enlarge the input
    until the field fits; a field the border cuts is 'not compared', never a mismatch,
    while every layer before it is still measured exactly."""
    text = """
input: [1, 20, 20]
layers:
  - Upsample: {scale_factor: 1.5, mode: bilinear}
  - Conv2d: {out_channels: 1, kernel_size: 3}
  - ConvTranspose2d: {out_channels: 1, kernel_size: 3, stride: 3}
  - Conv2d: {out_channels: 1, kernel_size: 5, dilation: 2}
  - AdaptiveAvgPool2d: {output_size: 7}
  - Conv2d: {out_channels: 1, kernel_size: 3}
"""
    from cnncalc.torch_bridge.verify import verify
    layers = ["upsample_0", "conv2d_1", "convtranspose2d_2", "conv2d_3", "adaptiveavgpool2d_4", "conv2d_5"]
    result = verify(text, device="cpu", field_layers=layers)
    fields = {check.layer: check.ok for check in result.checks if check.kind == "field"}
    assert [fields[name] for name in layers[:4]] == [True] * 4          # measured and equal
    assert fields["adaptiveavgpool2d_4"] is None and fields["conv2d_5"] is None   # cut: shown, not compared
    assert result.ok
