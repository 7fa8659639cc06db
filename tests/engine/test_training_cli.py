"""--train wired through: analyze(train=...) validation, the JSON "training" objects, the table's
columns and footer, summarize/check flags, budget train_memory. Torch-free and small: the figures
themselves are proven against torch in tests/torch_bridge/test_verify_train.py; here every number
shown is checked against the engine's step or against arithmetic from torch's layout."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main
from cnncalc.engine import evaluate, plan
from cnncalc.engine.training import TrainingOptions, train_step
from cnncalc.errors import ArgumentError, SpecError
from cnncalc.units import format_bytes, format_count

NET = """name: small
input: [3, 8, 8]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
  - BatchNorm2d
  - ReLU
  - Conv2d: {name: c2, out_channels: 4, kernel_size: 3, padding: 1, bias: false, frozen: true}
  - add: {from: [-1, relu_2]}
  - Flatten
  - Linear: {out_features: 5}
"""
# parameters: conv 4·3·9 + 4, bn 4 + 4, c2 4·4·9 (frozen), fc 5·256 + 5
TRAINABLE = 4 * 3 * 9 + 4 + 4 + 4 + 5 * 4 * 8 * 8 + 5
TENSORS = 6                       # conv w, b; bn w, b; fc w, b
TRAINING_KEYS = {"optimizer", "precision", "device", "batch", "backward_macs", "backward_flops", "saved_bytes",
                 "grad_bytes", "optimizer_state_bytes", "peak_bytes", "peak_at"}
LAYER_KEYS = {"backward_macs", "backward_flops", "saved_bytes", "grad_bytes", "optimizer_state_bytes"}


def _engine(batch=1, optimizer="adam", precision="fp32", device="cuda"):
    the_plan = plan(cnncalc.loads(NET))
    return train_step(the_plan, evaluate(the_plan, batch=batch), optimizer, precision, device)


def _run(args, text=NET):
    return CliRunner().invoke(main, args, input=text)


# -- the API ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("train", [True, {"optimizer": "sgd"}, {"precision": "bf16-mixed", "device": "cpu"},
                                   TrainingOptions("adamw", "fp16-mixed")])
def test_analyze_train_values(train):
    report = cnncalc.analyze(NET, train=train, batch=3)
    options = TrainingOptions() if train is True else (
        train if isinstance(train, TrainingOptions) else TrainingOptions(**train))
    assert report.training == _engine(3, options.optimizer, options.precision, options.device)
    assert report.training.grad_bytes == 4 * TRAINABLE          # fp32 master gradients, frozen c2 none
    assert cnncalc.analyze(NET, train=None).training is None
    assert cnncalc.analyze(NET, train=False).training is None


@pytest.mark.parametrize("bad,words", [
    ("adam", "expected True, False, None or a mapping"), (1, "expected True"),
    ({"optimiser": "adam"}, "did you mean 'optimizer'"), ({"optimizer": "lion"}, "optimizer: expected one of"),
    ({"precision": "fp8"}, "precision: expected one of"), ({"device": ["cuda"]}, "device: expected one of"),
    ({1: 2}, "unknown option 1"),
])
def test_analyze_train_refuses_bad_values(bad, words):
    with pytest.raises(ArgumentError, match="train=") as err:
        cnncalc.analyze(NET, train=bad)
    assert words in str(err.value)


def test_symbolic_input_needs_sizes():
    with pytest.raises(ArgumentError, match="concrete input sizes"):
        cnncalc.analyze(NET.replace("[3, 8, 8]", "[3, H, W]"), train=True)
    assert cnncalc.analyze(NET.replace("[3, 8, 8]", "[3, H, W]"), sizes={"H": 8, "W": 8},
                           train=True).training == _engine()


def test_train_with_count_as_keeps_the_exact_step():
    report = cnncalc.analyze(NET, train=True, count_as="torchinfo")
    assert report.counted_as == "torchinfo" and report.training == _engine()


# -- JSON -------------------------------------------------------------------------------------------

def test_json_has_training_in_totals_and_every_layer():
    result = _run(["summarize", "-", "--train", "--format", "json", "--batch", "2", "--optimizer", "momentum"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    step = _engine(2, "momentum")
    assert set(data["totals"]["training"]) == TRAINING_KEYS
    assert data["totals"]["training"] == step.to_dict()
    assert data["totals"]["training"]["optimizer_state_bytes"] == 4 * TRAINABLE     # one momentum buffer each
    assert [set(layer["training"]) for layer in data["layers"]] == [LAYER_KEYS] * len(step.layers)
    assert sum(layer["training"]["saved_bytes"] for layer in data["layers"]) == step.saved_bytes
    assert data == cnncalc.analyze(NET, batch=2, train={"optimizer": "momentum"}).to_dict()
    assert "training" not in json.loads(_run(["summarize", "-", "--format", "json"]).output)["totals"]


# -- the table ----------------------------------------------------------------------------------------

def test_table_columns_and_footer():
    result = _run(["summarize", "-", "--train", "--width", "200", "--precision", "bf16-mixed"])
    assert result.exit_code == 0, result.output
    step = _engine(precision="bf16-mixed")
    lines = result.output.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("Layer"))
    assert header.split()[-4:] == ["Bwd", "MACs", "Saved", "Grads"]
    total = next(line for line in lines if line.lstrip().startswith("Total")).split()
    assert total[-5:] == [format_count(step.backward_macs), *format_bytes(step.saved_bytes).split(),
                          *format_bytes(step.grad_bytes).split()]
    assert f"training step at batch 1 (adam, bf16-mixed): peak {format_bytes(step.peak_bytes)}" in result.output
    c2 = next(line for line in lines if line.lstrip().startswith("c2 "))
    assert c2.split()[-2:] == ["0", "B"]                             # frozen: no gradient


def test_folded_rows_sum_their_layers():
    report = cnncalc.analyze("examples/resnet18.yaml", train=True, input=[3, 32, 32])
    from cnncalc.render.table import table_cells
    body, footer = table_cells(report, depth=0)
    layer1 = next(cells for cells in body if cells[0] == "layer1")
    members = [m for row, m in zip(report.layers, report.training.layers) if row.name.startswith("layer1.")]
    assert layer1[8] == format_count(sum(m.backward_macs for m in members))
    assert footer[8:] == [format_count(report.training.backward_macs), format_bytes(report.training.saved_bytes),
                          format_bytes(report.training.grad_bytes)]


def test_training_flags_need_train():
    for flag, value in (("--optimizer", "sgd"), ("--precision", "fp16-mixed"), ("--device", "cpu")):
        for command in ("summarize", "check"):
            result = _run([command, "-", flag, value])
            assert result.exit_code == 2 and "add --train" in result.output, result.output
    result = _run(["summarize", "-", "--train", "--optimizer", "lion"])
    assert result.exit_code == 2 and "lion" in result.output


# -- check and budget train_memory --------------------------------------------------------------------

def _budget(text: str) -> str:
    return NET + "budget:\n" + text


def test_budget_train_memory_with_its_assumptions(tmp_path):
    step = _engine(4, "sgd", "bf16-mixed")
    path = tmp_path / "net.yaml"
    path.write_text(_budget(f"  train_memory: {{limit: {step.peak_bytes}, batch: 4, optimizer: sgd, "
                            f"precision: bf16-mixed}}\n"))
    result = cnncalc.check(path)
    (only,) = result.checks
    assert (only.name, only.actual, only.ok, only.assumes) == ("train_memory", step.peak_bytes, True,
                                                               "batch 4, sgd, bf16-mixed")
    assert only.loc.line == NET.count("\n") + 2
    path.write_text(path.read_text().replace(f"limit: {step.peak_bytes}", f"limit: {step.peak_bytes - 1}"))
    assert not cnncalc.check(path).ok
    out = CliRunner().invoke(main, ["check", str(path), "--format", "json"])
    assert out.exit_code == 1
    assert json.loads(out.output)["files"][0]["checks"][0]["assumes"] == "batch 4, sgd, bf16-mixed"


def test_train_memory_takes_the_rest_from_the_command(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(_budget("  train_memory: 1GiB\n"))
    step = _engine(3, "adamw")
    result = cnncalc.check(path, batch=3, train={"optimizer": "adamw"})
    assert result.checks[0].actual == step.peak_bytes and result.report.training == step
    assert result.to_dict()["totals"]["training"]["peak_bytes"] == step.peak_bytes
    out = CliRunner().invoke(main, ["check", str(path), "--max-train-memory", str(step.peak_bytes - 1),
                                    "--batch", "3", "--train", "--optimizer", "adamw"])
    assert out.exit_code == 1, out.output
    assert "train_memory at batch 3, adamw, fp32" in out.output and "--max-train-memory" in out.output
    assert f"training step at batch 3, adamw, fp32: peak {format_bytes(step.peak_bytes)}" in out.output
    assert cnncalc.check(NET, train_memory={"limit": step.peak_bytes, "batch": 3, "optimizer": "adamw"}).ok
    # a Report checks its own step
    assert cnncalc.check(cnncalc.analyze(NET, batch=3, train={"optimizer": "adamw"}),
                         train_memory=step.peak_bytes).ok


@pytest.mark.parametrize("budget,words", [
    ("{limit: 1GiB, batch: 0}", "expected an integer from 1"),
    ("{limit: 1GiB, optimizer: lion}", "optimizer: expected one of"),
    ("{batch: 3}", "needs a limit"),
    ("{limit: 1GiB, batchsize: 3}", "did you mean 'batch'"),
    ("{limit: 1GiB, batch: [3]}", "expected a number"),
    ("16XB", "unknown suffix"),
])
def test_budget_train_memory_errors_are_located(tmp_path, budget, words):
    path = tmp_path / "net.yaml"
    path.write_text(_budget(f"  train_memory: {budget}\n"))
    with pytest.raises(SpecError, match="budget.train_memory") as err:
        cnncalc.check(path)
    assert words in str(err.value) and err.value.loc.line == NET.count("\n") + 2


@pytest.mark.parametrize("bad,words", [("12", None), ({"limit": "1GiB", "optimiser": "adam"}, "unknown key"),
                                       ({"batch": 2}, "needs a limit"), ({"limit": "1X"}, "unknown suffix"),
                                       ({"limit": "1GiB", "batch": 0}, "batch")])
def test_check_train_memory_keyword(bad, words):
    if words is None:
        assert not cnncalc.check(NET, train_memory=bad).ok
        return
    with pytest.raises(ArgumentError, match="train_memory=") as err:
        cnncalc.check(NET, train_memory=bad)
    assert words in str(err.value)


def test_summarize_train_imports_no_torch():
    code = ("import sys; from click.testing import CliRunner; from cnncalc.cli import main; "
            "r = CliRunner().invoke(main, ['summarize', 'examples/lenet5.yaml', '--train']); "
            "assert r.exit_code == 0, r.output; assert 'torch' not in sys.modules and 'sympy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_spec_names_the_training_keys():
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text()
    paragraph = text[text.index("With `--train`"):text.index("## 4. Commands")]
    assert set(re.findall(r'`"([a-z_]+)"`', paragraph)) == TRAINING_KEYS | LAYER_KEYS | {"training"}
