"""verify --train: cnncalc's training step against one real torch step, exactly.

saved bytes (saved_tensors_hooks, distinct storages), 2 × backward MACs
(FlopCounterMode per autograd node; grouped convolutions as g ungrouped
pieces), gradient bytes and optimizer state bytes, per layer and in total,
on the examples (small inputs to stay fast) and on random nets from
hypothesis: sequential and DAG, frozen layers, in-place activations, and
bf16-mixed under CPU autocast.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")

from cnncalc.torch_bridge.verify_train import verify_train  # noqa: E402

EXAMPLES = [
    ("examples/lenet5.yaml", None, {}),
    ("examples/digits.yaml", None, {}),
    ("examples/fcn.yaml", None, {"H": 16, "W": 16}),
    ("examples/resnet18.yaml", [3, 32, 32], {}),
    ("examples/mobilenet_v2.yaml", [3, 32, 32], {}),     # depthwise: the grouped measurement
]
# 10-20 s each on a 2-core runner: run with CNNCALC_SLOW=1 (all agree with torch 2.13 CPU, measured)
SLOW = [
    ("examples/unet.yaml", [3, 16, 16], {}),
    ("examples/resnet50.yaml", [3, 32, 32], {}),
    ("examples/alexnet.yaml", [3, 63, 63], {}),
    ("examples/vgg16.yaml", [3, 32, 32], {}),
]
if os.environ.get("CNNCALC_SLOW"):
    EXAMPLES += SLOW


def _assert_agrees(result) -> None:
    bad = [(c.check, c.layer, c.expected, c.measured) for c in result.failures]
    assert not bad, bad[:5]
    kinds = {c.kind for c in result.compared}
    assert {"train_saved", "train_backward", "train_grads", "train_state", "total"} <= kinds


@pytest.mark.parametrize("path,shape,sizes", EXAMPLES, ids=[e[0].split("/")[-1] for e in EXAMPLES])
def test_examples_agree_with_torch(path, shape, sizes):
    _assert_agrees(verify_train(path, input=shape, sizes=sizes or None, batch=2, device="cpu"))


def test_bf16_mixed_on_cpu_autocast():
    result = verify_train("examples/mobilenet_v2.yaml", input=[3, 32, 32], batch=2, device="cpu",
                          precision="bf16-mixed")
    _assert_agrees(result)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adamw"])
def test_optimizers(optimizer):
    _assert_agrees(verify_train("examples/lenet5.yaml", batch=2, device="cpu", optimizer=optimizer))


# -- random small nets ----------------------------------------------------------------------------

@st.composite
def nets(draw):
    """A small valid net: conv/bn/relu(in-place or not)/pool/dropout chains, residual adds and concats
    (DAG), some layers frozen; sizes stay valid by construction (3×3 convs with padding 1)."""
    channels = draw(st.sampled_from([2, 3]))
    lines = []
    count = draw(st.integers(2, 7))
    names = []
    for index in range(count):
        kind = draw(st.sampled_from(["conv", "conv", "bn", "relu", "relu_inplace", "add", "concat", "mul",
                                     "sigmoid", "maxpool", "dropout", "prelu"]))
        frozen = draw(st.booleans()) and draw(st.booleans())
        extra = ", frozen: true" if frozen else ""
        name = f"l{index}"
        if kind == "conv":
            groups = draw(st.sampled_from([1, 1, channels]))
            lines.append(f"  - Conv2d: {{name: {name}, out_channels: {channels}, kernel_size: 3, padding: 1, "
                         f"groups: {groups}, bias: {str(draw(st.booleans())).lower()}{extra}}}")
        elif kind == "bn":
            lines.append(f"  - BatchNorm2d: {{name: {name}{extra}}}")
        elif kind == "relu":
            lines.append(f"  - ReLU: {{name: {name}}}")
        elif kind == "relu_inplace":
            if names and lines[-1].lstrip().startswith("- Conv2d"):
                lines.append(f"  - ReLU: {{name: {name}, inplace: true}}")
            else:
                lines.append(f"  - ReLU: {{name: {name}}}")
        elif kind in ("add", "concat", "mul") and names:
            other = draw(st.sampled_from(names + ["input"]))
            if kind == "concat":
                lines.append(f"  - concat: {{name: {name}, from: [-1, {other}]}}")
                lines.append(f"  - Conv2d: {{name: {name}_fix, out_channels: {channels}, kernel_size: 1}}")
                names.append(name)
                name = f"{name}_fix"
            else:
                lines.append(f"  - {kind}: {{name: {name}, from: [-1, {other}]}}")
        elif kind == "sigmoid":
            lines.append(f"  - Sigmoid: {{name: {name}}}")
        elif kind == "maxpool":
            lines.append(f"  - MaxPool2d: {{name: {name}, kernel_size: 3, stride: 1, padding: 1}}")
        elif kind == "dropout":
            lines.append(f"  - Dropout: {{name: {name}, p: 0.5}}")
        else:
            lines.append(f"  - PReLU: {{name: {name}, num_parameters: {channels}{extra}}}")
        names.append(name)
    lines.append("  - Flatten")
    lines.append(f"  - Linear: {{out_features: 3, frozen: {str(draw(st.booleans()) and draw(st.booleans())).lower()}}}")
    return f"name: random\ninput: [{channels}, 5, 5]\nlayers:\n" + "\n".join(lines) + "\n"


@settings(max_examples=8, deadline=None)
@given(nets(), st.sampled_from(["fp32", "fp32", "bf16-mixed"]))
def test_random_nets_agree_with_torch(text, precision):
    _assert_agrees(verify_train(text, batch=2, device="cpu", precision=precision))


# -- the command line ----------------------------------------------------------------------------

SMALL = """name: small
input: [2, 6, 6]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1, groups: 2}
  - ReLU: {inplace: true}
  - Conv2d: {name: c2, out_channels: 4, kernel_size: 3, frozen: true}
  - Flatten
  - Linear: {out_features: 3}
"""


def _verify_cli(*args):
    from click.testing import CliRunner

    from cnncalc.cli import main
    return CliRunner().invoke(main, ["verify", "-", "--train", "--device", "cpu", "--batch", "2", *args],
                              input=SMALL)


def test_verify_train_command_agrees():
    result = _verify_cli("--optimizer", "momentum", "--format", "json")
    assert result.exit_code == 0, result.output
    import json
    data = json.loads(result.output)
    assert data["ok"] and data["summary"]["failed"] == 0
    kinds = {check["kind"] for check in data["checks"]}
    assert {"train_saved", "train_backward", "train_grads", "train_state"} <= kinds
    table = _verify_cli()
    assert table.exit_code == 0, table.output
    assert "saved bytes, every layer" in table.output and "grouped convolutions" in table.output


def test_verify_train_command_exits_1_on_a_mismatch(monkeypatch):
    import cnncalc.torch_bridge.verify_train as module
    real = module.measure_step

    def off_by_one(*args, **kwargs):
        measured = real(*args, **kwargs)
        measured["totals"]["grad_bytes"] += 1
        return measured
    monkeypatch.setattr(module, "measure_step", off_by_one)
    result = _verify_cli()
    assert result.exit_code == 1, result.output
    assert "gradient bytes (total)" in result.output


def test_verify_optimizer_needs_train():
    from click.testing import CliRunner

    from cnncalc.cli import main
    result = CliRunner().invoke(main, ["verify", "-", "--optimizer", "sgd"], input=SMALL)
    assert result.exit_code == 2 and "add --train" in result.output
