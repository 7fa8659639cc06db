"""`cnncalc export --to torch`: readable source that round-trips."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main
from cnncalc.torch_bridge import export_torch

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


def load_module(path, name="exported"):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resnet50_round_trip(example, tmp_path):
    out = tmp_path / "resnet50.py"
    result = CliRunner().invoke(main, ["export", str(example("resnet50")), "--to", "torch", "-o", str(out)])
    assert result.exit_code == 0, result.output
    source = out.read_text()
    # readable: torch.nn constructors with keyword arguments, merges as torch ops in forward
    assert "class Resnet50(nn.Module):" in source
    assert "def forward(self, x):" in source
    assert "self.conv1 = nn.Conv2d(in_channels=3, out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)" \
        in source
    assert "torch.add(" in source
    compile(source, str(out), "exec")
    module = load_module(out)
    model = module.Resnet50().eval()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032
    assert module.Resnet50.input_shape == (1, 3, 224, 224)
    # the same names as to_torch: the state_dicts are interchangeable, outputs equal
    built = cnncalc.to_torch(example("resnet50")).eval()
    model.load_state_dict(built.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        y = model(x)
        assert tuple(y.shape) == (1, 1000)
        assert torch.allclose(y, built(x), atol=1e-5)


def test_exported_file_runs_as_a_script(example, tmp_path):
    out = tmp_path / "digits.py"
    out.write_text(export_torch(example("digits")))
    run = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1,584 parameters, output [1, 10]"


def test_concat_graph_and_frozen(tmp_path):
    text = """
name: two-paths
input: [3, 16, 16]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: a, frozen: true}
  - MaxPool2d: {kernel_size: 2}
  - ConvTranspose2d: {out_channels: 4, kernel_size: 2, stride: 2, name: up}
  - concat: {from: [a, up]}
  - mul: {from: [concat_3, concat_3]}
  - Conv2d: {out_channels: 2, kernel_size: 1, name: head}
"""
    source = export_torch(text)
    assert "torch.cat([a, x], dim=1)" in source
    assert "torch.mul(x, x)" in source or "torch.mul(concat_3, concat_3)" in source
    assert "self.a.requires_grad_(False)  # frozen" in source
    out = tmp_path / "two_paths.py"
    out.write_text(source)
    module = load_module(out, "two_paths")
    model = module.TwoPaths().eval()
    built = cnncalc.to_torch(text).eval()
    model.load_state_dict(built.state_dict())
    assert not any(p.requires_grad for p in model.a.parameters())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), built(x))


@pytest.mark.parametrize("stem", ["unet", "mobilenet_v2", "alexnet", "lenet5", "fcn"])
def test_examples_export_and_match_counts(stem, example, tmp_path):
    sizes = {"H": 64, "W": 64} if stem == "fcn" else None
    source = export_torch(example(stem), sizes=sizes)
    out = tmp_path / f"{stem}.py"
    out.write_text(source)
    module = load_module(out, f"exported_{stem}")
    cls = next(v for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, torch.nn.Module)
               and k != "Scope")
    with torch.device("meta"):
        model = cls()
    report = cnncalc.analyze(example(stem), sizes=sizes)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    with torch.device("meta"):
        y = model(torch.empty(report.input_shape))
    assert tuple(y.shape) == tuple(report.output_shape)


def test_export_symbolic_needs_sizes(example):
    result = CliRunner().invoke(main, ["export", str(example("fcn"))])
    assert result.exit_code == 2
    assert "symbolic sizes H, W" in result.output
    result = CliRunner().invoke(main, ["export", str(example("fcn")), "--set", "H=64,W=64", "--class-name", "Fcn64"])
    assert result.exit_code == 0
    assert "class Fcn64(nn.Module):" in result.output
