"""cnncalc.to_torch: a trainable module named by the file's paths, following its graph."""

from __future__ import annotations

import pytest

import cnncalc

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

BLOCKS = """
name: tiny
input: [3, 16, 16]
blocks:
  basic:
    params: {out: ~, stride: 1}
    layers:
      - Conv2d: {out_channels: $out, kernel_size: 3, stride: $stride, padding: 1, bias: false}
      - BatchNorm2d: {name: bn1}
      - ReLU
      - Conv2d: {out_channels: $out, kernel_size: 3, padding: 1, bias: false}
      - BatchNorm2d: {name: bn2}
      - Conv2d: {from: input, name: short, out_channels: $out, kernel_size: 1, stride: $stride, bias: false}
      - add: {from: [bn2, short]}
      - ReLU
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1, name: stem, frozen: true}
  - basic: {out: 8, repeat: 2, name: layer1}
  - basic: {out: 16, stride: 2, name: layer2}
  - AdaptiveAvgPool2d: {output_size: 1}
  - Flatten
  - Linear: {out_features: 10, name: fc}
"""


def test_submodules_are_named_by_path():
    model = cnncalc.to_torch(BLOCKS)
    report = cnncalc.analyze(BLOCKS)
    assert set(model.paths) == set(report.layers.names())
    assert isinstance(model.layer1[0].bn2, torch.nn.BatchNorm2d)
    assert model.layer1[1].bn2 is model.get_submodule("layer1.1.bn2")
    assert model.layer("layer2.short") is model.layer2.short
    assert model.layer2["short"].stride == (2, 2)
    assert len(model.layer1) == 2 and 0 in model.layer1
    assert [type(m).__name__ for m in model.layer1[0]][:2] == ["Conv2d", "BatchNorm2d"]
    assert model.input_shape == (1, 3, 16, 16)
    # the state_dict keys are the paths
    assert "layer1.0.bn2.running_mean" in model.state_dict()


def test_counts_and_forward_match_the_report():
    model = cnncalc.to_torch(BLOCKS).eval()
    report = cnncalc.analyze(BLOCKS)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    with torch.no_grad():
        y = model(torch.randn(4, 3, 16, 16))
    assert tuple(y.shape) == (4, 10)


def test_frozen_layers_do_not_train():
    model = cnncalc.to_torch(BLOCKS)
    assert all(not p.requires_grad for p in model.stem.parameters())
    assert all(p.requires_grad for p in model.fc.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == cnncalc.analyze(BLOCKS).totals.trainable_params


def test_it_trains():
    model = cnncalc.to_torch(BLOCKS)
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, target = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
    stem_before = model.stem.weight.detach().clone()
    fc_before = model.fc.weight.detach().clone()
    loss = torch.nn.functional.cross_entropy(model(x), target)
    loss.backward()
    optimiser.step()
    assert torch.equal(model.stem.weight, stem_before)          # frozen
    assert not torch.equal(model.fc.weight, fc_before)


def test_forward_follows_the_graph():
    """add, mul, concat, `from` and a tensor read by several layers, against plain torch."""
    text = """
input: [2, 6, 6]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: a}
  - Conv2d: {from: input, out_channels: 4, kernel_size: 1, name: b}
  - add: {from: [a, b], name: s}
  - mul: {from: [s, a], name: p}
  - concat: {from: [p, b, input], name: c}
  - Conv2d: {out_channels: 3, kernel_size: 1, name: head}
"""
    model = cnncalc.to_torch(text).eval()
    x = torch.randn(2, 2, 6, 6)
    with torch.no_grad():
        a = model.a(x)
        b = model.b(x)
        s = a + b
        p = s * a
        expected = model.head(torch.cat([p, b, x], dim=1))
        assert torch.allclose(model(x), expected)
    assert tuple(model(x).shape) == tuple(cnncalc.analyze(text, batch=2).output_shape)


def test_symbolic_input_needs_sizes(example):
    with pytest.raises(cnncalc.CnnCalcError, match=r"symbolic sizes H, W.*--set H=224,W=224"):
        cnncalc.to_torch(example("fcn"))
    model = cnncalc.to_torch(example("fcn"), sizes={"H": 32, "W": 48})
    with torch.no_grad():
        assert tuple(model.eval()(torch.randn(1, 3, 32, 48)).shape) == (1, 21, 32, 48)
    assert model.input_shape == (1, 3, 32, 48)


def test_input_override_and_device_meta(example):
    model = cnncalc.to_torch(example("resnet18"), input=[3, 64, 64], device="meta")
    assert next(model.parameters()).device.type == "meta"
    assert sum(p.numel() for p in model.parameters()) == 11_689_512
    assert model.input_shape == (1, 3, 64, 64)


def test_names_that_clash_with_module_attributes():
    text = """
input: [3, 8, 8]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, name: train}
  - ReLU: {name: forward}
  - Conv2d: {out_channels: 2, kernel_size: 1, name: layer}
"""
    model = cnncalc.to_torch(text)
    assert model.paths == {"train": "train_", "forward": "forward_", "layer": "layer_"}
    assert isinstance(model.layer("train"), torch.nn.Conv2d)
    assert model.train_ is model.layer("train")
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 3, 8, 8)).shape) == (1, 2, 6, 6)


def test_dead_branches_run_and_tensors_are_freed():
    text = """
input: [3, 8, 8]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, name: used}
  - Conv2d: {from: input, out_channels: 4, kernel_size: 3, name: dead}
  - ReLU: {from: used}
"""
    model = cnncalc.to_torch(text)
    seen = []
    model.dead.register_forward_hook(lambda *args: seen.append("dead"))
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 3, 8, 8)).shape) == (1, 4, 6, 6)
    assert seen == ["dead"]


def test_every_example_builds(example):
    for stem in ("alexnet", "digits", "lenet5", "mobilenet_v2", "resnet18", "resnet50", "unet", "vgg16"):
        report = cnncalc.analyze(example(stem))
        model = cnncalc.to_torch(example(stem), device="meta")
        assert sum(p.numel() for p in model.parameters()) == report.totals.params, stem
