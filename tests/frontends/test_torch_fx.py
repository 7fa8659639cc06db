"""Importing torch modules: the written file's report equals torch's own figures, and to_torch loads the weights.

The truth is torch itself: parameters and buffers counted on the module,
MACs from FlopCounterMode (2 FLOPs per MAC), the output of a real forward,
and the original's state_dict loaded (strict) into ``to_torch(imported)``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnncalc.api import analyze, loads  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.frontends.torch_fx import import_module  # noqa: E402
from cnncalc.frontends.write_yaml import dump  # noqa: E402
from cnncalc.torch_bridge import export_torch, to_torch  # noqa: E402
from tests.conftest import EXAMPLES, ROOT  # noqa: E402
from tests.frontends import models  # noqa: E402


def imported(module, shape):
    return loads(dump(import_module(module, input=shape, name="m")), filename="<imported>")


def torch_figures(module, shape):
    module.eval()
    x = torch.randn(2, *shape)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = module(x)
    return dict(params=sum(p.numel() for p in module.parameters()),
                trainable=sum(p.numel() for p in module.parameters() if p.requires_grad),
                buffers=sum(b.numel() for b in module.buffers()),
                macs=counter.get_total_flops() // 2 // 2,           # 2 FLOPs per MAC, batch 2
                output=tuple(y.shape[1:])), x, y


@pytest.mark.parametrize("key", sorted(models.MODELS))
def test_imported_module_equals_torch(key):
    factory, shape = models.MODELS[key]
    torch.manual_seed(0)
    module = factory()
    network = imported(module, shape)
    report = analyze(network)
    truth, x, y = torch_figures(module, shape)
    assert report.totals.params == truth["params"]
    assert report.totals.trainable_params == truth["trainable"]
    assert report.totals.buffers == truth["buffers"]
    assert report.totals.macs == truth["macs"]
    assert tuple(report.output_shape[1:]) == truth["output"]
    rebuilt = to_torch(network).eval()
    assert sorted(rebuilt.state_dict()) == sorted(module.state_dict())
    rebuilt.load_state_dict(module.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), y, rtol=1e-5, atol=1e-5)


def test_written_file_is_readable_blocks_with_parameters():
    doc = import_module(models.TinyResNet(), input=(3, 32, 32), name="tiny")
    text = dump(doc)
    # BasicBlock instances differing only in channels share one block, channels as its parameter
    assert doc["blocks"]["basic_block"]["params"] == {"out_channels": None}
    assert "- Conv2d: {out_channels: $out_channels, kernel_size: 3, padding: 1, bias: false, name: conv1}" in text
    names = [layer.path for layer in loads(text).layers]
    assert "layer2.0.downsample.0" in names and "layer1.1.bn2" in names


def _exported_module(example, tmp_path, input=None):
    source = export_torch(example, input=input)
    path = tmp_path / f"{example.stem}_export.py"
    path.write_text(source)
    class_name = source.split("\nclass ")[-1].split("(")[0]       # the model: after Scope and the helper classes
    from cnncalc.frontends.source import build_module, resolve_source
    with torch.device("meta"):                  # shapes only: no weights to initialise, no forward to compute
        return build_module(resolve_source(f"{path}:{class_name}"), {})


# examples/deeplabv3_resnet50.yaml ends the positional block aspp_convs with ASPP's concat (named cat): the
# exported forward assigns it to `classifier_0_convs_cat`, which is how the import puts it back inside.
@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_exported_example_round_trips(example, tmp_path):
    """examples/X.yaml -> export --to torch -> import -> the same layers and totals (a symbolic [3, H, W] at 64x64)."""
    from cnncalc.api import load
    original = load(example)
    shape = tuple(64 if isinstance(d, str) else d for d in original.input)
    module = _exported_module(example, tmp_path, input=list(shape) if shape != tuple(original.input) else None)
    again = imported(module, shape)
    before, after = analyze(original, input=list(shape)), analyze(again)
    assert after.totals == before.totals
    rows = lambda r: [(l.name, l.output_shape, l.params, l.macs, l.flops) for l in r.layers]  # noqa: E731
    assert rows(after) == rows(before)
    assert sorted(to_torch(again, device="meta").state_dict()) == sorted(module.state_dict())


def test_unsupported_op_names_node_and_source_line():
    with pytest.raises(CnnCalcError) as info:
        import_module(models.Unsupported(), input=(3, 8, 8))
    text = str(info.value)
    assert "cannot import node 'cumsum'" in text and "method cumsum has no cnncalc layer type" in text
    assert "models.py:" in text and "x = x.cumsum(1)" in text


def test_summarize_source_on_the_command_line():
    from click.testing import CliRunner
    from cnncalc.cli import main
    result = CliRunner().invoke(main, ["summarize", "tests.frontends.models:TinyResNet", "--arg", "num_classes=7",
                                       "--input", "3,32,32", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json
    report = json.loads(result.output)
    assert report["output_shape"] == [1, 7]
    assert report["totals"]["params"] == sum(p.numel() for p in models.TinyResNet(7).parameters())
    bad = CliRunner().invoke(main, ["summarize", "tests.frontends.models:Unsupported", "--input", "3,8,8"])
    assert bad.exit_code == 2 and "cannot import node 'cumsum'" in bad.output and "Traceback" not in bad.output


def test_import_command_writes_a_loadable_file(tmp_path):
    import click
    from click.testing import CliRunner
    from cnncalc import cli_import

    @click.group()
    def group():
        pass

    cli_import.register(group)
    out = tmp_path / "net.yaml"
    result = CliRunner().invoke(group, ["import", "tests.frontends.models:TinyVGG", "--input", "3,16,16",
                                        "-o", str(out)])
    assert result.exit_code == 0, result.output
    from cnncalc.api import load
    assert analyze(load(out)).totals.params == sum(p.numel() for p in models.TinyVGG().parameters())


def test_hostile_module_names_become_valid_names():
    module = torch.nn.Sequential()
    module.add_module("conv x-1", torch.nn.Conv2d(1, 2, 3))
    module.add_module("é", torch.nn.ReLU())
    network = imported(module, (1, 5, 5))
    assert [layer.path for layer in network.layers] == ["conv_x-1", "_"]      # '-' is allowed, ' ' is not
    module.add_module("bad\nname", torch.nn.ReLU())           # torch.fx cannot even generate code for it
    with pytest.raises(CnnCalcError, match="torch.fx could not trace"):
        imported(module, (1, 5, 5))


def test_summarize_yaml_does_not_import_torch():
    code = ("import sys; from cnncalc.api import load, analyze; analyze(load(sys.argv[1])); "
            "assert 'torch' not in sys.modules and 'onnx' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "resnet18.yaml")], check=True, cwd=ROOT)


def test_identical_instances_fold_into_repeat_and_pieces_are_named():
    """ShuffleNet-style: x.chunk(2, dim=1)'s pieces read as chunk_0.0 / chunk_0.1; two identical units, one repeat."""
    doc = import_module(models.TinyShuffleNet(), input=(3, 16, 16), name="s")
    assert doc["blocks"]["stage"]["layers"] == [{"shuffle_unit": {"repeat": 2}}]
    unit = doc["blocks"]["shuffle_unit"]["layers"]
    assert unit[0] == {"chunk": {"chunks": 2, "dim": 1, "name": "chunk_0"}}
    assert unit[2]["concat"]["from"] == ["chunk_0.0", "branch2"]
    paths = [layer.path for layer in imported(models.TinyShuffleNet(), (3, 16, 16)).layers]
    assert "stage.1.branch2.4" in paths and "stage.0.chunk_0.1" in paths


def test_convnext_style_layer_scale_and_permutes():
    doc = import_module(models.TinyConvNeXt(), input=(3, 16, 16), name="c")
    body = doc["blocks"]["cnblock"]["layers"]
    assert {"Permute": {"dims": [0, 2, 3, 1], "name": "permute_1"}} in body
    assert {"LayerScale": {"name": "layer_scale"}} in body
    assert [next(iter(item)) for item in doc["layers"]] == ["Conv2d", "blocks", "mean", "scale", "Linear"]


def test_instances_differing_in_stride_share_one_block_with_its_default():
    class ConvBN(torch.nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn = torch.nn.BatchNorm2d(cout)

        def forward(self, x):
            return self.bn(self.conv(x))

    module = torch.nn.Sequential(ConvBN(3, 8), ConvBN(8, 16, 2), ConvBN(16, 16), ConvBN(16, 16))
    doc = import_module(module, input=(3, 16, 16), name="s")
    assert doc["blocks"]["conv_bn"]["params"] == {"out_channels": None, "stride": 1}
    assert doc["layers"] == [{"conv_bn": {"out_channels": 8}}, {"conv_bn": {"out_channels": 16, "stride": 2}},
                             {"conv_bn": {"out_channels": 16, "repeat": 2}}]
    network = imported(module, (3, 16, 16))
    assert sorted(to_torch(network).state_dict()) == sorted(module.state_dict())
