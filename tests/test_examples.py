"""Every example reproduces its published figures (torchvision's model table).

torchvision's "GFLOPS" column counts multiply-accumulates; the figures below
are its published params and that column, at 3×224×224, batch 1.
"""

from __future__ import annotations

import pytest

import cnncalc

# name: (params exactly, MACs rounded as torchvision publishes them, digits)
TORCHVISION = {
    "alexnet": (61_100_840, 0.714e9, 3),
    "vgg16": (138_357_544, 15.47e9, 2),
    "resnet18": (11_689_512, 1.814e9, 3),
    "resnet50": (25_557_032, 4.089e9, 3),
    "mobilenet_v2": (3_504_872, 0.301e9, 3),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_figures(name, example):
    params, macs, digits = TORCHVISION[name]
    report = cnncalc.analyze(example(name))
    assert report.totals.params == params
    assert round(report.totals.macs / 1e9, digits) == round(macs / 1e9, digits)
    assert report.output_shape == (1, 1000)


def test_digits_dense_layer(example):
    # the lesson's classifier: 3 maps of 7×7 flattened into 10 classes, no bias
    report = cnncalc.analyze(example("digits"))
    dense = [row for row in report.layers if row.type == "Linear"]
    assert len(dense) == 1
    assert dense[0].params == 3 * 7 * 7 * 10
    assert report.output_shape == (1, 10)


def test_lenet5(example):
    report = cnncalc.analyze(example("lenet5"))
    # LeCun et al. 1998 with full C3 connections: conv 6@5x5, conv 16@5x5, 120, 84, 10
    expected = (6 * 1 * 5 * 5 + 6) + (16 * 6 * 5 * 5 + 16) + (120 * 16 * 5 * 5 + 120) + (84 * 120 + 84) + (10 * 84 + 10)
    assert report.totals.params == expected
    assert report.output_shape == (1, 10)


def test_unet_keeps_resolution(example):
    report = cnncalc.analyze(example("unet"))
    network = cnncalc.load(example("unet"))
    channels, height, width = network.input
    assert report.output_shape[2:] == (height, width)
    assert any(row.type == "concat" for row in report.layers)
    assert any(row.type == "ConvTranspose2d" for row in report.layers)


def test_fcn_is_symbolic_and_returns_to_input_size(example):
    network = cnncalc.load(example("fcn"))
    assert network.symbols == ("H", "W")
    for size in (224, 256, 512):
        report = cnncalc.analyze(network, sizes={"H": size, "W": size})
        assert report.output_shape[2:] == (size, size)


@pytest.mark.parametrize("path", sorted(p.stem for p in __import__("tests.conftest", fromlist=["EXAMPLES"]).EXAMPLES.glob("*.yaml")))
def test_every_example_rows_sum_to_totals(path, example):
    network = cnncalc.load(example(path))
    sizes = {symbol: 256 for symbol in network.symbols}
    report = cnncalc.analyze(network, sizes=sizes)
    for key in ("params", "trainable_params", "buffers", "macs", "flops", "activation_bytes"):
        assert sum(getattr(row, key) for row in report.layers) == getattr(report.totals, key), key
