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
from cnncalc.torch_bridge.export import export_source

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


# --------------------------------------------------------------------------
# The torch-free constructor arguments against to_torch, for every layer type
# --------------------------------------------------------------------------

def _constructed(module) -> tuple:
    """What a module's constructor decided: its class, the values of the constructor's
    arguments as attributes ((3, 3) ~ 3 as torch's _pair makes them), parameter and buffer shapes."""
    import inspect
    import math

    def norm(value):
        if isinstance(value, torch.Tensor):
            return ("tensor", tuple(value.shape))
        if isinstance(value, (list, tuple)):
            items = tuple(norm(v) for v in value)
            return items[0] if items and all(v == items[0] for v in items) else items
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        return value
    names = [n for n in inspect.signature(type(module).__init__).parameters if n not in ("self", "device", "dtype")]
    kind = type(module) if type(module).__module__.startswith("torch.") else type(module).__qualname__
    return (kind, tuple((n, norm(getattr(module, n))) for n in names if hasattr(module, n)),
            tuple((n, tuple(p.shape)) for n, p in module.named_parameters()),
            tuple((n, tuple(b.shape)) for n, b in module.named_buffers()))


def _parity_rows():
    from tests.torch_bridge.test_layer_parity import EXTRA, ROWS, _id, _yaml
    return [pytest.param(_yaml(*row), id=_id(row)) for row in ROWS + EXTRA]


@pytest.mark.parametrize("text", _parity_rows())
def test_every_layer_type_exports_what_to_torch_builds(text):
    """Each registered type (test_layer_parity's rows cover them all): the exported constructor
    builds the module to_torch builds, under the same qualified name."""
    namespace: dict = {"__name__": "parity_export"}
    exec(compile(export_source(text), "<export>", "exec"), namespace)
    cls = next(v for k, v in namespace.items() if isinstance(v, type) and issubclass(v, torch.nn.Module)
               and hasattr(v, "input_shape"))             # the network, not Scope or a torch op class
    exported, built = cls(), cnncalc.to_torch(text)
    merges = {"Add", "Mul", "Concat"}                 # torch.add / torch.mul / torch.cat in the exported forward
    theirs = {name: _constructed(m) for name, m in built.named_modules()
              if name and not list(m.children()) and type(m).__name__ not in merges}
    ours = {name: _constructed(m) for name, m in exported.named_modules() if name and not list(m.children())}
    assert ours == theirs
    exported.load_state_dict(built.state_dict())
    x = torch.randn(built.input_shape) + 2.0
    with torch.no_grad():
        # the same random draws for both (FractionalMaxPool samples its windows on every call, even in eval)
        torch.manual_seed(0)
        ours_out = exported.eval()(x)
        torch.manual_seed(0)
        assert torch.allclose(ours_out, built.eval()(x), equal_nan=True)


def test_module_attribute_lists_match_this_torch():
    """export renames children exactly where build.assemble does (hasattr on the parent), from fixed lists."""
    from cnncalc.torch_bridge.build import classes
    from cnncalc.torch_bridge.export import MODEL_ATTRIBUTES, SCOPE_ATTRIBUTES
    found = classes()
    assert SCOPE_ATTRIBUTES == set(dir(found.Scope()))
    assert MODEL_ATTRIBUTES == set(dir(found.CnnCalcModel("n", (1, 3))))


def test_every_module_attribute_as_a_layer_name_loads(tmp_path):
    """A layer named like each nn.Module attribute (the loader's identifiers only) gets to_torch's name."""
    import json
    import re
    from cnncalc.torch_bridge.export import MODEL_ATTRIBUTES
    names = sorted(n for n in MODEL_ATTRIBUTES if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n))
    layers = "".join(f"  - Conv2d: {{out_channels: 1, kernel_size: 1, name: {json.dumps(n)}}}\n" for n in names)
    text = f"name: attributes\ninput: [1, 4, 4]\nlayers:\n{layers}"
    out = tmp_path / "attributes.py"
    out.write_text(export_source(text))
    module = load_module(out, "exported_attributes")
    built = cnncalc.to_torch(text)
    model = module.Attributes()
    assert list(model.state_dict()) == list(built.state_dict())
    model.load_state_dict(built.state_dict())
    with torch.no_grad():
        x = torch.randn(built.input_shape)
        assert torch.equal(model(x), built(x))
