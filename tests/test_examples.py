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
    "vgg19_bn": (143_678_248, 19.63e9, 2),
    "resnet101": (44_549_160, 7.8e9, 1),
    "resnext50_32x4d": (25_028_904, 4.23e9, 2),
    "wide_resnet50_2": (68_883_240, 11.4e9, 1),
    "squeezenet1_0": (1_248_424, 0.82e9, 2),
    "squeezenet1_1": (1_235_496, 0.35e9, 2),
    "googlenet": (6_624_904, 1.5e9, 1),
    "densenet121": (7_978_856, 2.83e9, 2),
    "convnext_tiny": (28_589_128, 4.456e9, 3),
    "regnet_y_400mf": (4_344_144, 0.402e9, 3),
    "efficientnet_b0": (5_288_548, 0.386e9, 3),
    "mnasnet1_0": (4_383_312, 0.31e9, 2),
    "shufflenet_v2_x1_0": (2_278_604, 0.14e9, 2),
    "mobilenet_v3_large": (5_483_032, 0.22e9, 2),
}

# Published figures that torch contradicts: (params torch counts, MACs published, digits,
# input); the example's header says why. Inception v3's published params count the
# AuxLogits head that its eval forward never runs (27,161,264 published).
TORCH_WINS = {
    "inception_v3": (23_834_568, 5.71e9, 2, (3, 299, 299)),
}

# The exact MACs of torchvision's own models (weights=None, eval, batch 1, at the
# example's input size): torch.utils.flop_counter.FlopCounterMode's total / 2, measured
# by scripts/zoo_torchvision.py; the published column above is these, rounded.
MEASURED_MACS = {
    "vgg19_bn": 19_632_062_464,
    "resnet101": 7_801_405_440,
    "resnext50_32x4d": 4_230_479_872,
    "wide_resnet50_2": 11_398_021_120,
    "squeezenet1_0": 818_924_576,
    "squeezenet1_1": 349_151_936,
    "googlenet": 1_498_376_192,
    "densenet121": 2_834_161_664,
    "inception_v3": 5_713_216_096,
    "convnext_tiny": 4_455_531_264,
    "regnet_y_400mf": 401_842_848,
    "efficientnet_b0": 385_814_752,
    "mnasnet1_0": 314_415_872,
    "shufflenet_v2_x1_0": 144_907_992,
    "mobilenet_v3_large": 216_589_760,
}


# torchvision's segmentation models at its 520x520: (params, MACs published, digits, exact
# MACs measured on torchvision's own model); both count the aux classifier, which the eval
# forward runs (the files keep it as a dead-end branch)
SEGMENTATION = {
    "fcn_resnet50": (35_322_218, 152.717e9, 3, 152_716_512_000),
    "deeplabv3_resnet50": (42_004_074, 178.722e9, 3, 178_721_945_088),
}


@pytest.mark.parametrize("name", sorted(SEGMENTATION))
def test_torchvision_segmentation_figures_at_520(name, example):
    params, macs, digits, measured = SEGMENTATION[name]
    network = cnncalc.load(example(name))
    assert network.symbols == ("H", "W")
    report = cnncalc.analyze(network, sizes={"H": 520, "W": 520})
    assert report.totals.params == params
    assert round(report.totals.macs / 1e9, digits) == round(macs / 1e9, digits)
    assert report.totals.macs == measured
    assert report.output_shape == (1, 21, 520, 520)


@pytest.mark.parametrize("name", sorted(SEGMENTATION))
def test_segmentation_output_is_the_inputs_size_for_any_size(name, example):
    network = cnncalc.load(example(name))
    for height, width in ((64, 64), (97, 131), (33, 40)):
        report = cnncalc.analyze(network, sizes={"H": height, "W": width})
        assert report.output_shape == (1, 21, height, width)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_figures(name, example):
    params, macs, digits = TORCHVISION[name]
    report = cnncalc.analyze(example(name))
    assert report.totals.params == params
    assert round(report.totals.macs / 1e9, digits) == round(macs / 1e9, digits)
    assert report.output_shape == (1, 1000)


@pytest.mark.parametrize("name", sorted(TORCH_WINS))
def test_torchvision_figures_where_torch_wins(name, example):
    params, macs, digits, shape = TORCH_WINS[name]
    network = cnncalc.load(example(name))
    report = cnncalc.analyze(network)
    assert network.input == shape
    assert report.totals.params == params
    assert round(report.totals.macs / 1e9, digits) == round(macs / 1e9, digits)
    assert report.output_shape == (1, 1000)


@pytest.mark.parametrize("name", sorted(MEASURED_MACS))
def test_torchvision_measured_macs(name, example):
    assert cnncalc.analyze(example(name)).totals.macs == MEASURED_MACS[name]


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


@pytest.mark.parametrize("name", sorted(SEGMENTATION))
def test_sizes_gives_the_segmentation_rule(name, example):
    """Any H and W work: the dilated backbone floors its three halvings and never refuses
    a size (7x7 stride 2 padding 3, then 3x3 stride 2 padding 1, then 3x3 stride 2
    padding 1 all keep 1 at 1), and the output is interpolated to the input's own size."""
    from click.testing import CliRunner

    from cnncalc.cli import main
    result = CliRunner().invoke(main, ["sizes", str(example(name)), "--limit", "40"])
    assert result.exit_code == 0, result.output
    for axis in ("H", "W"):
        assert f"{axis}: {axis} ≥ 1" in result.output
