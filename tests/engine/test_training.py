"""The training step's arithmetic without torch: the largest batch is exact, the optimizer state
follows torch's layout, frozen layers compute and keep less, and nothing here imports torch."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.engine import evaluate, plan
from cnncalc.engine.training import affine_pieces, fit_memory, train_step
from cnncalc.errors import ArgumentError

NET = """name: small
input: [3, 16, 16]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - BatchNorm2d
  - ReLU
  - Conv2d: {name: c2, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  - add: {from: [-1, relu_2]}
  - Flatten
  - Linear: {out_features: 10}
"""


def _step(text=NET, batch=1, **options):
    the_plan = plan(cnncalc.loads(text))
    return train_step(the_plan, evaluate(the_plan, batch=batch), **options)


def test_optimizer_state_is_torchs_layout():
    # parameters: conv 8·3·9 + 8, bn 8 + 8, c2 8·8·9, fc 10·2048 + 10; 7 parameter tensors (w, b, w, b, w, w, b)
    params = 8 * 3 * 9 + 8 + 8 + 8 + 8 * 8 * 9 + 10 * 8 * 16 * 16 + 10
    tensors = 7
    assert _step(optimizer="sgd").optimizer_state_bytes == 0
    assert _step(optimizer="momentum").optimizer_state_bytes == 4 * params               # momentum_buffer
    assert _step(optimizer="adam").optimizer_state_bytes == 2 * 4 * params + 4 * tensors  # exp_avg, exp_avg_sq, step
    assert _step(optimizer="adamw").grad_bytes == 4 * params


def test_backward_macs_skip_the_first_input_gradient_and_frozen_weights():
    step = _step()
    report = cnncalc.analyze(cnncalc.loads(NET))
    macs = {row.name: row.macs for row in report.layers}
    first = step.layers[0]
    assert (first.input_macs, first.weight_macs) == (0, macs["conv2d_0"])        # the input needs no gradient
    frozen = _step(NET.replace("bias: false}", "bias: false, frozen: true}"))
    c2 = frozen.layers[3]
    assert (c2.input_macs, c2.weight_macs, c2.grad_bytes) == (macs["c2"], 0, 0)


def test_largest_batch_is_exact():
    the_plan = plan(cnncalc.loads(NET))

    def peak(batch):
        return train_step(the_plan, evaluate(the_plan, batch=batch)).peak_bytes

    pieces = affine_pieces(lambda b: train_step(the_plan, evaluate(the_plan, batch=b)).timeline)
    for memory in (peak(1), peak(7) + 5, 10**8):
        fit = fit_memory(pieces, memory)
        assert peak(fit.batch) <= memory < peak(fit.batch + 1)
        assert fit.formula.at(fit.batch) == peak(fit.batch)
    assert fit_memory(pieces, peak(1) - 1).batch == 0


def test_bad_options_are_one_error():
    with pytest.raises(ArgumentError, match="optimizer"):
        _step(optimizer="lion")
    with pytest.raises(ArgumentError, match="concrete"):
        the_plan = plan(cnncalc.loads(NET.replace("[3, 16, 16]", "[3, H, W]")))
        train_step(the_plan, evaluate(the_plan))


def test_fit_command_prints_batch_and_formula():
    from cnncalc.cli_fit import register

    @click.group()
    def group():
        pass
    register(group)
    result = CliRunner().invoke(group, ["fit", "-", "--memory", "64MiB", "--optimizer", "sgd"], input=NET)
    assert result.exit_code == 0, result.output
    assert "training step (sgd, fp32, cuda): batch" in result.output
    assert "peak = " in result.output and "× batch" in result.output


def test_training_imports_no_torch():
    code = ("import sys, cnncalc; from cnncalc.engine.training import train_step; import cnncalc.cli_fit; "
            "r = cnncalc.analyze('examples/resnet18.yaml'); from cnncalc.engine import plan; "
            "train_step(plan(cnncalc.load('examples/resnet18.yaml')), r); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
